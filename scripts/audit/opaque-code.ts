/**
 * Opaque code (threat model class opaque-code): code whose effect the catalogs cannot show — function bodies in
 * any language, SQL passed as text (crosstab, dblink, query_to_xml, EXECUTE), the constants of views,
 * materialized views and rules, trigger arguments — that runs with rights other than umami_user's: a function
 * another role owns (its definer's rights, or its caller's: an administrator, the application's triggers and
 * event triggers), a materialized view refreshed by its owner, a rule run as its table's owner. One written rule
 * (opaque-text.ts reads the text):
 * - fail when its text, its recorded dependencies or its pinned search_path name Umami's schema or any schema
 *   umami_user can create in, or a schema that does not exist while umami_user may create schemas: umami_user
 *   decides what is there (a relation swapped for a view, an overload that matches better), and it runs with
 *   the other role's rights;
 * - warn, named with the reason, when a trigger, an event trigger or a SECURITY DEFINER function runs SQL it
 *   builds at run time (the audit cannot read what it reaches).
 * NOTIFY payloads are the notifications check's. One query, batched with the other checks.
 */
import { drop, pinSearchPath, script } from "../../sst/database/statements.js";
import {
  DYNAMIC_FUNCTION,
  DYNAMIC_PATTERN,
  dynamicSql,
  entrySchema,
  referencedSchemas,
  searchPathEntries,
  stripComments,
  treeConstants,
  triggerArguments,
} from "./opaque-text.js";
import { tempSchemaFirst, unqualifiedRelations } from "./temp-lookup.js";
import { finding, type AuditContext, type Finding } from "./types.js";

// $1 Umami schema oid, $2 Umami role oid, $3 POSIX pattern of dynamic SQL, $4 the oids of the role and the administrators,
// $5 POSIX pattern of the names of functions that run SQL passed as text.
// Functions: outside pg_catalog and Umami's schema (Umami's own are planted-code's), not umami_user's (ownership's),
// not an extension's, with a readable body; kept when their body may name a schema umami_user creates in (a
// coarse substring test, referencedSchemas decides), when a search_path is pinned, when the body is an
// SQL-standard one (its references are recorded), when it is SECURITY DEFINER (temp-lookup.ts reads its relation
// names), or when a trigger, an event trigger or SECURITY DEFINER runs dynamic SQL. `reached`: a role outside the
// administrators may set it off in its own session (EXECUTE, or a trigger, an event trigger or a view runs it). Trees: views, materialized views and rules outside Umami's schema that call a function taking
// text (the SQL it runs lives in the tree's constants), or rules whose actions use a relation where umami_user
// creates. Trigger arguments: text handed to a trigger function on a table outside Umami's schema.
const OPAQUE_SQL = `
  WITH dyn AS (
    -- Functions that run SQL passed as text. A stored query records a built-in (query_to_xml…) by oid in its tree
    -- only: pg_depend has no row for pinned objects.
    SELECT p.oid, p.proname::text AS proname FROM pg_catalog.pg_proc p WHERE p.proname ~* $5
  ), rules AS MATERIALIZED (
    -- The stored queries outside the catalogs, Umami's schema and umami_user's, before their text is searched
    -- (searching the catalogs' own views for each function above cost ~200 ms, measured).
    SELECT rw.oid, rw.rulename, rw.ev_class, rw.ev_action FROM pg_catalog.pg_rewrite rw
      JOIN pg_catalog.pg_class c ON c.oid = rw.ev_class
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relnamespace <> $1::oid AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND c.relowner <> $2::oid
  ), creatable AS (
    SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n
     WHERE n.nspowner = $2::oid OR pg_catalog.has_schema_privilege($2::oid, n.oid, 'CREATE')
  ), runs AS (
    SELECT t.tgfoid AS fn, 'trigger ' || pg_catalog.quote_ident(t.tgname) || ' ON '
             || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS use,
           'TRIGGER' AS kind, ARRAY[n.nspname, c.relname, t.tgname]::text[] AS name
      FROM pg_catalog.pg_trigger t
      JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT t.tgisinternal AND c.relnamespace <> $1::oid
    UNION ALL
    SELECT e.evtfoid, 'event trigger ' || pg_catalog.quote_ident(e.evtname), 'EVENT TRIGGER', ARRAY[e.evtname]::text[]
      FROM pg_catalog.pg_event_trigger e
  ), views AS (
    -- Views that call a function: their readers run it (checking EXECUTE, never the function's schema).
    SELECT DISTINCT d.refobjid AS fn, CASE c.relkind WHEN 'm' THEN 'materialized view ' ELSE 'view ' END
             || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS use,
           CASE c.relkind WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END AS kind, ARRAY[n.nspname, c.relname]::text[] AS name
      FROM pg_catalog.pg_depend d
      JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid
      JOIN pg_catalog.pg_class c ON c.oid = rw.ev_class
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
       AND c.relkind IN ('v', 'm')
  )
  SELECT 'function' AS kind,
         pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS object,
         CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END AS otype,
         pg_catalog.pg_get_userbyid(p.proowner)::text AS owner, p.prosecdef AS definer,
         ARRAY[p.prosrc, p.prosqlbody::text] AS texts,
         ARRAY(SELECT pg_catalog.substr(c, 13) FROM pg_catalog.unnest(p.proconfig) c WHERE pg_catalog.starts_with(c, 'search_path=')) AS paths,
         ARRAY(SELECT r.use FROM runs r WHERE r.fn = p.oid UNION SELECT v.use FROM views v WHERE v.fn = p.oid ORDER BY 1) AS uses,
         (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('kind', u.kind, 'name', u.name) ORDER BY u.use)
            FROM (SELECT r.use, r.kind, r.name FROM runs r WHERE r.fn = p.oid
                  UNION SELECT v.use, v.kind, v.name FROM views v WHERE v.fn = p.oid) u) AS drops,
         ARRAY[n.nspname, p.proname]::text[] AS name, pg_catalog.pg_get_function_identity_arguments(p.oid) AS args,
         (p.oid IN (SELECT r.fn FROM runs r UNION SELECT v.fn FROM views v)
          OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(COALESCE(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
                      WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner
                        AND (a.grantee = $2::oid OR a.grantee <> ALL ($4::oid[])))) AS reached,
         -- An SQL-standard body records what it uses: the schemas where umami_user creates that it reaches.
         (SELECT pg_catalog.string_agg(DISTINCT cr.nspname::text, ',')
            FROM pg_catalog.pg_depend d
            LEFT JOIN pg_catalog.pg_class rc ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND rc.oid = d.refobjid
            LEFT JOIN pg_catalog.pg_proc rp ON d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND rp.oid = d.refobjid
            JOIN creatable cr ON cr.oid IN (rc.relnamespace, rp.pronamespace)
           WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND p.prosqlbody IS NOT NULL) AS recorded,
         NULL::text[] AS calls
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    JOIN pg_catalog.pg_language l ON l.oid = p.prolang
   WHERE p.pronamespace <> $1::oid AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND p.proowner <> $2::oid AND l.lanname NOT IN ('c', 'internal')
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                      WHERE e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND e.objid = p.oid AND e.deptype = 'e')
     AND (EXISTS (SELECT 1 FROM creatable cr WHERE pg_catalog.strpos(pg_catalog.lower(p.prosrc), pg_catalog.lower(cr.nspname)) > 0)
          OR p.prosqlbody IS NOT NULL OR p.prosecdef
          OR EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) c WHERE pg_catalog.starts_with(c, 'search_path='))
          OR ((p.prosecdef OR p.oid IN (SELECT fn FROM runs)) AND p.prosrc ~* $3))
  UNION ALL
  SELECT CASE WHEN rw.rulename = '_RETURN' THEN 'tree' ELSE 'rule' END,
         CASE WHEN rw.rulename = '_RETURN' THEN '' ELSE pg_catalog.quote_ident(rw.rulename) || ' ON ' END
           || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),
         CASE WHEN rw.rulename <> '_RETURN' THEN 'RULE' WHEN c.relkind = 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END,
         pg_catalog.pg_get_userbyid(c.relowner)::text, NULL,
         ARRAY[rw.ev_action::text], NULL, NULL, NULL,
         CASE WHEN rw.rulename = '_RETURN' THEN ARRAY[n.nspname, c.relname] ELSE ARRAY[n.nspname, c.relname, rw.rulename] END::text[], NULL, NULL,
         (SELECT pg_catalog.string_agg(DISTINCT cr.nspname::text, ',')
            FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class rc ON rc.oid = d.refobjid
            JOIN creatable cr ON cr.oid = rc.relnamespace
           WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = rw.oid
             AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND rw.rulename <> '_RETURN'),
         ARRAY(SELECT dyn.proname FROM dyn WHERE pg_catalog.strpos(rw.ev_action::text, ':funcid ' || dyn.oid || ' ') > 0
               UNION
               SELECT p.proname::text FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid
                WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = rw.oid
                  AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass ORDER BY 1)
    FROM rules rw
    JOIN pg_catalog.pg_class c ON c.oid = rw.ev_class
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  LEFT JOIN pg_catalog.pg_proc p ON d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = d.refobjid
                  LEFT JOIN pg_catalog.pg_class rc ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND rc.oid = d.refobjid
                 WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = rw.oid
                   AND (p.proargtypes::oid[] && ARRAY['text', 'varchar', 'name', 'unknown', 'cstring']::pg_catalog.regtype[]::oid[]
                        OR (rw.rulename <> '_RETURN' AND rc.relnamespace IN (SELECT oid FROM creatable)))
                 UNION ALL
                 SELECT 1 FROM dyn WHERE pg_catalog.strpos(rw.ev_action::text, ':funcid ' || dyn.oid || ' ') > 0)
  UNION ALL
  SELECT 'trigger arguments', pg_catalog.quote_ident(t.tgname) || ' ON ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),
         'TRIGGER', pg_catalog.pg_get_userbyid(c.relowner)::text, NULL, ARRAY[pg_catalog.encode(t.tgargs, 'hex')], NULL, NULL,
         NULL, ARRAY[n.nspname, c.relname, t.tgname]::text[], NULL, NULL, NULL, NULL
    FROM pg_catalog.pg_trigger t
    JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE NOT t.tgisinternal AND t.tgnargs > 0 AND c.relnamespace <> $1::oid
`;

// $1 Umami role oid, $2 the oids of the role and the administrators. The schemas umami_user creates in (its own
// included), whether it may create schemas, and then (only then) every schema's name: a name no schema has yet is
// one umami_user can take; the login roles outside the administrators that may create temporary objects here; and
// the schemas where login roles outside the administrators were granted CREATE (not only as owners), with them.
const CREATABLE_SQL = `
  SELECT ARRAY(SELECT n.nspname::text FROM pg_catalog.pg_namespace n
                WHERE n.nspowner = $1::oid OR pg_catalog.has_schema_privilege($1::oid, n.oid, 'CREATE') ORDER BY 1) AS creatable,
         pg_catalog.has_database_privilege($1::oid, pg_catalog.current_database(), 'CREATE') AS create_schemas,
         ARRAY(SELECT n.nspname::text FROM pg_catalog.pg_namespace n
                WHERE pg_catalog.has_database_privilege($1::oid, pg_catalog.current_database(), 'CREATE') ORDER BY 1) AS schemas,
         ARRAY(SELECT r.rolname::text FROM pg_catalog.pg_roles r
                WHERE r.rolcanlogin AND (r.oid = $1::oid OR r.oid <> ALL ($2::oid[]))
                  AND pg_catalog.has_database_privilege(r.oid, pg_catalog.current_database(), 'TEMPORARY') ORDER BY 1) AS temp_roles,
         (SELECT pg_catalog.jsonb_object_agg(x.nspname, x.roles) FROM (
            SELECT n.nspname, pg_catalog.array_agg(r.rolname::text ORDER BY r.rolname) AS roles
              FROM pg_catalog.pg_namespace n
              JOIN pg_catalog.pg_roles r ON r.rolcanlogin AND r.oid <> ALL ($2::oid[])
             WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
               AND pg_catalog.has_schema_privilege(r.oid, n.oid, 'CREATE')
               AND EXISTS (SELECT 1 FROM pg_catalog.aclexplode(n.nspacl) a
                            WHERE a.privilege_type = 'CREATE' AND a.grantee <> n.nspowner
                              AND (a.grantee = 0 OR pg_catalog.pg_has_role(r.oid, a.grantee, 'MEMBER')))
             GROUP BY n.nspname) x) AS granted_create
`;

interface OpaqueRow {
  kind: "function" | "tree" | "rule" | "trigger arguments";
  object: string;
  otype: string;
  owner: string;
  definer: boolean | null;
  /** A function's source and SQL-standard body; a rule's node tree; a trigger's arguments in hex. */
  texts: (string | null)[];
  /** A function's pinned search_path values. */
  paths: string[] | null;
  /** What runs a function: triggers, event triggers, views and materialized views. */
  uses: string[] | null;
  /** Schemas where umami_user creates that the object's recorded dependencies reach, comma-separated. */
  recorded: string | null;
  /** A stored query's functions, by name: those that run SQL passed as text make its bare constants suspect. */
  calls: string[] | null;
  /** The objects that run a function (as `uses`), by keyword and name parts, for the remedy's DROPs. */
  drops: { kind: string; name: string[] }[] | null;
  /** The object's name parts as the catalogs store them ([schema, name]; [schema, table, name]). */
  name: string[];
  /** A function's identity arguments, as the server formats them. */
  args: string | null;
  /** Whether a role outside the administrators may set the function off in its own session. */
  reached: boolean | null;
}

/** Who may put things where: the schemas umami_user creates in, and the names it may still create. */
interface Creatable {
  creatable: string[];
  create_schemas: boolean;
  schemas: string[];
  /** Login roles outside the administrators (the Umami role included) with TEMPORARY on the database. */
  temp_roles: string[];
  /** Schema → the login roles outside the administrators and the Umami role granted CREATE there; null when none. */
  granted_create: Record<string, string[]> | null;
}

/** One judged object: fail with the reasons, or warn with one; `temp`: the path a caller's pg_temp fault is closed with. */
interface Verdict {
  row: OpaqueRow;
  fail: string[];
  warn: string | null;
  temp?: string[];
}

/**
 * What a search_path entry opens to umami_user, or null; for an administrator's code, also to a login role outside
 * the administrators granted CREATE there (its overload runs with the administrator's rights, CVE-2018-1058).
 */
function squattable(raw: string, user: string, where: Creatable, admin: boolean): string | null {
  const schema = entrySchema(raw, user);
  if (schema === "pg_temp" || schema === "pg_catalog") return null;
  if (where.creatable.includes(schema)) return `schema ${schema}, where it creates objects`;
  if (where.create_schemas && !where.schemas.includes(schema))
    return `schema ${schema}, which does not exist and which it may create (CREATE on the database)`;
  const others = admin ? where.granted_create?.[schema] : undefined;
  if (others) return `schema ${schema}, where ${others.join(", ")} (granted CREATE) create objects`;
  return null;
}

function judge(row: OpaqueRow, where: Creatable, role: string, administrators: string[]): Verdict {
  const fail: string[] = [];
  const named = new Set<string>(row.recorded ? row.recorded.split(",") : []);
  let warn: string | null = null;
  let tempPath: string[] | undefined;
  if (row.kind === "function") {
    const [source, body] = row.texts;
    for (const s of referencedSchemas(
      `${stripComments(source ?? "")}\n${body ? treeConstants(body).join("\n") : ""}`,
      where.creatable,
    ))
      named.add(s);
    for (const value of row.paths ?? []) {
      for (const raw of searchPathEntries(value)) {
        const opens = squattable(raw, row.owner, where, administrators.includes(row.owner));
        if (opens) fail.push(`its pinned search_path (${value}) reaches ${opens}`);
      }
    }
    const dynamic = dynamicSql(source ?? "");
    const runs =
      row.definer || (row.uses ?? []).some((u) => u.startsWith("trigger ") || u.startsWith("event trigger "));
    if (dynamic.length > 0 && runs)
      warn = `runs SQL it builds at run time (${dynamic.join(", ")}): the audit cannot read what it reaches`;
    const temp = body ? null : callersTemp(row, where);
    if (temp) {
      fail.push(temp.why);
      tempPath = temp.path;
    }
  } else if (row.kind === "trigger arguments") {
    for (const s of referencedSchemas(triggerArguments(row.texts[0] ?? "").join("\n"), where.creatable)) named.add(s);
  } else {
    const constants = treeConstants(row.texts[0] ?? "");
    for (const s of referencedSchemas(constants.join("\n"), where.creatable)) named.add(s);
    // SQL built at run time from a schema's name (`format('… %I.website', 'umami')`): the name alone counts.
    if (dynamicSql((row.calls ?? []).join(" ")).length > 0)
      for (const c of constants) {
        const bare = c.trim();
        const schema = where.creatable.find((s) => s === bare || (s === s.toLowerCase() && s === bare.toLowerCase()));
        if (schema) named.add(schema);
      }
  }
  if (named.size > 0) fail.unshift(`names schema ${[...named].join(", ")}, where ${role} creates objects`);
  return { row, fail, warn, temp: tempPath };
}

/**
 * A SECURITY DEFINER function a role outside the administrators sets off in its own session, whose body names
 * relations without a schema while its path looks in the session's temporary schema first: why it fails, and
 * the path that closes it (its own entries, then pg_temp; an unpinned one gets its schema's and public's).
 */
function callersTemp(row: OpaqueRow, where: Creatable): { why: string; path: string[] } | null {
  if (!row.definer || !row.reached || where.temp_roles.length === 0) return null;
  const first = tempSchemaFirst(row.paths);
  const names = first ? unqualifiedRelations(row.texts[0] ?? "") : [];
  if (!first || names.length === 0) return null;
  const pinned = row.paths?.[row.paths.length - 1];
  const how =
    first === "unpinned" ? "it pins no search_path" : `its pinned search_path (${pinned}) does not end with pg_temp`;
  const kept = pinned
    ? searchPathEntries(pinned)
        .map((e) => entrySchema(e, row.owner))
        .filter((s) => s !== "pg_temp")
    : ["pg_catalog", row.name[0], "public"];
  return {
    why: `${how}, so the relations it names without a schema (${names.join(", ")}) are looked up first in the temporary schema of the session that runs it, where ${where.temp_roles.join(", ")} (TEMPORARY on the database) create a table or view whose trigger or function then runs with its owner's rights`,
    path: [...new Set([...kept, "pg_temp"])],
  };
}

function describe(v: Verdict): string {
  const { row } = v;
  const runs = [row.definer ? "SECURITY DEFINER" : null, ...(row.uses ?? []).map((u) => `run by ${u}`)]
    .filter(Boolean)
    .join(", ");
  const what =
    row.kind === "trigger arguments"
      ? `trigger ${row.object}: its arguments`
      : `${row.otype.toLowerCase()} ${row.object} (owner ${row.owner}${runs ? `, ${runs}` : ""})`;
  return `${what} — ${v.fail.length > 0 ? v.fail.join("; ") : v.warn}`;
}

/** The statements that take the code out, as its owner: a pinned path reset, or the object dropped (its triggers first). */
function remedy(v: Verdict): string[] {
  const { row } = v;
  if (row.kind !== "function") return [drop({ kind: row.otype, name: row.name })];
  const routine = { kind: row.otype, name: row.name, args: [row.args ?? ""] };
  if (v.temp && v.fail.length === 1) return [pinSearchPath(routine, v.temp)];
  if (v.fail.every((f) => f.startsWith("its pinned search_path")))
    return [pinSearchPath(routine, ["pg_catalog", "pg_temp"])];
  return [...(row.drops ?? []).map((u) => drop({ kind: u.kind, name: u.name })), drop(routine)];
}

/** Functions, views, materialized views, rules and trigger arguments outside Umami's schema that run with others' rights. */
export async function auditOpaqueCode(ctx: AuditContext): Promise<Finding[]> {
  const { spec } = ctx;
  const role = spec.role.name;
  if (!ctx.roleOid) return [];
  // In another database no schema is Umami's: oid 0 matches none.
  const schemaOid = ctx.schemaOid ?? "0";
  const [[where], rows] = await Promise.all([
    ctx.query<Creatable>(CREATABLE_SQL, [ctx.roleOid, ctx.allowedOids]),
    ctx.query<OpaqueRow>(OPAQUE_SQL, [schemaOid, ctx.roleOid, DYNAMIC_PATTERN, ctx.allowedOids, DYNAMIC_FUNCTION]),
  ]);
  const judged = rows.map((r) => judge(r, where, role, ctx.administrators));
  const failing = judged.filter((v) => v.fail.length > 0);
  const warning = judged.filter((v) => v.fail.length === 0 && v.warn);
  return [
    finding(
      "opaque-code",
      "inward: opaque code that runs with other roles' rights",
      failing.length > 0 ? "fail" : "warn",
      [...failing, ...warning].map(describe),
      failing.length > 0
        ? `This code runs with the rights of its owner or of whoever sets it off (an administrator, the application's writes, a REFRESH), and what it names is ${role}'s (or the login roles named) to change — a relation swapped for a view, an overload that matches better, a schema it creates first${failing.some((v) => v.temp) ? ", or a table or view in the temporary schema of the session that runs it" : ""} — so ${role} decides what runs with those rights, and whoever may use the code reads what it reads. As the owner: ${script(failing.flatMap(remedy))} (Tooling of Umami's own belongs to ${role}: recreated as ${role}'s, it runs with ${role}'s rights alone. A function whose only fault is its pinned path keeps working where its body names its objects with their schema; pg_temp placed last changes nothing but where a session's temporary objects are looked up.)`
        : `Each runs SQL it builds at run time with other roles' rights: review that it leaves ${spec.schema} out (an auto-grant event trigger that skips it, say) and pins its search_path.`,
      `No function, view, materialized view, rule or trigger argument outside ${spec.schema} that runs with other roles' rights names a schema ${role} can create in, or pins a search_path into one.`,
    ),
  ];
}
