/**
 * `migrate deploy --online [--finish]`: Umami's pending migrations in Prisma's order, the ones with an online
 * plan (plans.ts) as expand → backfill, every other one through the runner as today (runner.ts). Without
 * `finish` it stops there: both versions can write, and the caller says what to do next. With `finish` it
 * first watches for rows in the old version's shape (and refuses while they arrive), then contracts each plan,
 * proves the end state and records the rows as Prisma would, under Prisma's advisory lock, removing the tool's
 * state in the same transaction. Every step is idempotent, so a rerun after any crash completes the upgrade.
 */
import { withClient, type Client, type ConnectionSettings } from "../../kernel/db.js";
import { UserError } from "../../kernel/errors.js";
import { MIGRATIONS_TABLE, readMigrationRows } from "../bookkeeping.js";
import { FailedMigrationsError } from "../errors.js";
import { applyMigrations, type MigrateOptions } from "../runner.js";
import type { Migration, MigrationSet } from "../sources/types.js";
import { runBackfill, type BackfillOptions, type ThrottleEvent } from "./backfill.js";
import { RunAccount, type Pause, type PhaseHold, type PhaseTiming } from "./account.js";
import { qualified, OLD_WRITES_SEQUENCE } from "./objects.js";
import type { OnlinePlan } from "./plan.js";
import { onlinePlanFor, stepLockMode } from "./plans.js";
import { proveEndState, recordOnline } from "./record.js";
import { ensureState, readState, saveCursor, setPhase, startState, type Phase } from "./state.js";
import { runStep, type LockLedger, type LockPolicy } from "./steps.js";

/** `pg_try_advisory_lock` key of an online run: one at a time per database (Prisma's own key is 72707369). */
const ONLINE_LOCK_KEY = "72707370";

/** Options of an online deploy. */
export interface OnlineOptions {
  /** Catch up, contract and record (the old version is gone). @default false */
  finish?: boolean;
  lock: LockPolicy;
  backfill: Pick<BackfillOptions, "batchSize" | "pauseMs" | "targetBatchMs" | "maxReplicaLagMs" | "maxAppLatencyMs">;
  /** The command that runs this, as its messages name it. @default "umami-db migrate deploy" */
  command?: string;
  /** How long `finish` watches for rows in the old shape before it contracts, ms. */
  quietMs: number;
  /** lock_timeout of the migrations that run offline (the runner's). */
  statementLockTimeoutMs?: number;
  /** Progress; a step's event is awaited before the next step starts (an observer may hold the run there). */
  onEvent?: (event: OnlineEvent) => void | Promise<void>;
  onProgress?: MigrateOptions["onProgress"];
}

/** Progress of an online deploy. */
export type OnlineEvent =
  | { type: "phase"; migration: string; phase: "expand" | "backfill" | "contract" | "record"; ms: number }
  | { type: "step"; migration: string; label: string; ms: number; skipped: boolean }
  | { type: "batch"; migration: string; label: string; rows: number; ms: number; batchSize: number }
  | { type: "quiet"; ms: number; oldWrites: number }
  | ({ type: "throttle"; migration: string } & ThrottleEvent);

/** What an online deploy did. */
export interface OnlineResult {
  schema: string;
  /** Applied offline by this run (no plan, or an edited file), in order. */
  offline: string[];
  /** Recorded before this run. */
  alreadyApplied: string[];
  /** The phases this run ran, in order. */
  phases: PhaseTiming[];
  /** The locks each phase held, per table, measured (summed over its steps). */
  held: PhaseHold[];
  /** The backfill's pauses, per reason: how many, and how long in all. */
  paused: Pause[];
  /** Each migration with a plan, and where it stands now. */
  online: { name: string; phase: Phase | "recorded" }[];
  /** Recorded in `_prisma_migrations` by this run. */
  recorded: string[];
  finished: boolean;
  /** ACCESS EXCLUSIVE time this run's short transactions spent per table (wait + hold). */
  locks: { table: string; ms: number; attempts: number; timeouts: number }[];
  /** Rows in the old version's shape the triggers counted since expand (null when no plan is under way). */
  oldWrites: number | null;
  ms: number;
}

/** `--finish` saw rows in the old version's shape: it is still running. */
export class OldVersionWritingError extends UserError {
  override name = "OldVersionWritingError";
  constructor(rows: number, quietMs: number, command = "umami-db migrate deploy") {
    super(
      `${rows} row(s) in Umami 2.x's shape arrived in the last ${(quietMs / 1000).toFixed(1)} s: the old version still writes. Drain it (every old task stopped), then rerun \`${command} --online --finish\`; nothing was contracted.`,
    );
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The old-shape counter's value (0 before the first row). */
async function oldWrites(client: Client, schema: string): Promise<number | null> {
  const { rows } = await client.query<{ t: string | null }>("SELECT pg_catalog.to_regclass($1)::text AS t", [
    qualified(schema, OLD_WRITES_SEQUENCE),
  ]);
  if (rows[0].t === null) return null;
  const value = await client.query<{ n: string }>(
    `SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM ${qualified(schema, OLD_WRITES_SEQUENCE)}`,
  );
  return Number(value.rows[0].n);
}

/** Runs the pending migrations of `set` online (see the module comment). */
export async function deployOnline(
  settings: ConnectionSettings,
  set: MigrationSet,
  options: OnlineOptions,
): Promise<OnlineResult> {
  const t0 = performance.now();
  const schema = settings.schema;
  const emit = options.onEvent ?? (() => undefined);
  return withClient({ ...settings, applicationName: "umami-db migrate online" }, async (client) => {
    // The role's statement_timeout guards Umami's queries; a backfill batch, a VALIDATE or an index build is ours.
    await client.query(
      "SELECT pg_catalog.set_config('statement_timeout', '0', false), pg_catalog.set_config('idle_in_transaction_session_timeout', '0', false)",
    );
    const { rows: got } = await client.query<{ got: boolean }>("SELECT pg_catalog.pg_try_advisory_lock($1) AS got", [
      ONLINE_LOCK_KEY,
    ]);
    if (!got[0].got)
      throw new UserError(
        `Another \`umami-db migrate deploy --online\` is running on this database; wait for it to end, then rerun.`,
      );
    try {
      return await run(client);
    } finally {
      await client.query("SELECT pg_catalog.pg_advisory_unlock($1)", [ONLINE_LOCK_KEY]).catch(() => undefined);
    }
  });

  async function run(client: Client): Promise<OnlineResult> {
    const ledger: LockLedger = new Map();
    const account = new RunAccount();
    const phaseDone = async (migration: string, phase: PhaseTiming["phase"], t: number, startedAt: string) => {
      const ms = performance.now() - t;
      account.phases.push({ migration, phase, startedAt, ms });
      await emit({ type: "phase", migration, phase, ms });
    };
    const offline: string[] = [];
    const planned: { migration: Migration; plan: OnlinePlan }[] = [];
    const recordedNames = async () => {
      const exists = await client.query<{ t: string | null }>("SELECT pg_catalog.to_regclass($1)::text AS t", [
        qualified(schema, MIGRATIONS_TABLE),
      ]);
      if (exists.rows[0].t === null) return new Set<string>();
      const rows = await readMigrationRows(client, schema);
      const failed = rows.filter((r) => r.finished_at === null && r.rolled_back_at === null);
      if (failed.length > 0) throw new FailedMigrationsError(schema, failed);
      return new Set(rows.filter((r) => r.rolled_back_at === null).map((r) => r.migration_name));
    };
    const recorded = await recordedNames();
    let state = await readState(client, schema);
    const pending = set.migrations.filter((m) => !recorded.has(m.name));
    const backfillOptions = (name: string, cursor: string | null, label: string): BackfillOptions => ({
      ...options.backfill,
      schema,
      cursor,
      saveCursor: (c, after, done) => saveCursor(c, schema, name, label, after, done),
      onBatch: (e) => void emit({ type: "batch", migration: name, ...e }),
      onThrottle: (e) => {
        account.throttled(e);
        void emit({ type: "throttle", migration: name, ...e });
      },
    });

    // Expand and backfill, in Prisma's order, runs of plain migrations through the runner in between.
    let run: Migration[] = [];
    const flush = async () => {
      if (run.length === 0) return;
      const result = await applyMigrations(
        settings,
        { ...set, migrations: run },
        { statementLockTimeoutMs: options.statementLockTimeoutMs, onProgress: options.onProgress },
      );
      offline.push(...result.applied);
      run = [];
    };
    for (const migration of pending) {
      const plan = onlinePlanFor(migration, schema);
      const under = state.get(migration.name);
      if (under && under.checksum !== migration.checksum) {
        throw new UserError(
          `${migration.name} is under way online with checksum ${under.checksum.slice(0, 10)}… but the file now has ${migration.checksum.slice(0, 10)}…: restore the file the upgrade started with.`,
        );
      }
      if (!plan) {
        run.push(migration);
        continue;
      }
      await flush();
      planned.push({ migration, plan });
      await ensureState(client, schema);
      await startState(client, schema, migration.name, migration.checksum);
      state = await readState(client, schema);
      const phase = state.get(migration.name)!.phase;
      if (phase === "expanding") {
        const t = performance.now();
        const startedAt = new Date().toISOString();
        for (const step of plan.expand) await timedStep(client, plan, "expand", step);
        await setPhase(client, schema, migration.name, "expanded");
        await phaseDone(migration.name, "expand", t, startedAt);
      }
      if (phase === "expanding" || phase === "expanded") {
        const t = performance.now();
        const startedAt = new Date().toISOString();
        for (const b of plan.backfill) {
          const cursor = (await readState(client, schema)).get(migration.name)!.cursors[b.label];
          if (cursor?.done) continue;
          const tb = performance.now();
          await runBackfill(client, b, backfillOptions(migration.name, cursor?.after ?? null, b.label));
          account.hold({
            migration: migration.name,
            phase: "backfill",
            table: b.table,
            lock: "ROW EXCLUSIVE",
            ms: performance.now() - tb,
          });
        }
        await setPhase(client, schema, migration.name, "backfilled");
        await phaseDone(migration.name, "backfill", t, startedAt);
      }
    }
    await flush();

    const finishNow = options.finish === true && planned.length > 0;
    const before = await oldWrites(client, schema);
    if (finishNow) {
      // The old version must be gone: its rows would miss what the contract removes (triggers, shim columns).
      const t = performance.now();
      await sleep(options.quietMs);
      const arrived = ((await oldWrites(client, schema)) ?? 0) - (before ?? 0);
      await emit({ type: "quiet", ms: performance.now() - t, oldWrites: arrived });
      if (arrived > 0) throw new OldVersionWritingError(arrived, options.quietMs, options.command);
      for (const { migration, plan } of planned) {
        if ((await readState(client, schema)).get(migration.name)!.phase === "contracted") continue;
        const tc = performance.now();
        const startedAt = new Date().toISOString();
        for (const step of plan.contract) await timedStep(client, plan, "contract", step);
        await setPhase(client, schema, migration.name, "contracted");
        await phaseDone(migration.name, "contract", tc, startedAt);
      }
      const tr = performance.now();
      await proveEndState(
        client,
        schema,
        planned.map((p) => p.plan),
      );
      const startedAt = await readState(client, schema);
      await recordOnline(
        client,
        settings,
        planned.map(({ migration }) => ({
          name: migration.name,
          checksum: migration.checksum,
          startedAt: startedAt.get(migration.name)!.started_at,
        })),
      );
      await emit({
        type: "phase",
        migration: planned.map((p) => p.migration.name).join(", "),
        phase: "record",
        ms: performance.now() - tr,
      });
    }
    const after = await readState(client, schema);
    return {
      schema,
      offline,
      alreadyApplied: set.migrations.filter((m) => recorded.has(m.name)).map((m) => m.name),
      phases: account.phases,
      held: account.held,
      paused: account.paused,
      online: planned.map(({ migration }) => ({
        name: migration.name,
        phase: finishNow ? "recorded" : after.get(migration.name)!.phase,
      })),
      recorded: finishNow ? planned.map((p) => p.migration.name) : [],
      finished: finishNow,
      locks: [...ledger].map(([table, l]) => ({ table, ...l })),
      oldWrites: finishNow ? null : before,
      ms: performance.now() - t0,
    };

    async function timedStep(
      c: Client,
      plan: OnlinePlan,
      phase: "expand" | "contract",
      step: OnlinePlan["expand"][number],
    ) {
      const t = performance.now();
      const table = "table" in step ? step.table : undefined;
      const spentBefore = table ? (ledger.get(table)?.ms ?? 0) : 0;
      const skipped = await runStep(c, schema, step, options.lock, ledger, { ...options.backfill, schema });
      const ms = performance.now() - t;
      const lock = stepLockMode(step);
      if (table && lock && !skipped)
        account.hold({
          migration: plan.name,
          phase,
          table,
          lock,
          // ACCESS EXCLUSIVE: the ledger's BEGIN-to-COMMIT time (the doneWhen query before it holds nothing).
          ms: lock === "ACCESS EXCLUSIVE" ? (ledger.get(table)?.ms ?? 0) - spentBefore : ms,
        });
      await emit({ type: "step", migration: plan.name, label: step.label, ms, skipped });
    }
  }
}
