/**
 * Every other database the Umami role can connect to, audited as deeply as the main one: the administrator
 * connects to each (one at a time, beside its main connection) and runs the same outward checks there — PUBLIC-readable data, CREATE on
 * schemas, SECURITY DEFINER functions, default privileges, large objects, foreign servers, NOTIFY payloads — and the
 * checks of escalation into the administrators, which is cluster-wide (definer-escalation, opaque-code, foreign-logins),
 * and lists what the role owns there. A database the administrator cannot reach is reported as not audited, with the reason.
 * Also the objects the role owns in this database and the shared ones (databases, tablespaces).
 */
import { ConnectionError, withClient, type ConnectionSettings } from "../kernel/db.js";
import { auditOutward } from "./outward.js";
import { auditNotifications } from "./notifications.js";
import { auditDefiners } from "./definers.js";
import { auditForeignLogins } from "./foreign-logins.js";
import { auditOpaqueCode } from "./opaque-code.js";
import { ownershipFinding, queryOwned, type OwnedRow } from "./ownership.js";
import { batchedQuery } from "./batch.js";
import { PUBLIC, revoke, script } from "../../sst/database/statements.js";
import { finding, type AuditContext, type DatabaseRow, type Finding } from "./types.js";

/** The outward checks that are about one database (the rest — attributes, memberships — are cluster-wide). */
const PER_DATABASE_CHECKS = [
  "outward: tables and views",
  "outward: sequences",
  "outward: grants behind schemas without USAGE",
  "outward: SECURITY DEFINER functions",
  "outward: CREATE on other schemas",
  "outward: default privileges in application schemas",
  "outward: large objects",
  "outward: foreign servers",
  "outward: NOTIFY payloads of the application",
  // Escalation into the administrators is cluster-wide: a role that becomes one in any database (a member of
  // umami_user, say) reads Umami's data here.
  "inward: SECURITY DEFINER functions of the administrators",
  "inward: opaque code that runs with other roles' rights",
  "inward: user mappings that log in as an administrator",
];

// $1 role oid. Databases other than this one that accept connections and that the role may connect to, with
// what the role holds there, what PUBLIC holds by default, and whether the administrator may connect.
export const DATABASES_SQL = `
  SELECT d.datname AS name,
         ARRAY(SELECT p FROM pg_catalog.unnest(ARRAY['CONNECT', 'TEMPORARY', 'CREATE']) p
                WHERE pg_catalog.has_database_privilege($1::oid, d.oid, p)) AS held,
         ARRAY(SELECT p FROM pg_catalog.unnest(ARRAY['CONNECT', 'TEMPORARY', 'CREATE']) p
                WHERE pg_catalog.has_database_privilege('public', d.oid, p)) AS public_held,
         pg_catalog.has_database_privilege(d.oid, 'CONNECT') AS admin_can_connect
    FROM pg_catalog.pg_database d
   WHERE d.datallowconn AND d.datname <> pg_catalog.current_database()
     AND pg_catalog.has_database_privilege($1::oid, d.oid, 'CONNECT')
   ORDER BY 1
`;

/** One other database's outcome: its findings and owned objects, or why it was not audited. */
type Outcome =
  | { audited: true; findings: Finding[]; owned: OwnedRow[]; queries: number }
  | { audited: false; reason: string };

async function auditOne(ctx: AuditContext, settings: ConnectionSettings): Promise<Outcome> {
  try {
    return await withClient(settings, async (client) => {
      // Both queries go out together (batch.ts): one round trip per database.
      const { query, statements } = batchedQuery(client, { gather: true });
      // No schema there is Umami's: '' matches none (PostgreSQL has no zero-length names).
      const sub: AuditContext = { ...ctx, query, database: settings.database, schemaOid: null };
      const [outward, allOwned, notifications, definers, opaque, logins] = await Promise.all([
        auditOutward(sub, { skipSchema: "" }),
        queryOwned(query, ctx.roleOid!, ""),
        auditNotifications(sub),
        auditDefiners(sub),
        auditOpaqueCode(sub),
        auditForeignLogins(sub),
      ]);
      const findings = [...outward, ...notifications, ...definers, ...opaque, ...logins].filter((f) =>
        PER_DATABASE_CHECKS.includes(f.check),
      );
      const owned = allOwned.filter((r) => r.scope === "here");
      return { audited: true, findings, owned, queries: statements() };
    });
  } catch (error) {
    if (!(error instanceof ConnectionError)) throw error;
    return { audited: false, reason: `the administrator could not connect (${error.message})` };
  }
}

/** What held privileges say, e.g. `CONNECT via PUBLIC, TEMPORARY via PUBLIC`. */
function privileges(row: DatabaseRow): string {
  return row.held.map((p) => (row.public_held.includes(p) ? `${p} via PUBLIC` : p)).join(", ");
}

function databaseFinding(row: DatabaseRow, outcome: Outcome, role: string, admin: string): Finding {
  const check = `outward: database ${row.name}`;
  const on = { kind: "DATABASE", name: [row.name] };
  // What PUBLIC holds goes from PUBLIC; what the role holds beyond it, from the role.
  const granted = row.held.filter((p) => !row.public_held.includes(p));
  const keepOut = [
    revoke({ privileges: ["CONNECT", "TEMPORARY"], on, from: PUBLIC }),
    ...(granted.length > 0 ? [revoke({ privileges: granted, on, from: role })] : []),
  ];
  const close = `${script(keepOut)} (and GRANT CONNECT to the roles that use it)`;
  if (!outcome.audited) {
    return {
      class: "other-databases",
      check,
      severity: "warn",
      objects: [`database ${row.name} (${privileges(row)}) — not audited: ${outcome.reason}`],
      remedy: `${role} can connect there but this audit could not look inside: run verify as an administrator that can connect to ${row.name}, or ${close}`,
    };
  }
  const bad = outcome.findings.filter((f) => f.severity !== "pass");
  const owned =
    outcome.owned.length > 0
      ? [
          ownershipFinding("outward: objects owned outside the schema", outcome.owned, {
            role,
            schema: "(none there)",
            admin,
          }),
        ]
      : [];
  const problems = [...bad, ...owned];
  const fails = problems.some((f) => f.severity === "fail");
  if (problems.length === 0) {
    return {
      class: "other-databases",
      check,
      severity: "warn",
      objects: [`database ${row.name} (${privileges(row)}) — audited: ${role} reaches no data there`],
      remedy: `Nothing there is readable by ${role}; to keep it out anyway: ${close}`,
    };
  }
  return finding(
    "other-databases",
    check,
    fails ? "fail" : "warn",
    [
      `database ${row.name} (${privileges(row)})`,
      ...problems.flatMap((f) => f.objects.map((o) => `${f.check.replace(/^outward: /, "")}: ${o}`)),
    ],
    `In database ${row.name} (connect to it as an administrator): ${problems.map((f) => f.remedy).join(" ")} Or keep ${role} out of it: ${close}`,
    "",
  );
}

/**
 * Audits what the role owns here and everywhere, and each other database it can connect to. `connect` gives
 * the administrator's settings for a database, or is null when the audit was handed an open connection only.
 */
export async function auditDatabases(
  ctx: AuditContext,
  connect: ((database: string) => ConnectionSettings) | null,
): Promise<{ findings: Finding[]; queries: number }> {
  const role = ctx.spec.role.name;
  if (!ctx.roleOid) return { findings: [], queries: 0 };
  // The list of databases is what is needed first: asked first, it goes out alone (batch.ts), and the owned
  // objects join the other checks' queries in the next round trip.
  const list = ctx.otherDatabases
    ? Promise.resolve(ctx.otherDatabases)
    : ctx.query<DatabaseRow>(DATABASES_SQL, [ctx.roleOid]);
  const ownedHere = queryOwned(ctx.query, ctx.roleOid, ctx.spec.schema);
  ownedHere.catch(() => undefined); // awaited below; meanwhile a failure must not count as unhandled
  const databases = await list;
  // One database at a time: the audit never holds more than two connections (this one and one other).
  const outcomes: Outcome[] = [];
  for (const d of databases) {
    if (!d.admin_can_connect) outcomes.push({ audited: false, reason: `${ctx.adminUser} has no CONNECT on it` });
    else if (!connect)
      outcomes.push({ audited: false, reason: "the audit was given an open connection without its settings" });
    else outcomes.push(await auditOne(ctx, connect(d.name)));
  }
  const owned = await ownedHere;
  const byName = new Map(databases.map((d, i) => [d.name, outcomes[i]]));
  const elsewhere = (database: string) => {
    const outcome = byName.get(database);
    if (outcome?.audited) return `named under "outward: database ${database}"`;
    if (outcome) return `not audited: ${outcome.reason}`;
    return `not audited: ${role} cannot connect to it (REASSIGN OWNED or DROP OWNED there as its owner)`;
  };
  const findings = [
    ownershipFinding("outward: objects owned outside the schema", owned, {
      role,
      schema: ctx.spec.schema,
      admin: ctx.adminUser,
      elsewhere,
    }),
    ...databases.map((d, i) => databaseFinding(d, outcomes[i], role, ctx.adminUser)),
  ];
  if (databases.length === 0) {
    findings.push(
      finding(
        "other-databases",
        "outward: other databases",
        "warn",
        [],
        "",
        `${role} can connect to no other database of the cluster.`,
      ),
    );
  }
  const queries = outcomes.reduce((n, o) => n + (o.audited ? o.queries : 0), 0);
  return { findings, queries };
}
