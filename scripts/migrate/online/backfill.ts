/**
 * A backfill in committed batches by key range, resumable and throttled. Each batch is one transaction: it
 * finds the batch's upper key (`ORDER BY key LIMIT size` on the primary key), runs the plan's statements for
 * (after, upTo], and saves `upTo` as the cursor in the same transaction, so a crash loses at most the batch in
 * flight and a rerun resumes after the last one committed. Throttling follows what a shared cluster feels: a
 * batch slower than the target halves the next one (the tracker's inserts then wait less on row and buffer
 * contention), a fast one grows it back; with a replica lag limit, batches pause while replicas lag behind it;
 * with an application latency limit, while a probe of the tracker's write path takes longer than it.
 */
import { quoteIdent } from "../../../sst/database/quote.js";
import type { Client } from "../../kernel/db.js";
import { qualified } from "./objects.js";
import type { Backfill } from "./plan.js";

/** How a backfill runs. */
export interface BackfillOptions {
  schema: string;
  /** Rows per batch to start with (and the most). @default 5000 */
  batchSize: number;
  /** Pause after each batch, ms. */
  pauseMs: number;
  /** A batch slower than this halves the next one, ms. */
  targetBatchMs: number;
  /** Pause while a replica's replay lag exceeds this, ms (pg_stat_replication, or Aurora's aurora_replica_status()). */
  maxReplicaLagMs?: number;
  /**
   * Pause while the tracker's write path is slower than this, ms: a probe takes ROW EXCLUSIVE on the backfill's
   * table (the lock an insert takes, waiting where inserts wait) under `lock_timeout` = this limit, then commits a
   * row write (the commit every insert pays: on Aurora, the storage quorum). See docs/upgrades.md.
   */
  maxAppLatencyMs?: number;
  /** A pause began or ended (the replica lag or the application's latency over its limit). */
  onThrottle?: (event: ThrottleEvent) => void;
  /** Resume after this key (null: from the start). */
  cursor?: string | null;
  /** Saves the cursor inside the batch's transaction. */
  saveCursor?: (client: Client, upTo: string | null, done: boolean) => Promise<void>;
  onBatch?: (event: { label: string; rows: number; ms: number; batchSize: number }) => void;
}

/** A backfill paused (`paused`, with the value that stopped it) or went on (`resumed`, after `pausedMs`). */
export interface ThrottleEvent {
  reason: "replica lag" | "application latency";
  state: "paused" | "resumed";
  /** The value measured last, ms (the lag, or the probe's round trip; the limit itself when the probe timed out). */
  valueMs: number;
  limitMs: number;
  pausedMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The probe's round trip, ms: ROW EXCLUSIVE on `table` under lock_timeout `limitMs`, and the cursor row written
 * again, committed. A lock wait past the limit counts as over it (Infinity).
 */
async function appLatencyMs(
  client: Client,
  table: string,
  limitMs: number,
  write: ((client: Client) => Promise<void>) | undefined,
): Promise<number> {
  const t0 = performance.now();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_catalog.set_config('lock_timeout', $1, true)", [`${limitMs}ms`]);
    await client.query(`LOCK TABLE ${table} IN ROW EXCLUSIVE MODE`);
    await write?.(client);
    await client.query("COMMIT");
    return performance.now() - t0;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    if ((error as { code?: string }).code === "55P03") return Number.POSITIVE_INFINITY;
    throw error;
  }
}

/** Waits while `measure` exceeds `limitMs`, telling `onThrottle` when the pause begins and ends. */
async function pauseWhile(
  reason: ThrottleEvent["reason"],
  limitMs: number,
  measure: () => Promise<number>,
  pauseMs: number,
  onThrottle: BackfillOptions["onThrottle"],
): Promise<void> {
  let value = await measure();
  if (value <= limitMs) return;
  const t0 = performance.now();
  const shown = (v: number) => (Number.isFinite(v) ? v : limitMs);
  onThrottle?.({ reason, state: "paused", valueMs: shown(value), limitMs, pausedMs: 0 });
  while (value > limitMs) {
    await sleep(pauseMs);
    value = await measure();
  }
  onThrottle?.({ reason, state: "resumed", valueMs: value, limitMs, pausedMs: performance.now() - t0 });
}

/** The replicas' largest replay lag in ms, or 0 when none is visible to this role. */
async function replicaLagMs(client: Client): Promise<number> {
  const { rows } = await client.query<{ aurora: boolean; lag: number | null }>(
    `SELECT pg_catalog.to_regproc('aurora_replica_status') IS NOT NULL AS aurora,
            (SELECT EXTRACT(epoch FROM max(replay_lag)) * 1000 FROM pg_catalog.pg_stat_replication)::float8 AS lag`,
  );
  if (!rows[0].aurora) return rows[0].lag ?? 0;
  const aurora = await client.query<{ lag: number | null }>(
    "SELECT max(replica_lag_in_msec)::float8 AS lag FROM aurora_replica_status() WHERE session_id <> 'MASTER_SESSION_ID'",
  );
  return aurora.rows[0].lag ?? 0;
}

/** Runs `backfill` to the end of its table; returns the rows it changed. */
export async function runBackfill(client: Client, backfill: Backfill, options: BackfillOptions): Promise<number> {
  const table = qualified(options.schema, backfill.table);
  const key = quoteIdent(backfill.key);
  let after = options.cursor ?? null;
  let size = options.batchSize;
  let total = 0;
  for (;;) {
    const wait = Math.max(options.pauseMs, 250);
    if (options.maxReplicaLagMs !== undefined)
      await pauseWhile("replica lag", options.maxReplicaLagMs, () => replicaLagMs(client), wait, options.onThrottle);
    if (options.maxAppLatencyMs !== undefined) {
      const limit = options.maxAppLatencyMs;
      // The probe's write is the cursor saved again as it stands: the tool's own row, nothing of Umami's.
      const write = options.saveCursor && ((c: Client) => options.saveCursor!(c, after, false));
      await pauseWhile(
        "application latency",
        limit,
        () => appLatencyMs(client, table, limit, write),
        wait,
        options.onThrottle,
      );
    }
    const t0 = performance.now();
    await client.query("BEGIN");
    try {
      const { rows } = await client.query<{ up_to: string | null }>(
        `SELECT k::text AS up_to FROM (SELECT ${key} AS k FROM ${table} WHERE ($1::uuid IS NULL OR ${key} > $1::uuid) ORDER BY ${key} LIMIT $2) b ORDER BY k DESC LIMIT 1`,
        [after, size],
      );
      const upTo = rows[0]?.up_to ?? null;
      let changed = 0;
      if (upTo !== null)
        for (const sql of backfill.sql) changed += (await client.query(sql, [after, upTo])).rowCount ?? 0;
      await options.saveCursor?.(client, upTo ?? after, upTo === null);
      await client.query("COMMIT");
      total += changed;
      if (upTo === null) return total;
      after = upTo;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
    const ms = performance.now() - t0;
    options.onBatch?.({ label: backfill.label, rows: total, ms, batchSize: size });
    size = ms > options.targetBatchMs ? Math.max(100, Math.floor(size / 2)) : Math.min(options.batchSize, size * 2);
    if (options.pauseMs > 0) await sleep(options.pauseMs);
  }
}
