/**
 * `npm run bench:impact [-- --window-seconds 60] [-- --pairs 3] [-- --rate 100] [-- --json]`: what ONE deploy
 * costs the application, the way CloudWatch's periods see it — not a load test (that is
 * `npm run bench`, which runs flows back to back).
 *
 * - Windows: the application workload (bench/workload.ts, throttled to `--rate` transactions per second like
 *   pgbench -R; `--rate 0` runs flat out) over a window of `--window-seconds`, alternately with exactly one full
 *   deploy flow inside it (started 10 % into the window, in a child process) and without, `--pairs` pairs,
 *   the order alternating (with/without, without/with, …) so drift does not favour one side. TPS and p99 per
 *   window, and the median of each side.
 * - Cost: the same flow on an otherwise idle server, while the application holds ACCESS EXCLUSIVE on every one
 *   of its relations in an open transaction: server CPU ms (from /proc, the idle rate subtracted), WAL bytes
 *   (pg_current_wal_lsn), temp bytes (pg_stat_database) and the locks the flow's sessions held or requested
 *   on application relations (pg_locks, sampled every 2 ms; the flow finishing at all under that lock is the
 *   proof that the figure is zero). Machine-independent except CPU ms, which is this machine's.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { cpus } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { connect, parseDatabaseUrl, toUrl, type ConnectionSettings } from "../scripts/kernel/db.js";
import { startEmbeddedPostgres } from "../scripts/local/embedded.js";
import { DEFAULT_MIGRATIONS_SOURCE, loadMigrations } from "../scripts/migrate/sources.js";
import { migrationLoadOptions } from "../scripts/commands/migration-source.js";
import { addDefaultStagePgcrypto, createSampleDatabase } from "../scripts/local/sample-app.js";
import { applicationRelations } from "./application-relations.js";
import { fullDeployFlow } from "./flow.js";
import { serverCpuMs } from "./server-cpu.js";
import { median } from "./stats.js";
import { runWorkload } from "./workload.js";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const json = process.argv.includes("--json");
const windowMs = arg("--window-seconds", 60) * 1000;
const pairs = arg("--pairs", 3);
const rate = arg("--rate", 100);
const root = fileURLToPath(new URL("..", import.meta.url));
// The default release (Umami 3.1.0), from the copy bundled in vendor/umami.
const MIGRATIONS = DEFAULT_MIGRATIONS_SOURCE;

const log = (line: string) => {
  if (!json) process.stderr.write(`${line}\n`);
};

/** Starts the flow's process and waits until it is ready; `run(delayMs)` then starts the one flow. */
async function flowInChild(admin: ConnectionSettings, stage: string) {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/flow-once.ts"], {
    cwd: root,
    env: { ...process.env, BENCH_ADMIN_URL: toUrl(admin), BENCH_STAGE: stage, BENCH_MIGRATIONS: MIGRATIONS },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const exited = once(child, "exit");
  const [first] = (await once(lines, "line")) as [string];
  if (first !== "ready") throw new Error(`the deploy flow's process said ${first}`);
  return {
    async run(delayMs: number): Promise<{ ms: number; ok: boolean; startedAtMs: number }> {
      await new Promise((r) => setTimeout(r, delayMs));
      const startedAtMs = performance.now();
      const resultLine = once(lines, "line") as Promise<[string]>;
      child.stdin.write("go\n");
      const [[line], [code]] = await Promise.all([resultLine, exited]);
      if (code !== 0) throw new Error(`the deploy flow's process exited with ${code}`);
      return { ...(JSON.parse(line) as { ms: number; ok: boolean }), startedAtMs };
    },
  };
}

interface Window {
  withFlow: boolean;
  tps: number;
  p99Ms: number;
  errors: number;
  flowMs?: number;
  flowOk?: boolean;
}

async function measureWindow(
  app: ConnectionSettings,
  admin: ConnectionSettings,
  withFlow: boolean,
  stage: string,
): Promise<Window> {
  const child = withFlow ? await flowInChild(admin, stage) : undefined;
  const started = performance.now();
  const workload = runWorkload(app, { clients: 4, durationMs: windowMs, ...(rate > 0 ? { ratePerSecond: rate } : {}) });
  const flow = child?.run(windowMs * 0.1);
  const [w, f] = await Promise.all([workload, flow]);
  if (f && f.startedAtMs + f.ms > started + windowMs)
    throw new Error(
      `the deploy flow (${Math.round(f.ms)} ms) did not fit in the window; pass a longer --window-seconds`,
    );
  return {
    withFlow,
    tps: w.tps,
    p99Ms: w.p99Ms,
    errors: w.errors,
    ...(f ? { flowMs: Math.round(f.ms), flowOk: f.ok } : {}),
  };
}

async function flowCost(server: { dataDir: string }, superuser: ConnectionSettings, admin: ConnectionSettings) {
  const migrations = await loadMigrations(MIGRATIONS, migrationLoadOptions(process.env));
  const db = await connect({ ...superuser, database: admin.database, applicationName: "bench cost monitor" });
  const app = await connect({ ...admin, applicationName: "the application" });
  try {
    const relations = await applicationRelations(db);
    const counters = async () =>
      (
        await db.query<{ lsn: string; temp: string }>(
          "SELECT pg_catalog.pg_current_wal_lsn()::text AS lsn, (SELECT sum(temp_bytes) FROM pg_catalog.pg_stat_database)::text AS temp",
        )
      ).rows[0];
    const idleCpu0 = serverCpuMs(server.dataDir);
    await new Promise((r) => setTimeout(r, 2_000));
    const idleMsPerSecond = (serverCpuMs(server.dataDir) - idleCpu0) / 2;
    await app.query("BEGIN");
    await app.query(`LOCK TABLE ${relations.names} IN ACCESS EXCLUSIVE MODE`);
    const appPid = (await app.query<{ pid: number }>("SELECT pg_catalog.pg_backend_pid() AS pid")).rows[0].pid;
    const before = await counters();
    const cpu0 = serverCpuMs(server.dataDir);
    const t0 = performance.now();
    let done = false;
    let samples = 0;
    const touched = new Set<string>();
    const sampling = (async () => {
      while (!done) {
        const { rows } = await db.query<{ rel: string }>(
          "SELECT relation::text AS rel FROM pg_catalog.pg_locks WHERE relation = ANY ($1::oid[]) AND pid <> $2 AND pid <> pg_catalog.pg_backend_pid()",
          [relations.oids, appPid],
        );
        for (const r of rows) touched.add(r.rel);
        samples += 1;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    let flow: { ms: number; ok: boolean };
    try {
      flow = await fullDeployFlow(admin, "bench-cost", migrations);
    } finally {
      done = true;
      await sampling;
    }
    const wallMs = performance.now() - t0;
    const cpuMs = serverCpuMs(server.dataDir) - cpu0 - (idleMsPerSecond * wallMs) / 1000;
    await new Promise((r) => setTimeout(r, 1_000)); // let the flow's sessions flush their statistics
    const after = await counters();
    const wal = await db.query<{ bytes: string }>("SELECT pg_catalog.pg_wal_lsn_diff($1, $2)::text AS bytes", [
      after.lsn,
      before.lsn,
    ]);
    await app.query("ROLLBACK");
    return {
      flowMs: Math.round(flow.ms),
      flowOk: flow.ok,
      serverCpuMs: Math.round(Math.max(0, cpuMs)),
      walBytes: Number(wal.rows[0].bytes),
      tempBytes: Number(after.temp) - Number(before.temp),
      applicationRelations: relations.oids.length,
      locksOnApplicationRelations: touched.size,
      lockSamples: samples,
    };
  } finally {
    await app.end();
    await db.end();
  }
}

async function main() {
  const server = await startEmbeddedPostgres();
  try {
    const superuser = parseDatabaseUrl(server.superuserUrl);
    const { admin, app } = await createSampleDatabase(superuser, "umami-db bench");
    await addDefaultStagePgcrypto(admin);
    log(`cost: one full deploy flow (${MIGRATIONS}) while the application holds ACCESS EXCLUSIVE on its relations …`);
    const cost = await flowCost(server, superuser, admin);
    const windows: Window[] = [];
    for (let i = 0; i < pairs; i++) {
      for (const withFlow of i % 2 === 0 ? [true, false] : [false, true]) {
        log(
          `window ${windows.length + 1}/${pairs * 2}: ${windowMs / 1000} s ${withFlow ? "with one deploy" : "without"} …`,
        );
        windows.push(await measureWindow(app, admin, withFlow, `bench-w${i}`));
      }
    }
    const side = (withFlow: boolean) => {
      const ws = windows.filter((w) => w.withFlow === withFlow);
      return {
        tps: median(ws.map((w) => w.tps)),
        p99Ms: median(ws.map((w) => w.p99Ms)),
        errors: ws.reduce((n, w) => n + w.errors, 0),
      };
    };
    const withDeploy = side(true);
    const without = side(false);
    const result = {
      machine: { cpus: cpus().length, model: cpus()[0]?.model },
      settings: {
        windowSeconds: windowMs / 1000,
        pairs,
        ratePerSecond: rate || "unthrottled",
        clients: 4,
        migrations: MIGRATIONS,
      },
      windows,
      medians: {
        withDeploy,
        without,
        tpsRatio: withDeploy.tps / without.tps,
        p99Ratio: withDeploy.p99Ms / without.p99Ms,
      },
      cost,
    };
    if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      const f = (n: number, d = 1) => n.toFixed(d);
      const lines = [
        `| window | deploy | TPS | p99 ms | errors | flow ms |`,
        `|---|---|---|---|---|---|`,
        ...windows.map(
          (w, i) =>
            `| ${i + 1} | ${w.withFlow ? "one" : "none"} | ${f(w.tps)} | ${f(w.p99Ms, 2)} | ${w.errors} | ${w.flowMs ?? ""} |`,
        ),
        ``,
        `median with one deploy: ${f(withDeploy.tps)} TPS, p99 ${f(withDeploy.p99Ms, 2)} ms; without: ${f(without.tps)} TPS, p99 ${f(without.p99Ms, 2)} ms ` +
          `(TPS ratio ${f(result.medians.tpsRatio, 3)}, p99 ratio ${f(result.medians.p99Ratio, 2)})`,
        `one deploy's server cost: ${cost.serverCpuMs} ms CPU, ${cost.walBytes} WAL bytes, ${cost.tempBytes} temp bytes, ` +
          `${cost.locksOnApplicationRelations} locks on the application's ${cost.applicationRelations} relations ` +
          `(${cost.lockSamples} pg_locks samples; the flow took ${cost.flowMs} ms while the application held ACCESS EXCLUSIVE on all of them; audit ${cost.flowOk ? "passed" : "FAILED"})`,
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    }
  } finally {
    await server.stop();
  }
}

await main();
