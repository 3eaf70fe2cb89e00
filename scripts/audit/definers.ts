/**
 * Escalation into the administrators (threat model class definer-escalation): a SECURITY DEFINER function
 * owned by an administrator, a superuser or any role with CREATEROLE runs with its owner's rights for whoever
 * may execute it. Each such function is named with its owner and the roles outside the administrators that can
 * call it (EXECUTE, and USAGE on its schema). The verdict:
 * - warn: an administrator's function of a reviewable shape — search_path pinned (no `"$user"`), no dynamic
 *   SQL, and a body that does not name the Umami schema: what it does is fixed, like the monitoring agents'
 *   documented statistics wrappers; the caller can do that and nothing else, so a DBA reviews it once;
 * - fail: anything else — an unpinned search_path (the caller plants a function or operator the body
 *   resolves, CVE-2018-1058), dynamic SQL (the caller chooses the statement), a body that names the Umami
 *   schema, or an owner outside the administrators with CREATEROLE (it can grant itself umami_user).
 */
import { pinSearchPath, revoke, script } from "../../sst/database/statements.js";
import { referencedSchemas, stripComments } from "./opaque-text.js";
import { finding, type AuditContext, type Finding } from "./types.js";

// $1 allowed role oids, $2 the Umami role's oid, $3 the Umami schema's name. A caller may execute the function
// with USAGE on its schema, or read a view, use an operator or aggregate, or cast through a cast that calls it
// (none of them checks the function's schema). The shape is read from the
// catalogs: proconfig for the pinned search_path, the source for dynamic SQL entry points and the schema.
const DEFINERS_SQL = `
  WITH definers AS (SELECT f.oid FROM pg_catalog.pg_proc f WHERE f.prosecdef), views AS (
    -- What calls a SECURITY DEFINER function checking EXECUTE, never its schema: a view (its readers, with
    -- USAGE on the view's schema), an operator or an aggregate (with USAGE on theirs), a cast (no schema).
    SELECT DISTINCT d.refobjid AS fn, c.oid, c.relnamespace AS nsp
      FROM pg_catalog.pg_depend d
      JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid
      JOIN pg_catalog.pg_class c ON c.oid = rw.ev_class AND c.relkind = 'v'
     WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
       AND d.refobjid IN (SELECT oid FROM definers)
    UNION
    SELECT o.oprcode, NULL::oid, o.oprnamespace FROM pg_catalog.pg_operator o WHERE o.oprcode IN (SELECT oid FROM definers)
    UNION
    SELECT x.fn, NULL::oid, ap.pronamespace
      FROM pg_catalog.pg_aggregate a
      JOIN pg_catalog.pg_proc ap ON ap.oid = a.aggfnoid
      CROSS JOIN LATERAL pg_catalog.unnest(ARRAY[a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn,
                                                  a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn]::oid[]) x(fn)
     WHERE x.fn IN (SELECT oid FROM definers)
    UNION
    SELECT c.castfunc, NULL::oid, NULL::oid FROM pg_catalog.pg_cast c WHERE c.castfunc IN (SELECT oid FROM definers)
  )
  SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS object,
         pg_catalog.quote_ident(n.nspname) AS schema,
         ARRAY[n.nspname::text, p.proname::text] AS names, ARRAY[pg_catalog.pg_get_function_identity_arguments(p.oid)] AS args,
         CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END AS otype,
         pg_catalog.quote_ident(o.rolname) AS owner, o.oid = ANY ($1::oid[]) AS admin_owner,
         o.rolcreaterole AS createrole, l.lanname AS language,
         EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) c
                  WHERE c LIKE 'search_path=%' AND pg_catalog.strpos(c, '$user') = 0) AS pinned,
         p.prosrc ~* '(^|[^[:alnum:]_])(execute|query_to_xml|query_to_xml_and_xmlschema|cursor_to_xml|table_to_xml|dblink[a-z_]*|pg_read_file|lo_import)([^[:alnum:]_]|$)' AS dynamic,
         pg_catalog.strpos(pg_catalog.lower(p.prosrc), pg_catalog.lower($3) || '.') > 0
           OR pg_catalog.strpos(p.prosrc, '"' || $3 || '".') > 0 AS names_umami,
         p.prosrc AS source,
         ARRAY(SELECT 'PUBLIC' WHERE pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')
                                 AND (pg_catalog.has_schema_privilege('public', n.oid, 'USAGE') OR EXISTS (
                                        SELECT 1 FROM views v WHERE v.fn = p.oid
                                           AND (v.oid IS NULL OR pg_catalog.has_table_privilege('public', v.oid, 'SELECT'))
                                           AND (v.nsp IS NULL OR pg_catalog.has_schema_privilege('public', v.nsp, 'USAGE'))))
               UNION ALL
               SELECT pg_catalog.quote_ident(r.rolname) FROM pg_catalog.pg_roles r
                WHERE r.oid <> ALL ($1::oid[]) AND r.oid <> p.proowner AND r.rolcanlogin
                  AND pg_catalog.has_function_privilege(r.oid, p.oid, 'EXECUTE')
                  AND (pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE') OR EXISTS (
                         SELECT 1 FROM views v WHERE v.fn = p.oid
                            AND (v.oid IS NULL OR pg_catalog.has_table_privilege(r.oid, v.oid, 'SELECT'))
                            AND (v.nsp IS NULL OR pg_catalog.has_schema_privilege(r.oid, v.nsp, 'USAGE'))))) AS callers,
         ARRAY(SELECT DISTINCT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END
                 FROM pg_catalog.aclexplode(COALESCE(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
                WHERE a.grantee <> p.proowner AND a.grantee <> ALL ($1::oid[])) AS grantees,
         -- The same grantees as stored, NULL for PUBLIC (remedies are built from these).
         ARRAY(SELECT DISTINCT CASE a.grantee WHEN 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END
                 FROM pg_catalog.aclexplode(COALESCE(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
                WHERE a.grantee <> p.proowner AND a.grantee <> ALL ($1::oid[])) AS grantee_names
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    JOIN pg_catalog.pg_roles o ON o.oid = p.proowner
    JOIN pg_catalog.pg_language l ON l.oid = p.prolang
   WHERE p.prosecdef AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
     AND p.proowner IS DISTINCT FROM $2::oid
     AND (o.oid = ANY ($1::oid[]) OR o.rolsuper OR o.rolcreaterole)
   ORDER BY 1
`;

interface DefinerRow {
  object: string;
  schema: string;
  /** The function's [schema, name] as stored and its identity arguments (remedies are built from these). */
  names: string[];
  args: string[];
  otype: string;
  owner: string;
  admin_owner: boolean;
  createrole: boolean;
  language: string;
  pinned: boolean;
  dynamic: boolean;
  names_umami: boolean;
  /** The body, read again without its comments (a comment that names Umami's schema or EXECUTE runs nothing). */
  source: string | null;
  callers: string[];
  grantees: string[];
  /** The same, as stored; null for PUBLIC. */
  grantee_names: (string | null)[];
}

const DYNAMIC_ENTRY =
  /(^|[^\p{L}\p{N}_])(execute|query_to_xml|query_to_xml_and_xmlschema|cursor_to_xml|table_to_xml|dblink[a-z_]*|pg_read_file|lo_import)([^\p{L}\p{N}_]|$)/iu;

/** The catalog's coarse reading of the body confirmed on its text without comments (strings kept: SQL passed as text counts). */
function withoutComments(r: DefinerRow, schema: string): DefinerRow {
  if (r.source === null || (!r.names_umami && !r.dynamic)) return r;
  const code = stripComments(r.source);
  return {
    ...r,
    names_umami: r.names_umami && referencedSchemas(code, [schema]).length > 0,
    dynamic: r.dynamic && DYNAMIC_ENTRY.test(code),
  };
}

/** Why a function fails, or null when its shape is reviewable (a warning). */
function failure(r: DefinerRow, schema: string): string | null {
  const why: string[] = [];
  if (!r.admin_owner) why.push(`its owner has CREATEROLE outside the administrators`);
  if (!r.pinned) why.push("search_path not pinned");
  if (r.dynamic) why.push("dynamic SQL");
  if (r.names_umami) why.push(`its body names ${schema}`);
  return why.length > 0 ? why.join(", ") : null;
}

/** SECURITY DEFINER functions of administrators and CREATEROLE roles that others can execute. */
export async function auditDefiners(ctx: AuditContext): Promise<Finding[]> {
  const { spec } = ctx;
  const rows = (await ctx.query<DefinerRow>(DEFINERS_SQL, [ctx.allowedOids, ctx.roleOid, spec.schema]))
    .filter((r) => r.callers.length > 0)
    .map((r) => withoutComments(r, spec.schema));
  const failing = rows.filter((r) => failure(r, spec.schema) !== null);
  const describe = (r: DefinerRow) => {
    const why = failure(r, spec.schema);
    const shape = why ?? `pinned search_path, no dynamic SQL, ${r.language}`;
    return `${r.otype.toLowerCase()} ${r.object} runs as ${r.owner} for ${r.callers.join(", ")} — ${why ? "fails" : "reviewable"}: ${shape}`;
  };
  const on = (r: DefinerRow) => ({ kind: r.otype, name: r.names, args: r.args });
  const revokeAll = (r: DefinerRow) =>
    script(r.grantee_names.map((g) => revoke({ privileges: ["EXECUTE"], on: on(r), from: g })));
  // A body that only lacks a pinned search_path keeps working for its callers once pinned (the schemas a
  // caller's default path reaches, pg_catalog first and pg_temp last); anything else is taken from them.
  const remedy = (r: DefinerRow) =>
    r.admin_owner && !r.dynamic && !r.names_umami
      ? script([pinSearchPath(on(r), [...new Set(["pg_catalog", r.names[0], "public", "pg_temp"])])])
      : revokeAll(r);
  return [
    finding(
      "definer-escalation",
      "inward: SECURITY DEFINER functions of the administrators",
      failing.length > 0 ? "fail" : "warn",
      rows.map(describe),
      failing.length > 0
        ? `Whoever may execute these acts as their owner while they run, and their shape lets the caller steer them (an unpinned search_path, dynamic SQL, Umami's schema in the body, or a CREATEROLE owner): ${failing
            .map(remedy)
            .join(
              " ",
            )} (Pin only schemas no role outside the administrators can create in. Grant EXECUTE back only to roles that must call a function once its body is fixed, or make it SECURITY INVOKER.)`
        : `Each runs a fixed body as its owner (pinned search_path, no dynamic SQL, nothing of ${spec.schema}): review what it returns; if a caller should not have it: ${rows.map(revokeAll).join(" ")}`,
      `No SECURITY DEFINER function of an administrator or a CREATEROLE role can be executed by a role outside the administrators.`,
    ),
  ];
}
