/**
 * Prisma Migrate's bookkeeping on PostgreSQL, reproduced value for value: the `_prisma_migrations` table
 * (DDL from prisma-engines `flavour/postgres.rs` `create_migrations_table`), the checksum
 * (`schema-connector/src/checksum.rs`), the advisory lock key and the rows `prisma migrate deploy` writes
 * (`sql_migration_persistence.rs`). Sources and reasoning: docs/prisma-compatibility.md.
 */
import { createHash, randomUUID } from "node:crypto";
import { quoteIdent } from "../../sst/database/quote.js";
import { type Client } from "../kernel/db.js";

/** Prisma's table name (`MIGRATIONS_TABLE_NAME`). */
export const MIGRATIONS_TABLE = "_prisma_migrations";

/** `SELECT pg_advisory_lock(72707369)`: "a unique number we chose to identify Migrate" (flavour/postgres.rs). */
export const PRISMA_ADVISORY_LOCK_KEY = 72707369n;

/** How long Prisma waits for the advisory lock before failing (`ADVISORY_LOCK_TIMEOUT`, 10 s). */
export const PRISMA_LOCK_TIMEOUT_MS = 10_000;

/** One row of `_prisma_migrations`, as read back (timestamps as ISO strings with microseconds). */
export interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: string | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: string | null;
  started_at: string;
  applied_steps_count: number;
}

/** Prisma's checksum: SHA-256 of the script's UTF-8 bytes as 64 zero-padded lowercase hex digits. */
export function prismaChecksum(script: string): string {
  return createHash("sha256").update(script, "utf8").digest("hex");
}

/**
 * Whether `script` matches a recorded checksum the way Prisma's `script_matches_checksum` decides: also with
 * CRLF→LF and LF→CRLF line endings (git may rewrite them), and in the old non-zero-padded hex format
 * (prisma-engines issue 1887) when the recorded string is not 64 characters long.
 */
export function matchesChecksum(script: string, recorded: string): boolean {
  const variants = [script, script.replaceAll("\r\n", "\n"), script.replaceAll("\n", "\r\n")];
  return variants.some((variant) => {
    const digest = createHash("sha256").update(variant, "utf8").digest();
    const rendered =
      recorded.length !== 0 && recorded.length !== 64
        ? [...digest].map((b) => b.toString(16)).join("")
        : digest.toString("hex");
    return rendered === recorded;
  });
}

/** The table's qualified name in `schema`. */
function migrationsTable(schema: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(MIGRATIONS_TABLE)}`;
}

/**
 * Prisma's DDL for PostgreSQL, column for column. Prisma issues it unqualified under `search_path = "<schema>"`;
 * qualifying it with the same schema creates the identical table (constraint `_prisma_migrations_pkey`).
 */
export function buildMigrationsTableDdl(schema: string): string {
  return `
    CREATE TABLE ${migrationsTable(schema)} (
        id                      VARCHAR(36) PRIMARY KEY NOT NULL,
        checksum                VARCHAR(64) NOT NULL,
        finished_at             TIMESTAMPTZ,
        migration_name          VARCHAR(255) NOT NULL,
        logs                    TEXT,
        rolled_back_at          TIMESTAMPTZ,
        started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
        applied_steps_count     INTEGER NOT NULL DEFAULT 0
    )`;
}

/**
 * Whether `schema` exists (Prisma's `SELECT EXISTS(SELECT 1 FROM pg_namespace WHERE nspname = $1)`) and its
 * ordinary tables (`relkind = 'r'`, as Prisma's `table_names`), in one round trip.
 */
export async function inspectSchema(client: Client, schema: string): Promise<{ exists: boolean; tables: string[] }> {
  const { rows } = await client.query<{ exists: boolean; tables: string[] }>(
    `
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1) AS exists,
           ARRAY(SELECT c.relname::text
                   FROM pg_catalog.pg_class c
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relkind = 'r' AND n.nspname = $1
                  ORDER BY c.relname) AS tables
    `,
    [schema],
  );
  return rows[0];
}

/** All rows ordered by `started_at` (Prisma's `load_migrations_table`). */
export async function readMigrationRows(client: Client, schema: string): Promise<MigrationRow[]> {
  // Timestamps as text in UTC keep PostgreSQL's microseconds, which a JS Date would cut to milliseconds.
  // ORDER BY names the table's column (m.started_at), not the text output column of the same name.
  const { rows } = await client.query<MigrationRow>(
    `
    SELECT id, checksum,
           pg_catalog.to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS finished_at,
           migration_name, logs,
           pg_catalog.to_char(rolled_back_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS rolled_back_at,
           pg_catalog.to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS started_at,
           applied_steps_count
      FROM ${migrationsTable(schema)} AS m
     ORDER BY m.started_at ASC
    `,
  );
  return rows;
}

/**
 * The row Prisma has written once a script succeeded (`record_migration_started`, `record_successful_step`,
 * `record_migration_finished`): id, checksum, name, started_at, finished_at, applied_steps_count 1, logs NULL.
 * Written in one INSERT inside the migration's transaction, after the script: no other session can see a row
 * before it commits, so the committed result is the same. `started_at` is the transaction's start (`now()`),
 * when the migration began; an online migration passes the start of its expand phase instead (online/record.ts).
 */
export async function recordMigrationApplied(
  client: Client,
  schema: string,
  name: string,
  checksum: string,
  startedAt?: string,
): Promise<string> {
  const id = randomUUID();
  await client.query(
    `INSERT INTO ${migrationsTable(schema)} (id, checksum, started_at, finished_at, migration_name, applied_steps_count)
     VALUES ($1, $2, COALESCE($4::timestamptz, pg_catalog.now()), pg_catalog.clock_timestamp(), $3, 1)`,
    [id, checksum, name, startedAt ?? null],
  );
  return id;
}

/**
 * What Prisma leaves after a failed script: the started row with `logs` set by `record_failed_step`,
 * finished_at and rolled_back_at NULL, applied_steps_count 0. Written on its own, after the migration's
 * transaction rolled back, so it survives.
 */
export async function recordMigrationFailed(
  client: Client,
  schema: string,
  row: { checksum: string; name: string; startedAt: Date; logs: string },
): Promise<void> {
  await client.query(
    `INSERT INTO ${migrationsTable(schema)} (id, checksum, started_at, migration_name, logs)
     VALUES ($1, $2, $3::timestamptz, $4, $5)`,
    [randomUUID(), row.checksum, row.startedAt.toISOString(), row.name, row.logs],
  );
}

/** `mark_migration_rolled_back_by_id`: sets rolled_back_at on the failed rows of `name`; returns how many. */
export async function markRolledBack(client: Client, schema: string, name: string): Promise<number> {
  const result = await client.query(
    `UPDATE ${migrationsTable(schema)}
        SET rolled_back_at = pg_catalog.clock_timestamp()
      WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL`,
    [name],
  );
  return result.rowCount ?? 0;
}

/** The text of Prisma's P3018 (`ApplyMigrationError`), which Prisma stores in `logs` of a failed migration. */
export function renderApplyMigrationError(
  name: string,
  script: string,
  error: { code?: string; message?: string; position?: string },
): string {
  const where = error.position ? `\n\nPosition:\n${renderPosition(script, Number(error.position))}` : "";
  return (
    "A migration failed to apply. New migrations cannot be applied before the error is recovered from. " +
    "Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n\n" +
    `Migration name: ${name}\n\nDatabase error code: ${error.code ?? "none"}\n\nDatabase error:\nERROR: ${error.message ?? "unknown error"}${where}\n`
  );
}

/** The 1-based line holding character `position` (PostgreSQL counts characters, from 1). */
export function lineOf(script: string, position: number): number {
  return script.slice(0, Math.max(0, position - 1)).split("\n").length;
}

function renderPosition(script: string, position: number): string {
  const lines = script.split("\n");
  const line = lineOf(script, position);
  return lines
    .slice(Math.max(0, line - 6), line)
    .map((text, i, shown) => `${String(line - shown.length + 1 + i).padStart(3)} ${text}`)
    .join("\n");
}
