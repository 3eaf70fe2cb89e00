/**
 * A schema's structure as PostgreSQL's catalogs describe it — tables, columns (type, nullability, default),
 * indexes, constraints, sequences, enum types — read in one set-based query with the schema as `$1`. Objects
 * that belong to an extension (pgcrypto installed in the schema) are left out: they are not Umami's.
 * Definitions come from `pg_get_indexdef`/`pg_get_constraintdef`/`pg_get_expr`, so two snapshots of schemas
 * with the same name compare as text.
 */
import type { Client } from "../kernel/db.js";

/** One column. `default` is PostgreSQL's own rendering of the expression (`pg_get_expr`). */
export interface ColumnSnapshot {
  table: string;
  name: string;
  /** `format_type`: `character varying(255)`, `timestamp(6) with time zone`, `uuid`. */
  type: string;
  notNull: boolean;
  default: string | null;
}

/** An index with its full definition. */
export interface IndexSnapshot {
  table: string;
  name: string;
  definition: string;
}

/** A table constraint (p, u, f, c, x) with its definition. */
export interface ConstraintSnapshot {
  table: string;
  name: string;
  definition: string;
}

/** A sequence's parameters and the column that owns it, if any. */
export interface SequenceSnapshot {
  name: string;
  definition: string;
  ownedBy: string | null;
}

/** An enum type and its labels in order. */
export interface EnumSnapshot {
  name: string;
  labels: string[];
}

/** Everything compared about a schema. */
export interface SchemaSnapshot {
  schema: string;
  exists: boolean;
  /** Ordinary and partitioned tables, views and materialized views, by name, with their kind. */
  tables: { name: string; kind: string }[];
  columns: ColumnSnapshot[];
  indexes: IndexSnapshot[];
  constraints: ConstraintSnapshot[];
  sequences: SequenceSnapshot[];
  enums: EnumSnapshot[];
}

const KINDS: Record<string, string> = {
  r: "table",
  p: "partitioned table",
  v: "view",
  m: "materialized view",
  f: "foreign table",
};

/** Reads `schema`'s structure from the catalogs in one round trip. A missing schema gives `exists: false`. */
export async function readSchemaSnapshot(client: Client, schema: string): Promise<SchemaSnapshot> {
  // Every object is matched to its namespace by $1; `ext` lists the oids an extension owns (pg_depend 'e').
  const { rows } = await client.query<
    Omit<SchemaSnapshot, "schema" | "tables"> & { tables: { name: string; kind: string }[] }
  >(
    `
    WITH ns AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1),
         ext AS (SELECT objid FROM pg_catalog.pg_depend WHERE deptype = 'e'),
         rel AS (
           SELECT c.oid, c.relname, c.relkind
             FROM pg_catalog.pg_class c
            WHERE c.relnamespace = (SELECT oid FROM ns)
              AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
              AND c.oid NOT IN (SELECT objid FROM ext))
    SELECT EXISTS (SELECT 1 FROM ns) AS exists,
           COALESCE((SELECT json_agg(json_build_object('name', relname, 'kind', relkind) ORDER BY relname) FROM rel), '[]') AS tables,
           COALESCE((SELECT json_agg(json_build_object(
                       'table', r.relname, 'name', a.attname,
                       'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
                       'notNull', a.attnotnull,
                       'default', pg_catalog.pg_get_expr(d.adbin, d.adrelid)) ORDER BY r.relname, a.attname)
                       FROM rel r
                       JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
                       LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum), '[]') AS columns,
           COALESCE((SELECT json_agg(json_build_object(
                       'table', r.relname, 'name', ic.relname,
                       'definition', pg_catalog.pg_get_indexdef(i.indexrelid)) ORDER BY ic.relname)
                       FROM rel r
                       JOIN pg_catalog.pg_index i ON i.indrelid = r.oid
                       JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid), '[]') AS indexes,
           COALESCE((SELECT json_agg(json_build_object(
                       'table', r.relname, 'name', co.conname,
                       'definition', pg_catalog.pg_get_constraintdef(co.oid)) ORDER BY r.relname, co.conname)
                       FROM rel r
                       JOIN pg_catalog.pg_constraint co ON co.conrelid = r.oid), '[]') AS constraints,
           COALESCE((SELECT json_agg(json_build_object(
                       'name', sc.relname,
                       'definition', concat_ws(' ', 'AS', pg_catalog.format_type(s.seqtypid, NULL),
                                               'INCREMENT BY', s.seqincrement, 'MINVALUE', s.seqmin, 'MAXVALUE', s.seqmax,
                                               'START WITH', s.seqstart, 'CACHE', s.seqcache, CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END),
                       'ownedBy', (SELECT oc.relname || '.' || oa.attname
                                     FROM pg_catalog.pg_depend dep
                                     JOIN pg_catalog.pg_class oc ON oc.oid = dep.refobjid
                                     JOIN pg_catalog.pg_attribute oa ON oa.attrelid = dep.refobjid AND oa.attnum = dep.refobjsubid
                                    WHERE dep.classid = 'pg_catalog.pg_class'::regclass AND dep.objid = sc.oid
                                      AND dep.deptype IN ('a', 'i') LIMIT 1)) ORDER BY sc.relname)
                       FROM pg_catalog.pg_sequence s
                       JOIN pg_catalog.pg_class sc ON sc.oid = s.seqrelid
                      WHERE sc.relnamespace = (SELECT oid FROM ns) AND sc.oid NOT IN (SELECT objid FROM ext)), '[]') AS sequences,
           COALESCE((SELECT json_agg(json_build_object(
                       'name', t.typname,
                       'labels', (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid)) ORDER BY t.typname)
                       FROM pg_catalog.pg_type t
                      WHERE t.typnamespace = (SELECT oid FROM ns) AND t.typtype = 'e' AND t.oid NOT IN (SELECT objid FROM ext)), '[]') AS enums
    `,
    [schema],
  );
  const row = rows[0];
  return { schema, ...row, tables: row.tables.map((t) => ({ name: t.name, kind: KINDS[t.kind] ?? t.kind })) };
}
