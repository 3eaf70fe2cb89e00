/**
 * The two migration steps `local` and `post-deploy` share: load the source, then apply it as the Umami role
 * with the runner's progress (elapsed time, lock waits, index builds) reported on the step.
 */
import type { ConnectionSettings } from "../kernel/db.js";
import { describeMigrationProgress } from "../migrate/progress.js";
import { applyMigrations, type MigrateResult } from "../migrate/runner.js";
import { loadMigrations, type LoadOptions, type MigrationSet } from "../migrate/sources.js";
import type { StepRunner } from "./steps.js";

/** The load step's detail: how many, from what, from where. */
export function describeSet(set: MigrationSet): string {
  return `${set.migrations.length} migrations from ${set.source}${set.origin && set.origin !== "directory" ? ` (${set.origin})` : ""}`;
}

/** Step "load migrations": the source's migrations, in Prisma's order. */
export function loadMigrationsStep(steps: StepRunner, source: string, options: LoadOptions): Promise<MigrationSet> {
  return steps.run("load migrations", () => loadMigrations(source, options), describeSet);
}

/** Step "migrate as <role>": applies `set` as `umami`, with progress on the step while a migration runs. */
export function migrateStep(steps: StepRunner, umami: ConnectionSettings, set: MigrationSet): Promise<MigrateResult> {
  const name = `migrate as ${umami.user}`;
  return steps.run(
    name,
    () => applyMigrations(umami, set, { onProgress: (e) => e.type === "progress" && steps.progress(name, `${e.name} ${describeMigrationProgress(e)}`) }),
    (m) => `${m.applied.length} applied, ${m.alreadyApplied.length} already applied`,
  );
}
