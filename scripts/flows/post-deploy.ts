/**
 * `umami-db post-deploy`: after `sst deploy`, against the live stage — Umami's migrations as umami_user,
 * the isolation audit with the application's fingerprint from before, a baseline after compared with the one
 * from before. Returns data; the command renders the report directory.
 */
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import type { CloudWatchOptions } from "../evidence/baseline.js";
import { checkAfter, type BeforeSnapshot, type ChecksSummary } from "./checks.js";
import { withClient, type ConnectionSettings } from "../kernel/db.js";
import { describeMigrationProgress } from "../migrate/progress.js";
import { applyMigrations } from "../migrate/runner.js";
import { inspectSchema } from "../migrate/bookkeeping.js";
import { loadMigrations } from "../migrate/sources.js";
import { flowFailure, StepRunner, type StepObserver, type StepRecord } from "./steps.js";

/** Inputs of a post-deploy run, resolved and validated by the command. */
export interface PostDeployOptions {
  spec: UmamiDatabaseSpec;
  admin: ConnectionSettings;
  umami: ConnectionSettings;
  /** ARN (or name) of the credentials secret, for the report (Story 4.1 needs it). */
  secretArn?: string;
  /** Migration source: a directory or `npm:umami@<version>`. */
  migrations: string;
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
  migrations: { source: string; applied: string[]; alreadyApplied: string[]; modified: string[] };
  /** Tables in the Umami schema, not counting `_prisma_migrations`. */
  umamiTables: number;
  tables: string[];
  before: { baseline: string | null; fingerprint: string | null };
  checks: ChecksSummary | null;
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
    migrations: { source: options.migrations, applied: [], alreadyApplied: [], modified: [] },
    umamiTables: 0,
    tables: [],
    before: { baseline: options.before.baseline?.capturedAt ?? null, fingerprint: options.before.fingerprint?.capturedAt ?? null },
    checks: null,
  };
  try {
    const set = await steps.run("load migrations", () => loadMigrations(options.migrations), (s) => `${s.migrations.length} migrations from ${s.source}`);
    const migrateStep = `migrate as ${umami.user}`;
    const migrated = await steps.run(
      migrateStep,
      () => applyMigrations(umami, set, { onProgress: (e) => e.type === "progress" && steps.progress(migrateStep, `${e.name} ${describeMigrationProgress(e)}`) }),
      (m) => `${m.applied.length} applied, ${m.alreadyApplied.length} already applied${m.modified.length ? `, ${m.modified.length} EDITED since applied` : ""}`,
    );
    result.migrations = {
      source: set.source,
      applied: migrated.applied,
      alreadyApplied: migrated.alreadyApplied,
      modified: migrated.modified.map((m) => m.message),
    };
    result.tables = await steps.run(
      "count Umami tables",
      async () => (await withClient(admin, (c) => inspectSchema(c, spec.schema))).tables,
      (t) => `${t.length} tables`,
    );
    result.umamiTables = result.tables.filter((t) => t !== "_prisma_migrations").length;
    result.checks = await checkAfter(steps, { admin, umami, spec, before: options.before, cloudwatch: options.cloudwatch });
    result.ok = steps.ok && migrated.modified.length === 0;
  } catch (error) {
    Object.assign(result, flowFailure(error));
  }
  result.finishedAt = now().toISOString();
  return result;
}
