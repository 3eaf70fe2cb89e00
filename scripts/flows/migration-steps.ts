/**
 * The two migration steps `local` and `post-deploy` share: load the source, then apply it as the Umami role
 * with the runner's progress (elapsed time, lock waits, index builds) reported on the step.
 */
import type { ConnectionSettings } from "../kernel/db.js";
import { planStatements } from "../migrate/lock-plan.js";
import { describeMigrationProgress } from "../migrate/progress.js";
import { applyMigrations, type MigrateResult } from "../migrate/runner.js";
import { loadMigrations, type LoadOptions, type MigrationSet } from "../migrate/sources.js";
import type { StepRunner } from "./steps.js";

/** The load step's detail: how many, from what, from where. */
export function describeSet(set: MigrationSet): string {
  return `${set.migrations.length} migrations from ${set.source}${set.origin && set.origin !== "directory" ? ` (${set.origin})` : ""}`;
}

/** Step "load migrations": the source's migrations, in Prisma's order. */
export function loadMigrationsStep(steps: StepRunner, source: string, options?: LoadOptions): Promise<MigrationSet> {
  return steps.run("load migrations", () => loadMigrations(source, options), describeSet);
}

/** One migration this run applied (or tried): when, how long, and the table locks its statements take. */
export interface MigrationTiming {
  name: string;
  startedAt: string;
  ms: number;
  ok: boolean;
  /** e.g. `ACCESS EXCLUSIVE on website_event`; tables the migration itself creates are left out. */
  locks: string[];
}

/** The locks a migration's statements take on tables that exist before it, strongest per table. */
function locksOf(sql: string): string[] {
  const byTable = new Map<string, string>();
  for (const op of planStatements(sql, new Map())) byTable.set(op.table, op.lock);
  return [...byTable].map(([table, lock]) => `${lock} on ${table}`);
}

/**
 * Step "migrate as <role>": applies `set` as `umami`, with progress on the step while a migration runs; each
 * migration's start, duration and locks go into `timeline` as they happen (a failed one included).
 */
export function migrateStep(steps: StepRunner, umami: ConnectionSettings, set: MigrationSet, timeline: MigrationTiming[] = []): Promise<MigrateResult> {
  const name = `migrate as ${umami.user}`;
  const started = new Map<string, string>();
  const sql = new Map(set.migrations.map((m) => [m.name, m.sql]));
  return steps.run(
    name,
    () =>
      applyMigrations(umami, set, {
        onProgress: (e) => {
          if (e.type === "progress") steps.progress(name, `${e.name} ${describeMigrationProgress(e)}`);
          if (e.type === "start") started.set(e.name, new Date().toISOString());
          if (e.type === "applied" || e.type === "failed") {
            timeline.push({ name: e.name, startedAt: started.get(e.name) ?? new Date().toISOString(), ms: e.ms, ok: e.type === "applied", locks: locksOf(sql.get(e.name) ?? "") });
          }
        },
      }),
    (m) => `${m.applied.length} applied, ${m.alreadyApplied.length} already applied`,
  );
}
