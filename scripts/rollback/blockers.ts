/**
 * What would make a rollback touch the application, read from the catalogs before anything is dropped:
 * objects outside the stage's schema that `DROP SCHEMA … CASCADE` or `DROP OWNED BY` would drop
 * with it (policies, statistics, triggers, views, defaults, constraints, functions: anything `pg_depend`
 * records, followed transitively), policies that name the role, grants to the role the administrator cannot
 * revoke (another grantor's: `DROP OWNED BY` skips them and `DROP ROLE` then fails), and shared objects the
 * role owns. Each blocker names the object and a statement that clears it. Set-based: one query per database.
 */
import { quoteIdent } from "../../sst/database/quote.js";
import {
  addressed,
  alterOwner,
  alterPublicationDrop,
  alterTable,
  drop,
  grantee,
  objectName,
  PUBLIC,
  qualified,
  revoke,
} from "../../sst/database/statements.js";
import type { Client } from "../kernel/db.js";

/** One reason the rollback refuses to start, with the statement that clears it. */
export interface RollbackBlocker {
  /** The database the object lives in. */
  database: string;
  /** The object, as PostgreSQL identifies it ("policy p on public.customers"). */
  object: string;
  /** What is wrong ("depends on table umami.website: DROP SCHEMA … CASCADE would drop it"). */
  reason: string;
  /** A statement that clears it, as written; `asRole` says who must run it when the administrator cannot. */
  remedy: string;
  /** The role that must run `remedy` (the grantor of a grant), when it is not the administrator. */
  asRole?: string;
}

interface BlockerRow {
  kind: "dependent" | "policy" | "grant" | "shared-owner";
  type: string;
  identity: string;
  names: string[];
  args: string[];
  depends_on: string | null;
  other_roles: string[] | null;
  grantor: string | null;
}

// The objects DROP SCHEMA … CASCADE and DROP OWNED BY would drop: the schema, what the role owns here, and
// everything pg_depend reaches from them (a dependent goes with what it depends on; an internal part, such
// as a view's _RETURN rule, takes its owner with it). "Ours" = anchored in the schema or owned by the role.
const BLOCKERS_SQL = `
  WITH RECURSIVE
    target AS (
      SELECT (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1) AS role,
             (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $2) AS schema,
             (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()) AS db,
             (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $3) AS admin
    ),
    owned AS (
      SELECT s.classid, s.objid, s.objsubid, s.deptype, s.dbid
      FROM pg_catalog.pg_shdepend s, target t
      WHERE s.refclassid = 'pg_catalog.pg_authid'::regclass AND s.refobjid = t.role AND s.dbid IN (t.db, 0)
    ),
    -- depth orders the remedies (a view over a view first); pg_depend has cycles (a table and its row
    -- type), so the walk stops at depth 32, deep enough for any real chain.
    dropped (classid, objid, objsubid, depth) AS (
      SELECT 'pg_catalog.pg_namespace'::regclass::oid, t.schema, 0, 0 FROM target t WHERE t.schema IS NOT NULL
      UNION SELECT o.classid, o.objid, 0, 0 FROM owned o WHERE o.deptype = 'o' AND o.dbid <> 0
      UNION
      SELECT CASE WHEN forward THEN d.classid ELSE d.refclassid END,
             CASE WHEN forward THEN d.objid ELSE d.refobjid END,
             CASE WHEN forward THEN d.objsubid ELSE 0 END,
             x.depth + 1
      FROM dropped x
      JOIN pg_catalog.pg_depend d
        ON (d.refclassid = x.classid AND d.refobjid = x.objid AND d.deptype <> 'p')
        OR (d.classid = x.classid AND d.objid = x.objid AND d.deptype = 'i'),
      LATERAL (SELECT d.refclassid = x.classid AND d.refobjid = x.objid AS forward) f
      WHERE x.depth < 32
    ),
    objects AS (SELECT classid, objid, min(depth) AS depth FROM dropped GROUP BY classid, objid),
    anchored AS (
      SELECT o.classid, o.objid,
        CASE o.classid
          WHEN 'pg_catalog.pg_rewrite'::regclass THEN (SELECT ev_class FROM pg_catalog.pg_rewrite WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_trigger'::regclass THEN (SELECT tgrelid FROM pg_catalog.pg_trigger WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_policy'::regclass THEN (SELECT polrelid FROM pg_catalog.pg_policy WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_attrdef'::regclass THEN (SELECT adrelid FROM pg_catalog.pg_attrdef WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_constraint'::regclass THEN (SELECT nullif(conrelid, 0) FROM pg_catalog.pg_constraint WHERE oid = o.objid)
          -- A TOAST table and its index belong to the table they serve.
          WHEN 'pg_catalog.pg_class'::regclass THEN coalesce(
            (SELECT t.oid FROM pg_catalog.pg_class t WHERE t.reltoastrelid = o.objid),
            (SELECT t.oid FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class t ON t.reltoastrelid = x.indrelid WHERE x.indexrelid = o.objid),
            o.objid)
        END AS relation,
        CASE o.classid
          WHEN 'pg_catalog.pg_namespace'::regclass THEN o.objid
          WHEN 'pg_catalog.pg_class'::regclass THEN (SELECT relnamespace FROM pg_catalog.pg_class WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_proc'::regclass THEN (SELECT pronamespace FROM pg_catalog.pg_proc WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_type'::regclass THEN (SELECT typnamespace FROM pg_catalog.pg_type WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_constraint'::regclass THEN (SELECT connamespace FROM pg_catalog.pg_constraint WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_statistic_ext'::regclass THEN (SELECT stxnamespace FROM pg_catalog.pg_statistic_ext WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_collation'::regclass THEN (SELECT collnamespace FROM pg_catalog.pg_collation WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_conversion'::regclass THEN (SELECT connamespace FROM pg_catalog.pg_conversion WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_operator'::regclass THEN (SELECT oprnamespace FROM pg_catalog.pg_operator WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_opclass'::regclass THEN (SELECT opcnamespace FROM pg_catalog.pg_opclass WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_opfamily'::regclass THEN (SELECT opfnamespace FROM pg_catalog.pg_opfamily WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_amop'::regclass THEN (SELECT f.opfnamespace FROM pg_catalog.pg_amop a JOIN pg_catalog.pg_opfamily f ON f.oid = a.amopfamily WHERE a.oid = o.objid)
          WHEN 'pg_catalog.pg_amproc'::regclass THEN (SELECT f.opfnamespace FROM pg_catalog.pg_amproc a JOIN pg_catalog.pg_opfamily f ON f.oid = a.amprocfamily WHERE a.oid = o.objid)
          WHEN 'pg_catalog.pg_ts_config'::regclass THEN (SELECT cfgnamespace FROM pg_catalog.pg_ts_config WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_ts_dict'::regclass THEN (SELECT dictnamespace FROM pg_catalog.pg_ts_dict WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_ts_parser'::regclass THEN (SELECT prsnamespace FROM pg_catalog.pg_ts_parser WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_ts_template'::regclass THEN (SELECT tmplnamespace FROM pg_catalog.pg_ts_template WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_extension'::regclass THEN (SELECT extnamespace FROM pg_catalog.pg_extension WHERE oid = o.objid)
          WHEN 'pg_catalog.pg_default_acl'::regclass THEN (SELECT nullif(defaclnamespace, 0) FROM pg_catalog.pg_default_acl WHERE oid = o.objid)
        END AS namespace
      FROM objects o
    ),
    classified AS (
      SELECT a.classid, a.objid,
        -- An object with no known anchor (a publication's table or schema entry) is not ours: it is reported,
        -- never dropped silently.
        coalesce(coalesce(n.relnamespace, a.namespace) = t.schema, false)
          OR EXISTS (SELECT 1 FROM owned w WHERE w.deptype = 'o'
                      AND ((w.classid = a.classid AND w.objid = a.objid)
                        OR (w.classid = 'pg_catalog.pg_class'::regclass AND w.objid = a.relation))) AS ours
      FROM anchored a CROSS JOIN target t
      LEFT JOIN pg_catalog.pg_class n ON n.oid = a.relation AND a.relation <> a.objid
    ),
    foreign_objects AS (SELECT c.classid, c.objid, o.depth FROM classified c JOIN objects o USING (classid, objid) WHERE NOT c.ours),
    -- A part of another listed object (a view's rule and row type, a dropped table's constraints) is not listed.
    dependents AS (
      SELECT f.classid, f.objid, f.depth FROM foreign_objects f
      WHERE NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend d JOIN foreign_objects g ON g.classid = d.refclassid AND g.objid = d.refobjid
        WHERE d.classid = f.classid AND d.objid = f.objid AND d.deptype IN ('i', 'a') AND (g.classid, g.objid) <> (f.classid, f.objid))
    )
  SELECT 'dependent' AS kind, -p.depth AS rank, i.type, i.identity, a.object_names AS names, a.object_args AS args,
    (SELECT pg_catalog.string_agg(DISTINCT r.type || ' ' || r.identity, ', ')
       FROM pg_catalog.pg_depend d JOIN objects x ON x.classid = d.refclassid AND x.objid = d.refobjid,
         LATERAL pg_catalog.pg_identify_object(d.refclassid, d.refobjid, 0) r
      WHERE d.deptype <> 'i' AND (x.classid, x.objid) <> (p.classid, p.objid)
        AND ((d.classid = p.classid AND d.objid = p.objid)
          OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend part WHERE part.classid = d.classid AND part.objid = d.objid
                      AND part.refclassid = p.classid AND part.refobjid = p.objid AND part.deptype = 'i'))) AS depends_on,
    NULL::text[] AS other_roles, NULL::text AS grantor
  FROM dependents p,
    LATERAL pg_catalog.pg_identify_object(p.classid, p.objid, 0) i,
    LATERAL pg_catalog.pg_identify_object_as_address(p.classid, p.objid, 0) a
  UNION ALL
  -- DROP OWNED BY drops a policy whose only role is this one, or takes the role out of its list.
  SELECT 'policy', 0, i.type, i.identity, a.object_names, a.object_args, NULL,
    ARRAY(SELECT CASE r WHEN 0 THEN 'public' ELSE r::regrole::text END FROM pg_catalog.unnest(pol.polroles) r, target t WHERE r <> t.role ORDER BY 1),
    NULL
  FROM owned w
  JOIN pg_catalog.pg_policy pol ON w.classid = 'pg_catalog.pg_policy'::regclass AND pol.oid = w.objid
  CROSS JOIN LATERAL pg_catalog.pg_identify_object(w.classid, w.objid, 0) i
  CROSS JOIN LATERAL pg_catalog.pg_identify_object_as_address(w.classid, w.objid, 0) a
  WHERE w.deptype = 'r' AND NOT EXISTS (SELECT 1 FROM classified c WHERE c.classid = w.classid AND c.objid = w.objid)
  UNION ALL
  -- Shared objects the role owns: DROP OWNED BY leaves databases and tablespaces, and DROP ROLE then fails.
  SELECT 'shared-owner', 0, i.type, i.identity, a.object_names, a.object_args, NULL, NULL, NULL
  FROM owned w
  CROSS JOIN LATERAL pg_catalog.pg_identify_object(w.classid, w.objid, 0) i
  CROSS JOIN LATERAL pg_catalog.pg_identify_object_as_address(w.classid, w.objid, 0) a
  WHERE w.deptype = 'o' AND w.dbid = 0
  UNION ALL
  -- A grant to the role that the administrator cannot revoke: REVOKE (and DROP OWNED BY) acts as the object's
  -- owner when the administrator has the owner's privileges, else as a grantor it has the privileges of, and
  -- removes only that grantor's entries (PostgreSQL's select_best_grantor).
  SELECT 'grant', 0, i.type, i.identity, a.object_names, a.object_args, NULL, NULL, g.grantor::regrole::text
  FROM owned w
  CROSS JOIN target t
  CROSS JOIN LATERAL (
    SELECT
    CASE w.classid
      WHEN 'pg_catalog.pg_class'::regclass THEN CASE WHEN w.objsubid = 0 THEN (SELECT relacl FROM pg_catalog.pg_class WHERE oid = w.objid)
        ELSE (SELECT attacl FROM pg_catalog.pg_attribute WHERE attrelid = w.objid AND attnum = w.objsubid) END
      WHEN 'pg_catalog.pg_proc'::regclass THEN (SELECT proacl FROM pg_catalog.pg_proc WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_namespace'::regclass THEN (SELECT nspacl FROM pg_catalog.pg_namespace WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_type'::regclass THEN (SELECT typacl FROM pg_catalog.pg_type WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_database'::regclass THEN (SELECT datacl FROM pg_catalog.pg_database WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_language'::regclass THEN (SELECT lanacl FROM pg_catalog.pg_language WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_foreign_data_wrapper'::regclass THEN (SELECT fdwacl FROM pg_catalog.pg_foreign_data_wrapper WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_foreign_server'::regclass THEN (SELECT srvacl FROM pg_catalog.pg_foreign_server WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_largeobject'::regclass THEN (SELECT lomacl FROM pg_catalog.pg_largeobject_metadata WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_tablespace'::regclass THEN (SELECT spcacl FROM pg_catalog.pg_tablespace WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_parameter_acl'::regclass THEN (SELECT paracl FROM pg_catalog.pg_parameter_acl WHERE oid = w.objid)
    END AS acl,
    CASE w.classid
      WHEN 'pg_catalog.pg_class'::regclass THEN (SELECT relowner FROM pg_catalog.pg_class WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_proc'::regclass THEN (SELECT proowner FROM pg_catalog.pg_proc WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_namespace'::regclass THEN (SELECT nspowner FROM pg_catalog.pg_namespace WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_type'::regclass THEN (SELECT typowner FROM pg_catalog.pg_type WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_database'::regclass THEN (SELECT datdba FROM pg_catalog.pg_database WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_language'::regclass THEN (SELECT lanowner FROM pg_catalog.pg_language WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_foreign_data_wrapper'::regclass THEN (SELECT fdwowner FROM pg_catalog.pg_foreign_data_wrapper WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_foreign_server'::regclass THEN (SELECT srvowner FROM pg_catalog.pg_foreign_server WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_largeobject'::regclass THEN (SELECT lomowner FROM pg_catalog.pg_largeobject_metadata WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_tablespace'::regclass THEN (SELECT spcowner FROM pg_catalog.pg_tablespace WHERE oid = w.objid)
      WHEN 'pg_catalog.pg_parameter_acl'::regclass THEN 10::oid -- the bootstrap superuser
    END AS owner
  ) o
  CROSS JOIN LATERAL (SELECT DISTINCT e.grantor FROM pg_catalog.aclexplode(o.acl) e WHERE e.grantee = t.role) g
  CROSS JOIN LATERAL pg_catalog.pg_identify_object(w.classid, w.objid, w.objsubid) i
  CROSS JOIN LATERAL pg_catalog.pg_identify_object_as_address(w.classid, w.objid, w.objsubid) a
  WHERE w.deptype = 'a' AND o.acl IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM classified c WHERE c.ours AND c.classid = w.classid AND c.objid = w.objid)
    AND NOT CASE WHEN pg_catalog.pg_has_role(t.admin, o.owner, 'USAGE') THEN g.grantor = o.owner
                 ELSE pg_catalog.pg_has_role(t.admin, g.grantor, 'USAGE') END
  ORDER BY 1, 2, 4
`;

/** Reads the blockers in the database `client` is connected to (`database` labels them). */
export async function findRollbackBlockers(
  client: Client,
  target: { role: string; schema: string; admin: string; database: string },
): Promise<RollbackBlocker[]> {
  const { rows } = await client.query<BlockerRow>(BLOCKERS_SQL, [target.role, target.schema, target.admin]);
  return rows.map((row) => describeBlocker(row, target));
}

function describeBlocker(
  row: BlockerRow,
  target: { role: string; schema: string; admin: string; database: string },
): RollbackBlocker {
  const object = `${row.type} ${row.identity}`;
  const base = { database: target.database, object };
  switch (row.kind) {
    case "dependent":
      return {
        ...base,
        reason: `depends on ${row.depends_on ?? `schema ${target.schema}`}: DROP SCHEMA … CASCADE would drop it with the Umami schema`,
        remedy: buildDropDependentSql(row.type, row.names, row.args, row.identity),
      };
    case "policy": {
      const others = row.other_roles ?? [];
      const policy = { kind: "POLICY", name: row.names };
      return {
        ...base,
        reason: `names role ${target.role}: DROP OWNED BY would ${others.length === 0 ? "drop the policy" : "change its role list"}`,
        remedy:
          others.length === 0
            ? drop(policy)
            : `ALTER POLICY ${objectName(policy)} TO ${others.map((r) => grantee(r === "public" ? PUBLIC : r)).join(", ")}`,
      };
    }
    case "shared-owner":
      return {
        ...base,
        reason: `is owned by ${target.role}: DROP OWNED BY does not drop it and DROP ROLE would fail`,
        remedy: alterOwner(
          { kind: row.type === "tablespace" ? "TABLESPACE" : "DATABASE", name: [row.names[0]] },
          target.admin,
        ),
      };
    case "grant":
      return {
        ...base,
        reason: `grants ${target.role} a privilege given by ${row.grantor}, which ${target.admin} cannot revoke: DROP ROLE would fail after the schema is gone`,
        remedy: buildRevokeSql(row.type, row.names, row.args, target.role),
        asRole: row.grantor ?? undefined,
      };
  }
}

/**
 * The statement that removes `type` (as `pg_identify_object_as_address` names it: name parts unquoted, type
 * names formatted) so it no longer depends on the Umami schema. Dropping is one way; changing the object so it
 * stops using the schema is another.
 */
export function buildDropDependentSql(type: string, names: string[], args: string[], identity: string): string {
  const table = names.slice(0, 2);
  switch (type) {
    case "default value":
      return alterTable(table, { dropDefault: names[2] });
    case "table constraint":
      return alterTable(table, { dropConstraint: names[2] });
    // A domain's name comes formatted by format_type (qualified, quoted where needed): used as given.
    case "domain constraint":
      return `ALTER DOMAIN ${names[0]} DROP CONSTRAINT ${quoteIdent(args[0])}`;
    case "table column":
      return `ALTER TABLE ${qualified(table)} DROP COLUMN ${quoteIdent(names[2])}`;
    case "publication relation":
      return alterPublicationDrop(args[0], names);
    case "publication namespace":
      return alterPublicationDrop(args[0], [names[0]]);
    case "policy":
    case "trigger":
    case "rule":
    case "type":
    case "domain":
    case "function":
    case "procedure":
    case "aggregate":
    case "statistics object":
    case "cast":
    case "view":
    case "materialized view":
    case "table":
    case "foreign table":
    case "index":
    case "sequence":
    case "event trigger":
    case "collation":
    case "operator":
    case "conversion":
      return drop(addressed(type, names, args));
    default:
      return `DROP ${type.toUpperCase()} ${identity}`;
  }
}

/** `REVOKE ALL ON <object> FROM <role>` for an object named as `pg_identify_object_as_address` names it. */
export function buildRevokeSql(type: string, names: string[], args: string[], role: string): string {
  if (type === "table column") {
    return revoke({
      privileges: "ALL",
      columns: [names[2]],
      on: { kind: "TABLE", name: names.slice(0, 2) },
      from: role,
    });
  }
  return revoke({ privileges: "ALL", on: addressed(type, names, args), from: role });
}
