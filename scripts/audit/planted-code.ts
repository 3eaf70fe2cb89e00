/**
 * Code in the Umami schema that runs with the rights of whoever reads or writes Umami's data (threat model
 * class planted-code). A view's functions run as the reader, not the view's owner; a row-level security policy
 * runs as the reader, its subqueries included; a trigger, a default, a CHECK constraint or an index expression
 * runs its SECURITY INVOKER function as the writer. Umami's migrations create no view, policy or function, so
 * each of these was made with umami_user's credentials, and an administrator's `SELECT` on the view or the
 * table, or its `DELETE` of old rows, runs it with the administrator's rights (proven: the view's built-ins
 * alone, query_to_xml and pg_notify, sent a customer table to umami_user's session; a trigger's function
 * granted umami_user pg_read_all_data). A SECURITY DEFINER function of umami_user's runs as umami_user: no
 * one else's rights, left out. One query, batched with the other checks (no round trip of its own).
 */
import { alterTable, drop, dropDomainConstraint, script } from "../../sst/database/statements.js";
import { finding, type AuditContext, type Finding } from "./types.js";

/**
 * Built-ins that reach data with the caller's rights whatever the expression's owner may: SQL text run by the
 * xml functions, large objects (read, written, unlinked), dblink, another role's sequence set. A view, a
 * default or a CHECK constraint naming one acts for umami_user when an administrator reads or writes (a
 * default or a constraint allows no subquery, so this is the only way in without a function of its own, which
 * the function rows catch). A view that calls none of these, nor a function outside pg_catalog, reads only what
 * its owner may: named, not failed.
 */
const CALLER_REACH =
  "(^|[^[:alnum:]_])(query_to_xml[a-z_]*|table_to_xml[a-z_]*|cursor_to_xml[a-z_]*|schema_to_xml[a-z_]*|database_to_xml[a-z_]*|lo_[a-z_]+|loread|lowrite|dblink[a-z_]*|setval)\\s*\\(";

// $1 Umami schema oid, $2 Umami role oid, $3 the built-ins' pattern. Views and functions through their namespace
// dependency (pg_depend's index, as inward.ts); what calls a function through its dependents (a trigger, a
// rewrite rule, a policy, a default, a constraint, an index record one; PL/pgSQL bodies do not).
const PLANTED_CODE_SQL = `
  WITH inside AS (
    SELECT d.classid, d.objid FROM pg_catalog.pg_depend d
     WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.refobjid = $1::oid AND d.deptype = 'n'
       AND d.classid IN ('pg_catalog.pg_class'::pg_catalog.regclass, 'pg_catalog.pg_proc'::pg_catalog.regclass)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = d.classid AND e.objid = d.objid AND e.deptype = 'e')
  ), tables AS (
    SELECT c.oid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name,
           ARRAY[n.nspname::text, c.relname::text] AS names
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid IN (SELECT objid FROM inside WHERE classid = 'pg_catalog.pg_class'::pg_catalog.regclass) AND c.relkind IN ('r', 'p')
  )
  SELECT 1 AS rank, 'view' AS kind, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS object,
         NULL::text AS target, ARRAY[]::text[] AS used_by, ARRAY[n.nspname::text, c.relname::text] AS names, NULL::text[] AS args,
         pg_catalog.pg_get_viewdef(c.oid) ~* $3 OR EXISTS (
           SELECT 1 FROM pg_catalog.pg_rewrite rw
             JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = rw.oid
              AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
             JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid
            WHERE rw.ev_class = c.oid AND p.pronamespace <> 'pg_catalog'::pg_catalog.regnamespace) AS armed
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid IN (SELECT objid FROM inside WHERE classid = 'pg_catalog.pg_class'::pg_catalog.regclass)
     AND c.relkind = 'v' AND c.relowner = $2::oid
  UNION ALL
  SELECT 2, 'policy', pg_catalog.quote_ident(pol.polname), t.name, ARRAY[]::text[], t.names || pol.polname::text, NULL, true
    FROM pg_catalog.pg_policy pol JOIN tables t ON t.oid = pol.polrelid
  UNION ALL
  SELECT 3, 'default', t.name || '.' || pg_catalog.quote_ident(a.attname), t.name, ARRAY[]::text[], t.names || a.attname::text, NULL, true
    FROM pg_catalog.pg_attrdef ad JOIN tables t ON t.oid = ad.adrelid
    JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
   -- t.oid, not ad.adrelid: a condition on pg_attrdef alone would be deparsed for every default of the database.
   WHERE pg_catalog.pg_get_expr(ad.adbin, t.oid) ~* $3
  UNION ALL
  SELECT 3, CASE WHEN co.contypid <> 0 THEN 'domain constraint' ELSE 'constraint' END, pg_catalog.quote_ident(co.conname),
         COALESCE((SELECT t.name FROM tables t WHERE t.oid = co.conrelid), pg_catalog.format_type(co.contypid, NULL)), ARRAY[]::text[],
         COALESCE((SELECT t.names FROM tables t WHERE t.oid = co.conrelid),
                  (SELECT ARRAY[tn.nspname::text, ty.typname::text] FROM pg_catalog.pg_type ty
                     JOIN pg_catalog.pg_namespace tn ON tn.oid = ty.typnamespace WHERE ty.oid = co.contypid)) || co.conname::text,
         NULL, true
    FROM pg_catalog.pg_constraint co
   WHERE co.connamespace = $1::oid AND co.contype = 'c' AND pg_catalog.pg_get_constraintdef(co.oid) ~* $3
  UNION ALL
  SELECT 4, CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
         pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
         NULL,
         ARRAY(SELECT DISTINCT pg_catalog.pg_describe_object(d.classid, d.objid, 0) FROM pg_catalog.pg_depend d
                WHERE d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.refobjid = p.oid AND d.deptype IN ('n', 'a')
                ORDER BY 1),
         ARRAY[n.nspname::text, p.proname::text], ARRAY[pg_catalog.pg_get_function_identity_arguments(p.oid)],
         -- A function nothing calls runs only when someone calls it by name.
         EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.refobjid = p.oid AND d.deptype IN ('n', 'a'))
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
   WHERE p.oid IN (SELECT objid FROM inside WHERE classid = 'pg_catalog.pg_proc'::pg_catalog.regclass)
     AND p.proowner = $2::oid AND NOT p.prosecdef
   ORDER BY 1, 3
`;

interface PlantedRow {
  kind: "view" | "policy" | "default" | "constraint" | "domain constraint" | "procedure" | "aggregate" | "function";
  object: string;
  target: string | null;
  used_by: string[];
  /**
   * As stored (remedies are built from these): [schema, name] for a view or routine; [schema, table, name] for a
   * policy, default (its column) or constraint; [schema, domain, name] for a domain constraint.
   */
  names: string[];
  /** A routine's identity arguments, as one string. */
  args: string[] | null;
  /** Whether it runs something that reaches beyond its owner's rights when another role reads or writes. */
  armed: boolean;
}

function describe(r: PlantedRow): string {
  switch (r.kind) {
    case "view":
      return r.armed
        ? `view ${r.object}: its functions run with the reader's rights, and it calls one that reaches data (outside pg_catalog, or query_to_xml, large objects, dblink, setval)`
        : `view ${r.object}: calls only built-ins that reach nothing with the reader's rights`;
    case "policy":
      return `policy ${r.object} ON ${r.target}: runs with the reader's rights, subqueries included`;
    case "default":
    case "constraint":
    case "domain constraint":
      return `${r.kind} ${r.kind === "default" ? r.object : `${r.object} ON ${r.target}`}: reaches data with the writer's rights (query_to_xml, large objects, dblink or setval)`;
    default:
      return `${r.kind} ${r.object} (SECURITY INVOKER)${r.used_by.length > 0 ? `: run with the caller's rights by ${r.used_by.join(", ")}` : ": called by nothing yet"}`;
  }
}

function remedy(r: PlantedRow): string {
  const [schema, parent, name] = r.names;
  switch (r.kind) {
    case "view":
      return drop({ kind: "VIEW", name: r.names });
    case "policy":
      return drop({ kind: "POLICY", name: r.names });
    case "default":
      return alterTable([schema, parent], { dropDefault: name });
    case "constraint":
      return alterTable([schema, parent], { dropConstraint: name });
    case "domain constraint":
      return dropDomainConstraint([schema, parent], name);
    default:
      // CASCADE takes the triggers, defaults and indexes that call it along.
      return drop({ kind: r.kind.toUpperCase(), name: r.names, args: r.args ?? [] }, { cascade: true });
  }
}

/** Views, policies, caller-rights functions and reading expressions Umami's role planted in its schema. */
export async function auditPlantedCode(ctx: AuditContext): Promise<Finding[]> {
  const { spec } = ctx;
  const role = spec.role.name;
  const rows =
    ctx.schemaOid && ctx.roleOid
      ? await ctx.query<PlantedRow>(PLANTED_CODE_SQL, [ctx.schemaOid, ctx.roleOid, CALLER_REACH])
      : [];
  const armed = rows.filter((r) => r.armed);
  return [
    finding(
      "planted-code",
      `inward: code in ${spec.schema} that runs with the reader's or writer's rights`,
      armed.length > 0 ? "fail" : "warn",
      rows.map(describe),
      `Umami's migrations create no view, policy or function: these were made with ${role}'s credentials, and an administrator who reads or deletes Umami's rows runs them with the administrator's rights. Until they are gone, no administrator should touch ${spec.schema}'s data. Rotate ${role}'s password (the stage's secret), then as ${role} (their owner): ${script(rows.map(remedy))}`,
      `No view, row-level security policy, SECURITY INVOKER function or caller-reaching default or constraint in ${spec.schema} (Umami's migrations create none).`,
    ),
  ];
}
