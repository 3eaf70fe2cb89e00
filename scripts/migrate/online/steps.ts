/**
 * Runs an online plan's expand and contract steps. Every step that takes ACCESS EXCLUSIVE on an Umami table is
 * one short transaction under `lock_timeout`, retried after a pause while the run's lock budget for that table
 * lasts: a waiting ACCESS EXCLUSIVE request blocks the tracker's inserts as much as a held one, so the time
 * from BEGIN to COMMIT (wait and hold) is spent from the budget either way. Indexes are built CONCURRENTLY and
 * checked valid; an invalid index of the same name (a failed build) is dropped and built again.
 */
import { quoteIdent } from "../../../sst/database/quote.js";
import type { Client } from "../../kernel/db.js";
import { UserError } from "../../kernel/errors.js";
import { runBackfill, type BackfillOptions } from "./backfill.js";
import { qualified } from "./objects.js";
import type { Step } from "./plan.js";

/** How the short transactions wait, retry and spend. */
export interface LockPolicy {
  /** `lock_timeout` of one attempt, ms. */
  lockTimeoutMs: number;
  /** Total ACCESS EXCLUSIVE time (waited and held) allowed per table in one run, ms. */
  budgetMs: number;
  /** Pause between attempts, ms. */
  retryPauseMs: number;
}

/** What one run spent, per table: ACCESS EXCLUSIVE time (wait + hold) and attempts that timed out. */
export type LockLedger = Map<string, { ms: number; attempts: number; timeouts: number }>;

/** The run spent its ACCESS EXCLUSIVE budget on a table before a short transaction got its lock. */
class LockBudgetError extends UserError {
  override name = "LockBudgetError";
  constructor(table: string, step: string, spentMs: number, budgetMs: number) {
    super(
      `${step}: no ACCESS EXCLUSIVE on ${table} within the lock budget (${Math.round(spentMs)} ms spent of ${budgetMs} ms; long transactions on ${table} hold it off). ` +
        `Nothing is half-done: rerun the same command when the table is quieter, or raise --lock-budget.`,
    );
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one step; returns whether it was already done. */
export async function runStep(
  client: Client,
  schema: string,
  step: Step,
  policy: LockPolicy,
  ledger: LockLedger,
  backfill: BackfillOptions,
): Promise<boolean> {
  switch (step.kind) {
    case "sql":
      for (const sql of step.sql) await client.query(sql);
      return false;
    case "short":
      return runShort(client, step, policy, ledger);
    case "validate":
      return runValidate(client, schema, step, backfill);
    case "index":
      return buildIndex(client, schema, step);
    case "drop-index":
      await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified(schema, step.name)}`);
      return false;
  }
}

async function runShort(
  client: Client,
  step: Extract<Step, { kind: "short" }>,
  policy: LockPolicy,
  ledger: LockLedger,
): Promise<boolean> {
  if ((await client.query<{ done: boolean }>(step.doneWhen)).rows[0]?.done) return true;
  const spent = ledger.get(step.table) ?? { ms: 0, attempts: 0, timeouts: 0 };
  ledger.set(step.table, spent);
  for (;;) {
    const t0 = performance.now();
    spent.attempts++;
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_catalog.set_config('lock_timeout', $1, true)", [`${policy.lockTimeoutMs}ms`]);
      for (const sql of step.sql) await client.query(sql);
      await client.query("COMMIT");
      spent.ms += performance.now() - t0;
      return false;
    } catch (error) {
      spent.ms += performance.now() - t0;
      await client.query("ROLLBACK").catch(() => undefined);
      if ((error as { code?: string }).code !== "55P03") throw error;
      spent.timeouts++;
      if (spent.ms + policy.lockTimeoutMs > policy.budgetMs)
        throw new LockBudgetError(step.table, step.label, spent.ms, policy.budgetMs);
      await sleep(policy.retryPauseMs);
    }
  }
}

async function runValidate(
  client: Client,
  schema: string,
  step: Extract<Step, { kind: "validate" }>,
  backfill: BackfillOptions,
): Promise<boolean> {
  const { rows } = await client.query<{ convalidated: boolean }>(
    "SELECT convalidated FROM pg_catalog.pg_constraint WHERE conrelid = $1::pg_catalog.regclass AND conname = $2",
    [qualified(schema, step.table), step.constraint],
  );
  // No constraint: the final short transaction already swapped it for NOT NULL.
  if (rows.length === 0 || rows[0].convalidated) return true;
  const validate = `ALTER TABLE ${qualified(schema, step.table)} VALIDATE CONSTRAINT ${quoteIdent(step.constraint)}`;
  try {
    await client.query(validate);
  } catch (error) {
    if ((error as { code?: string }).code !== "23514") throw error;
    // A row escaped the backfill (inserted while no trigger ran): one more pass over the whole table, then again.
    await runBackfill(client, step.catchUp, { ...backfill, cursor: null, onBatch: undefined, saveCursor: undefined });
    await client.query(validate);
  }
  return false;
}

async function indexState(client: Client, schema: string, name: string): Promise<"valid" | "invalid" | "missing"> {
  const { rows } = await client.query<{ valid: boolean }>(
    `SELECT i.indisvalid AND i.indisready AS valid
       FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, name],
  );
  return rows.length === 0 ? "missing" : rows[0].valid ? "valid" : "invalid";
}

async function buildIndex(client: Client, schema: string, step: Extract<Step, { kind: "index" }>): Promise<boolean> {
  const state = await indexState(client, schema, step.name);
  if (state === "valid") return true;
  if (state === "invalid") await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified(schema, step.name)}`);
  await client.query(
    `CREATE INDEX CONCURRENTLY ${quoteIdent(step.name)} ON ${qualified(schema, step.table)} (${step.columns.map(quoteIdent).join(", ")})`,
  );
  if ((await indexState(client, schema, step.name)) !== "valid")
    throw new Error(`CREATE INDEX CONCURRENTLY ${step.name} finished but the index is not valid`);
  return false;
}
