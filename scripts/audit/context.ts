/**
 * What every check reads first: the Umami role and schema, and the administrators — an explicit set, never
 * "whoever owns something": the connecting user (the stage's admin), superusers, Aurora's `rds_superuser` and
 * its direct members, and the roles passed with `--admin-role`. A member of any of them is not one by that
 * fact: it is reported (escalation.ts) unless declared. The owner of
 * the database or of the Umami schema is *not* an administrator by that fact alone: what such a role holds
 * on Umami's objects is reported like anyone else's.
 */
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { DATABASES_SQL } from "./databases.js";
import type { AuditContext, CountedQuery, DatabaseRow } from "./types.js";

/** Aurora's administrator group: its members administer the cluster without being superusers. */
const AURORA_ADMIN_GROUP = "rds_superuser";

// $1 role, $2 schema, $3 administrator group, $4 extra administrator roles. A direct member of the group
// counts whether it inherits or not (it can always SET ROLE to it); a member of a member does not: that is a
// role someone made a member of an administrator, which the audit reports (admin-by-membership) unless it is
// declared with --admin-role.
const CONTEXT_SQL = `
  WITH r AS (SELECT * FROM pg_catalog.pg_roles WHERE rolname = $1),
       n AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $2),
       admins AS (
         SELECT a.oid, a.rolname FROM pg_catalog.pg_roles a
          WHERE a.rolname <> $1
            AND (a.rolsuper OR a.rolname = current_user OR a.rolname = ANY ($4::text[])
                 OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles g
                             WHERE g.rolname = $3 AND (g.oid = a.oid OR EXISTS (
                                     SELECT 1 FROM pg_catalog.pg_auth_members am WHERE am.roleid = g.oid AND am.member = a.oid))))
       )
  SELECT current_user AS admin_user, pg_catalog.current_database() AS database,
         (SELECT oid::text FROM r) AS role_oid,
         (SELECT pg_catalog.jsonb_build_object('superuser', rolsuper, 'createDb', rolcreatedb, 'createRole', rolcreaterole,
                 'replication', rolreplication, 'bypassRls', rolbypassrls, 'connectionLimit', rolconnlimit) FROM r) AS role,
         (SELECT oid::text FROM n) AS schema_oid,
         ARRAY(SELECT oid::text FROM admins UNION ALL SELECT oid::text FROM r) AS allowed_oids,
         ARRAY(SELECT rolname::text FROM admins ORDER BY 1) AS administrators,
         -- The other databases, read here so that connecting to them starts at once (databases.ts).
         (SELECT COALESCE(pg_catalog.jsonb_agg(d), '[]') FROM (${DATABASES_SQL.replace(/\$1::oid/g, "(SELECT oid FROM r)")}) d) AS other_databases
`;

/** Reads the role, the schema and the administrators in one query. */
export async function loadContext(
  spec: UmamiDatabaseSpec,
  query: CountedQuery,
  adminRoles: string[],
): Promise<AuditContext> {
  const [row] = await query<{
    admin_user: string;
    database: string;
    role_oid: string | null;
    role: AuditContext["role"];
    schema_oid: string | null;
    allowed_oids: string[];
    administrators: string[];
    other_databases: DatabaseRow[];
  }>(CONTEXT_SQL, [spec.role.name, spec.schema, AURORA_ADMIN_GROUP, adminRoles]);
  return {
    spec,
    query,
    database: row.database,
    adminUser: row.admin_user,
    roleOid: row.role_oid,
    role: row.role,
    schemaOid: row.schema_oid,
    allowedOids: row.allowed_oids,
    administrators: row.administrators,
    // Without the role there is nothing to look for elsewhere.
    otherDatabases: row.role_oid ? row.other_databases : [],
  };
}
