/**
 * Preflight's findings that need no query of their own: the connection headroom (from the server's counts and
 * the spec's connection budget) and the stage's secret (from Secrets Manager's DescribeSecret).
 */
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { UMAMI_REPLICA_WRITE_FAILURE, umamiReplicaUse } from "../../sst/database/umami-replica.js";
import type { SecretInspection } from "../stage/secrets-manager.js";

/** How much a finding matters: only `error` blocks the deploy. */
export type Severity = "ok" | "info" | "warning" | "error";

/** One check's outcome. */
export interface PreflightFinding {
  check:
    | "reachability"
    | "tls"
    | "server-version"
    | "admin-rights"
    | "conflicts"
    | "secret"
    | "public-create"
    | "pgcrypto"
    | "connection-headroom"
    | "read-replica";
  severity: Severity;
  detail: string;
  /** What to do about it (for warnings and errors). */
  remedy?: string;
}

/** The server's connection counts preflight reads (pg_settings, pg_stat_activity). */
interface ConnectionCounts {
  max_connections: number;
  reserved: number;
  /** Aurora/RDS (PostgreSQL ≤ 15) keeps these slots for rds_superuser on top of PostgreSQL's own; 0 elsewhere. */
  rds_reserved: number;
  in_use: number;
}

/**
 * Room for umami_user's CONNECTION LIMIT — Umami's pools × tasks × 2 for a rolling deploy + the post-deploy's
 * (`connectionBudget`) — in what `max_connections` leaves after the reserved slots and the connections in use.
 */
export function connectionHeadroomFinding(spec: UmamiDatabaseSpec, s: ConnectionCounts): PreflightFinding {
  // Slots neither the application nor the Umami role may use: PostgreSQL's superuser reserve and RDS's own.
  const free = s.max_connections - s.reserved - s.rds_reserved - s.in_use;
  const budget = spec.role.connectionBudget;
  const left = free - budget.total;
  const reserved = s.rds_reserved
    ? `reserved ${s.reserved} − rds_superuser reserved ${s.rds_reserved}`
    : `reserved ${s.reserved}`;
  const detail =
    `max_connections ${s.max_connections} − ${reserved} − in use ${s.in_use} − ${spec.role.name}'s limit ${budget.total} = ${left} left ` +
    `(limit: ${budget.formula})`;
  const fewer = budget.tasks > 1 ? `lower umamiTasks (${budget.tasks})` : "";
  const noReplica = budget.poolsPerTask > 1 ? "turn readReplica off" : "";
  const knobs = [fewer, noReplica].filter(Boolean).join(" or ");
  const remedy = `${knobs ? `For stage ${spec.stage} in sst/stages.ts, ${knobs}, or r` : "R"}aise max_connections (a larger instance class, or the cluster parameter group's max_connections).`;
  if (left < 0) return { check: "connection-headroom", severity: "error", detail, remedy };
  if (left < s.max_connections * 0.1) {
    return {
      check: "connection-headroom",
      severity: "warning",
      detail: `${detail}: less than 10% of max_connections stays for the application's peaks`,
      remedy,
    };
  }
  return { check: "connection-headroom", severity: "ok", detail };
}

/**
 * The stage's `readReplica` against its Umami release (no query): a warning when the release cannot use the
 * replica; undefined when the stage has none or the release reads through it.
 */
export function readReplicaFinding(spec: UmamiDatabaseSpec): PreflightFinding | undefined {
  if (!spec.container.readReplica) return undefined;
  const version = spec.umamiVersion;
  const off = `Set readReplica: false for stage ${spec.stage} in sst/stages.ts`;
  switch (umamiReplicaUse(version)) {
    case "reads":
      return undefined;
    case "ignored":
      return {
        check: "read-replica",
        severity: "warning",
        detail: `readReplica is set, but Umami ${version} never reads DATABASE_REPLICA_URL (src/lib/prisma.ts reads it from 2.18.0 on): the handoff leaves it out of the task and every query goes to the writer`,
        remedy: `${off}, or pin an Umami release from 2.18.0 to 2.x with umamiVersion.`,
      };
    case "breaks-writes":
      return {
        check: "read-replica",
        severity: "warning",
        detail:
          `readReplica is set, but Umami ${version} cannot use a replica: ${UMAMI_REPLICA_WRITE_FAILURE.codePath}, which the reader refuses ("${UMAMI_REPLICA_WRITE_FAILURE.error}"). ` +
          `The handoff therefore leaves DATABASE_REPLICA_URL out of the task, every query goes to the writer, and the role's limit counts one pool per task`,
        remedy: `${off} (the secret's DATABASE_REPLICA_URL is then dropped too); keep it only while something other than Umami reads that key. Never add DATABASE_REPLICA_URL to the Umami task by hand.`,
      };
  }
}

/** The finding for the stage's secret name, from `inspectStageSecret` (or the error that prevented it). */
export function secretFinding(spec: UmamiDatabaseSpec, secret: SecretInspection | Error): PreflightFinding {
  if (secret instanceof Error) {
    return {
      check: "secret",
      severity: "warning",
      detail: `could not check secret ${spec.secretName}: ${secret.message}`,
      remedy: "The deploy role needs secretsmanager:DescribeSecret.",
    };
  }
  switch (secret.state) {
    case "absent":
      return { check: "secret", severity: "ok", detail: `no secret ${secret.secretId} yet` };
    case "ours":
      if (secret.rotationEnabled) {
        // AWS's rotation functions set a new "password" and copy every other key unchanged: the URLs Umami reads
        // keep the old password, and the next deploy that rewrites the secret would put Pulumi's back.
        return {
          check: "secret",
          severity: "error",
          detail: `secret ${secret.secretId} has Secrets Manager rotation turned on: a rotation leaves DATABASE_URL, DIRECT_DATABASE_URL and DATABASE_REPLICA_URL with the old password, and the next deploy would write the stack's password back`,
          remedy: `Turn rotation off (aws secretsmanager cancel-rotate-secret --secret-id ${secret.secretId}) and rotate through the stack: set or raise passwordGeneration for stage ${spec.stage} in sst/stages.ts, then sst deploy.`,
        };
      }
      return {
        check: "secret",
        severity: "info",
        detail: `secret ${secret.secretId} exists, tagged for stage ${spec.stage}: the deploy updates it`,
      };
    case "scheduled-for-deletion":
      return {
        check: "secret",
        severity: "error",
        detail: `secret ${secret.secretId} is scheduled for deletion; Secrets Manager refuses to create a secret with that name`,
        remedy: `Restore it (aws secretsmanager restore-secret --secret-id ${secret.secretId}) or delete it now (aws secretsmanager delete-secret --force-delete-without-recovery --secret-id ${secret.secretId}).`,
      };
    case "foreign":
      return {
        check: "secret",
        severity: "error",
        detail: `secret ${secret.secretId} exists and is not stage ${spec.stage}'s (Environment tag: ${secret.environment ?? "none"})`,
        remedy: "Rename or remove that secret, or deploy under another stage name.",
      };
  }
}
