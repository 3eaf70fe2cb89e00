/**
 * `06_session_data` online. The release renames `event_data.event_key` and `session_data.session_key` to
 * `data_key`, drops `session_data.deleted_at`, swaps event_data's key index and builds two session_data indexes
 * with plain CREATE INDEX — ACCESS EXCLUSIVE on both tables to commit. Both versions must write meanwhile: the
 * old one names `event_key`/`session_key`, the new one `data_key`. A rename cannot serve both names in one
 * table (a view or a generated column takes no insert under the old name there), so the old column stays the
 * real one and the new name comes as a shim, as 09's region does:
 * - expand: `data_key` (a shim of the old column's type) on each table, with a trigger keeping the two equal
 *   whichever version inserts or updates (an insert without `data_key` is the old version's, and is counted);
 * - backfill: the shim from the old column by primary key range;
 * - contract (old version gone): in one short transaction per table, the trigger and the shim dropped and the
 *   old column renamed to `data_key` (the release's column, in its place and NOT NULL); on event_data the 2.10
 *   index on (website_id, created_at, event_key) then covers exactly the release's columns and is renamed to
 *   the release's name (no rebuild); on session_data `deleted_at` dropped; the release's indexes CONCURRENTLY
 *   (event_data's only if the old one was missing).
 */
import { quoteIdent, quoteLiteral } from "../../../sst/database/quote.js";
import { countOldWrite, qualified, TOOL_PREFIX } from "./objects.js";
import type { Backfill, OnlinePlan, PlanTemplate, Step } from "./plan.js";

/** One table's rename: the old column the old version writes, its primary key (the backfill's range). */
interface Rename {
  table: "event_data" | "session_data";
  old: string;
  key: string;
}

const RENAMES: Rename[] = [
  { table: "event_data", old: "event_key", key: "event_data_id" },
  { table: "session_data", old: "session_key", key: "session_data_id" },
];

const OLD_EVENT_INDEX = "event_data_website_id_created_at_event_key_idx";
const NEW_EVENT_INDEX = "event_data_website_id_created_at_data_key_idx";

function build(schema: string): OnlinePlan {
  const hasColumn = (table: string, column: string) =>
    `EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = ${quoteLiteral(table)}::pg_catalog.regclass AND attname = ${quoteLiteral(column)} AND NOT attisdropped)`;
  const fnName = (r: Rename) => `${TOOL_PREFIX}06_${r.table}_key`;
  const functions: Step = {
    kind: "sql",
    label: "trigger functions",
    sql: RENAMES.map((r) => {
      const old = quoteIdent(r.old);
      // SECURITY DEFINER: it runs as its owner, the Umami role, whoever inserts (the audit's planted-code class).
      return `CREATE OR REPLACE FUNCTION ${qualified(schema, fnName(r))}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
         BEGIN
           IF TG_OP = 'INSERT' THEN
             IF NEW.data_key IS NULL THEN ${countOldWrite(schema)}; NEW.data_key := NEW.${old}; ELSE NEW.${old} := NEW.data_key; END IF;
           ELSIF NEW.data_key IS DISTINCT FROM OLD.data_key THEN
             NEW.${old} := NEW.data_key;
           ELSIF NEW.${old} IS DISTINCT FROM OLD.${old} THEN
             NEW.data_key := NEW.${old};
           END IF;
           RETURN NEW;
         END $fn$`;
    }),
  };
  const expand: Step[] = RENAMES.map((r) => {
    const table = qualified(schema, r.table);
    return {
      kind: "short",
      label: `ADD COLUMN ${r.table}.data_key (shim) + trigger`,
      table: r.table,
      sql: [
        // The shim takes the old column's own type: at contract the old column itself becomes data_key.
        `DO $do$ BEGIN
           EXECUTE pg_catalog.format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS "data_key" %s', ${quoteLiteral(table)},
             (SELECT pg_catalog.format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute
               WHERE attrelid = ${quoteLiteral(table)}::pg_catalog.regclass AND attname = ${quoteLiteral(r.old)} AND NOT attisdropped));
         END $do$`,
        `CREATE OR REPLACE TRIGGER ${quoteIdent(fnName(r))} BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${qualified(schema, fnName(r))}()`,
      ],
      doneWhen: `SELECT ${hasColumn(table, "data_key")} AS done`,
    };
  });
  const backfill: Backfill[] = RENAMES.map((r) => ({
    label: `${r.table}.data_key`,
    table: r.table,
    key: r.key,
    sql: [
      `UPDATE ${qualified(schema, r.table)}
          SET data_key = ${quoteIdent(r.old)}
        WHERE ($1::uuid IS NULL OR ${quoteIdent(r.key)} > $1::uuid) AND ${quoteIdent(r.key)} <= $2::uuid
          AND data_key IS DISTINCT FROM ${quoteIdent(r.old)}`,
    ],
  }));
  const eventData = qualified(schema, "event_data");
  const sessionData = qualified(schema, "session_data");
  const swap = (r: Rename, extra: string[]): Step => {
    const table = qualified(schema, r.table);
    return {
      kind: "short",
      label: `${r.table}: ${r.old} → data_key`,
      table: r.table,
      sql: [
        `DROP TRIGGER IF EXISTS ${quoteIdent(fnName(r))} ON ${table}`,
        `ALTER TABLE ${table} DROP COLUMN "data_key"`,
        `ALTER TABLE ${table} RENAME COLUMN ${quoteIdent(r.old)} TO "data_key"`,
        ...extra,
      ],
      doneWhen: `SELECT NOT ${hasColumn(table, r.old)} AS done`,
    };
  };
  return {
    name: "06_session_data",
    checksum: SESSION_DATA.checksum,
    tables: ["event_data", "session_data"],
    oldShape: "an event_data or session_data row inserted without data_key",
    expand: [functions, ...expand],
    backfill,
    contract: [
      swap(RENAMES[0], [
        `ALTER INDEX IF EXISTS ${qualified(schema, OLD_EVENT_INDEX)} RENAME TO ${quoteIdent(NEW_EVENT_INDEX)}`,
      ]),
      swap(RENAMES[1], [`ALTER TABLE ${sessionData} DROP COLUMN IF EXISTS "deleted_at"`]),
      {
        kind: "index",
        label: NEW_EVENT_INDEX,
        table: "event_data",
        name: NEW_EVENT_INDEX,
        columns: ["website_id", "created_at", "data_key"],
      },
      {
        kind: "index",
        label: "session_data_session_id_created_at_idx",
        table: "session_data",
        name: "session_data_session_id_created_at_idx",
        columns: ["session_id", "created_at"],
      },
      {
        kind: "index",
        label: "session_data_website_id_created_at_data_key_idx",
        table: "session_data",
        name: "session_data_website_id_created_at_data_key_idx",
        columns: ["website_id", "created_at", "data_key"],
      },
      {
        kind: "sql",
        label: "drop the trigger functions",
        sql: RENAMES.map((r) => `DROP FUNCTION IF EXISTS ${qualified(schema, fnName(r))}()`),
      },
    ],
    proof: [
      {
        sql: `SELECT t || '.' || c || ' is left' AS problem
                FROM (VALUES ($1::text, 'event_key'), ($2::text, 'session_key'), ($2::text, 'deleted_at')) v(t, c)
               WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = t::pg_catalog.regclass AND attname = c AND NOT attisdropped)
              UNION ALL
              SELECT t || '.data_key is missing or nullable'
                FROM (VALUES ($1::text), ($2::text)) v(t)
               WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = t::pg_catalog.regclass AND attname = 'data_key' AND attnotnull AND NOT attisdropped)`,
        params: [eventData, sessionData],
      },
    ],
  };
}

/** The plan for Umami's release file `06_session_data` (unchanged to 3.1.0). */
export const SESSION_DATA: PlanTemplate = {
  name: "06_session_data",
  checksum: "fcd8585d077229bb2a16ae4705a79a5bc31cf6cbca089de99f4b1c19cb0a0a17",
  build,
};
