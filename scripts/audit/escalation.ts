/**
 * Inward paths that no ACL shows: roles outside the administrators that hold a predefined role bypassing
 * ACLs (pg_read_all_data reads every table, Umami's included), roles with CREATEROLE — which in
 * PostgreSQL 15 may grant themselves any non-superuser role, umami_user included, and change its password —
 * and members of an administrator, who can `SET ROLE` to it and then do what it does (threat model class
 * admin-by-membership). One query over pg_roles and pg_auth_members.
 */
import { finding, type AuditContext, type Finding } from "./types.js";

/**
 * Predefined roles that reach table data whatever the ACLs say (PostgreSQL 15 docs, "Predefined Roles"):
 * read or write every table, or read and write the server's files (the data directory included).
 */
export const DATA_BYPASSING_ROLES = [
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
const ESCALATION_SQL = `
  SELECT 'predefined' AS kind, p.rolname AS target, m.rolname AS grantee,
         ARRAY(SELECT u.rolname::text FROM pg_catalog.pg_roles u
                WHERE u.oid <> m.oid AND u.rolcanlogin AND u.oid <> ALL ($1::oid[])
                  AND pg_catalog.pg_has_role(u.oid, m.oid, 'MEMBER') ORDER BY 1) AS through
    FROM pg_catalog.pg_auth_members am
    JOIN pg_catalog.pg_roles p ON p.oid = am.roleid
    JOIN pg_catalog.pg_roles m ON m.oid = am.member
   WHERE p.rolname = ANY ($2::text[]) AND m.oid <> ALL ($1::oid[])
  UNION ALL
  SELECT 'admin-member', pg_catalog.quote_ident(a.rolname), pg_catalog.quote_ident(m.rolname),
         ARRAY(SELECT u.rolname::text FROM pg_catalog.pg_roles u
                WHERE u.oid <> m.oid AND u.rolcanlogin AND u.oid <> ALL ($1::oid[])
                  AND pg_catalog.pg_has_role(u.oid, m.oid, 'MEMBER') ORDER BY 1)
    FROM pg_catalog.pg_auth_members am
    JOIN pg_catalog.pg_roles a ON a.oid = am.roleid
    JOIN pg_catalog.pg_roles m ON m.oid = am.member
   WHERE a.oid = ANY ($1::oid[]) AND a.oid IS DISTINCT FROM $3::oid AND m.oid <> ALL ($1::oid[])
  UNION ALL
  SELECT 'createrole', NULL, r.rolname, NULL
    FROM pg_catalog.pg_roles r
   WHERE r.rolcreaterole AND r.oid <> ALL ($1::oid[])
   ORDER BY 1, 2, 3
`;

/** Predefined roles and CREATEROLE held outside the administrators (the Umami role's own are outward checks). */
export async function auditEscalation(ctx: AuditContext): Promise<Finding[]> {
  const role = ctx.spec.role.name;
  // The Umami role's own memberships and attributes are reported by the outward checks.
  const rows = (
    await ctx.query<{ kind: string; target: string | null; grantee: string; through: string[] | null }>(ESCALATION_SQL, [
      ctx.allowedOids,
      DATA_BYPASSING_ROLES,
      ctx.roleOid,
    ])
  ).filter((r) => r.grantee !== role);
  const predefined = rows.filter((r) => r.kind === "predefined");
  const createRole = rows.filter((r) => r.kind === "createrole");
  const adminMembers = rows.filter((r) => r.kind === "admin-member");
  const admins = ctx.administrators.join(", ");
  return [
    finding(
      "privileged-roles",
      "inward: predefined roles that bypass privileges",
      "fail",
      predefined.map((r) => `${r.target} → ${r.grantee}${r.through?.length ? ` (and through it: ${r.through.join(", ")})` : ""}`),
      `These roles read or write every table, ${ctx.spec.schema}'s included, whatever its grants say: ${predefined
        .map((r) => `REVOKE ${r.target} FROM ${r.grantee};`)
        .join(" ")} (or pass the role with --admin-role if it is an administrator).`,
      `No role outside the administrators (${admins}) holds ${DATA_BYPASSING_ROLES.join(", ")}.`,
    ),
    finding(
      "privileged-roles",
      "inward: CREATEROLE outside the administrators",
      "fail",
      createRole.map((r) => `${r.grantee} CREATEROLE`),
      `In PostgreSQL 15 a CREATEROLE role can grant itself ${role} (or pg_read_all_data) and change ${role}'s password: ${createRole
        .map((r) => `ALTER ROLE ${r.grantee} NOCREATEROLE;`)
        .join(" ")} (or pass it with --admin-role if it is an administrator).`,
      `No role outside the administrators (${admins}) has CREATEROLE.`,
    ),
    finding(
      "admin-by-membership",
      "inward: members of the administrators",
      "fail",
      adminMembers.map((r) => `${r.grantee} member of ${r.target}${r.through?.length ? ` (and through it: ${r.through.join(", ")})` : ""}`),
      `A member of an administrator can SET ROLE to it and do what it does: grant itself ${role}, then read and change Umami's data. Declare each as an administrator (--admin-role) if it is one; otherwise: ${adminMembers
        .map((r) => `REVOKE ${r.target} FROM ${r.grantee};`)
        .join(" ")}`,
      `No role outside the administrators (${admins}) is a member of one of them.`,
    ),
  ];
}
