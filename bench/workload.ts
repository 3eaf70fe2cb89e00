/**
 * An application workload on the sample application (scripts/local/sample-app.ts), in the style of pgbench's
 * TPC-B-like script: each client runs short read/write transactions back to back on its own connection —
 * read a customer's orders, update one order, upsert one of its items, read the item count, commit.
 *
 * Lock waits are measured by a separate monitor connection that samples `pg_stat_activity` every
 * `lockSampleMs` for the workload's own backends in `wait_event_type = 'Lock'`; a statement's wait is
 * `clock_timestamp() - query_start` (our statements do nothing else that takes time before their lock). It
 * under-estimates by at most one sampling interval and cannot see waits shorter than one; the transaction
 * latencies (p99) show those. The monitor is one extra connection, not part of `clients`.
 */
import { performance } from "node:perf_hooks";
import { connect, type Client, type ConnectionSettings } from "../scripts/kernel/db.js";

/** Options of `runWorkload`. */
export interface WorkloadOptions {
  /** Concurrent application connections. */
  clients: number;
  /** How long to run, unless `signal` stops it first. */
  durationMs: number;
  signal?: AbortSignal;
  /** Interval of the lock-wait sampler. @default 10 */
  lockSampleMs?: number;
  /** Seed of the pseudo-random choice of rows, so two runs touch the same rows. @default 1 */
  seed?: number;
  /**
   * Throttle to this many transactions per second over all clients (pgbench `-R`): each client starts its
   * transactions on a fixed schedule and latency counts from the scheduled start, so queueing shows. When
   * unset the clients run flat out, which saturates a small machine's CPU. @default unthrottled
   */
  ratePerSecond?: number;
}

/** What the application saw. */
export interface WorkloadResult {
  clients: number;
  elapsedMs: number;
  transactions: number;
  tps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Up to five distinct error messages. */
  errorMessages: string[];
  maxLockWaitMs: number;
}

/** Runs the workload and returns TPS, latency percentiles, errors and the longest lock wait seen. */
export async function runWorkload(settings: ConnectionSettings, options: WorkloadOptions): Promise<WorkloadResult> {
  const appSettings = { ...settings, applicationName: "umami-db bench workload" };
  const clients: Client[] = [];
  let monitor: Client | undefined;
  try {
    for (let i = 0; i < options.clients; i++) clients.push(await connect(appSettings));
    monitor = await connect({ ...settings, applicationName: "umami-db bench lock monitor" });
    const range = await clients[0].query<{
      min_order: string;
      max_order: string;
      min_customer: string;
      max_customer: string;
    }>(`
      SELECT (SELECT min(id) FROM public.orders) AS min_order, (SELECT max(id) FROM public.orders) AS max_order,
             (SELECT min(id) FROM public.customers) AS min_customer, (SELECT max(id) FROM public.customers) AS max_customer
    `);
    const r = range.rows[0];
    const orders = [Number(r.min_order), Number(r.max_order)] as const;
    const customers = [Number(r.min_customer), Number(r.max_customer)] as const;
    const pids = await Promise.all(
      clients.map(
        async (c) => (await c.query<{ pid: number }>("SELECT pg_catalog.pg_backend_pid() AS pid")).rows[0].pid,
      ),
    );

    const latencies: number[] = [];
    const errorMessages = new Set<string>();
    let errors = 0;
    let maxLockWaitMs = 0;
    let stop = false;
    const started = performance.now();
    const deadline = started + options.durationMs;
    const done = () => stop || options.signal?.aborted === true || performance.now() >= deadline;

    const sampler = (async () => {
      while (!done()) {
        const waits = await monitor.query<{ waited_ms: string | null }>(
          `SELECT EXTRACT(EPOCH FROM (pg_catalog.clock_timestamp() - query_start)) * 1000 AS waited_ms
             FROM pg_catalog.pg_stat_activity
            WHERE wait_event_type = 'Lock' AND pid = ANY($1::int[])`,
          [pids],
        );
        for (const w of waits.rows) maxLockWaitMs = Math.max(maxLockWaitMs, Number(w.waited_ms ?? 0));
        await new Promise((resolve) => setTimeout(resolve, options.lockSampleMs ?? 10));
      }
    })();

    const runners = clients.map(async (client, index) => {
      const random = mulberry32((options.seed ?? 1) * 1000 + index);
      const pick = ([lo, hi]: readonly [number, number]) => lo + Math.floor(random() * (hi - lo + 1));
      const interval = options.ratePerSecond ? (options.clients * 1000) / options.ratePerSecond : 0;
      let next = started + (interval * index) / options.clients;
      while (!done()) {
        if (interval > 0) {
          const wait = next - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          if (done()) break;
        }
        const t0 = interval > 0 ? next : performance.now();
        next += interval;
        try {
          await transaction(
            client,
            pick(customers),
            pick(orders),
            `SKU-${Math.floor(random() * 50)}`,
            1 + Math.floor(random() * 500),
          );
          latencies.push(performance.now() - t0);
        } catch (error) {
          errors++;
          if (errorMessages.size < 5) errorMessages.add((error as Error).message);
          // A connection that is gone fails every transaction instantly; stop this client instead of spinning.
          if (/terminat|not queryable|closed/i.test((error as Error).message)) break;
          await client.query("ROLLBACK").catch(() => undefined);
        }
      }
    });
    await Promise.all(runners);
    stop = true;
    await sampler;

    const elapsedMs = performance.now() - started;
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      clients: options.clients,
      elapsedMs,
      transactions: latencies.length,
      tps: latencies.length / (elapsedMs / 1000),
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      errors,
      errorMessages: [...errorMessages],
      maxLockWaitMs,
    };
  } finally {
    await Promise.all([...clients, ...(monitor ? [monitor] : [])].map((c) => c.end().catch(() => undefined)));
  }
}

/** One short read/write transaction (pgbench's TPC-B shape on the sample application's tables). */
async function transaction(
  client: Client,
  customerId: number,
  orderId: number,
  sku: string,
  cents: number,
): Promise<void> {
  await client.query("BEGIN");
  await client.query("SELECT id, status, total_cents FROM public.orders WHERE customer_id = $1 ORDER BY id LIMIT 5", [
    customerId,
  ]);
  await client.query(
    "UPDATE public.orders SET total_cents = total_cents + $1, updated_at = pg_catalog.now() WHERE id = $2",
    [cents, orderId],
  );
  await client.query(
    `INSERT INTO public.order_items (order_id, sku, quantity) VALUES ($1, $2, 1)
     ON CONFLICT (order_id, sku) DO UPDATE SET quantity = public.order_items.quantity + 1`,
    [orderId, sku],
  );
  await client.query("SELECT count(*) FROM public.order_items WHERE order_id = $1", [orderId]);
  await client.query("COMMIT");
}

/** Nearest-rank percentile of ascending `sorted`; 0 when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

// A tiny seeded PRNG: two runs (alone, then during the deploy) touch the same sequence of rows.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The impact goals of the story's benchmark: throughput and tail latency while the deploy runs. */
export const IMPACT_GOALS = { tpsRatioMin: 0.95, p99RatioMax: 1.1, errorsMax: 0 } as const;

/** The workload during the deploy relative to alone, with a verdict per goal. */
export interface ImpactComparison {
  tpsRatio: number;
  p99Ratio: number;
  errors: number;
  maxLockWaitMs: number;
  pass: { tps: boolean; p99: boolean; errors: boolean };
}

/** Compares the workload alone with the workload during provisioning + migration + verify. */
export function compareImpact(alone: WorkloadResult, during: WorkloadResult): ImpactComparison {
  const tpsRatio = alone.tps > 0 ? during.tps / alone.tps : 0;
  const p99Ratio = alone.p99Ms > 0 ? during.p99Ms / alone.p99Ms : Number.POSITIVE_INFINITY;
  return {
    tpsRatio,
    p99Ratio,
    errors: during.errors,
    maxLockWaitMs: during.maxLockWaitMs,
    pass: {
      tps: tpsRatio >= IMPACT_GOALS.tpsRatioMin,
      p99: p99Ratio <= IMPACT_GOALS.p99RatioMax,
      errors: during.errors <= IMPACT_GOALS.errorsMax,
    },
  };
}
