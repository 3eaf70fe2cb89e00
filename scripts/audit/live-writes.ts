/**
 * The tracker's half of the live-effects probe (live-effects.ts): one DO block — one round trip, every savepoint
 * server-side — that writes, reads back, updates and deletes one row of each Umami table, values derived from the
 * catalog (types, NOT NULL, defaults, foreign keys between Umami's tables: parents first, a child's key taken
 * from its parent's new row). Each group of tables linked by foreign keys is written in a subtransaction that
 * takes ROW EXCLUSIVE on its tables with NOWAIT (it never queues behind a migration; the mode blocks only DDL) and
 * is rolled back at once, which releases them: a table is held only while its own row is written. Rows are
 * found again by tableoid and ctid, so no other row is ever touched. Names go through quoteIdent, enum labels
 * through quoteLiteral; types are written as format_type() spells them.
 */
import { quoteIdent, quoteLiteral } from "../../sst/database/quote.js";
import { changedSql, RESULT_SETTING, type PlanColumn, type PlanTable } from "./live-effects-sql.js";

/** Rows written in a relation outside Umami's schema. */
export interface Written {
  oid: string;
  relation: string;
  inserted: number;
  updated: number;
  deleted: number;
}

/** What the block reports, read from RESULT_SETTING after it ran. */
export interface BlockResult {
  /** Catalog rows the DDL and the probe table's writes changed (changedSql), read before Umami's tables are written. */
  ddlChanges: unknown[];
  /** The same, read inside a group's writes when they changed a catalog (else empty). */
  dmlChanges: unknown[];
  /** Table → why its row could not be written (SQLSTATE: message). */
  errors: Record<string, string>;
  /** Tables not written because another session holds a lock on them. */
  locked: string[];
  /** The longest time, in milliseconds, a group of Umami's tables was held (from its LOCK to its rollback). */
  heldMs: number | null;
  /** Relations outside Umami's schema this transaction wrote. */
  written: Written[];
  /** The same, as the DDL left them, before Umami's tables were written (null without event triggers: none). */
  writtenByDdl: Written[] | null;
  /** Function oid → calls before Umami's tables were written / in all (track_functions permitting), else null. */
  callsBeforeWrites: Record<string, number> | null;
  calls: Record<string, number> | null;
}

/** A value for a NOT NULL column without a default, or null when the probe has none for its type. */
function valueFor(column: PlanColumn): string | null {
  const as = `::${column.type}`;
  if (column.type === "uuid") return "pg_catalog.gen_random_uuid()";
  if (column.type === "json" || column.type === "jsonb") return `'{}'${as}`;
  if (column.type === "bytea") return "pg_catalog.decode('00', 'hex')";
  switch (column.category) {
    case "S": // a fresh uuid's text, cut to the column's length by the cast
      return `pg_catalog.gen_random_uuid()::text${as}`;
    case "N":
      return `pg_catalog.floor(pg_catalog.random() * 99)::integer${as}`;
    case "B":
      return `false${as}`;
    case "D":
      return `pg_catalog.now()${as}`;
    case "T":
      return `'0'${as}`;
    case "A":
      return `'{}'${as}`;
    case "I":
      return `'127.0.0.1'${as}`;
    case "E":
      return column.label === null ? null : `${quoteLiteral(column.label)}${as}`;
    default:
      return null;
  }
}

/** Groups of tables linked by foreign keys inside Umami's schema, each parents first. */
function groups(tables: PlanTable[]): PlanTable[][] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const root = new Map(tables.map((t) => [t.name, t.name]));
  const find = (n: string): string => (root.get(n) === n ? n : find(root.get(n)!));
  for (const t of tables)
    for (const fk of t.foreignKeys) if (fk.inSchema && byName.has(fk.parent)) root.set(find(t.name), find(fk.parent));
  const done = new Set<string>();
  const ordered: PlanTable[] = [];
  const visit = (t: PlanTable, path: Set<string>) => {
    if (done.has(t.name) || path.has(t.name)) return; // a cycle keeps the names' order
    path.add(t.name);
    for (const fk of t.foreignKeys) {
      const parent = byName.get(fk.parent);
      if (fk.inSchema && parent && parent !== t) visit(parent, path);
    }
    done.add(t.name);
    ordered.push(t);
  };
  tables.forEach((t) => visit(t, new Set()));
  const out = new Map<string, PlanTable[]>();
  for (const t of ordered) out.set(find(t.name), [...(out.get(find(t.name)) ?? []), t]);
  return [...out.values()];
}

/** The column list and values of a table's row, or why the probe cannot write one. */
function rowOf(
  table: PlanTable,
  q: (name: string) => string,
  slot: Map<string, number>,
): { insert: string } | { reason: string } {
  const names: string[] = [];
  const values: string[] = [];
  for (const column of table.columns) {
    if (!column.notNull || column.hasDefault || column.generated !== "" || column.identity !== "") continue;
    const fk = table.foreignKeys.find((f) => f.columns.includes(column.name));
    const p = fk ? slot.get(fk.parent) : undefined;
    const value = fk
      ? fk.inSchema && p !== undefined && fk.parent !== table.name
        ? `(SELECT p.${quoteIdent(fk.parentColumns[fk.columns.indexOf(column.name)])} FROM ${q(fk.parent)} p WHERE p.tableoid = o${p} AND p.ctid = c${p})`
        : null
      : valueFor(column);
    if (value === null) {
      return {
        reason: fk
          ? `column ${column.name} references ${fk.parent}, which the probe cannot write first`
          : `the probe has no value for column ${column.name} (${column.type})`,
      };
    }
    names.push(quoteIdent(column.name));
    values.push(value);
  }
  return { insert: names.length > 0 ? `(${names.join(", ")}) VALUES (${values.join(", ")})` : "DEFAULT VALUES" };
}

/** The catalogs changedSql reads: written in a group's subtransaction means it must be read there. */
const WATCHED_CATALOGS = [
  "pg_class",
  "pg_attribute",
  "pg_namespace",
  "pg_proc",
  "pg_type",
  "pg_default_acl",
  "pg_largeobject_metadata",
  "pg_foreign_server",
  "pg_foreign_data_wrapper",
  "pg_language",
  "pg_database",
  "pg_parameter_acl",
  "pg_event_trigger",
  "pg_extension",
  "pg_trigger",
  "pg_rewrite",
  "pg_policy",
  "pg_publication",
  "pg_publication_rel",
  "pg_publication_namespace",
  "pg_auth_members",
  "pg_db_role_setting",
];

/**
 * Builds the block for `plan` (Umami's tables); `skipped` lists the tables it cannot write. `track` says what the
 * server counts: function calls (track_functions) and rows written (track_counts; without it every group reads
 * the catalogs); with `eventTriggers` (enabled ones exist), the rows the DDL wrote are read apart.
 */
export function buildWritesBlock(
  schema: string,
  plan: PlanTable[],
  track: { functions: boolean; counts: boolean; eventTriggers: boolean },
): { sql: string; skipped: { table: string; reason: string }[] } {
  const skipped: { table: string; reason: string }[] = [];
  const q = (name: string) => `${quoteIdent(schema)}.${quoteIdent(name)}`;
  const slot = new Map<string, number>();
  const changed = changedSql(schema);
  // Rows written in the catalogs changedSql reads (a rolled-back subtransaction's count stays): when a group's
  // writes leave it unchanged, no catalog needs reading inside the group. Read once before the groups, then in each.
  const catalogWrites = (into: string) => `
      SELECT COALESCE(pg_catalog.sum(pg_catalog.pg_stat_get_xact_tuples_inserted(c) + pg_catalog.pg_stat_get_xact_tuples_updated(c)
               + pg_catalog.pg_stat_get_xact_tuples_deleted(c)), 0) INTO ${into}
        FROM pg_catalog.unnest(ARRAY[${WATCHED_CATALOGS.map((c) => quoteLiteral(`pg_catalog.${c}`)).join(", ")}]::pg_catalog.regclass[]) c;`;
  // Functions outside pg_catalog called so far (track_functions = pl or all, a superuser's setting).
  const calls = (into: string) => `
      SELECT pg_catalog.jsonb_object_agg(p.oid::text, pg_catalog.pg_stat_get_xact_function_calls(p.oid)) INTO ${into}
        FROM pg_catalog.pg_proc p
       WHERE p.pronamespace <> ALL (ARRAY['pg_catalog', 'information_schema']::pg_catalog.regnamespace[])
         AND pg_catalog.pg_stat_get_xact_function_calls(p.oid) > 0;`;
  // Rows written so far in relations outside Umami's schema (temporary ones are this session's own).
  const written = (into: string) => `
    SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('oid', w.oid::text, 'relation', w.relation,
             'inserted', w.inserted, 'updated', w.updated, 'deleted', w.deleted)), '[]') INTO ${into}
      FROM (SELECT c.oid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS relation,
                   pg_catalog.pg_stat_get_xact_tuples_inserted(c.oid) AS inserted, pg_catalog.pg_stat_get_xact_tuples_updated(c.oid) AS updated,
                   pg_catalog.pg_stat_get_xact_tuples_deleted(c.oid) AS deleted
              FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't' AND n.nspname <> ${quoteLiteral(schema)}
               AND n.nspname NOT IN ('pg_catalog', 'pg_toast', 'information_schema')) w
     WHERE w.inserted + w.updated + w.deleted > 0;`;
  const blocks: string[] = [];
  for (const group of groups(plan)) {
    const writable: { table: PlanTable; i: number; insert: string }[] = [];
    for (const table of group) {
      const i = slot.size;
      slot.set(table.name, i);
      const row = rowOf(table, q, slot);
      if ("reason" in row) {
        skipped.push({ table: table.name, reason: row.reason });
        slot.delete(table.name);
      } else writable.push({ table, i, insert: row.insert });
    }
    if (writable.length === 0) continue;
    const error = (t: PlanTable, what: string) => `
          EXCEPTION WHEN OTHERS THEN
            errors := errors || pg_catalog.jsonb_build_object(${quoteLiteral(t.name)}, ${what}SQLSTATE || ': ' || SQLERRM);`;
    const writes = writable.map(({ table, i, insert }) => {
      const own = `tableoid = o${i} AND ctid = c${i}`;
      const settable = table.columns
        .filter((c) => c.generated === "" && c.identity !== "a")
        .map((c) => `${quoteIdent(c.name)} = ${quoteIdent(c.name)}`);
      return `
        BEGIN
          INSERT INTO ${q(table.name)} ${insert} RETURNING tableoid, ctid INTO o${i}, c${i};
          PERFORM FROM ${q(table.name)} WHERE ${own};
          ${settable.length > 0 ? `UPDATE ${q(table.name)} SET ${settable.join(", ")} WHERE ${own} RETURNING ctid INTO c${i};` : ""}${error(table, "")}
            o${i} := NULL; c${i} := NULL;
        END;`;
    });
    const deletes = [...writable].reverse().map(
      ({ table, i }) => `
        BEGIN
          DELETE FROM ${q(table.name)} WHERE tableoid = o${i} AND ctid = c${i};${error(table, "'delete: ' || ")}
        END;`,
    );
    const names = writable.map(({ table }) => q(table.name));
    blocks.push(`
    started := pg_catalog.clock_timestamp();
    BEGIN
      LOCK TABLE ${names.join(", ")} IN ROW EXCLUSIVE MODE NOWAIT;
      ${writes.join("")}
      ${deletes.join("")}
      ${track.counts ? catalogWrites("writes_after") : ""}
      IF ${track.counts ? "writes_after IS DISTINCT FROM writes_before" : "true"} THEN
        SELECT dml_changes || COALESCE(pg_catalog.jsonb_agg(s), '[]') INTO dml_changes FROM (${changed}) s;
        writes_before := writes_after;
      END IF;
      RAISE SQLSTATE 'UMDB0';
    EXCEPTION
      WHEN SQLSTATE 'UMDB0' THEN
        held := GREATEST(held, pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - started) * 1000);
      WHEN lock_not_available THEN
        locked := locked || ${quoteLiteral(JSON.stringify(writable.map(({ table }) => table.name)))}::jsonb;
    END;`);
  }
  const slots = [...slot.values()].map((i) => `o${i} oid; c${i} tid;`).join(" ");
  const sql = `
  DO $umami_db_live$
  DECLARE
    errors jsonb := '{}'; ddl_changes jsonb; dml_changes jsonb := '[]'; locked jsonb := '[]'; held numeric; started timestamptz;
    writes_before numeric; writes_after numeric; written jsonb; written_ddl jsonb; calls_before jsonb; calls jsonb; ${slots}
  BEGIN
    SELECT COALESCE(pg_catalog.jsonb_agg(s), '[]') INTO ddl_changes FROM (${changed}) s;
    ${track.functions ? calls("calls_before") : ""}
    ${track.eventTriggers ? written("written_ddl") : ""}
    ${track.counts ? catalogWrites("writes_before") : ""}
    ${blocks.join("")}
    ${written("written")}
    ${track.functions ? calls("calls") : ""}
    PERFORM pg_catalog.set_config(${quoteLiteral(RESULT_SETTING)}, pg_catalog.jsonb_build_object(
      'ddlChanges', ddl_changes, 'dmlChanges', dml_changes, 'errors', errors, 'locked', locked, 'heldMs', held,
      'written', written, 'writtenByDdl', written_ddl, 'callsBeforeWrites', calls_before, 'calls', calls)::text, true);
  END
  $umami_db_live$`;
  return { sql, skipped };
}
