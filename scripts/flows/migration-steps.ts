/**
 * The migration steps `local` and `post-deploy` share: load the source, apply it as the Umami role with the
 * runner's progress (elapsed time, lock waits, index builds) reported on the step, then prove the result:
 * the tables, the audit and baseline after, and the schema against the release.
 */
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import type { CloudWatchOptions } from "../evidence/baseline.js";
import { withClient, type ConnectionSettings } from "../kernel/db.js";
import { inspectSchema } from "../migrate/bookkeeping.js";
import { heldLocks } from "../migrate/lock-plan.js";
import { describeMigrationProgress, formatElapsed } from "../migrate/progress.js";
import { applyMigrations, type MigrateEvent, type MigrateResult } from "../migrate/runner.js";
import { deployOnline, type OnlineOptions, type OnlineResult } from "../migrate/online/deploy.js";
import { describeHeld } from "../migrate/online/report.js";
import { loadMigrations, type LoadOptions, type MigrationSet } from "../migrate/sources.js";
import { checkAfter, type BeforeSnapshot, type ChecksSummary } from "./checks.js";
import type { StepRecord, StepRunner } from "./steps.js";
import type { EmbeddedServer } from "../local/embedded.js";
import { startScratchServer, verifySchema, type VerifySchemaResult } from "./verify-schema.js";
import { verifySchemaLine } from "./verify-schema-report.js";

/** What `local` and `post-deploy` both report about a run; holds no password. */
export interface MigrationFlowResult {
  ok: boolean;
  stage: string;
  steps: StepRecord[];
  failedStep?: string;
  error?: string;
  names: { schema: string; role: string; secretName: string };
  migrations: { source: string; applied: string[]; alreadyApplied: string[]; notes: string[] };
  /** Tables in the Umami schema, not counting `_prisma_migrations` (17 for Umami 3.1.0, 9 for 2.10.0). */
  umamiTables: number;
  /** Every table in the Umami schema, `_prisma_migrations` included. */
  tables: string[];
}

/** The load step's detail: how many, from what, from where. */
function describeSet(set: MigrationSet): string {
  return `${set.migrations.length} migrations from ${set.source}${set.origin && set.origin !== "directory" ? ` (${set.origin})` : ""}`;
}

/** Step "load migrations": the source's migrations, in Prisma's order. */
export function loadMigrationsStep(steps: StepRunner, source: string, options: LoadOptions): Promise<MigrationSet> {
  return steps.run("load migrations", () => loadMigrations(source, options), describeSet);
}

/**
 * Step "start the schema check's scratch server", before a flow changes a real database: a scratch server that
 * cannot start (PostgreSQL's programs out of reach, a temporary directory it cannot use) then refuses the run
 * with nothing changed, instead of failing its last step after the migrations. The caller stops it.
 */
export function scratchFirstStep(steps: StepRunner): Promise<EmbeddedServer> {
  return steps.run(
    "start the schema check's scratch PostgreSQL",
    startScratchServer,
    (s) => `127.0.0.1:${s.port}, before any change`,
  );
}

/** One migration this run applied (or tried): when, how long, and the table locks its statements take. */
export interface MigrationTiming {
  name: string;
  startedAt: string;
  ms: number;
  ok: boolean;
  /** e.g. `ACCESS EXCLUSIVE on website_event until commit (≤ 1 min 05 s)`; tables the migration itself creates are left out. */
  locks: string[];
}

/** The lock a migration holds on each table that exists before it (the strongest, held to commit), and how long at most. */
function locksOf(sql: string, ms: number): string[] {
  return heldLocks(sql).map(({ table, lock }) => `${lock} on ${table} until commit (≤ ${formatElapsed(ms)})`);
}

/** The online engine's options a flow passes on (its progress goes to the step). */
export type OnlineRun = Omit<OnlineOptions, "onEvent" | "onProgress">;

/** The runner's events as step progress, and each migration's start, duration and locks into `timeline`. */
function timelineObserver(
  steps: StepRunner,
  name: string,
  set: MigrationSet,
  timeline: MigrationTiming[],
): (e: MigrateEvent) => void {
  const started = new Map<string, string>();
  const sql = new Map(set.migrations.map((m) => [m.name, m.sql]));
  return (e) => {
    if (e.type === "progress") steps.progress(name, `${e.name} ${describeMigrationProgress(e)}`);
    if (e.type === "start") started.set(e.name, new Date().toISOString());
    if (e.type === "applied" || e.type === "failed") {
      timeline.push({
        name: e.name,
        startedAt: started.get(e.name) ?? new Date().toISOString(),
        ms: e.ms,
        ok: e.type === "applied",
        locks: locksOf(sql.get(e.name) ?? "", e.ms),
      });
    }
  };
}

/**
 * Step "migrate as <role>": applies `set` as `umami`, with progress on the step while a migration runs; each
 * migration's start, duration and locks go into `timeline` as they happen (a failed one included).
 */
function migrateStep(
  steps: StepRunner,
  umami: ConnectionSettings,
  set: MigrationSet,
  timeline: MigrationTiming[] = [],
): Promise<MigrateResult> {
  const name = `migrate as ${umami.user}`;
  return steps.run(
    name,
    () => applyMigrations(umami, set, { onProgress: timelineObserver(steps, name, set, timeline) }),
    (m) => `${m.applied.length} applied, ${m.alreadyApplied.length} already applied`,
  );
}

/** The step's detail of an online run: what ran as usual, where each online migration stands. */
function describeOnlineRun(r: OnlineResult): string {
  const phases = r.online.map((m) => `${m.name} ${m.phase}`).join(", ");
  return `${r.offline.length} applied as usual, ${r.alreadyApplied.length} already applied; online: ${phases || "none pending"}`;
}

/**
 * Step "migrate as <role> (online)": `set` through the online engine; the plain migrations' timing as above,
 * and one entry per online phase this run ran, labelled with the locks it held on each table, measured.
 */
function migrateOnlineStep(
  steps: StepRunner,
  umami: ConnectionSettings,
  set: MigrationSet,
  online: OnlineRun,
  timeline: MigrationTiming[] = [],
): Promise<OnlineResult> {
  const name = `migrate as ${umami.user} (online${online.finish ? ", finish" : ""})`;
  return steps.run(
    name,
    async () => {
      const result = await deployOnline(umami, set, {
        ...online,
        onProgress: timelineObserver(steps, name, set, timeline),
        onEvent: (e) => {
          if (e.type === "step") steps.progress(name, `${e.migration}: ${e.label}`);
        },
      });
      for (const p of result.phases)
        timeline.push({
          name: `${p.migration} (${p.phase}, online)`,
          startedAt: p.startedAt,
          ms: p.ms,
          ok: true,
          locks: describeHeld(
            result.held.filter((h) => h.phase === p.phase),
            p.migration,
          ).map((l) => l.replace(/^\w+: /, "")),
        });
      timeline.sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
      return result;
    },
    describeOnlineRun,
  );
}

/** One step's outcome of `migrateAndVerify`, handed back as the step ends. */
type MigrationOutcome =
  | { migrated: Pick<MigrateResult, "applied" | "alreadyApplied">; online?: OnlineResult }
  | { tables: string[]; umamiTables: number }
  | { checks: ChecksSummary }
  | { schemaCheck: VerifySchemaResult };

/**
 * Migrates as the Umami role and proves the outcome: migrate → the schema's tables → the audit and the baseline
 * after → the schema against the release. Each step's outcome is handed back as the step ends, so a failed step
 * leaves the caller what came before it, and the caller acts between two steps where it must (post-deploy asks
 * Prisma's status right after the migration, before anything else runs).
 */
export async function* migrateAndVerify(
  steps: StepRunner,
  options: {
    admin: ConnectionSettings;
    umami: ConnectionSettings;
    spec: UmamiDatabaseSpec;
    set: MigrationSet;
    before?: Partial<BeforeSnapshot>;
    cloudwatch?: CloudWatchOptions;
    /** Receives each migration's start, duration and locks as it ends (post-deploy's timeline). */
    timeline?: MigrationTiming[];
    /** The schema check's scratch server, started before the first change (`scratchFirstStep`). */
    scratch?: EmbeddedServer;
    /** Lists the tables as a step of its own ("count Umami tables"), as post-deploy's report shows it. @default false */
    tablesStep?: boolean;
    /** Run the migrations with an online plan online (docs/upgrades.md); without `finish` the schema check waits for it. */
    online?: OnlineRun;
  },
): AsyncGenerator<MigrationOutcome, void, undefined> {
  const { admin, umami, spec, set } = options;
  let between = false;
  if (options.online) {
    const online = await migrateOnlineStep(steps, umami, set, options.online, options.timeline);
    // Expanded, not contracted: the schema is neither release's until --finish, so the check waits for it.
    between = online.online.some((m) => m.phase !== "recorded");
    yield {
      migrated: { applied: [...online.offline, ...online.recorded], alreadyApplied: online.alreadyApplied },
      online,
    };
  } else yield { migrated: await migrateStep(steps, umami, set, options.timeline) };
  const listTables = async () => (await withClient(admin, (c) => inspectSchema(c, spec.schema))).tables;
  const tables = options.tablesStep
    ? await steps.run("count Umami tables", listTables, (t) => `${t.length} tables`)
    : await listTables();
  yield { tables, umamiTables: tables.filter((t) => t !== "_prisma_migrations").length };
  yield {
    checks: await checkAfter(steps, { admin, umami, spec, before: options.before, cloudwatch: options.cloudwatch }),
  };
  if (between) return;
  // After the baseline: its window between "before" and "after" stays as short as before.
  yield {
    schemaCheck: await steps.check(
      "verify schema against the release",
      () => verifySchema(umami, set, undefined, options.scratch),
      (v) => ({ ok: v.ok, detail: verifySchemaLine(v) }),
    ),
  };
}
