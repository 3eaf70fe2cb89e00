/**
 * The tool's own objects in Umami's schema while an online upgrade is under way, all named `_umami_db_…` so a
 * DBA can find them and the end-state check can prove none is left: the state table (phase and backfill
 * cursors per migration, so a rerun resumes) and the counter of rows inserted in the old version's shape
 * (a sequence: `nextval` from the triggers costs no row lock and survives rollbacks).
 */
import { quoteIdent, quoteLiteral } from "../../../sst/database/quote.js";

/** The prefix of every object the online path creates. */
export const TOOL_PREFIX = "_umami_db_";

/** `"schema"."name"`. */
export function qualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** The state table. */
export const STATE_TABLE = `${TOOL_PREFIX}online`;

/** The sequence the old-shape triggers advance. */
export const OLD_WRITES_SEQUENCE = `${TOOL_PREFIX}old_writes`;

/** The state table and the counter, created when an online plan first runs. */
export function buildStateDdl(schema: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${qualified(schema, STATE_TABLE)} (
       migration_name TEXT PRIMARY KEY,
       checksum       TEXT NOT NULL,
       started_at     TIMESTAMPTZ NOT NULL DEFAULT pg_catalog.now(),
       phase          TEXT NOT NULL,
       cursors        JSONB NOT NULL DEFAULT '{}'
     )`,
    `CREATE SEQUENCE IF NOT EXISTS ${qualified(schema, OLD_WRITES_SEQUENCE)}`,
  ];
}

/** The statement a trigger runs to count one old-shape row. */
export function countOldWrite(schema: string): string {
  return `PERFORM pg_catalog.nextval(${quoteLiteral(qualified(schema, OLD_WRITES_SEQUENCE))}::pg_catalog.regclass)`;
}

/**
 * Whether anything of the tool's is left in `schema`: tables, sequences, functions, triggers, constraints
 * named `_umami_db_…`, and invalid indexes. Returns rows `{ problem }`.
 */
export const LEFTOVERS_SQL = `
  SELECT 'relation ' || c.relname AS problem
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1 AND c.relname LIKE '\\_umami\\_db\\_%'
  UNION ALL
  SELECT 'function ' || p.proname
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = $1 AND p.proname LIKE '\\_umami\\_db\\_%'
  UNION ALL
  SELECT 'trigger ' || t.tgname || ' on ' || c.relname
    FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1 AND t.tgname LIKE '\\_umami\\_db\\_%'
  UNION ALL
  SELECT 'constraint ' || k.conname || ' on ' || c.relname
    FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1 AND (k.conname LIKE '\\_umami\\_db\\_%' OR NOT k.convalidated)
  UNION ALL
  SELECT 'invalid index ' || c.relname
    FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1 AND NOT (i.indisvalid AND i.indisready)`;
