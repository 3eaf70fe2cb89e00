/**
 * Outward isolation: what the Umami role can reach outside its schema, as *effective* privileges
 * (`has_*_privilege()` counts direct grants, PUBLIC and role membership — pgTAP's approach), in one set-based
 * query over every schema, relation, sequence, SECURITY DEFINER function, database, default ACL, large object
 * and foreign server of the cluster. Privileges a relation grants while its schema withholds USAGE are
 * reported apart (class latent-grants): they fail where a path that never checks the schema reaches them —
 * `pg_stats` shows a column's values to whoever holds SELECT on it, sequence functions take an OID — and
 * warn otherwise (unreachable today, usable the day someone grants the schema).
 */
import { ALL_PRIVILEGES, type TablePrivilege } from "../../sst/database/spec.js";
import { finding, type AuditContext, type Finding } from "./types.js";
import { OUTWARD_SQL } from "./outward-sql.js";
import {
  alterRole,
  dropUserMapping,
  PUBLIC,
  revoke,
  revokeDefault,
  revokeRole,
  script,
  type DefaultObjects,
  type Grantee,
} from "../../sst/database/statements.js";

/** The table privileges GRANT accepts per column (GRANT docs: "column_name" applies to these only). */
const COLUMN_PRIVILEGES: readonly TablePrivilege[] = ["SELECT", "INSERT", "UPDATE", "REFERENCES"];

/** Large objects listed by name at most; beyond this only the count is given. */
const LARGE_OBJECTS_LISTED = 20;

interface OutwardRow {
  kind: string;
  object: string;
  usable: boolean;
  privileges: string[];
  public_privileges: string[] | null;
  defaults: string[] | null;
  /** For a relation: the grantees a REVOKE must name, as stored (null for PUBLIC); for a default ACL or a user mapping: its grantee. */
  revoke_from: (string | null)[] | null;
  note: string | null;
  /** For a function behind a schema without USAGE: the operators, casts and aggregates that call it anyway. */
  via: string[] | null;
  /** The object's name in parts, as stored (remedies are built from these); for a default ACL: [owner, schema or null]. */
  names: string[] | null;
  /** A function's identity arguments, as one string. */
  args: string[] | null;
}

function via(row: OutwardRow, privilege: string): string {
  return row.public_privileges?.includes(privilege) ? `${privilege} via PUBLIC` : privilege;
}

function describe(row: OutwardRow, privileges = row.privileges): string {
  return `${row.object} (${privileges.map((p) => via(row, p)).join(", ")})`;
}

/**
 * Why a reachable relation exposes no data, or null when it may. An extension's own grant counts only for the
 * extensions listed below, whose objects were read: another extension's PUBLIC view may well show the
 * application's data (its own grant proves nothing about what it shows).
 */
function harmless(row: OutwardRow): string | null {
  if (row.note === "invoker") {
    return "security_invoker view over a relation the role holds nothing on: every query on it is denied";
  }
  const extension = row.note?.startsWith("extension ") ? row.note.slice("extension ".length) : null;
  const why = extension ? EXTENSION_NOTES[extension] : undefined;
  return why ? `extension ${extension}'s own grant (pg_init_privs): ${why}` : null;
}

/**
 * Why a privilege behind a schema without USAGE is usable anyway, or null when every path to it looks the name
 * up (and so checks the schema). Measured on PostgreSQL 15 as the Umami role: `pg_stats` filters on
 * has_column_privilege() alone and shows most_common_vals and histogram_bounds (the column's values) unless
 * row-level security is on; nextval(), setval() and pg_sequence_last_value() take a regclass, and an OID
 * cast to regclass looks up no schema; an operator, a cast, an aggregate or a view calls its function checking
 * only EXECUTE (a SECURITY DEFINER function behind an operator in public ran for the Umami role, and one behind a
 * view it may read, measured).
 */
function latentPath(row: OutwardRow): string | null {
  if (row.kind === "function") {
    const via = row.via ?? [];
    return via.length > 0 ? `callable through ${via.join(", ")}, which never check the function's schema` : null;
  }
  if (row.kind === "sequence")
    return "usable by OID: nextval(), setval() and pg_sequence_last_value() never check the schema";
  const reads = row.privileges.some((p) => p === "SELECT" || p === "SELECT (columns)");
  if (reads && row.note !== "rls")
    return "readable through pg_stats (most_common_vals, histogram_bounds): it checks the column privilege, never the schema";
  return null;
}

/** What known extensions' PUBLIC objects show (their documentation's word). */
const EXTENSION_NOTES: Record<string, string> = {
  pg_stat_statements:
    "statement statistics; other roles' statement text reads <insufficient privilege> unless the reader has pg_read_all_stats",
};

/**
 * The statements that take one relation's reach away, as written: REVOKE from PUBLIC or the role, the
 * ownership finding for what the role owns, the membership finding for what it inherits.
 */
function relationRemedy(row: OutwardRow, role: string): string {
  const on = { kind: row.kind === "sequence" ? "SEQUENCE" : "TABLE", name: row.names! };
  const targets = row.defaults ?? [];
  const steps = (row.revoke_from ?? []).map((from) => script([revoke({ privileges: "ALL", on, from })]));
  if (targets.includes("OWNER"))
    steps.push(`(${row.object} is owned by ${role}: see "outward: objects owned outside the schema")`);
  if (steps.length === 0)
    steps.push(`(${row.object} is reached through a role ${role} is a member of: see "outward: role memberships")`);
  return steps.join(" ");
}

/**
 * Taking USAGE on the server away closes a mapping; a mapping FOR PUBLIC is left alone, since the application's
 * foreign tables use it (dropping it would break them). Only one made for the Umami role is dropped.
 */
function foreignRemedy(row: OutwardRow, role: string): string {
  if (row.kind !== "user mapping")
    return script([
      revoke({ privileges: ["USAGE"], on: { kind: row.note!, name: row.names! }, from: publicOr(row, "USAGE", role) }),
    ]);
  const user = row.revoke_from![0];
  if (user === PUBLIC)
    return `(keep the mapping ${row.object}: the application's foreign tables use it; without USAGE on its server ${role} cannot)`;
  return script([dropUserMapping(user, row.names![0])]);
}

function functionRemedy(row: OutwardRow, role: string): string {
  if (row.note === role) return `(${row.object} is owned by ${role}: see "outward: objects owned outside the schema")`;
  return script([
    revoke({
      privileges: ["EXECUTE"],
      on: { kind: "FUNCTION", name: row.names!, args: row.args! },
      from: publicOr(row, "EXECUTE", role),
    }),
  ]);
}

/** PUBLIC when PUBLIC alone holds `privilege` on the row's object, else the role. */
function publicOr(row: OutwardRow, privilege: string, role: string): Grantee {
  return row.public_privileges?.includes(privilege) ? PUBLIC : role;
}

/** The statement that revokes `privilege` on a schema or database from PUBLIC or the role. */
function revokeOn(kind: "SCHEMA" | "DATABASE", row: OutwardRow, privilege: string, role: string): string {
  return revoke({ privileges: [privilege], on: { kind, name: row.names! }, from: publicOr(row, privilege, role) });
}

/**
 * Objects in usable schemas fail; grants that expose no data warn (said why). Relations and sequences behind a
 * schema without USAGE are `latentFinding`'s.
 */
function reachFinding(
  check: string,
  rows: OutwardRow[],
  what: string,
  role: string,
  intro: string,
  remedy: (row: OutwardRow) => string,
): Finding {
  const live = rows.filter((r) => r.usable && !harmless(r));
  const safe = rows.filter((r) => harmless(r));
  const objects = [
    ...live.map((r) => describe(r)),
    ...safe.map((r) => `${describe(r)} — no data exposed: ${harmless(r)}`),
  ];
  const risky = live;
  return finding(
    "outward-privileges",
    check,
    live.length > 0 ? "fail" : "warn",
    objects,
    risky.length > 0
      ? `${intro} Grant to the application role only: ${risky.map(remedy).join(" ")}`
      : `Nothing listed exposes application data (see why on each); to hide them anyway: ${safe.map(remedy).join(" ")}`,
    `${role} holds no privilege on any ${what} outside its schema (direct, via PUBLIC or via membership).`,
  );
}

/** Relations, sequences and functions behind a schema without USAGE: fail where a path that skips the schema reaches them. */
function latentFinding(rows: OutwardRow[], role: string): Finding {
  const latent = rows.filter((r) => !r.usable && !harmless(r));
  const reached = latent.filter((r) => latentPath(r));
  return finding(
    "latent-grants",
    "outward: grants behind schemas without USAGE",
    reached.length > 0 ? "fail" : "warn",
    latent.map(
      (r) =>
        `${describe(r)} — no USAGE on its schema, ${latentPath(r) ?? "latent: every path to it looks its name up"}`,
    ),
    `${reached.length > 0 ? `${role} reads or uses these without USAGE on their schema (the path is named on each)` : `${role} cannot reach these today; the day their schema is granted it can`}. Grant to the application role only: ${latent
      .map((r) => (r.kind === "function" ? functionRemedy(r, role) : relationRemedy(r, role)))
      .join(" ")}`,
    `${role} holds no privilege on a table, column, sequence or SECURITY DEFINER function in a schema it cannot use.`,
  );
}

/** Runs the outward checks: one query, one finding per check. `skipSchema` defaults to the Umami schema. */
export async function auditOutward(ctx: AuditContext, options: { skipSchema?: string } = {}): Promise<Finding[]> {
  const { spec } = ctx;
  const role = spec.role.name;
  if (!ctx.roleOid || !ctx.role) {
    return [
      {
        class: "outward-privileges",
        check: "outward isolation",
        severity: "warn",
        objects: [],
        remedy: `Not checked: role ${role} does not exist.`,
      },
    ];
  }
  const rows = await ctx.query<OutwardRow>(OUTWARD_SQL, [
    ctx.roleOid,
    options.skipSchema ?? spec.schema,
    ALL_PRIVILEGES.table,
    ALL_PRIVILEGES.sequence,
    ALL_PRIVILEGES.schema,
    ALL_PRIVILEGES.database,
    COLUMN_PRIVILEGES,
    ALL_PRIVILEGES.table.join(", "),
    ALL_PRIVILEGES.sequence.join(", "),
    COLUMN_PRIVILEGES.join(", "),
    LARGE_OBJECTS_LISTED,
  ]);
  const of = (kind: string) => rows.filter((r) => r.kind === kind && r.privileges.length > 0);
  const schemas = rows.filter((r) => r.kind === "schema");
  const creatable = schemas.filter((r) => r.privileges.includes("CREATE"));
  const defaults = of("default");
  const databases = of("database");
  const isDefault = (r: OutwardRow, p: string) => Boolean(r.public_privileges?.includes(p) && r.defaults?.includes(p));
  const grantedDb = databases.filter((r) => r.privileges.some((p) => !isDefault(r, p)));
  const attributes = Object.entries({
    SUPERUSER: ctx.role.superuser,
    CREATEDB: ctx.role.createDb,
    CREATEROLE: ctx.role.createRole,
    REPLICATION: ctx.role.replication,
    BYPASSRLS: ctx.role.bypassRls,
  }).filter(([, on]) => on);
  const largeObjects = rows.find((r) => r.kind === "large objects");
  const loCount = Number(largeObjects?.object ?? 0);
  const foreign = rows.filter((r) => ["foreign data wrapper", "foreign server", "user mapping"].includes(r.kind));

  return [
    reachFinding(
      "outward: tables and views",
      of("relation"),
      "table, view or foreign table",
      role,
      `${role} can use application tables or views.`,
      (r) => relationRemedy(r, role),
    ),
    reachFinding(
      "outward: sequences",
      of("sequence"),
      "sequence",
      role,
      `${role} can read or advance application sequences.`,
      (r) => relationRemedy(r, role),
    ),
    latentFinding([...of("relation"), ...of("sequence"), ...of("function")], role),
    reachFinding(
      "outward: SECURITY DEFINER functions",
      of("function"),
      "SECURITY DEFINER function",
      role,
      `${role} can execute functions that run with their owner's privileges.`,
      (r) => functionRemedy(r, role),
    ),
    finding(
      "outward-privileges",
      "outward: CREATE on other schemas",
      "fail",
      creatable.map((r) => describe(r, ["CREATE"])),
      `${role} can create objects in application schemas (PUBLIC keeps CREATE on public in databases created before PostgreSQL 15): ${script(creatable.map((r) => revokeOn("SCHEMA", r, "CREATE", role)))}`,
      `${role} cannot create objects in any schema but ${spec.schema}.`,
    ),
    finding(
      "outward-privileges",
      "outward: USAGE on other schemas",
      "warn",
      schemas.filter((r) => r.privileges.includes("USAGE")).map((r) => describe(r, ["USAGE"])),
      `${role} can look up names in these schemas (no data: the table checks above decide that). To hide them, grant USAGE to the application role and ${script(schemas.filter((r) => r.privileges.includes("USAGE")).map((r) => revokeOn("SCHEMA", r, "USAGE", role)))}`,
      `${role} has USAGE on no schema but ${spec.schema}.`,
    ),
    finding(
      "other-databases",
      "outward: other databases (granted access)",
      "fail",
      grantedDb.map((r) =>
        describe(
          r,
          r.privileges.filter((p) => !isDefault(r, p)),
        ),
      ),
      `${role} holds privileges on another database beyond PostgreSQL's defaults (CREATE lets it create schemas there): ${script(grantedDb.flatMap((r) => r.privileges.filter((p) => !isDefault(r, p)).map((p) => revokeOn("DATABASE", r, p, role))))}`,
      `${role} holds nothing on other databases beyond PostgreSQL's defaults.`,
    ),
    finding(
      "role-attributes",
      "outward: role attributes",
      "fail",
      attributes.map(([name]) => `${role} ${name}`),
      `A superuser must remove them (the spec says all are off): ${script([alterRole(role, { attributes: attributes.map(([n]) => `NO${n}`) })])}`,
      `${role} has none of SUPERUSER, CREATEDB, CREATEROLE, REPLICATION, BYPASSRLS.`,
    ),
    finding(
      "memberships",
      "outward: role memberships",
      "fail",
      of("membership").map((r) => `${r.object} (${r.privileges[0]})`),
      `${role} inherits the privileges of the roles listed (the spec grants it no membership): ${script(
        of("membership")
          .filter((r) => r.privileges[0] === "direct")
          .map((r) => revokeRole(r.names![0], role)),
      )}`,
      `${role} is a member of no role (neither application roles nor predefined ones such as pg_read_all_data, pg_monitor or rds_superuser).`,
    ),
    finding(
      "outward-privileges",
      "outward: default privileges in application schemas",
      "fail",
      defaults.map((r) => `${r.object} (${r.privileges.join(", ")})`),
      `Objects the application creates later will be granted to PUBLIC or ${role}: ${script(
        defaults.map((r) =>
          revokeDefault({
            forRole: r.names![0],
            inSchema: r.names![1],
            privileges: "ALL",
            on: r.note as DefaultObjects,
            from: r.revoke_from![0],
          }),
        ),
      )}`,
      `No default privilege outside ${spec.schema} grants future objects to PUBLIC or ${role}.`,
    ),
    finding(
      "outward-privileges",
      "outward: large objects",
      "fail",
      loCount === 0
        ? []
        : [
            `${loCount} large object(s)${largeObjects?.note === "on" ? " (lo_compat_privileges = on)" : ""}: ${largeObjects!.privileges.join(", ")}`,
          ],
      `${role} can read or write these large objects${largeObjects?.note === "on" ? " (turn lo_compat_privileges off first)" : ""}: ${script(
        (largeObjects?.privileges ?? []).map((oid) =>
          revoke({ privileges: "ALL", on: { kind: "LARGE OBJECT", name: [oid] }, from: PUBLIC }),
        ),
      )}${loCount > LARGE_OBJECTS_LISTED ? ` (and the same for the others: SELECT oid FROM pg_largeobject_metadata)` : ""} (one ${role} owns is listed under "outward: objects owned outside the schema").`,
      `${role} can reach no large object.`,
    ),
    finding(
      "outward-privileges",
      "outward: foreign servers",
      "fail",
      foreign.map((r) => `${r.kind} ${r.object}`),
      `${role} can use foreign data wrappers, servers or user mappings (a path to other databases): ${foreign
        .map((r) => foreignRemedy(r, role))
        .join(" ")}`,
      `${role} can use no foreign data wrapper, server or user mapping.`,
    ),
  ];
}
