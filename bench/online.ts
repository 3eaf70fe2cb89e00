/**
 * `npm run bench:online [-- --events 1000000] [-- --rate 50] [-- --json]`: Umami 2.10.0 → 3.1.0 online against the
 * offline path, side by side in one run, on one embedded PostgreSQL 15 (stage dev as umami_user, the role's real
 * settings). N events are seeded (bench/online-load.ts), the database is copied (CREATE DATABASE … TEMPLATE), then:
 * - online: a tracker inserts in 2.10's shape at a fixed rate through `--online`, switches to 3.1's shape (the new
 *   image rolled, the old drained), then `--online --finish` runs;
 * - offline: on the copy, the same tracker in 2.10's shape while the runner applies 05..19 as today.
 * A sampler reads pg_locks every 5 ms. Printed: ACCESS EXCLUSIVE per tracker table, lost and failed inserts,
 * insert latency p99/max per phase, each path's time and the ratio, and whether both end states match.
 */
import { cpus } from "node:os";
import { withClient, type ConnectionSettings } from "../scripts/kernel/db.js";
import { startProvisionedStage } from "./provisioned-stage.js";
import { applyMigrations } from "../scripts/migrate/runner.js";
import { deployOnline } from "../scripts/migrate/online/deploy.js";
import { compareSchemas } from "../scripts/migrate/schema-compare.js";
import { readSchemaSnapshot } from "../scripts/migrate/schema-snapshot.js";
import { loadMigrations, umamiReleaseSource } from "../scripts/migrate/sources.js";
import { migrationLoadOptions } from "../scripts/commands/migration-source.js";
import { formatElapsed } from "../scripts/migrate/progress.js";
import { seedUmami210, startLockSampler, startTracker, TRACKER_TABLES, type TrackedInsert } from "./online-load.js";
import { percentile } from "./workload.js";

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1000) {
    process.stderr.write(
      `error: ${name} takes a whole number, at least 1000 (got ${JSON.stringify(process.argv[at + 1])}).\n`,
    );
    process.exit(2);
  }
  return value;
}
const events = flag("--events", 1_000_000);
const rate = process.argv.includes("--rate") ? Number(process.argv[process.argv.indexOf("--rate") + 1]) : 50;
const json = process.argv.includes("--json");
const log = (line: string) => process.stderr.write(`${line}\n`);
const out = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
};

/** Inserts whose scheduled start falls in [from, to), summarised. */
/** Who held or awaited the online time, when anyone but the tool did: " (autovacuum worker 1000 ms, …)". */
function holders(byHolder: Record<string, number>): string {
  const entries = Object.entries(byHolder).filter(([, ms]) => ms >= 1);
  if (entries.length === 0 || entries.every(([who]) => who.startsWith("umami-db"))) return "";
  return ` (online: ${entries
    .sort((a, b) => b[1] - a[1])
    .map(([who, ms]) => `${who} ${Math.round(ms)} ms`)
    .join(", ")})`;
}

function window(inserts: TrackedInsert[], from: number, to: number) {
  const inside = inserts.filter((e) => e.at >= from && e.at < to);
  const latencies = inside.map((e) => e.latencyMs).sort((a, b) => a - b);
  return {
    inserts: inside.length,
    failed: inside.filter((e) => !e.ok).length,
    p99Ms: Math.round(percentile(latencies, 0.99)),
    maxMs: Math.round(latencies.at(-1) ?? 0),
  };
}

async function lost(settings: ConnectionSettings, inserts: TrackedInsert[]): Promise<number> {
  const ok = inserts.filter((e) => e.ok).map((e) => e.eventId);
  const { rows } = await withClient(settings, (c) =>
    // An insert counts once its event and its custom data (event_data, written after it) are both there.
    c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM umami.website_event e
        WHERE e.event_id = ANY($1::uuid[]) AND EXISTS (SELECT 1 FROM umami.event_data d WHERE d.website_event_id = e.event_id)`,
      [ok],
    ),
  );
  return ok.length - rows[0].n;
}

async function main() {
  const release2 = await loadMigrations(umamiReleaseSource("2.10.0"), migrationLoadOptions(process.env));
  const release3 = await loadMigrations(umamiReleaseSource("3.1.0"), migrationLoadOptions(process.env));
  const { server, superuser, spec, umami: online } = await startProvisionedStage("bench online");
  try {
    await applyMigrations(online, release2);
    log(`seeding ${events.toLocaleString("en-US")} events …`);
    const t0 = performance.now();
    await withClient(online, async (c) => {
      await c.query("SET statement_timeout = 0");
      await seedUmami210(c, spec.schema, events);
    });
    log(`seeded in ${formatElapsed(performance.now() - t0)}; copying the database …`);
    await withClient(superuser, (c) => c.query("CREATE DATABASE app_offline TEMPLATE app"));
    const offline = { ...online, database: "app_offline" };

    // Online: --online under 2.10's writes, then 3.1's, then --online --finish.
    log("online …");
    let sampler = await startLockSampler(online, 5);
    let tracker = await startTracker(online, { ratePerSecond: rate, shape: "2.10", data: true });
    const options = {
      lock: { lockTimeoutMs: 200, budgetMs: 1_000, retryPauseMs: 500 },
      backfill: { batchSize: 5_000, pauseMs: 10, targetBatchMs: 500 },
      quietMs: 2_000,
    };
    const a0 = performance.now();
    const expand = await deployOnline(online, release3, options);
    const a1 = performance.now();
    tracker.setShape("3.1");
    await new Promise((r) => setTimeout(r, 1_000));
    const a2 = performance.now();
    const finish = await deployOnline(online, release3, { ...options, finish: true });
    const a3 = performance.now();
    await new Promise((r) => setTimeout(r, 500));
    const onlineInserts = await tracker.stop();
    const onlineLocks = await sampler.stop();
    const onlineLost = await lost(online, onlineInserts);

    // Offline, on the copy: the runner as today, the old version writing.
    log("offline …");
    sampler = await startLockSampler(offline, 5);
    tracker = await startTracker(offline, { ratePerSecond: rate, shape: "2.10", data: true });
    await new Promise((r) => setTimeout(r, 500));
    const b0 = performance.now();
    await applyMigrations(offline, release3);
    const b1 = performance.now();
    const offlineInserts = await tracker.stop();
    const offlineLocks = await sampler.stop();
    const offlineLost = await lost(offline, offlineInserts);

    const [snapA, snapB] = await Promise.all(
      [online, offline].map((s) => withClient(s, (c) => readSchemaSnapshot(c, spec.schema))),
    );
    const differences = compareSchemas(snapB, snapA);
    const onlineMs = a1 - a0 + (a3 - a2) - options.quietMs;
    const offlineMs = b1 - b0;
    const phases = {
      online: window(onlineInserts, a0, a1),
      overlap: window(onlineInserts, a1, a2),
      finish: window(onlineInserts, a2, a3),
      offline: window(offlineInserts, b0, b1),
    };

    out(
      `Umami 2.10.0 → 3.1.0, ${events.toLocaleString("en-US")} events, tracker ${rate}/s; ${cpus().length} × ${cpus()[0]?.model.trim()}`,
    );
    out("ACCESS EXCLUSIVE held or awaited (pg_locks every 5 ms):");
    for (const t of TRACKER_TABLES)
      out(
        `  ${t.padEnd(14)} online ${String(Math.round(onlineLocks.ms[t])).padStart(7)} ms   offline ${String(Math.round(offlineLocks.ms[t])).padStart(7)} ms${holders(onlineLocks.byHolder[t])}`,
      );
    out(
      `inserts: online ${onlineInserts.length} (${onlineLost} lost, ${onlineInserts.filter((e) => !e.ok).length} failed); offline ${offlineInserts.length} (${offlineLost} lost, ${offlineInserts.filter((e) => !e.ok).length} failed)`,
    );
    out("insert latency (from the scheduled start) p99 / max:");
    for (const [name, w] of Object.entries(phases))
      out(
        `  ${name.padEnd(8)} ${String(w.inserts).padStart(6)} inserts  p99 ${w.p99Ms} ms  max ${w.maxMs} ms  failed ${w.failed}`,
      );
    out(
      `time: online ${formatElapsed(onlineMs)} (--online ${formatElapsed(a1 - a0)} + --finish ${formatElapsed(a3 - a2 - options.quietMs)}, not counting its ${options.quietMs / 1000} s watch) vs offline ${formatElapsed(offlineMs)}: ${(onlineMs / offlineMs).toFixed(2)}×`,
    );
    out(
      `end state: ${differences.length === 0 ? "schemas equal" : `${differences.length} differences: ${differences.map((d) => d.message).join("; ")}`}; online locks spent (tool's ledger): ${[...expand.locks, ...finish.locks].map((l) => `${l.table} ${Math.round(l.ms)} ms`).join(", ")}`,
    );
    if (json)
      process.stdout.write(
        `${JSON.stringify({ events, rate, onlineLocks, offlineLocks, onlineLost, offlineLost, phases, onlineMs, offlineMs, differences: differences.length }, null, 2)}\n`,
      );
  } finally {
    await server.stop();
  }
}

await main();
