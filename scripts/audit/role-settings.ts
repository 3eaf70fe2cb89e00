/**
 * The settings attached to the Umami role (`pg_db_role_setting`, in every database and for all of them)
 * compared with the spec's (`roleSettings`): an exact set, as pgTAP would — a setting the spec does not
 * declare (say `search_path` with an application schema in it, or `role`), a different value, or one missing.
 * Values are compared as PostgreSQL stores them: lists with each identifier quoted as needed. And its CONNECTION
 * LIMIT against the one the spec derives from Umami's pools (`connectionBudget`).
 */
import { roleSettings } from "../../sst/database/spec.js";
import { alterRole, script } from "../../sst/database/statements.js";
import { finding, type AuditContext, type Finding } from "./types.js";

// $1 role oid, $2 the spec's settings as JSON ({ name: "value" | ["identifier", …] }), normalised by the server.
const SETTINGS_SQL = `
  WITH expected AS (
    SELECT e.key AS name,
           CASE pg_catalog.jsonb_typeof(e.value)
             WHEN 'array' THEN (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(x.v), ', ' ORDER BY x.i)
                                  FROM pg_catalog.jsonb_array_elements_text(e.value) WITH ORDINALITY AS x(v, i))
             ELSE e.value #>> '{}' END AS value
      FROM pg_catalog.jsonb_each($2::jsonb) e
  ), held AS (
    SELECT CASE WHEN s.setdatabase = 0 THEN NULL ELSE d.datname::text END AS database,
           pg_catalog.split_part(c.setting, '=', 1) AS name,
           pg_catalog.substr(c.setting, pg_catalog.strpos(c.setting, '=') + 1) AS value
      FROM pg_catalog.pg_db_role_setting s
      LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
      CROSS JOIN LATERAL pg_catalog.unnest(s.setconfig) AS c(setting)
     WHERE s.setrole = $1::oid
  )
  SELECT h.database, COALESCE(h.name, e.name) AS name, h.value AS held, e.value AS expected
    FROM held h FULL JOIN expected e ON e.name = h.name AND h.database IS NULL
   WHERE h.value IS DISTINCT FROM e.value
   ORDER BY 1 NULLS FIRST, 2
`;

/** The role's settings against the spec's: missing, different and extra, with the statement that fixes each. */
export async function auditRoleSettings(ctx: AuditContext): Promise<Finding[]> {
  const { spec } = ctx;
  const role = spec.role.name;
  if (!ctx.roleOid) return [];
  const declared = Object.fromEntries(roleSettings(spec).map((s) => [s.name, s.value]));
  const rows = await ctx.query<{ database: string | null; name: string; held: string | null; expected: string | null }>(
    SETTINGS_SQL,
    [ctx.roleOid, JSON.stringify(declared)],
  );
  const objects = rows.map((r) =>
    r.held === null
      ? `${r.name}: missing (spec: ${r.expected})`
      : r.expected === null || r.database
        ? `${r.name} = ${r.held}${r.database ? ` in database ${r.database}` : ""} (the spec declares ${r.name in declared ? "it for every database" : "no such setting"})`
        : `${r.name} = ${r.held} (spec: ${r.expected})`,
  );
  const fixes = rows.map((r) => {
    if (r.held !== null && (r.expected === null || r.database))
      return alterRole(role, { reset: r.name, inDatabase: r.database ?? undefined });
    const value = declared[r.name];
    // A list is identifiers (search_path); a number stays a number, as the plan writes it.
    const to = typeof value !== "string" ? { identifiers: value } : /^\d+$/.test(value) ? Number(value) : value;
    return alterRole(role, { set: r.name, to });
  });
  return [
    finding(
      "role-settings",
      "outward: role settings",
      "fail",
      objects,
      `${role}'s settings decide what it reaches (search_path) and how long it may hold locks (timeouts); bring them back to the spec: ${script(fixes)}`,
      `${role}'s settings are exactly the spec's (${roleSettings(spec)
        .map((s) => s.name)
        .join(", ")}), in no database overridden.`,
    ),
  ];
}

/** CONNECTION LIMIT against the spec's: below it fails (a rolling deploy would exhaust it), above or none fails too. */
export function connectionLimitFinding(ctx: AuditContext): Finding {
  const { spec, role } = ctx;
  const budget = spec.role.connectionBudget;
  const limit = role?.connectionLimit ?? budget.total;
  return finding(
    "role-attributes",
    "umami role: connection limit",
    "fail",
    limit === budget.total
      ? []
      : [`${spec.role.name} CONNECTION LIMIT ${limit === -1 ? "none (-1)" : limit}, the spec says ${budget.total}`],
    limit !== -1 && limit < budget.total
      ? `Umami's pools need ${budget.formula}: with fewer, a rolling deploy fails queries with "too many connections for role". Redeploy the stack (sst deploy), or ${script([alterRole(spec.role.name, { connectionLimit: budget.total })])}`
      : `Without the spec's limit Umami's pools could take connections the application needs: redeploy the stack (sst deploy), or ${script([alterRole(spec.role.name, { connectionLimit: budget.total })])}`,
    `${spec.role.name} may hold ${budget.total} connections: ${budget.formula}.`,
  );
}
