/**
 * `npm run bench:upgrade [-- --rows 3000000] [-- --json]`: Umami 2.10.0 (release) → 3.1.0 on a grown database,
 * with the runner, as umami_user with the stage's real role settings (sst/database/spec.ts, stage dev).
 * Not part of `npm test` or `npm run bench`: at the default size it takes ~15 minutes here.
 *
 * 1. An embedded PostgreSQL 15, an Aurora-like administrator, stage dev provisioned (role limits included).
 * 2. A plain umami_user session reports the role's statement_timeout: the guard is in force.
 * 3. 2.10.0's migrations, then the dataset (bench/umami-dataset.ts) as umami_user.
 * 4. `migrate deploy --dry-run`'s plan for 3.1.0, then the upgrade with progress on stderr, each migration timed;
 *    each migration's transaction reports its own statement_timeout (0) and lock_timeout.
 *
 * Migrations come through the product's `github:` source, from the copy bundled in vendor/umami.
 */
import { cpus, totalmem } from "node:os";
import { withClient } from "../scripts/kernel/db.js";
import { startProvisionedStage } from "./provisioned-stage.js";
import { describeImpact, formatBytes } from "../scripts/migrate/deploy-impact.js";
import { describeMigrationProgress, formatElapsed } from "../scripts/migrate/progress.js";
import { applyMigrations, type MigrateEvent } from "../scripts/migrate/runner.js";
import { loadMigrations, umamiReleaseSource } from "../scripts/migrate/sources.js";
import { migrationLoadOptions } from "../scripts/commands/migration-source.js";
import { progressObserver } from "../scripts/commands/progress.js";
import { generateUmamiDataset, schemaSizes } from "./umami-dataset.js";

const json = process.argv.includes("--json");
const rowsFlag = process.argv.indexOf("--rows");
const rows = rowsFlag > 0 ? Number(process.argv[rowsFlag + 1]) : 3_000_000;
if (!Number.isInteger(rows) || rows < 1000) {
  process.stderr.write(
    `error: --rows takes a whole number of website_event rows, at least 1000 (got ${JSON.stringify(process.argv[rowsFlag + 1])}).\n`,
  );
  process.exit(2);
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const out = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
};

async function main() {
  // Through the product's own source: UMAMI_MIGRATIONS_MIRROR first, then the cache, then GitHub.
  const release = await loadMigrations(umamiReleaseSource("2.10.0"), migrationLoadOptions(process.env));
  const target = await loadMigrations(umamiReleaseSource("3.1.0"), migrationLoadOptions(process.env));
  const { server, spec, umami } = await startProvisionedStage("bench upgrade");
  try {
    const plain = await withClient(
      umami,
      async (c) =>
        (
          await c.query<{ statement_timeout: string; lock_timeout: string }>(
            "SELECT current_setting('statement_timeout') AS statement_timeout, current_setting('lock_timeout') AS lock_timeout",
          )
        ).rows[0],
    );
    out(
      `role ${spec.role.name} (spec: statement_timeout ${spec.role.statementTimeoutMs} ms): a plain session has statement_timeout = ${plain.statement_timeout}, lock_timeout = ${plain.lock_timeout}`,
    );

    await applyMigrations(umami, release);
    log(`generating ${rows.toLocaleString("en-US")} website_event rows as ${spec.role.name} …`);
    // The role's statement_timeout (60 s) guards Umami's own queries; the dataset's 100,000-row batches are the
    // bench's, and on a busy 2-core machine one took longer (the full run stopped at 1.3 M events): this session lifts it.
    const dataset = await withClient(umami, async (c) => {
      await c.query("SET statement_timeout = 0");
      return generateUmamiDataset(c, spec.schema, rows, (done) => log(`  ${done.toLocaleString("en-US")} events`));
    });
    const before = await withClient(umami, (c) => schemaSizes(c, spec.schema));
    const beforeBytes = before.reduce((sum, t) => sum + t.bytes, 0);
    out(
      `dataset (Umami 2.10.0): ${dataset.websites} websites, ${dataset.sessions.toLocaleString("en-US")} sessions, ${dataset.events.toLocaleString("en-US")} events, ${dataset.eventData.toLocaleString("en-US")} event_data rows; ${formatBytes(beforeBytes)} in ${formatElapsed(dataset.ms)}`,
    );
    for (const t of before.slice(0, 4))
      out(`  ${t.table.padEnd(14)} ${t.rows.toLocaleString("en-US").padStart(11)} rows  ${formatBytes(t.bytes)}`);

    const dry = await applyMigrations(umami, target, { dryRun: true });
    out(`\nmigrate deploy --dry-run: ${dry.pending.length} pending (${dry.pending[0]} … ${dry.pending.at(-1)})`);
    for (const line of describeImpact(dry.impact ?? [])) out(line);

    const timings: { name: string; ms: number; statementTimeout: string; lockTimeout: string }[] = [];
    const observer = progressObserver();
    const started: Record<string, { statementTimeout: string; lockTimeout: string }> = {};
    const onProgress = (e: MigrateEvent) => {
      if (e.type === "start") {
        started[e.name] = { statementTimeout: e.statementTimeout, lockTimeout: e.lockTimeout };
        observer.start?.(e.name);
      } else if (e.type === "progress") observer.progress?.(e.name, describeMigrationProgress(e));
      else if (e.type === "applied") {
        timings.push({ name: e.name, ms: Math.round(e.ms), ...started[e.name] });
        observer.end?.({ name: e.name, ok: true, ms: Math.round(e.ms) });
      }
    };
    const t0 = performance.now();
    const upgraded = await applyMigrations(umami, target, { onProgress });
    const totalMs = performance.now() - t0;
    const after = await withClient(umami, (c) => schemaSizes(c, spec.schema));
    const afterBytes = after.reduce((sum, t) => sum + t.bytes, 0);

    out(
      `\nupgrade 2.10.0 → 3.1.0 as ${spec.role.name}: ${upgraded.applied.length} migrations in ${formatElapsed(totalMs)}; schema ${formatBytes(beforeBytes)} → ${formatBytes(afterBytes)}`,
    );
    out("  migration                        time     statement_timeout  lock_timeout");
    for (const t of timings)
      out(
        `  ${t.name.padEnd(32)} ${formatElapsed(t.ms).padStart(9)}  ${t.statementTimeout.padEnd(17)}  ${t.lockTimeout}`,
      );
    const longest = timings.reduce((a, b) => (b.ms > a.ms ? b : a));
    const verdict =
      longest.ms > spec.role.statementTimeoutMs
        ? `longer than the role's statement_timeout (${spec.role.statementTimeoutMs / 1000} s): a plain session would have been cancelled; the migration ran with statement_timeout = ${longest.statementTimeout}`
        : `within the role's statement_timeout (${spec.role.statementTimeoutMs / 1000} s) at this size`;
    out(`longest: ${longest.name} ${formatElapsed(longest.ms)}, ${verdict}`);
    out(
      `machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB; embedded PostgreSQL 15 with default memory settings`,
    );
    if (json) {
      process.stdout.write(
        `${JSON.stringify({ rows, plainSession: plain, roleStatementTimeoutMs: spec.role.statementTimeoutMs, dataset, bytesBefore: beforeBytes, bytesAfter: afterBytes, tablesBefore: before, impact: dry.impact, migrations: timings, totalMs: Math.round(totalMs) }, null, 2)}\n`,
      );
    }
  } finally {
    await server.stop();
  }
}

await main();
