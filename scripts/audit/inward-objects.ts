/**
 * Inward through someone else's objects (threat model class inward-via-objects): a view or materialized view
 * outside the Umami schema whose query reads Umami's tables (directly or through other views), or a SECURITY
 * DEFINER function whose body names the Umami schema, runs with its owner's rights — so whoever may select or
 * execute it reads Umami's data without a single privilege on the schema. Found from the catalogs: the rules'
 * dependencies (`pg_depend`, as DROP … CASCADE reads them), and for functions, whose bodies PostgreSQL does not
 * track unless written as SQL-standard bodies, the dependency or the schema's name in the source.
 * security_invoker views are left out: they check the caller's own privileges on what they read.
 */
import { revoke, script } from "../../sst/database/statements.js";
import { referencedSchemas, stripComments } from "./opaque-text.js";
import { finding, type AuditContext, type Finding } from "./types.js";

// $1 Umami schema oid, $2 allowed role oids, $3 Umami schema name. The schema's relations come from their
// namespace dependency (indexed, unlike pg_class.relnamespace). A reader is kept when its owner can read what
// it reads (an administrator, umami_user, or a role holding SELECT there); callers are the roles outside the
// administrators that may use it (the privilege and USAGE on its schema), PUBLIC standing for every role.
const INWARD_OBJECTS_SQL = `
  WITH RECURSIVE umami_rel AS (
    SELECT d.objid AS oid FROM pg_catalog.pg_depend d
     WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.refobjid = $1::oid
       AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'n'
    UNION
    -- A foreign table elsewhere over a table of Umami's schema, on a server that connects back to this database
    -- (no host, a socket, loopback or the server's own address; no dbname or this one): it is that table.
    SELECT ft.ftrelid FROM pg_catalog.pg_foreign_table ft
      JOIN pg_catalog.pg_class fc ON fc.oid = ft.ftrelid
      JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
      JOIN pg_catalog.pg_foreign_server fs ON fs.oid = ft.ftserver
      JOIN pg_catalog.pg_foreign_data_wrapper fw ON fw.oid = fs.srvfdw AND fw.fdwname = 'postgres_fdw'
      CROSS JOIN LATERAL (SELECT
        (SELECT pg_catalog.substr(o, 13) FROM pg_catalog.unnest(ft.ftoptions) o WHERE pg_catalog.starts_with(o, 'schema_name=')) AS remote_schema,
        (SELECT pg_catalog.substr(o, 6) FROM pg_catalog.unnest(fs.srvoptions) o WHERE pg_catalog.starts_with(o, 'host=')) AS host,
        (SELECT pg_catalog.substr(o, 8) FROM pg_catalog.unnest(fs.srvoptions) o WHERE pg_catalog.starts_with(o, 'dbname=')) AS dbname) x
     WHERE COALESCE(x.remote_schema, fn.nspname) = $3
       AND (x.dbname IS NULL OR x.dbname = pg_catalog.current_database())
       AND (COALESCE(x.host, '') IN ('', 'localhost', '::1') OR x.host LIKE '/%' OR x.host LIKE '127.%'
            OR x.host = pg_catalog.host(pg_catalog.inet_server_addr()))
  ), readers (oid, source, depth) AS (
    SELECT DISTINCT rw.ev_class, d.refobjid, 1
      FROM umami_rel u
      JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = u.oid
       AND d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
      JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid
     WHERE rw.ev_class NOT IN (SELECT oid FROM umami_rel)
    UNION
    SELECT rw.ev_class, r.source, r.depth + 1
      FROM readers r
      JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = r.oid
       AND d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
      JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid AND rw.ev_class <> r.oid
     WHERE r.depth < 8
  ), views AS (
    -- Views that call a function: a view's query runs the function checking EXECUTE as the reader and never the
    -- function's schema (its name was looked up once, when the view was made), so USAGE there protects nothing.
    SELECT DISTINCT d.refobjid AS fn, c.oid, c.relnamespace AS nsp,
           pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name
      FROM pg_catalog.pg_depend d
      JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid
      JOIN pg_catalog.pg_class c ON c.oid = rw.ev_class AND c.relkind = 'v'
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
       AND d.refobjid IN (SELECT p.oid FROM pg_catalog.pg_proc p WHERE p.prosecdef)
  ), objects AS (
    SELECT c.oid, CASE c.relkind WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END AS otype,
           pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS object,
           ARRAY[n.nspname::text, c.relname::text] AS names, NULL::text[] AS args,
           n.oid AS nsp, c.relowner AS owner, c.relacl AS acl, 'r'::"char" AS acltype,
           ARRAY(SELECT DISTINCT pg_catalog.quote_ident(sn.nspname) || '.' || pg_catalog.quote_ident(s.relname)
                   FROM readers x JOIN pg_catalog.pg_class s ON s.oid = x.source
                   JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
                  WHERE x.oid = c.oid ORDER BY 1) AS reads
      FROM (SELECT DISTINCT oid FROM readers) r
      JOIN pg_catalog.pg_class c ON c.oid = r.oid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(c.reloptions) o
                        WHERE pg_catalog.lower(o) IN ('security_invoker=true', 'security_invoker=on', 'security_invoker=1', 'security_invoker=yes'))
    UNION ALL
    SELECT p.oid, CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
           pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
           ARRAY[n.nspname::text, p.proname::text], ARRAY[pg_catalog.pg_get_function_identity_arguments(p.oid)],
           n.oid, p.proowner, p.proacl, 'f'::"char",
           ARRAY(SELECT DISTINCT pg_catalog.quote_ident(sn.nspname) || '.' || pg_catalog.quote_ident(s.relname)
                   FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class s ON s.oid = d.refobjid
                   JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
                  WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid
                    AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND s.relnamespace = $1::oid
                  UNION
                 SELECT 'schema ' || pg_catalog.quote_ident($3) WHERE p.prosrc ~* ('(^|[^[:alnum:]_$])"?' || pg_catalog.regexp_replace($3, '([^[:alnum:]_])', '\\\\\\1', 'g') || '"?\\s*\\.')
                  ORDER BY 1) AS reads
      FROM pg_catalog.pg_proc p
      JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
     WHERE p.prosecdef AND p.pronamespace <> $1::oid AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  )
  SELECT o.otype, o.object, o.names, o.args, pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(o.owner)) AS owner, o.reads,
         (SELECT p.prosrc FROM pg_catalog.pg_proc p WHERE o.acltype = 'f' AND p.oid = o.oid) AS source,
         ARRAY(SELECT 'PUBLIC' WHERE (CASE o.acltype WHEN 'f' THEN pg_catalog.has_function_privilege('public', o.oid, 'EXECUTE')
                                                    ELSE pg_catalog.has_table_privilege('public', o.oid, 'SELECT') END)
                                 AND (pg_catalog.has_schema_privilege('public', o.nsp, 'USAGE')
                                      OR EXISTS (SELECT 1 FROM views v WHERE v.fn = o.oid AND o.acltype = 'f'
                                                    AND pg_catalog.has_table_privilege('public', v.oid, 'SELECT')
                                                    AND pg_catalog.has_schema_privilege('public', v.nsp, 'USAGE')))
               UNION ALL
               SELECT pg_catalog.quote_ident(r.rolname) FROM pg_catalog.pg_roles r
                WHERE r.oid <> ALL ($2::oid[]) AND r.oid <> o.owner AND r.rolcanlogin
                  AND (CASE o.acltype WHEN 'f' THEN pg_catalog.has_function_privilege(r.oid, o.oid, 'EXECUTE')
                                      ELSE pg_catalog.has_table_privilege(r.oid, o.oid, 'SELECT') END)
                  AND (pg_catalog.has_schema_privilege(r.oid, o.nsp, 'USAGE')
                       OR EXISTS (SELECT 1 FROM views v WHERE v.fn = o.oid AND o.acltype = 'f'
                                     AND pg_catalog.has_table_privilege(r.oid, v.oid, 'SELECT')
                                     AND pg_catalog.has_schema_privilege(r.oid, v.nsp, 'USAGE')))) AS callers,
         ARRAY(SELECT DISTINCT v.name FROM views v WHERE v.fn = o.oid AND o.acltype = 'f' ORDER BY 1) AS views,
         ARRAY(SELECT DISTINCT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END
                 FROM pg_catalog.aclexplode(COALESCE(o.acl, pg_catalog.acldefault(o.acltype, o.owner))) a
                WHERE a.grantee <> o.owner AND a.grantee <> ALL ($2::oid[])
                  AND a.privilege_type IN ('SELECT', 'EXECUTE')) AS grantees,
         -- The same grantees as stored, NULL for PUBLIC (remedies are built from these).
         ARRAY(SELECT DISTINCT CASE a.grantee WHEN 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END
                 FROM pg_catalog.aclexplode(COALESCE(o.acl, pg_catalog.acldefault(o.acltype, o.owner))) a
                WHERE a.grantee <> o.owner AND a.grantee <> ALL ($2::oid[])
                  AND a.privilege_type IN ('SELECT', 'EXECUTE')) AS grantee_names
    FROM objects o
   WHERE pg_catalog.cardinality(o.reads) > 0
     AND (o.owner = ANY ($2::oid[])
          OR EXISTS (SELECT 1 FROM umami_rel u WHERE pg_catalog.has_table_privilege(o.owner, u.oid, 'SELECT')))
   ORDER BY 2
`;

interface ReaderRow {
  otype: string;
  object: string;
  /** As stored, and a routine's identity arguments (remedies are built from these). */
  names: string[];
  args: string[] | null;
  owner: string;
  reads: string[];
  /** A function's body: its "schema" read is confirmed on the text without comments. */
  source: string | null;
  callers: string[];
  /** For a function: the views that call it (their readers call it without USAGE on its schema). */
  views: string[];
  grantees: string[];
  /** The same, as stored; null for PUBLIC. */
  grantee_names: (string | null)[];
}

/** A function's "schema" read dropped when only a comment names the schema (a comment reads nothing). */
function withoutComments(r: ReaderRow, schema: string): ReaderRow {
  const named = (x: string) => x.startsWith("schema ");
  if (r.source === null || !r.reads.some(named)) return r;
  if (referencedSchemas(stripComments(r.source), [schema]).length > 0) return r;
  return { ...r, reads: r.reads.filter((x) => !named(x)) };
}

/** Views, materialized views and SECURITY DEFINER functions that let other roles read Umami's tables. */
export async function auditInwardObjects(ctx: AuditContext): Promise<Finding[]> {
  const { spec } = ctx;
  const rows = ctx.schemaOid
    ? (await ctx.query<ReaderRow>(INWARD_OBJECTS_SQL, [ctx.schemaOid, ctx.allowedOids, spec.schema]))
        .map((r) => withoutComments(r, spec.schema))
        .filter((r) => r.callers.length > 0 && r.reads.length > 0)
    : [];
  const revokeAll = (r: ReaderRow) => {
    const privilege = r.otype === "FUNCTION" || r.otype === "PROCEDURE" ? "EXECUTE" : "SELECT";
    const on = { kind: r.otype, name: r.names, args: r.args ?? [] };
    return script(r.grantee_names.map((from) => revoke({ privileges: [privilege], on, from })));
  };
  return [
    finding(
      "inward-via-objects",
      "inward: views and functions that read Umami's tables",
      "fail",
      rows.map(
        (r) =>
          `${r.otype.toLowerCase()} ${r.object} (owner ${r.owner}) reads ${r.reads.join(", ")} → ${r.callers.join(", ")}${r.views.length > 0 ? ` (also through view ${r.views.join(", ")}, which never checks the function's schema)` : ""}`,
      ),
      `These run with their owner's rights, so whoever may use them reads Umami's data without any privilege on ${spec.schema}; keep them for the administrators (or drop them): ${rows.map(revokeAll).join(" ")}`,
      `No view, materialized view or SECURITY DEFINER function outside ${spec.schema} lets a role outside the administrators read its tables.`,
    ),
  ];
}
