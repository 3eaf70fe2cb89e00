/**
 * The isolation audit (`docs/design.md` § "Facts we measured"): proves from the catalogs — never from
 * `information_schema`, which hides what a role cannot reach — that the Umami role reaches nothing outside its
 * schema (outward), that nobody but the Umami role and the administrators reaches into it (inward), that the
 * role holds exactly the spec's privileges (missing and extra reported separately, as pgTAP does), optionally
 * that live probes as the role behave, and that the application's fingerprint is unchanged. A handful of
 * set-based queries whatever the number of objects. Returns data; the command prints it.
 */
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { auditInward } from "./inward.js";
import { auditIntendedGrants } from "./intended.js";
import { auditOutward } from "./outward.js";
import { loadContext } from "./context.js";
import { auditEscalation } from "./escalation.js";
import { auditForeignLogins } from "./foreign-logins.js";
import { auditTriggers } from "./triggers.js";
import { auditRoleSettings, connectionLimitFinding } from "./role-settings.js";
import { auditDatabases } from "./databases.js";
import { auditSettingsPaths } from "./settings-paths.js";
import { auditForeignObjects } from "./foreign-objects.js";
import { auditInwardObjects } from "./inward-objects.js";
import { auditDefiners } from "./definers.js";
import { auditReplication } from "./replication.js";
import { auditPlantedCode } from "./planted-code.js";
import { auditNotifications } from "./notifications.js";
import { auditCrossSchemaLinks } from "./cross-schema-links.js";
import { auditParameters } from "./parameters.js";
import { auditOpaqueCode } from "./opaque-code.js";
import { withClient, type Client, type ConnectionSettings } from "../kernel/db.js";
import {
  fingerprintChanges,
  fingerprintProblem,
  type Fingerprint,
  type FingerprintChange,
} from "../evidence/fingerprint.js";
import { runProbes, type ProbeResult } from "./probes.js";
import { auditLiveEffects } from "./live-effects.js";
import { batchedQuery } from "./batch.js";
import { finding, type AuditContext, type Finding } from "./types.js";

export type { Finding } from "./types.js";

/** Everything the audit found. */
export interface AuditResult {
  /** True when no finding fails. */
  ok: boolean;
  findings: Finding[];
  fingerprint: { compared: boolean; changed: FingerprintChange[] };
  probes: ProbeResult[];
  /**
   * Statements the administrator's connections sent (round trips; checks that start together share one,
   * batch.ts). The probes' statements as the Umami role are not counted.
   */
  queries: number;
  /** Milliseconds from the first query to the end (connecting not included). */
  ms: number;
}

/** Options for `auditIsolation`. */
interface AuditOptions {
  /** The administrator's connection to the application database: settings (connected and closed here) or an open client. */
  admin: ConnectionSettings | Client;
  /** The Umami role's own connection; when given, the live probes run. */
  umami?: ConnectionSettings;
  spec: UmamiDatabaseSpec;
  /** A fingerprint captured before the deploy; when given, the application must be unchanged. */
  baselineFingerprint?: Fingerprint;
  /**
   * What to do for a comparison when no `baselineFingerprint` is given, as the calling command takes it.
   * @default verify's: capture one with `umami-db fingerprint` and pass --baseline-fingerprint
   */
  noBaselineRemedy?: string;
  /** Roles that count as administrators besides the connecting user, superusers and members of rds_superuser. */
  adminRoles?: string[];
  /**
   * With an open `admin` client: its settings, so that the other databases the Umami role can connect to are
   * audited too (otherwise they are reported as not audited).
   */
  adminSettings?: ConnectionSettings;
}

function existenceFindings(ctx: AuditContext): Finding[] {
  const { spec } = ctx;
  const findings: Finding[] = [
    finding(
      "existence",
      "umami role exists",
      "fail",
      ctx.roleOid ? [] : [`role ${spec.role.name}`],
      `Role ${spec.role.name} does not exist in this cluster: provision the stage (deploy, or \`umami-db local\`) and run verify again.`,
      `Role ${spec.role.name} exists.`,
    ),
    finding(
      "existence",
      "umami schema exists",
      "fail",
      ctx.schemaOid ? [] : [`schema ${spec.schema}`],
      `Schema ${spec.schema} does not exist in database ${ctx.database}: provision the stage, or check --stage and the database in the URL.`,
      `Schema ${spec.schema} exists in database ${ctx.database}.`,
    ),
  ];
  if (ctx.database !== spec.database) {
    findings.push({
      class: "existence",
      check: "audited database",
      severity: "warn",
      objects: [`database ${ctx.database}`],
      remedy: `The stage's spec names database ${spec.database} but the admin URL points at ${ctx.database}; audit the database Umami uses.`,
    });
  }
  return findings;
}

function probeFindings(probes: ProbeResult[] | null, spec: UmamiDatabaseSpec): Finding {
  if (probes === null) {
    return {
      class: "probes",
      check: "live probes",
      severity: "warn",
      objects: [],
      remedy: `Not run: pass ${spec.role.name}'s own URL (--umami-url) so the audit also tries, as the role, what the catalogs say it cannot do.`,
    };
  }
  const bad = probes.filter((p) => !p.ok);
  return finding(
    "probes",
    "live probes",
    "fail",
    bad.map((p) => `${p.name}: expected ${p.expected}, got ${p.outcome}${p.detail ? ` (${p.detail})` : ""}`),
    `Logged in as ${spec.role.name}, an action did not behave as the catalogs promise: fix the grants named by the failing checks above and run verify again.`,
    `As ${spec.role.name}, inside a rolled-back transaction: ${probes.map((p) => `${p.name} → ${p.outcome}`).join("; ")}.`,
  );
}

const VERIFY_NO_BASELINE =
  "Not compared: capture `umami-db fingerprint --out before.json` before the deploy and pass --baseline-fingerprint before.json.";

function fingerprintFinding(
  baseline: Fingerprint | undefined,
  changed: FingerprintChange[],
  problem: string | null,
  noBaselineRemedy = VERIFY_NO_BASELINE,
): Finding {
  const check = "application fingerprint";
  if (!baseline) return { class: "fingerprint", check, severity: "warn", objects: [], remedy: noBaselineRemedy };
  if (problem)
    return {
      class: "fingerprint",
      check,
      severity: "fail",
      objects: [],
      remedy: `The baseline cannot be compared: ${problem}. Use the fingerprint taken before the deploy (\`umami-db fingerprint --out\` or preflight's snapshot); one taken now would prove nothing about the deploy.`,
    };
  return finding(
    "fingerprint",
    check,
    "fail",
    changed.map((c) => `${c.change} ${c.object}`),
    "The application's schemas or roles changed since the baseline: review each object named; if the deploy changed it, restore it (the Umami stack must not touch the application).",
    `Identical to the baseline captured ${baseline.capturedAt} (${Object.keys(baseline.schemas).length} schemas, ${Object.keys(baseline.roles.objects).length} role entries).`,
  );
}

/**
 * Audits the stage's isolation as the administrator (and as the Umami role when `umami` is given). Given
 * settings it connects and closes; `ms` counts from the first query, so connecting is not included.
 */
export async function auditIsolation(options: AuditOptions): Promise<AuditResult> {
  const started = performance.now();
  const admin = options.admin;
  if (!isClient(admin))
    return withClient(admin, (client) => auditIsolation({ ...options, admin: client, adminSettings: admin }));
  const client = admin;
  // One connection answers one query at a time: the checks below start together, so their queries go out
  // together, as one statement, while the one before them is in flight (batch.ts).
  const batched = batchedQuery(client);
  const query = batched.query;
  let queries = 0;
  const ctx = await loadContext(options.spec, query, options.adminRoles ?? []);
  const settings = options.adminSettings;
  const connect = settings ? (database: string) => ({ ...settings, database }) : null;
  const baseline = options.baselineFingerprint;
  let problem = baseline ? fingerprintProblem(baseline) : null;
  if (baseline && !problem && baseline.database !== ctx.database) {
    problem = `it was captured on database ${baseline.database}, this audit reads ${ctx.database}`;
  }
  // The outward query goes out alone, the other checks' queries together after it (batch.ts), the probes'
  // targets with them; the other databases' connections run alongside (their list came with the context, so
  // connecting to them overlaps the long outward query here), then the probes' own connection: never more
  // than two at once. The fingerprint comparison follows the checks on this connection while the probes run.
  const all = Promise.all([
    // First, so that it goes out alone: inside a batch's jsonb subquery its plan is ~15% slower (measured).
    auditOutward(ctx),
    auditDatabases(ctx, connect),
    auditRoleSettings(ctx),
    auditSettingsPaths(ctx),
    auditInward(ctx),
    auditForeignObjects(ctx),
    auditEscalation(ctx),
    auditTriggers(ctx),
    auditIntendedGrants(ctx),
    auditInwardObjects(ctx),
    auditDefiners(ctx),
    auditReplication(ctx),
    auditPlantedCode(ctx),
    auditNotifications(ctx),
    auditCrossSchemaLinks(ctx),
    auditParameters(ctx),
    auditOpaqueCode(ctx),
    auditForeignLogins(ctx),
  ]);
  // The live effects of Umami's own statements run next on the probes' connection (live-effects.ts).
  let live: Finding[] = [];
  const probing = options.umami
    ? runProbes(ctx, options.umami, all, async (client) => {
        live = await auditLiveEffects(ctx, client);
      })
    : null;
  probing?.catch(() => undefined); // awaited below
  const comparing = baseline && !problem ? all.then(() => fingerprintChanges(client, baseline)) : null;
  comparing?.catch(() => undefined); // awaited below
  const [
    outward,
    databases,
    roleSettings,
    settingsPaths,
    inward,
    foreignObjects,
    escalation,
    triggers,
    intended,
    inwardObjects,
    definers,
    replication,
    planted,
    notifications,
    crossLinks,
    parameters,
    opaque,
    foreignLogins,
  ] = await all;
  queries += databases.queries;
  const findings = [
    ...existenceFindings(ctx),
    ...outward,
    ...databases.findings,
    ...notifications,
    ...parameters,
    ...roleSettings,
    connectionLimitFinding(ctx),
    ...settingsPaths,
    ...inward,
    ...foreignObjects,
    ...inwardObjects,
    ...crossLinks,
    ...escalation,
    ...foreignLogins,
    ...definers,
    ...replication,
    ...triggers,
    ...planted,
    ...opaque,
    ...intended,
  ];
  const probes = probing ? await probing : null;
  findings.push(probeFindings(probes, options.spec), ...live);

  let changed: FingerprintChange[] = [];
  if (comparing) {
    const compared = await comparing;
    queries += compared.queries;
    changed = compared.changed;
  }
  findings.push(fingerprintFinding(baseline, changed, problem, options.noBaselineRemedy));
  return {
    ok: findings.every((f) => f.severity !== "fail"),
    findings,
    fingerprint: { compared: Boolean(baseline) && !problem, changed },
    probes: probes ?? [],
    queries: queries + batched.statements(),
    ms: Math.round(performance.now() - started),
  };
}

function isClient(value: ConnectionSettings | Client): value is Client {
  return typeof (value as Client).query === "function";
}
