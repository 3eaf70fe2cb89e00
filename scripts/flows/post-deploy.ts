/**
 * `umami-db post-deploy`: after `sst deploy`, against the live stage — Umami's migrations as umami_user,
 * the isolation audit with the application's fingerprint from before, a baseline after compared with the one
 * from before. Returns data; the command renders the report directory.
 */
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import type { CloudWatchOptions } from "../evidence/baseline.js";
import { checkAfter, type BeforeSnapshot, type ChecksSummary } from "./checks.js";
import { withClient, type ConnectionSettings } from "../kernel/db.js";
import { migrationStatus } from "../migrate/runner.js";
import { inspectSchema } from "../migrate/bookkeeping.js";
import type { LoadOptions } from "../migrate/sources.js";
import { statusVerdict } from "../migrate/status.js";
import { loadMigrationsStep, migrateStep } from "./migration-steps.js";
import { flowFailure, StepRunner, type StepObserver, type StepRecord } from "./steps.js";
import { buildHandoff, parseSecretArn, type Handoff } from "./handoff.js";
import { verifySchema, type VerifySchemaResult } from "./verify-schema.js";
import { verifySchemaLine } from "./verify-schema-report.js";

/** Inputs of a post-deploy run, resolved and validated by the command. */
export interface PostDeployOptions {
  spec: UmamiDatabaseSpec;
  admin: ConnectionSettings;
  umami: ConnectionSettings;
  /** ARN (or name) of the credentials secret, for the report (Story 4.1 needs it). */
  secretArn?: string;
  /** The Umami release migrated, for the handoff's image tag. @default DEFAULT_UMAMI_VERSION */
  umamiVersion?: string;
  /** Migration source: `github:umami-software/umami@v<version>`, `docker:<image>` or a directory. */
  migrations: string;
  /** Mirror, cache and GitHub address for the source (the command reads them from the environment). */
  sources: LoadOptions;
  /** Fail on an edited applied migration or a database ahead of the source (Prisma only reports both). @default false */
  strict?: boolean;
  /** The snapshot `preflight` saved; comparisons are skipped for what is missing. */
  before: Partial<BeforeSnapshot>;
  cloudwatch?: CloudWatchOptions;
  observer?: StepObserver;
  now?: () => Date;
}

/** What a post-deploy run found; holds no password. */
export interface PostDeployResult {
  ok: boolean;
  stage: string;
  startedAt: string;
  finishedAt: string;
  steps: StepRecord[];
  failedStep?: string;
  error?: string;
  secretArn: string | null;
  names: { schema: string; role: string; secretName: string };
  target: { host: string; port: number; database: string };
  migrations: {
    source: string;
    applied: string[];
    alreadyApplied: string[];
    /** Edited applied migrations, one line each (Umami's own edits between releases named as such). */
    modified: string[];
    /** Migrations the database has and the source lacks (the database is ahead, e.g. a newer Umami ran). */
    missingLocally: string[];
    /** What the tool knows about the source's files. */
    notes: string[];
  };
  /** Tables in the Umami schema, not counting `_prisma_migrations`. */
  umamiTables: number;
  tables: string[];
  before: { baseline: string | null; fingerprint: string | null };
  /** The live schema against the one the applied migrations build on a scratch server (verify-schema). */
  schemaCheck: VerifySchemaResult | null;
  checks: ChecksSummary | null;
  /** What the Umami ECS task needs (Story 4.1); null when the secret's full ARN is not known. */
  handoff: Handoff | null;
}

/** Runs the post-deploy steps in order; a failed step stops the run and is named in the result. */
export async function runPostDeploy(options: PostDeployOptions): Promise<PostDeployResult> {
  const now = options.now ?? (() => new Date());
  const steps = new StepRunner(options.observer);
  const { spec, admin, umami } = options;
  const result: PostDeployResult = {
    ok: false,
    stage: spec.stage,
    startedAt: now().toISOString(),
    finishedAt: "",
    steps: steps.steps,
    secretArn: options.secretArn ?? null,
    names: { schema: spec.schema, role: spec.role.name, secretName: spec.secretName },
    target: { host: admin.host, port: admin.port, database: admin.database },
    migrations: { source: options.migrations, applied: [], alreadyApplied: [], modified: [], missingLocally: [], notes: [] },
    umamiTables: 0,
    tables: [],
    before: { baseline: options.before.baseline?.capturedAt ?? null, fingerprint: options.before.fingerprint?.capturedAt ?? null },
    schemaCheck: null,
    checks: null,
    // Built from the spec and the ARN alone, so report.md carries it whatever the steps below find.
    handoff: options.secretArn && parseSecretArn(options.secretArn) ? buildHandoff(spec, options.secretArn, { umamiVersion: options.umamiVersion }) : null,
  };
  try {
    const set = await loadMigrationsStep(steps, options.migrations, options.sources);
    result.migrations.notes = set.notes ?? [];
    const migrated = await migrateStep(steps, umami, set);
    // Prisma's `migrate status` after the deploy: edited and missing-locally migrations are reported, and
    // fail the run only with --strict (DESIGN.md fact 13).
    const status = await steps.check(
      "migration status",
      () => migrationStatus(umami, set),
      (s) => {
        const verdict = statusVerdict(s, { strict: options.strict });
        const extra = [s.modified.length ? `${s.modified.length} edited since applied` : "", s.missingLocally.length ? `${s.missingLocally.length} applied but not in the source` : ""].filter(Boolean);
        return { ok: verdict.exitCode === 0, detail: `${verdict.exitCode === 0 ? "up to date" : "not in sync"}${extra.length ? ` (${extra.join(", ")}${options.strict ? "" : "; reported, --strict fails on them"})` : ""}` };
      },
    );
    result.migrations = {
      ...result.migrations,
      source: set.source,
      applied: migrated.applied,
      alreadyApplied: migrated.alreadyApplied,
      modified: status.modified.map((m) => m.message),
      missingLocally: status.missingLocally,
    };
    result.tables = await steps.run(
      "count Umami tables",
      async () => (await withClient(admin, (c) => inspectSchema(c, spec.schema))).tables,
      (t) => `${t.length} tables`,
    );
    result.umamiTables = result.tables.filter((t) => t !== "_prisma_migrations").length;
    result.checks = await checkAfter(steps, { admin, umami, spec, before: options.before, cloudwatch: options.cloudwatch });
    // After the baseline: its window between "before" and "after" stays as short as before.
    result.schemaCheck = await steps.check("verify schema against the release", () => verifySchema(umami, set), (v) => ({ ok: v.ok, detail: verifySchemaLine(v) }));
    result.ok = steps.ok;
  } catch (error) {
    Object.assign(result, flowFailure(error));
  }
  result.finishedAt = now().toISOString();
  return result;
}
