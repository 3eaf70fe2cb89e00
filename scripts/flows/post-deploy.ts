/**
 * `umami-db post-deploy`: after `sst deploy`, against the live stage — Umami's migrations as umami_user,
 * the isolation audit with the application's fingerprint from before, a baseline after compared with the one
 * from before. Returns data; the command renders the report directory.
 */
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import type { CloudWatchOptions } from "../evidence/baseline.js";
import type { BeforeSnapshot, ChecksSummary } from "./checks.js";
import type { ConnectionSettings } from "../kernel/db.js";
import { migrationStatus } from "../migrate/runner.js";
import type { LoadOptions } from "../migrate/sources.js";
import { statusVerdict } from "../migrate/status.js";
import type { EmbeddedServer } from "../local/embedded.js";
import {
  loadMigrationsStep,
  migrateAndVerify,
  scratchFirstStep,
  type MigrationFlowResult,
  type MigrationTiming,
  type OnlineRun,
} from "./migration-steps.js";
import type { OnlineResult } from "../migrate/online/deploy.js";
import { onlineNextSteps } from "../migrate/online/report.js";
import { flowFailure, StepRunner, type StepObserver } from "./steps.js";
import { buildHandoff, parseSecretArn, type Handoff } from "./handoff.js";
import { NotDeployedError, requireDeployed } from "./deployed.js";
import type { VerifySchemaResult } from "./verify-schema.js";

/** Inputs of a post-deploy run, resolved and validated by the command. */
interface PostDeployOptions {
  spec: UmamiDatabaseSpec;
  admin: ConnectionSettings;
  umami: ConnectionSettings;
  /** ARN (or name) of the credentials secret, for the report's handoff (the Umami task reads the secret by ARN). */
  secretArn?: string;
  /** The Umami release migrated, for the handoff's image tag. @default the stage's (`spec.umamiVersion`) */
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
  /** `--online [--finish]`: the migrations with an online plan run online (docs/upgrades.md). */
  online?: OnlineRun;
  observer?: StepObserver;
  now?: () => Date;
}

/** What an online run did and what is left, for the report. */
export interface OnlineSummary {
  /** Each migration with an online plan, and where it stands: `backfilled` (both versions write) … `recorded`. */
  migrations: OnlineResult["online"];
  finished: boolean;
  /** The locks each phase held, per table, measured. */
  held: OnlineResult["held"];
  /** ACCESS EXCLUSIVE time spent per table this run (wait + hold). */
  locks: OnlineResult["locks"];
  /** The backfill's pauses for replica lag or the application's latency. */
  paused: OnlineResult["paused"];
  /** What to do next, in order; empty once finished. */
  next: string[];
}

/** What a post-deploy run found; holds no password. */
export interface PostDeployResult extends MigrationFlowResult {
  startedAt: string;
  finishedAt: string;
  secretArn: string | null;
  target: { host: string; port: number; database: string };
  migrations: MigrationFlowResult["migrations"] & {
    /** Edited applied migrations, one line each (Umami's own edits between releases named as such). */
    modified: string[];
    /** Migrations the database has and the source lacks (the database is ahead, e.g. a newer Umami ran). */
    missingLocally: string[];
    /** Each migration this run applied or tried, in order: start, duration, locks (the report's timeline). */
    timeline: MigrationTiming[];
    /** With --online: which migrations ran online and what is left; null otherwise. */
    online: OnlineSummary | null;
  };
  before: { baseline: string | null; fingerprint: string | null };
  /** The live schema against the one the applied migrations build on a scratch server (verify-schema). */
  schemaCheck: VerifySchemaResult | null;
  checks: ChecksSummary | null;
  /** What the Umami ECS task needs; null when the secret's full ARN is not known. */
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
    migrations: {
      source: options.migrations,
      applied: [],
      alreadyApplied: [],
      modified: [],
      missingLocally: [],
      notes: [],
      timeline: [],
      online: null,
    },
    umamiTables: 0,
    tables: [],
    before: {
      baseline: options.before.baseline?.capturedAt ?? null,
      fingerprint: options.before.fingerprint?.capturedAt ?? null,
    },
    schemaCheck: null,
    checks: null,
    // Built from the spec and the ARN alone, so report.md carries it whatever the steps below find.
    handoff:
      options.secretArn && parseSecretArn(options.secretArn)
        ? buildHandoff(spec, options.secretArn, { umamiVersion: options.umamiVersion })
        : null,
  };
  let scratch: EmbeddedServer | undefined;
  try {
    const set = await loadMigrationsStep(steps, options.migrations, options.sources);
    result.migrations.notes = set.notes ?? [];
    // Before anything logs in as the Umami role (after the source, which needs no database): a stage not
    // deployed yet is named as such, not as the wrong password PostgreSQL answers for a missing role.
    await requireDeployed(admin, spec);
    // Before the first change: every later step can run, the schema check's own server included.
    scratch = await scratchFirstStep(steps);
    const verified = migrateAndVerify(steps, {
      admin,
      umami,
      spec,
      set,
      scratch,
      before: options.before,
      cloudwatch: options.cloudwatch,
      tablesStep: true,
      timeline: result.migrations.timeline,
      online: options.online,
    });
    for await (const outcome of verified) {
      if (!("migrated" in outcome)) {
        Object.assign(result, outcome);
        continue;
      }
      const online = outcome.online;
      if (online)
        result.migrations.online = {
          migrations: online.online,
          finished: online.finished,
          held: online.held,
          locks: online.locks,
          paused: online.paused,
          next: online.online.some((m) => m.phase !== "recorded")
            ? onlineNextSteps(options.online?.command ?? "umami-db post-deploy")
            : [],
        };
      const underWay = new Set(online?.online.filter((m) => m.phase !== "recorded").map((m) => m.name));
      // Prisma's `migrate status` after the deploy: edited and missing-locally migrations are reported, and
      // fail the run only with --strict (`docs/design.md` § "Umami's releases and Prisma").
      const status = await steps.check(
        "migration status",
        // Between --online and --finish the online migrations are pending by design: asked of the rest only.
        () =>
          migrationStatus(
            umami,
            underWay.size ? { ...set, migrations: set.migrations.filter((m) => !underWay.has(m.name)) } : set,
          ),
        (s) => {
          const verdict = statusVerdict(s, { strict: options.strict });
          const extra = [
            s.modified.length ? `${s.modified.length} edited since applied` : "",
            s.missingLocally.length ? `${s.missingLocally.length} applied but not in the source` : "",
          ].filter(Boolean);
          const online = underWay.size
            ? `; ${underWay.size} under way online, recorded by --finish after the old image is drained`
            : "";
          return {
            ok: verdict.exitCode === 0,
            detail: `${verdict.exitCode === 0 ? "up to date" : "not in sync"}${extra.length ? ` (${extra.join(", ")}${options.strict ? "" : "; reported, --strict fails on them"})` : ""}${online}`,
          };
        },
      );
      result.migrations = {
        ...result.migrations,
        source: set.source,
        applied: outcome.migrated.applied,
        alreadyApplied: outcome.migrated.alreadyApplied,
        modified: status.modified.map((m) => m.message),
        missingLocally: status.missingLocally,
        online: result.migrations.online,
      };
    }
    result.ok = steps.ok;
  } catch (error) {
    // Nothing was done yet: the command says the one next step, with no report of a run that did not happen.
    if (error instanceof NotDeployedError) throw error;
    Object.assign(result, flowFailure(error));
  } finally {
    await scratch?.stop();
  }
  result.finishedAt = now().toISOString();
  return result;
}
