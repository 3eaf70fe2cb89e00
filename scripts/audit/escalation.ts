/**
 * Inward paths that no ACL shows: roles outside the administrators that hold a predefined role bypassing
 * ACLs (pg_read_all_data reads every table, Umami's included), roles with CREATEROLE — which in
 * PostgreSQL 15 may grant themselves any non-superuser role, umami_user included, and change its password —
 * and members of an administrator, who can `SET ROLE` to it and then do what it does (threat model class
 * admin-by-membership). A group that cannot log in is used only through its login members or the SECURITY
 * DEFINER functions it owns: with neither outside the administrators it is named with a warning, not failed.
 * One query over pg_roles and pg_auth_members.
 */
import { alterRole, revokeRole, script } from "../../sst/database/statements.js";
import { finding, type AuditContext, type Finding } from "./types.js";

/**
 * Predefined roles that reach table data whatever the ACLs say (PostgreSQL 15 docs, "Predefined Roles"):
 * read or write every table, or read and write the server's files (the data directory included).
 */
const DATA_BYPASSING_ROLES = [
  "pg_read_all_data",
  "pg_write_all_data",
  "pg_read_server_files",
  "pg_write_server_files",
  "pg_execute_server_program",
] as const;

// $1 allowed role oids, $2 the predefined roles, $3 the Umami role's oid. Every direct grant of a predefined
// role, or of an administrator, to a role that is not allowed (the edge a REVOKE removes), with the login roles
// that reach it through that grantee; and every CREATEROLE holder that is not allowed. A member of an
// administrator can SET ROLE to it whether or not it inherits (members of the Umami role are inward's).
// \`reachable\`: the grantee can log in, a login role outside the administrators is its member, or it owns a
// SECURITY DEFINER function (whoever may execute it acts as the owner). A NOLOGIN group none of these reach
// (granted to administrators only, or to nobody yet) is no path today: named, not failed.
const REACHABLE = (role: string, through: string) => `(${role}.rolcanlogin OR pg_catalog.cardinality(${through}) > 0
         OR EXISTS (SELECT 1 FROM pg_catalog.pg_proc f WHERE f.proowner = ${role}.oid AND f.prosecdef))`;
const THROUGH = (role: string) => `ARRAY(SELECT pg_catalog.quote_ident(u.rolname) FROM pg_catalog.pg_roles u
                WHERE u.oid <> ${role}.oid AND u.rolcanlogin AND u.oid <> ALL ($1::oid[])
                  AND pg_catalog.pg_has_role(u.oid, ${role}.oid, 'MEMBER') ORDER BY 1)`;
const ESCALATION_SQL = `
  SELECT x.kind, x.target, x.grantee, x.target_name, x.grantee_name, x.through, ${REACHABLE("x", "x.through")} AS reachable FROM (
  SELECT 'predefined' AS kind, p.rolname AS target, pg_catalog.quote_ident(m.rolname) AS grantee, p.rolname::text AS target_name, m.rolname::text AS grantee_name,
         m.oid, m.rolcanlogin, ${THROUGH("m")} AS through
    FROM pg_catalog.pg_auth_members am
    JOIN pg_catalog.pg_roles p ON p.oid = am.roleid
    JOIN pg_catalog.pg_roles m ON m.oid = am.member
   WHERE p.rolname = ANY ($2::text[]) AND m.oid <> ALL ($1::oid[])
  UNION ALL
  SELECT 'admin-member', pg_catalog.quote_ident(a.rolname), pg_catalog.quote_ident(m.rolname), a.rolname::text, m.rolname::text, m.oid, m.rolcanlogin, ${THROUGH("m")}
    FROM pg_catalog.pg_auth_members am
    JOIN pg_catalog.pg_roles a ON a.oid = am.roleid
    JOIN pg_catalog.pg_roles m ON m.oid = am.member
   WHERE a.oid = ANY ($1::oid[]) AND a.oid IS DISTINCT FROM $3::oid AND m.oid <> ALL ($1::oid[])
  UNION ALL
  SELECT 'createrole', NULL, pg_catalog.quote_ident(r.rolname), NULL, r.rolname::text, r.oid, r.rolcanlogin, ${THROUGH("r")}
    FROM pg_catalog.pg_roles r
   WHERE r.rolcreaterole AND r.oid <> ALL ($1::oid[])
  ) x
   ORDER BY 1, 2, 3
`;

interface EscalationRow {
  kind: string;
  target: string | null;
  grantee: string;
  /** The same two as stored (remedies are built from these). */
  target_name: string | null;
  grantee_name: string;
  /** Login roles outside the administrators that are members of the grantee. */
  through: string[];
  reachable: boolean;
}

const DORMANT =
  " — NOLOGIN, no member outside the administrators, no SECURITY DEFINER function: no path until one is granted it";

/** Fails when a listed role is reachable; a NOLOGIN group nobody outside the administrators reaches only warns. */
function grantFinding(
  cls: "privileged-roles" | "admin-by-membership",
  check: string,
  rows: EscalationRow[],
  describe: (r: EscalationRow) => string,
  remedy: string,
  pass: string,
): Finding {
  return finding(
    cls,
    check,
    rows.some((r) => r.reachable) ? "fail" : "warn",
    rows.map(
      (r) =>
        `${describe(r)}${r.through.length ? ` (and through it: ${r.through.join(", ")})` : ""}${r.reachable ? "" : DORMANT}`,
    ),
    rows.some((r) => r.reachable)
      ? remedy
      : `No role outside the administrators can use these today; the first GRANT of one to such a role opens the path. To take it away: ${remedy}`,
    pass,
  );
}

/** Predefined roles and CREATEROLE held outside the administrators (the Umami role's own are outward checks). */
export async function auditEscalation(ctx: AuditContext): Promise<Finding[]> {
  const role = ctx.spec.role.name;
  // The Umami role's own memberships and attributes are reported by the outward checks.
  const rows = (
    await ctx.query<EscalationRow>(ESCALATION_SQL, [ctx.allowedOids, DATA_BYPASSING_ROLES, ctx.roleOid])
  ).filter((r) => r.grantee_name !== role);
  const predefined = rows.filter((r) => r.kind === "predefined");
  const createRole = rows.filter((r) => r.kind === "createrole");
  const adminMembers = rows.filter((r) => r.kind === "admin-member");
  const admins = ctx.administrators.join(", ");
  return [
    grantFinding(
      "privileged-roles",
      "inward: predefined roles that bypass privileges",
      predefined,
      (r) => `${r.target} → ${r.grantee}`,
      `These roles read or write every table, ${ctx.spec.schema}'s included, whatever its grants say: ${script(predefined.map((r) => revokeRole(r.target_name!, r.grantee_name)))} (or pass the role with --admin-role if it is an administrator).`,
      `No role outside the administrators (${admins}) holds ${DATA_BYPASSING_ROLES.join(", ")}.`,
    ),
    grantFinding(
      "privileged-roles",
      "inward: CREATEROLE outside the administrators",
      createRole,
      (r) => `${r.grantee} CREATEROLE`,
      `In PostgreSQL 15 a CREATEROLE role can grant itself ${role} (or pg_read_all_data) and change ${role}'s password: ${script(createRole.map((r) => alterRole(r.grantee_name, { attributes: ["NOCREATEROLE"] })))} (or pass it with --admin-role if it is an administrator).`,
      `No role outside the administrators (${admins}) has CREATEROLE.`,
    ),
    grantFinding(
      "admin-by-membership",
      "inward: members of the administrators",
      adminMembers,
      (r) => `${r.grantee} member of ${r.target}`,
      `A member of an administrator can SET ROLE to it and do what it does: grant itself ${role}, then read and change Umami's data. Declare each as an administrator (--admin-role) if it is one; otherwise: ${script(adminMembers.map((r) => revokeRole(r.target_name!, r.grantee_name)))}`,
      `No role outside the administrators (${admins}) is a member of one of them.`,
    ),
  ];
}
