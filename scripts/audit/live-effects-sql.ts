/**
 * The SQL of the live-effects probe (live-effects.ts): what it reads before it acts, the DDL a migration sends,
 * the block that writes one row of each Umami table, and the readers of what changed. Builders only: the probe
 * runs them. Names are quoted through quoteIdent, enum labels through quoteLiteral; column types are written as
 * PostgreSQL's own format_type() spells them (quoted where a type's name needs it).
 */
import { quoteIdent, quoteLiteral } from "../../sst/database/quote.js";

/**
 * The probe's own table, created, altered and written in Umami's schema, then rolled back. Each run names its own
 * (`liveProbeTable`): two audits at once would otherwise create the same name, and the second would wait on the
 * first's catalog row until its lock timeout.
 */
const LIVE_PROBE_TABLE = "umami_db_live_probe";

/** This run's probe table name: the prefix, the process and a random part (well under 63 bytes). */
export function liveProbeTable(): string {
  return `${LIVE_PROBE_TABLE}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}

/** The transaction-local setting that carries the block's results out of it (a DO block returns nothing). */
export const RESULT_SETTING = "umami_db.live_effects";

/** A column of a Umami table, as the probe needs it to write a row. */
export interface PlanColumn {
  name: string;
  /** format_type() of the column. */
  type: string;
  /** pg_type.typcategory (a domain's is its base type's). */
  category: string;
  notNull: boolean;
  hasDefault: boolean;
  identity: string;
  generated: string;
  /** The first label of an enum type. */
  label: string | null;
}

/** A foreign key of a Umami table. */
export interface PlanForeignKey {
  columns: string[];
  parent: string;
  parentColumns: string[];
  /** The parent is a table of Umami's schema that the probe writes. */
  inSchema: boolean;
}

/** A table of Umami's schema that its role owns. */
export interface PlanTable {
  name: string;
  columns: PlanColumn[];
  foreignKeys: PlanForeignKey[];
}

/** Code that Umami's statements run: enabled event triggers, and code attached to Umami's tables calling functions outside pg_catalog. */
export interface SetOffCode {
  /** pg_describe_object() of the trigger, constraint, default, policy or rule; `event trigger <name>` for one. */
  code: string;
  /** The function it runs, regprocedure. */
  function: string;
  functionOid: string;
  /** The table it is attached to (quoted), null for an event trigger. */
  table: string | null;
  /** What removes it, as the catalogs name it: its own name and its table in Umami's schema (null for an event trigger). */
  drop: {
    kind: "event trigger" | "trigger" | "constraint" | "default" | "policy" | "rule";
    table: string | null;
    name: string;
  };
  /** Its function's source sends NOTIFY. */
  notifies: boolean;
}

/** A function as the audit names it (schema-qualified, whatever the session's search_path), `p` a pg_proc row. */
export const FUNCTION_NAME = `p.pronamespace::pg_catalog.regnamespace::text || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')'`;

// $1 Umami schema, $2 the probe's table, $3 the pattern of a NOTIFY (notifications.ts). The xid is taken first, in the transaction's first statement: with REPEATABLE READ its
// snapshot is taken before, so every catalog row whose xmin is this xid or a later one is this transaction's
// own (age() <= 0; its subtransactions' xids are later), and rows other sessions commit meanwhile stay unseen.
export const PLAN_SQL = `
  WITH ns AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1),
  tables AS (
    -- Through the namespace dependency (pg_depend's index) rather than a scan of pg_class.
    SELECT c.oid, c.relname FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class c ON c.oid = d.objid
     WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.refobjid = (SELECT oid FROM ns)
       AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'n'
       AND c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND c.relowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
       AND c.relname <> $2
  ),
  attached AS (
    -- Triggers, constraints, defaults, policies and rules on Umami's tables that call a function outside pg_catalog.
    SELECT DISTINCT pg_catalog.quote_ident($1) || '.' || pg_catalog.quote_ident(t.relname) AS tbl, t.relname::text AS relname, d.classid, d.objid, d.objsubid, f.refobjid AS fn
      FROM tables t
      JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = t.oid
       AND d.classid IN ('pg_catalog.pg_trigger'::pg_catalog.regclass, 'pg_catalog.pg_constraint'::pg_catalog.regclass,
                         'pg_catalog.pg_attrdef'::pg_catalog.regclass, 'pg_catalog.pg_policy'::pg_catalog.regclass,
                         'pg_catalog.pg_rewrite'::pg_catalog.regclass)
      JOIN pg_catalog.pg_depend f ON f.classid = d.classid AND f.objid = d.objid AND f.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
      JOIN pg_catalog.pg_proc p ON p.oid = f.refobjid AND p.pronamespace <> 'pg_catalog'::pg_catalog.regnamespace
  )
  SELECT pg_catalog.pg_current_xact_id()::text AS xid,
         pg_catalog.current_setting('track_functions') AS track_functions,
         pg_catalog.current_setting('track_counts')::boolean AS track_counts,
         COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'name', t.relname,
           'columns', (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                         'name', a.attname, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod), 'category', ty.typcategory,
                         'notNull', a.attnotnull, 'hasDefault', a.atthasdef, 'identity', a.attidentity, 'generated', a.attgenerated,
                         'label', (SELECT e.enumlabel FROM pg_catalog.pg_enum e WHERE e.enumtypid = ty.oid ORDER BY e.enumsortorder LIMIT 1))
                         ORDER BY a.attnum)
                         FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
                        WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped),
           'foreignKeys', COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                         'columns', ARRAY(SELECT a.attname FROM pg_catalog.unnest(co.conkey) WITH ORDINALITY k(n, i)
                                            JOIN pg_catalog.pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.n ORDER BY k.i),
                         'parent', pc.relname,
                         'parentColumns', ARRAY(SELECT a.attname FROM pg_catalog.unnest(co.confkey) WITH ORDINALITY k(n, i)
                                                  JOIN pg_catalog.pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.n ORDER BY k.i),
                         'inSchema', pc.oid IN (SELECT oid FROM tables)))
                         FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_class pc ON pc.oid = co.confrelid
                        WHERE co.conrelid = t.oid AND co.contype = 'f'), '[]'))
           ORDER BY t.relname) FROM tables t), '[]') AS tables,
         COALESCE((SELECT pg_catalog.jsonb_agg(c ORDER BY c.table, c.code) FROM (
           SELECT 'event trigger ' || e.evtname || ' ON ' || e.evtevent AS code, (SELECT ${FUNCTION_NAME} FROM pg_catalog.pg_proc p WHERE p.oid = e.evtfoid) AS function,
                  e.evtfoid::text AS "functionOid", NULL AS table,
                  pg_catalog.jsonb_build_object('table', NULL, 'kind', 'event trigger', 'name', e.evtname) AS drop,
                  (SELECT p.prosrc ~* $3 FROM pg_catalog.pg_proc p WHERE p.oid = e.evtfoid) AS notifies
             FROM pg_catalog.pg_event_trigger e WHERE e.evtenabled <> 'D'
           UNION ALL
           SELECT CASE a.classid
                    WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN (SELECT 'trigger ' || pg_catalog.quote_ident(tg.tgname) FROM pg_catalog.pg_trigger tg WHERE tg.oid = a.objid)
                    WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN (SELECT 'constraint ' || pg_catalog.quote_ident(co.conname) FROM pg_catalog.pg_constraint co WHERE co.oid = a.objid)
                    WHEN 'pg_catalog.pg_attrdef'::pg_catalog.regclass THEN (SELECT 'default of column ' || pg_catalog.quote_ident(at.attname)
                         FROM pg_catalog.pg_attrdef ad JOIN pg_catalog.pg_attribute at ON at.attrelid = ad.adrelid AND at.attnum = ad.adnum WHERE ad.oid = a.objid)
                    WHEN 'pg_catalog.pg_policy'::pg_catalog.regclass THEN (SELECT 'policy ' || pg_catalog.quote_ident(po.polname) FROM pg_catalog.pg_policy po WHERE po.oid = a.objid)
                    ELSE (SELECT 'rule ' || pg_catalog.quote_ident(r.rulename) FROM pg_catalog.pg_rewrite r WHERE r.oid = a.objid)
                  END || ' on ' || a.tbl, (SELECT ${FUNCTION_NAME} FROM pg_catalog.pg_proc p WHERE p.oid = a.fn), a.fn::text,
                  a.tbl,
                  pg_catalog.jsonb_build_object('table', a.relname, 'kind', CASE a.classid
                    WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN 'trigger'
                    WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN 'constraint'
                    WHEN 'pg_catalog.pg_attrdef'::pg_catalog.regclass THEN 'default'
                    WHEN 'pg_catalog.pg_policy'::pg_catalog.regclass THEN 'policy'
                    ELSE 'rule' END, 'name', CASE a.classid
                    WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN (SELECT tg.tgname FROM pg_catalog.pg_trigger tg WHERE tg.oid = a.objid)
                    WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN (SELECT co.conname FROM pg_catalog.pg_constraint co WHERE co.oid = a.objid)
                    WHEN 'pg_catalog.pg_attrdef'::pg_catalog.regclass THEN (SELECT at.attname
                         FROM pg_catalog.pg_attrdef ad JOIN pg_catalog.pg_attribute at ON at.attrelid = ad.adrelid AND at.attnum = ad.adnum WHERE ad.oid = a.objid)
                    WHEN 'pg_catalog.pg_policy'::pg_catalog.regclass THEN (SELECT po.polname FROM pg_catalog.pg_policy po WHERE po.oid = a.objid)
                    ELSE (SELECT r.rulename FROM pg_catalog.pg_rewrite r WHERE r.oid = a.objid) END),
                  (SELECT p.prosrc ~* $3 FROM pg_catalog.pg_proc p WHERE p.oid = a.fn)
             FROM attached a) c), '[]') AS code
`;

/** The DDL a migration sends, on the probe's own table (no lock on Umami's tables), each event a trigger may watch. */
export function buildDdl(schema: string, table: string): string[] {
  const t = `${quoteIdent(schema)}.${quoteIdent(table)}`;
  const index = quoteIdent(`${table}_note_idx`);
  return [
    `CREATE TABLE ${t} (id uuid PRIMARY KEY, created_at timestamptz(6) DEFAULT CURRENT_TIMESTAMP)`,
    `ALTER TABLE ${t} ADD COLUMN note varchar(50), ADD COLUMN hits integer`,
    `CREATE INDEX ${index} ON ${t} (note)`,
    // A column's type changed with a rewrite: table_rewrite.
    `ALTER TABLE ${t} ALTER COLUMN hits SET DATA TYPE bigint`,
    `INSERT INTO ${t} (id, note) VALUES (pg_catalog.gen_random_uuid(), 'umami-db probe')`,
    `UPDATE ${t} SET note = note, hits = 1`,
    `DELETE FROM ${t}`,
    // sql_drop.
    `DROP INDEX ${quoteIdent(schema)}.${index}`,
  ];
}

// Catalog rows this transaction wrote (age(xmin) <= 0, see PLAN_SQL): whatever may grant, own, run or ship an
// object. pg_attribute is read for the Umami schema's relations only (column grants on them), through its index;
// pg_user_mapping and pg_subscription are closed to non-superusers. `schema` is where the object lives (null for
// shared objects, memberships and role settings). No parameter: the block that runs it inside takes none.
export function changedSql(schema: string, mode: "written" | "listed" = "written"): string {
  const cat = (name: string) => `'pg_catalog.${name}'::pg_catalog.regclass`;
  // "listed": the same objects by oid ($1), as they are once the transaction is rolled back.
  const recent = (alias: string, key = "oid") =>
    mode === "written" ? `pg_catalog.age(${alias}.xmin) <= 0` : `${alias}.${key} = ANY ($1::oid[])`;
  const ns = `(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ${quoteLiteral(schema)})`;
  // catalog, oid, sub-id, owner, acl
  const objects = [
    `SELECT ${cat("pg_class")}, c.oid, 0, c.relowner, c.relacl FROM pg_catalog.pg_class c WHERE ${recent("c")} AND c.relnamespace <> 'pg_toast'::pg_catalog.regnamespace`,
    // The schema's relations through pg_depend's index (as PLAN_SQL), not a second scan of pg_class.
    `SELECT ${cat("pg_class")}, a.attrelid, a.attnum, NULL, a.attacl FROM pg_catalog.pg_depend d
       JOIN pg_catalog.pg_attribute a ON a.attrelid = d.objid AND a.attnum > 0
      WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.refobjid = ${ns}
        AND d.classid = ${cat("pg_class")} AND d.deptype = 'n' AND a.attacl IS NOT NULL AND ${recent("a", "attrelid")}`,
    ...[
      ["pg_namespace", "nspowner", "nspacl"],
      ["pg_proc", "proowner", "proacl"],
      ["pg_type", "typowner", "typacl"],
      ["pg_default_acl", "defaclrole", "defaclacl"],
      ["pg_largeobject_metadata", "lomowner", "lomacl"],
      ["pg_foreign_server", "srvowner", "srvacl"],
      ["pg_foreign_data_wrapper", "fdwowner", "fdwacl"],
      ["pg_language", "lanowner", "lanacl"],
      ["pg_database", "datdba", "datacl"],
      ["pg_parameter_acl", "NULL", "paracl"],
      ["pg_event_trigger", "evtowner", "NULL"],
      ["pg_extension", "extowner", "NULL"],
      ["pg_rewrite", "NULL", "NULL"],
      ["pg_policy", "NULL", "NULL"],
      ["pg_publication", "pubowner", "NULL"],
      ["pg_publication_rel", "NULL", "NULL"],
      ["pg_publication_namespace", "NULL", "NULL"],
    ].map(
      ([table, owner, acl]) =>
        `SELECT ${cat(table)}, x.oid, 0, ${owner === "NULL" ? "NULL::oid" : `x.${owner}`}, ${acl === "NULL" ? "NULL::aclitem[]" : `x.${acl}`} FROM pg_catalog.${table} x WHERE ${recent("x")}`,
    ),
    `SELECT ${cat("pg_trigger")}, t.oid, 0, NULL, NULL FROM pg_catalog.pg_trigger t WHERE ${recent("t")} AND NOT t.tgisinternal`,
  ];
  const acl = (
    column: string,
  ) => `COALESCE((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('grantee', x.grantee::text,
             'name', CASE x.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(x.grantee)::text END,
             'privilege', x.privilege_type) ORDER BY x.grantee, x.privilege_type) FROM pg_catalog.aclexplode(${column}) x), '[]')`;
  const identified = `
    SELECT s.catalog::text AS catalog, s.oid::text AS oid, s.sub, s.owner::text AS owner, o.type, o.schema, o.identity, ${acl("s.acl")} AS acl
      FROM (${objects.join("\n      UNION ALL ")}) s(catalog, oid, sub, owner, acl)
     CROSS JOIN LATERAL pg_catalog.pg_identify_object(s.catalog, s.oid, s.sub) o`;
  if (mode === "listed") return identified;
  return `${identified}
    UNION ALL
    SELECT 'pg_auth_members', m.roleid::text, 0, NULL, 'membership', NULL,
           pg_catalog.pg_get_userbyid(m.member) || ' in ' || pg_catalog.pg_get_userbyid(m.roleid), '[]'
      FROM pg_catalog.pg_auth_members m WHERE ${recent("m")}
    UNION ALL
    SELECT 'pg_db_role_setting', s.setrole::text, 0, NULL, 'role setting', NULL,
           COALESCE('role ' || pg_catalog.pg_get_userbyid(NULLIF(s.setrole, 0)), 'every role')
           || COALESCE(' in database ' || (SELECT d.datname FROM pg_catalog.pg_database d WHERE d.oid = s.setdatabase), '')
           || ': ' || pg_catalog.array_to_string(ARRAY(SELECT pg_catalog.split_part(c, '=', 1) FROM pg_catalog.unnest(s.setconfig) c), ', '), '[]'
      FROM pg_catalog.pg_db_role_setting s WHERE ${recent("s")}
  `;
}
