/**
 * Watches the backend that runs a migration, from a second connection: what it waits for (and who holds it,
 * `pg_blocking_pids`) and how far an index build is (`pg_stat_progress_create_index`). A long statement then
 * shows progress instead of silence, and a lock timeout can name the session that held the lock.
 *
 * The second connection opens only once a migration has run for one interval, so the short migrations of an
 * ordinary deploy never open it; it is the one connection the runner adds (the flow's budget stays 2: nothing
 * else is open while migrating). It never fails a migration: if it cannot connect or query, it falls silent.
 */
import { connect, type Client, type ConnectionSettings } from "../kernel/db.js";

/** A session holding a lock the migration waits for. */
export interface LockHolder {
  pid: number;
  user: string | null;
  application: string | null;
  /** `pg_stat_activity.state` (`active`, `idle in transaction`, …); null when hidden from this role. */
  state: string | null;
  /** Seconds since its transaction (or, outside one, its connection) started. */
  seconds: number | null;
}

/** The lock the migration's backend is waiting for. */
export interface LockWait {
  /** PostgreSQL's name of the mode, e.g. `AccessExclusiveLock`. */
  mode: string;
  /** What is locked: a relation name, or e.g. `advisory lock 4242`. */
  object: string;
  holders: LockHolder[];
}

/** A running `CREATE INDEX`, as `pg_stat_progress_create_index` reports it. */
export interface IndexBuild {
  table: string;
  phase: string;
  blocksDone: number;
  blocksTotal: number;
  tuplesDone: number;
  tuplesTotal: number;
}

/** One look at the migration's backend. */
interface BackendSample {
  /** Set while the backend waits on a heavyweight lock. */
  waiting?: LockWait;
  /** Set while it builds an index. */
  index?: IndexBuild;
}

/** A running watch; `stop()` closes its connection. */
interface BackendWatch {
  /** The most recent lock wait seen (kept after the wait ended, for the lock-timeout message). */
  lastWait(): LockWait | undefined;
  stop(): Promise<void>;
}

interface SampleRow {
  waiting: boolean;
  mode: string | null;
  object: string | null;
  holders: LockHolder[] | null;
  table: string | null;
  phase: string | null;
  blocks_done: string | null;
  blocks_total: string | null;
  tuples_done: string | null;
  tuples_total: string | null;
}

/**
 * One round trip: the backend's wait, the holders of the lock it waits for (pg_blocking_pids only while it
 * waits: the function briefly locks the lock manager) and its index build. Other roles' sessions show their
 * pid and user; their state only with pg_read_all_stats (`docs/design.md` § "Facts measured while building it").
 */
const SAMPLE_SQL = `
  SELECT a.wait_event_type = 'Lock' AS waiting,
         w.mode,
         CASE w.locktype
           WHEN 'relation' THEN w.relation::pg_catalog.regclass::text
           WHEN 'advisory' THEN 'advisory lock ' || w.objid
           ELSE w.locktype
         END AS object,
         CASE WHEN a.wait_event_type = 'Lock' THEN (
           SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
                    'pid', b.pid, 'user', b.usename, 'application', b.application_name, 'state', b.state,
                    'seconds', pg_catalog.round(extract(epoch FROM pg_catalog.now() - COALESCE(b.xact_start, b.backend_start)))))
             FROM pg_catalog.pg_stat_activity b
            WHERE b.pid = ANY (pg_catalog.pg_blocking_pids(a.pid)))
         END AS holders,
         p.relid::pg_catalog.regclass::text AS table, p.phase,
         p.blocks_done, p.blocks_total, p.tuples_done, p.tuples_total
    FROM pg_catalog.pg_stat_activity a
    LEFT JOIN LATERAL (
           SELECT l.mode, l.locktype, l.relation, l.objid
             FROM pg_catalog.pg_locks l
            WHERE l.pid = a.pid AND NOT l.granted
            LIMIT 1) w ON a.wait_event_type = 'Lock'
    LEFT JOIN pg_catalog.pg_stat_progress_create_index p ON p.pid = a.pid
   WHERE a.pid = $1`;

/** Reads one sample of backend `pid` over `client`. */
async function sampleBackend(client: Client, pid: number): Promise<BackendSample> {
  const { rows } = await client.query<SampleRow>(SAMPLE_SQL, [pid]);
  const row = rows[0];
  if (!row) return {};
  const sample: BackendSample = {};
  if (row.waiting && row.mode)
    sample.waiting = { mode: row.mode, object: row.object ?? "a lock", holders: row.holders ?? [] };
  if (row.phase) {
    sample.index = {
      // A table created earlier in the same (uncommitted) migration is not visible here: regclass gives its oid.
      table:
        row.table && !/^\d+$/.test(row.table) ? row.table : `a table this migration created (oid ${row.table ?? "?"})`,
      phase: row.phase,
      blocksDone: Number(row.blocks_done ?? 0),
      blocksTotal: Number(row.blocks_total ?? 0),
      tuplesDone: Number(row.tuples_done ?? 0),
      tuplesTotal: Number(row.tuples_total ?? 0),
    };
  }
  return sample;
}

/**
 * Samples backend `pid` every `intervalMs` from a connection of its own (opened at the first tick) and hands
 * each sample to `onSample`. Errors end the watch quietly: progress is a courtesy, never a failure.
 */
export function watchBackend(
  settings: ConnectionSettings,
  pid: number,
  options: { intervalMs: number; onSample?: (sample: BackendSample) => void },
): BackendWatch {
  let client: Client | undefined;
  let stopped = false;
  let lastWait: LockWait | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const tick = async () => {
    try {
      client ??= await connect({ ...settings, applicationName: `${settings.applicationName} (progress)` });
      if (stopped) return;
      const sample = await sampleBackend(client, pid);
      if (sample.waiting) lastWait = sample.waiting;
      if (!stopped) options.onSample?.(sample);
      if (!stopped) timer = setTimeout(schedule, options.intervalMs);
    } catch {
      // Falls silent: the migration itself goes on.
    }
  };
  const schedule = () => {
    inFlight = tick();
  };
  timer = setTimeout(schedule, options.intervalMs);

  return {
    lastWait: () => lastWait,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
      await client?.end().catch(() => undefined);
    },
  };
}
