/**
 * Privileges on configuration parameters (threat model class parameter-privileges): PostgreSQL 15's
 * `GRANT SET ON PARAMETER` lets a role set a parameter only a superuser may, and `GRANT ALTER SYSTEM ON
 * PARAMETER` lets it write the server's own configuration. Umami's role needs neither (the spec grants none),
 * and a superuser-only parameter can open data: with SET on `lo_compat_privileges` umami_user turns large objects'
 * privilege checks off in its own session and reads every large object of the database (walked). ALTER SYSTEM
 * held outside the administrators changes every session's defaults at the next reload, the administrators'
 * included: named. SET on a parameter any role may set grants nothing and is left out.
 */
import { revokeParameter, script, type Grantee } from "../../sst/database/statements.js";
import { finding, type AuditContext, type Finding } from "./types.js";

// $1 Umami role oid, $2 allowed role oids. Each grantee's privileges per parameter (`pg_parameter_acl` is
// readable by every role), with whether Umami's role holds them (itself, a role it inherits, or PUBLIC) and the
// parameter's context (a SET that only a superuser could do is what a grant adds).
const PARAMETERS_SQL = `
  SELECT pa.parname::text AS parameter,
         CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END AS grantee,
         CASE a.grantee WHEN 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END AS role,
         pg_catalog.array_agg(a.privilege_type ORDER BY a.privilege_type) AS privileges,
         a.grantee = 0 OR pg_catalog.pg_has_role($1::oid, a.grantee, 'USAGE') AS umami,
         (SELECT s.context FROM pg_catalog.pg_settings s WHERE s.name = pa.parname) AS context
    FROM pg_catalog.pg_parameter_acl pa CROSS JOIN LATERAL pg_catalog.aclexplode(pa.paracl) a
   WHERE a.grantee = 0 OR a.grantee = $1::oid OR a.grantee <> ALL ($2::oid[])
   GROUP BY pa.parname, a.grantee
   ORDER BY 1, 2
`;

interface ParameterRow {
  parameter: string;
  grantee: string;
  /** The grantee as the catalogs store it, or PUBLIC (null). */
  role: Grantee;
  privileges: string[];
  /** Umami's role holds these privileges (granted to it, to PUBLIC or to a role it inherits). */
  umami: boolean;
  /** pg_settings.context, or null for a parameter no loaded module defines. */
  context: string | null;
}

/** What a grant adds: ALTER SYSTEM always; SET only on a parameter a plain role could not set. */
const adds = (r: ParameterRow) => r.privileges.filter((p) => p === "ALTER SYSTEM" || r.context === "superuser");

function describe(r: ParameterRow): string {
  return `${r.parameter} → ${r.grantee} (${adds(r).join(", ")})`;
}

function revoke(r: ParameterRow): string {
  return revokeParameter(adds(r), r.parameter, r.role);
}

/** Parameter privileges Umami's role holds, and ALTER SYSTEM held outside the administrators. */
export async function auditParameters(ctx: AuditContext): Promise<Finding[]> {
  const role = ctx.spec.role.name;
  if (!ctx.roleOid) return [];
  const rows = (await ctx.query<ParameterRow>(PARAMETERS_SQL, [ctx.roleOid, ctx.allowedOids])).filter(
    (r) => adds(r).length > 0,
  );
  const umami = rows.filter((r) => r.umami);
  const others = rows.filter((r) => !r.umami && r.privileges.includes("ALTER SYSTEM"));
  return [
    finding(
      "parameter-privileges",
      "outward: parameter privileges",
      "fail",
      umami.map(describe),
      `${role} may set parameters only a superuser may (SET on lo_compat_privileges reads every large object), or write the server's configuration; the spec grants none. As a superuser (or the role that granted it): ${script(umami.map(revoke))}`,
      `${role} holds no privilege on a parameter beyond what every role may set.`,
    ),
    finding(
      "parameter-privileges",
      "inward: ALTER SYSTEM outside the administrators",
      "warn",
      others.map((r) => `${r.parameter} → ${r.grantee} (ALTER SYSTEM)`),
      `These roles write the server's configuration: at the next reload every session gets their value, the administrators' included (search_path, preloaded libraries, archive_command). Leave that privilege to the administrators: ${script(others.map((r) => revokeParameter(["ALTER SYSTEM"], r.parameter, r.role)))}`,
      "No role outside the administrators holds ALTER SYSTEM on a parameter.",
    ),
  ];
}
