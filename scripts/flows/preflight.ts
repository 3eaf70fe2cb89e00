/**
 * `preflight`: what must hold before `sst deploy` touches a shared database — reachable, over TLS, PostgreSQL
 * 15, an administrator with the rights provisioning uses, no conflicting role or schema, pgcrypto settled,
 * PUBLIC not able to create in application schemas, and room for the role's connections. Returns findings;
 * never changes anything.
 */
import { missingPgcryptoMessage, type UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { grant, PUBLIC, revoke, script } from "../../sst/database/statements.js";
import { isLocalHost, withClient, type Client, type ConnectionSettings } from "../kernel/db.js";
import { UserError } from "../kernel/errors.js";
import { readServerFacts, readStageShape, type ServerFacts, type StageShape } from "../stage/catalog.js";
import type { SecretInspection } from "../stage/secrets-manager.js";
import {
  connectionHeadroomFinding,
  readReplicaFinding,
  secretFinding,
  type PreflightFinding,
} from "./preflight-findings.js";

// Callers keep importing the findings from here.
export { secretFinding, type PreflightFinding } from "./preflight-findings.js";

/** The whole preflight. */
export interface PreflightResult {
  stage: string;
  database: string;
  host: string;
  port: number;
  /** False when any finding is an error. */
  ok: boolean;
  serverVersion?: string;
  findings: PreflightFinding[];
}

/** The comment a stage's role or schema may carry; when present it decides whose the object is. */
export function stageMarker(stage: string): string {
  return `umami-db stage=${stage}`;
}

function conflictFindings(spec: UmamiDatabaseSpec, admin: string, c: StageShape): PreflightFinding {
  const marker = stageMarker(spec.stage);
  const role = spec.role.name;
  const schema = spec.schema;
  const problems: string[] = [];
  const otherMarker = [c.role_comment, c.schema_comment].find((m) => m?.startsWith("umami-db stage=") && m !== marker);
  if (otherMarker) problems.push(`marked "${otherMarker}"`);
  if (c.role_exists && c.role_comment !== marker) {
    // Without a marker, the role is this stack's when it has exactly the shape provisioning gives it.
    if (c.role_privileged) problems.push(`role ${role} has SUPERUSER/CREATEROLE/CREATEDB/REPLICATION/BYPASSRLS`);
    if (!c.role_search_path_ours)
      problems.push(`role ${role} does not have search_path=${schema} (not set by provisioning)`);
    if (c.role_objects_outside > 0)
      problems.push(`role ${role} owns ${c.role_objects_outside} relation(s) outside schema ${schema}`);
    if (c.role_other_databases > 0)
      problems.push(`role ${role} has objects or grants in ${c.role_other_databases} other database(s)`);
  }
  if (c.schema_exists && c.schema_comment !== marker) {
    if (c.schema_owner !== admin) problems.push(`schema ${schema} is owned by ${c.schema_owner}, not ${admin}`);
    if (c.foreign_objects > 0)
      problems.push(`schema ${schema} holds ${c.foreign_objects} relation(s) owned by other roles`);
    if (!c.role_exists) problems.push(`schema ${schema} exists without role ${role}`);
  }
  const existing = [c.role_exists && `role ${role}`, c.schema_exists && `schema ${schema}`].filter((x): x is string =>
    Boolean(x),
  );
  if (problems.length > 0) {
    return {
      check: "conflicts",
      severity: "error",
      detail: `${existing.join(" and ")} already ${existing.length > 1 ? "exist and are" : "exists and is"} not stage ${spec.stage}'s: ${problems.join("; ")}`,
      remedy: `If they are leftovers of stage ${spec.stage}, run \`umami-db rollback --stage ${spec.stage}\`; if they belong to something else, deploy under another stage name.`,
    };
  }
  if (c.role_exists || c.schema_exists) {
    return {
      check: "conflicts",
      severity: "info",
      detail: `${[c.role_exists && `role ${role}`, c.schema_exists && `schema ${schema}`].filter(Boolean).join(" and ")} exist with the shape stage ${spec.stage}'s provisioning gives them: the deploy updates them when SST's state for stage ${spec.stage} holds them`,
      remedy: `If they were made another way (\`umami-db local --admin-url\`, or a rollback after which the state was not refreshed), \`sst deploy\` fails with "role already exists": run \`umami-db rollback --stage ${spec.stage}\` first.`,
    };
  }
  return { check: "conflicts", severity: "ok", detail: `no role ${role} or schema ${schema} yet` };
}

/** The server-version rule: 15.x passes, older blocks (PG15 privilege semantics are assumed), newer warns. */
export function serverVersionFinding(versionNum: number, version: string): PreflightFinding {
  const major = Math.floor(versionNum / 10000);
  if (major === 15) return { check: "server-version", severity: "ok", detail: `PostgreSQL ${version}` };
  if (major < 15)
    return {
      check: "server-version",
      severity: "error",
      detail: `PostgreSQL ${version}; this stack needs 15.x`,
      remedy: "Upgrade the cluster to Aurora PostgreSQL 15 first.",
    };
  return {
    check: "server-version",
    severity: "warning",
    detail: `PostgreSQL ${version}; measured on 15.x only`,
    remedy: "Run umami-db local against this major version before deploying.",
  };
}

function serverFindings(spec: UmamiDatabaseSpec, settings: ConnectionSettings, s: ServerFacts): PreflightFinding[] {
  const f: PreflightFinding[] = [];
  if (s.ssl) f.push({ check: "tls", severity: "ok", detail: `connection encrypted (${s.tls_version})` });
  else if (isLocalHost(settings.host))
    f.push({ check: "tls", severity: "info", detail: "no TLS (allowed for localhost only)" });
  else
    f.push({
      check: "tls",
      severity: "error",
      detail: `the connection to ${settings.host} is not encrypted`,
      remedy:
        "Use sslmode=require (or sslmode=verify-full with sslrootcert=<CA bundle> in the URL, or --ca-file where the command has it) and enable rds.force_ssl on the cluster.",
    });

  f.push(serverVersionFinding(s.version_num, s.version));

  const rights: string[] = [];
  if (!s.rolsuper && !s.rolcreaterole) rights.push("CREATEROLE");
  if (!s.db_create) rights.push(`CREATE on database ${spec.database}`);
  if (s.rds_superuser_exists && !s.rds_superuser_member && !s.rolsuper) rights.push("membership in rds_superuser");
  if (rights.length > 0) {
    f.push({
      check: "admin-rights",
      severity: "error",
      detail: `${s.admin} lacks ${rights.join(", ")}`,
      remedy: "Connect as the cluster's master user (its secret: --master-secret-arn) or grant what is missing.",
    });
  } else if (s.rolsuper) {
    f.push({
      check: "admin-rights",
      severity: "info",
      detail: `${s.admin} is a superuser; Aurora's master is not, so a pass here proves less than on Aurora`,
    });
  } else if (!s.db_grant_connect) {
    // PostgreSQL answers such a GRANT with a WARNING ("no privileges were granted"), not an error: the stage's
    // role would then connect only through PUBLIC's default CONNECT, and lose it when that is revoked.
    f.push({
      check: "admin-rights",
      severity: "warning",
      detail: `${s.admin} can create in ${spec.database} but cannot grant CONNECT on it (owner: ${s.db_owner}): the stack's GRANT CONNECT to ${spec.role.name} would grant nothing`,
      remedy: `As ${s.db_owner}: ${grant({ privileges: ["CONNECT"], on: { kind: "DATABASE", name: [spec.database] }, to: s.admin, withGrantOption: true })} (or make ${s.admin} the owner).`,
    });
  } else {
    f.push({
      check: "admin-rights",
      severity: "ok",
      detail: `${s.admin} has CREATEROLE and CREATE on ${spec.database}${s.rds_superuser_exists ? ", member of rds_superuser" : ""}`,
    });
  }

  if (s.public_create_schemas.length > 0) {
    f.push({
      check: "public-create",
      severity: "warning",
      detail: `PUBLIC may CREATE in schema ${s.public_create_schemas.join(", ")}: ${spec.role.name} could create objects there`,
      remedy: `${script(s.public_create_schemas.map((n) => revoke({ privileges: ["CREATE"], on: { kind: "SCHEMA", name: [n] }, from: PUBLIC })))} (PostgreSQL 15's default for public).`,
    });
  } else f.push({ check: "public-create", severity: "ok", detail: "PUBLIC cannot CREATE in any schema" });

  const wantCreate = spec.extension.create;
  if (s.pgcrypto_schema && s.pgcrypto_schema !== spec.schema && wantCreate) {
    f.push({
      check: "pgcrypto",
      severity: "error",
      detail: `pgcrypto is already installed in schema ${s.pgcrypto_schema}; the stack would manage (and on removal drop) it`,
      remedy: `Set pgcryptoAlreadyInstalled: true for stage ${spec.stage} in sst/stages.ts.`,
    });
  } else if (!s.pgcrypto_schema && !wantCreate) {
    f.push({ check: "pgcrypto", severity: "error", ...missingPgcryptoMessage(spec) });
  } else if (!s.pgcrypto_schema && !s.pgcrypto_available) {
    f.push({
      check: "pgcrypto",
      severity: "error",
      detail: "pgcrypto is not available on this server",
      remedy: "Use a server that ships pgcrypto (Aurora PostgreSQL does).",
    });
  } else {
    f.push({
      check: "pgcrypto",
      severity: "ok",
      detail: s.pgcrypto_schema
        ? `installed in schema ${s.pgcrypto_schema}`
        : `available; provisioning creates it in schema ${spec.schema}`,
    });
  }

  f.push(connectionHeadroomFinding(spec, s));
  return f;
}

/** Runs every check against `settings` (the administrator) for `spec`. Never changes the database. */
/**
 * Whether the stage's role and schema, if they exist, are this stage's (preflight's "conflicts" check; also
 * run by `local --admin-url` before it provisions, since provisioning would rotate a foreign role's password).
 */
export async function checkConflicts(
  client: Client,
  spec: UmamiDatabaseSpec,
  admin: string,
): Promise<PreflightFinding> {
  return conflictFindings(spec, admin, await readStageShape(client, spec));
}

export async function runPreflight(
  settings: ConnectionSettings,
  spec: UmamiDatabaseSpec,
  options: { secret?: SecretInspection | Error } = {},
): Promise<PreflightResult> {
  const target = { ...settings, database: spec.database };
  const result: PreflightResult = {
    stage: spec.stage,
    database: spec.database,
    host: target.host,
    port: target.port,
    ok: false,
    findings: [],
  };
  let client: Client | undefined;
  try {
    await withClient(target, async (c) => {
      client = c;
      result.findings.push({
        check: "reachability",
        severity: "ok",
        detail: `connected to ${target.host}:${target.port}/${target.database} as ${target.user}`,
      });
      const server = await readServerFacts(c, spec);
      result.serverVersion = server.version;
      result.findings.push(...serverFindings(spec, target, server));
      result.findings.push(await checkConflicts(c, spec, server.admin));
    });
  } catch (error) {
    if (!(error instanceof UserError) || client) throw error;
    result.findings.push({
      check: "reachability",
      severity: "error",
      detail: error.message,
      remedy: "Fix the connection (see the message), then run preflight again.",
    });
  }
  if (options.secret) result.findings.push(secretFinding(spec, options.secret));
  const replica = readReplicaFinding(spec);
  if (replica) result.findings.push(replica);
  result.ok = result.findings.every((f) => f.severity !== "error");
  return result;
}
