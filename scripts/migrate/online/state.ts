/**
 * The online upgrade's state in Umami's schema (objects.ts): one row per migration under way — its checksum,
 * when it started (the `started_at` its `_prisma_migrations` row will carry, as Prisma's would), its phase and
 * its backfill cursors. Every write commits with the work it describes.
 */
import type { Client } from "../../kernel/db.js";
import { buildStateDdl, qualified, STATE_TABLE } from "./objects.js";

/** Where one migration's online run stands. */
export type Phase = "expanding" | "expanded" | "backfilled" | "contracted";

/** One row of the state table. */
interface OnlineState {
  migration_name: string;
  checksum: string;
  started_at: string;
  phase: Phase;
  cursors: Record<string, { after: string | null; done: boolean }>;
}

/** Whether the state table exists (no DDL: a dry run or a `--finish` with nothing under way creates nothing). */
async function hasState(client: Client, schema: string): Promise<boolean> {
  const { rows } = await client.query<{ t: string | null }>("SELECT pg_catalog.to_regclass($1)::text AS t", [
    qualified(schema, STATE_TABLE),
  ]);
  return rows[0].t !== null;
}

/** Creates the state table and the old-writes counter when missing. */
export async function ensureState(client: Client, schema: string): Promise<void> {
  for (const sql of buildStateDdl(schema)) await client.query(sql);
}

/** Every migration under way, by name. */
export async function readState(client: Client, schema: string): Promise<Map<string, OnlineState>> {
  if (!(await hasState(client, schema))) return new Map();
  const { rows } = await client.query<OnlineState>(
    `SELECT migration_name, checksum, pg_catalog.to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS started_at, phase, cursors
       FROM ${qualified(schema, STATE_TABLE)}`,
  );
  return new Map(rows.map((r) => [r.migration_name, r]));
}

/** Starts a migration's row (phase `expanding`, started now); keeps an existing one. */
export async function startState(client: Client, schema: string, name: string, checksum: string): Promise<void> {
  await client.query(
    `INSERT INTO ${qualified(schema, STATE_TABLE)} (migration_name, checksum, phase) VALUES ($1, $2, 'expanding') ON CONFLICT (migration_name) DO NOTHING`,
    [name, checksum],
  );
}

/** Moves a migration to `phase`. */
export async function setPhase(client: Client, schema: string, name: string, phase: Phase): Promise<void> {
  await client.query(`UPDATE ${qualified(schema, STATE_TABLE)} SET phase = $2 WHERE migration_name = $1`, [
    name,
    phase,
  ]);
}

/** Saves a backfill's cursor (inside the batch's transaction). */
export async function saveCursor(
  client: Client,
  schema: string,
  name: string,
  label: string,
  after: string | null,
  done: boolean,
): Promise<void> {
  await client.query(
    `UPDATE ${qualified(schema, STATE_TABLE)}
        SET cursors = cursors || pg_catalog.jsonb_build_object($2::text, pg_catalog.jsonb_build_object('after', $3::text, 'done', $4::boolean))
      WHERE migration_name = $1`,
    [name, label, after, done],
  );
}
