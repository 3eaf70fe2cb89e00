/**
 * The last phase: prove each plan's end state from the catalogs (its own facts, the release's indexes valid,
 * nothing of the tool's left but the state it is about to drop), then write the `_prisma_migrations` rows
 * exactly as Prisma writes a finished migration (bookkeeping.ts), under Prisma's advisory lock, and drop the
 * tool's state in the same transaction: either the rows and no state, or the state and no rows.
 */
import type { Client } from "../../kernel/db.js";
import { MigrationLockTimeoutError } from "../errors.js";
import {
  PRISMA_ADVISORY_LOCK_KEY,
  PRISMA_LOCK_TIMEOUT_MS,
  readMigrationRows,
  recordMigrationApplied,
} from "../bookkeeping.js";
import { LEFTOVERS_SQL, OLD_WRITES_SEQUENCE, qualified, STATE_TABLE } from "./objects.js";
import type { OnlinePlan } from "./plan.js";
import { UserError } from "../../kernel/errors.js";

/** The end state is not the release's: nothing is recorded. */
class EndStateError extends UserError {
  override name = "EndStateError";
  constructor(problems: string[]) {
    super(
      `The online upgrade's end state is not the release's (${problems.join("; ")}); nothing was recorded. Rerun the same command: each step resumes where it stopped.`,
    );
  }
}

/** Throws `EndStateError` unless every plan's facts hold and nothing of the tool's is left but its state. */
export async function proveEndState(client: Client, schema: string, plans: OnlinePlan[]): Promise<void> {
  const problems: string[] = [];
  for (const plan of plans) {
    for (const proof of plan.proof)
      problems.push(
        ...(await client.query<{ problem: string }>(proof.sql, proof.params)).rows.map(
          (r) => `${plan.name}: ${r.problem}`,
        ),
      );
    for (const step of plan.contract) {
      if (step.kind !== "index") continue;
      const { rows } = await client.query<{ ok: boolean }>(
        `SELECT i.indisvalid AND i.indisready AS ok FROM pg_catalog.pg_index i
           JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relname = $2`,
        [schema, step.name],
      );
      if (!rows[0]?.ok)
        problems.push(`${plan.name}: index ${step.name} ${rows.length ? "is not valid" : "is missing"}`);
    }
  }
  // The state goes in the same transaction as the rows (recordOnline).
  const keep = new Set([`relation ${STATE_TABLE}`, `relation ${STATE_TABLE}_pkey`, `relation ${OLD_WRITES_SEQUENCE}`]);
  problems.push(
    ...(await client.query<{ problem: string }>(LEFTOVERS_SQL, [schema])).rows
      .map((r) => r.problem)
      .filter((p) => !keep.has(p) && !p.endsWith(` on ${STATE_TABLE}`)),
  );
  if (problems.length > 0) throw new EndStateError(problems);
}

/** Records `migrations` (not yet recorded ones) and drops the state, in one transaction under Prisma's lock. */
export async function recordOnline(
  client: Client,
  at: { schema: string; host: string; port: number },
  migrations: { name: string; checksum: string; startedAt: string }[],
): Promise<void> {
  const { schema } = at;
  const key = PRISMA_ADVISORY_LOCK_KEY.toString();
  await client.query("SELECT pg_catalog.set_config('lock_timeout', $1, false)", [`${PRISMA_LOCK_TIMEOUT_MS}ms`]);
  try {
    await client.query("SELECT pg_catalog.pg_advisory_lock($1)", [key]);
  } catch (error) {
    if ((error as { code?: string }).code === "55P03")
      throw new MigrationLockTimeoutError(at.host, at.port, PRISMA_LOCK_TIMEOUT_MS, { cause: error });
    throw error;
  } finally {
    await client.query("SELECT pg_catalog.set_config('lock_timeout', '0', false)");
  }
  try {
    await client.query("BEGIN");
    const recorded = new Set(
      (await readMigrationRows(client, schema))
        .filter((r) => r.finished_at !== null && r.rolled_back_at === null)
        .map((r) => r.migration_name),
    );
    for (const m of migrations)
      if (!recorded.has(m.name)) await recordMigrationApplied(client, schema, m.name, m.checksum, m.startedAt);
    await client.query(`DROP TABLE IF EXISTS ${qualified(schema, STATE_TABLE)}`);
    await client.query(`DROP SEQUENCE IF EXISTS ${qualified(schema, OLD_WRITES_SEQUENCE)}`);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    await client.query("SELECT pg_catalog.pg_advisory_unlock($1)", [key]).catch(() => undefined);
  }
}
