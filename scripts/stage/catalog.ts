/**
 * A stage in a database's catalogs, read as the administrator before anything changes: which of its objects
 * exist (provisioning, post-deploy), the shape its role and schema have (preflight's conflicts, `local
 * --admin-url`), what a GRANT on its schema can reach (provisioning), and what the server and the
 * administrator offer it (preflight). Reads only; the flows judge what they find.
 */
import type { GrantableObjects } from "../../sst/database/sql.js";
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import type { Client } from "../kernel/db.js";

/** Which of the stage's objects already exist, and where pgcrypto is. */
interface StageObjects {
  role: boolean;
  schema: boolean;
  pgcrypto_schema: string | null;
}

/** Reads which of the stage's objects already exist, and where pgcrypto is. */
export async function readStageObjects(admin: Client, spec: UmamiDatabaseSpec): Promise<StageObjects> {
  const { rows } = await admin.query<StageObjects>(
    `
    SELECT
      EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1) AS role,
      EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $2) AS schema,
      (SELECT n.nspname FROM pg_catalog.pg_extension e
         JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = $3) AS pgcrypto_schema
    `,
    [spec.role.name, spec.schema, spec.extension.name],
  );
  return rows[0];
}

/**
 * In an existing schema, the tables and sequences the role does not own: the only ones a GRANT can add to
 * (umami_user owns what its migrations created, and the administrator may not GRANT on those).
 */
export async function readGrantableObjects(admin: Client, spec: UmamiDatabaseSpec): Promise<GrantableObjects> {
  const { rows } = await admin.query<{ name: string; sequence: boolean }>(
    `
    SELECT c.relname AS name, c.relkind = 'S' AS sequence
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1
       AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
       AND c.relowner <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $2)
     ORDER BY c.relname
    `,
    [spec.schema, spec.role.name],
  );
  return {
    tables: rows.filter((r) => !r.sequence).map((r) => r.name),
    sequences: rows.filter((r) => r.sequence).map((r) => r.name),
  };
}

/** The server and the administrator, as preflight judges them: version, TLS, rights, connections, pgcrypto. */
export interface ServerFacts {
  admin: string;
  version_num: number;
  version: string;
  ssl: boolean | null;
  tls_version: string | null;
  rolsuper: boolean;
  rolcreaterole: boolean;
  db_create: boolean;
  /** Whether the administrator can grant CONNECT on the database (owner, or WITH GRANT OPTION). */
  db_grant_connect: boolean;
  db_owner: string;
  rds_superuser_exists: boolean;
  rds_superuser_member: boolean | null;
  max_connections: number;
  reserved: number;
  /** Aurora/RDS (PostgreSQL ≤ 15) keeps these slots for rds_superuser on top of PostgreSQL's own; 0 elsewhere. */
  rds_reserved: number;
  in_use: number;
  pgcrypto_schema: string | null;
  pgcrypto_available: boolean;
  public_create_schemas: string[];
}

const SERVER_SQL = `
  SELECT
    current_user AS admin,
    pg_catalog.current_setting('server_version_num')::int AS version_num,
    pg_catalog.current_setting('server_version') AS version,
    (SELECT s.ssl FROM pg_catalog.pg_stat_ssl s WHERE s.pid = pg_catalog.pg_backend_pid()) AS ssl,
    (SELECT s.version FROM pg_catalog.pg_stat_ssl s WHERE s.pid = pg_catalog.pg_backend_pid()) AS tls_version,
    r.rolsuper, r.rolcreaterole,
    pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE') AS db_create,
    pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CONNECT WITH GRANT OPTION') AS db_grant_connect,
    (SELECT pg_catalog.pg_get_userbyid(d.datdba) FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()) AS db_owner,
    EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'rds_superuser') AS rds_superuser_exists,
    (SELECT pg_catalog.pg_has_role(current_user, oid, 'MEMBER') FROM pg_catalog.pg_roles WHERE rolname = 'rds_superuser') AS rds_superuser_member,
    pg_catalog.current_setting('max_connections')::int AS max_connections,
    pg_catalog.current_setting('superuser_reserved_connections')::int AS reserved,
    COALESCE(NULLIF(pg_catalog.current_setting('rds.rds_superuser_reserved_connections', true), '')::int, 0) AS rds_reserved,
    (SELECT count(*)::int FROM pg_catalog.pg_stat_activity WHERE backend_type = 'client backend') AS in_use,
    (SELECT e.extnamespace::regnamespace::text FROM pg_catalog.pg_extension e WHERE e.extname = $1) AS pgcrypto_schema,
    EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = $1) AS pgcrypto_available,
    ARRAY(
      SELECT n.nspname::text FROM pg_catalog.pg_namespace n,
             pg_catalog.aclexplode(coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) a
       WHERE a.grantee = 0 AND a.privilege_type = 'CREATE' AND n.nspname <> $2
       ORDER BY 1
    ) AS public_create_schemas
  FROM pg_catalog.pg_roles r
  WHERE r.rolname = current_user
`;

/** The stage's role and schema as they stand, if they do: whether they have the shape provisioning gives them. */
export interface StageShape {
  role_exists: boolean;
  role_privileged: boolean;
  role_search_path_ours: boolean;
  role_comment: string | null;
  role_objects_outside: number;
  role_other_databases: number;
  schema_exists: boolean;
  schema_owner: string | null;
  schema_comment: string | null;
  foreign_objects: number;
}

const CONFLICT_SQL = `
  SELECT
    r.oid IS NOT NULL AS role_exists,
    coalesce(r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls, false) AS role_privileged,
    -- PostgreSQL stores the setting as written by ALTER ROLE … SET: quoted when the name needs it.
    coalesce(('search_path=' || pg_catalog.quote_ident($2)) = ANY (r.rolconfig), false) AS role_search_path_ours,
    pg_catalog.shobj_description(r.oid, 'pg_authid') AS role_comment,
    -- The TOAST tables (and their indexes) of Umami's tables live in pg_toast: they are inside, in effect.
    (SELECT count(*)::int FROM pg_catalog.pg_class c
      WHERE c.relowner = r.oid AND c.relnamespace IS DISTINCT FROM n.oid
        AND c.relnamespace <> 'pg_toast'::regnamespace) AS role_objects_outside,
    (SELECT count(DISTINCT s.dbid)::int FROM pg_catalog.pg_shdepend s
      WHERE s.refclassid = 'pg_catalog.pg_authid'::regclass AND s.refobjid = r.oid
        AND s.dbid NOT IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()))) AS role_other_databases,
    n.oid IS NOT NULL AS schema_exists,
    pg_catalog.pg_get_userbyid(n.nspowner) AS schema_owner,
    pg_catalog.obj_description(n.oid, 'pg_namespace') AS schema_comment,
    (SELECT count(*)::int FROM pg_catalog.pg_class c
      WHERE c.relnamespace = n.oid AND c.relowner <> ALL (ARRAY[coalesce(r.oid, 0), n.nspowner])) AS foreign_objects
  FROM (SELECT 1) AS one
  LEFT JOIN pg_catalog.pg_roles r ON r.rolname = $1
  LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = $2
`;

/** Reads the server's and the administrator's facts for `spec`. */
export async function readServerFacts(client: Client, spec: UmamiDatabaseSpec): Promise<ServerFacts> {
  return (await client.query<ServerFacts>(SERVER_SQL, [spec.extension.name, spec.schema])).rows[0];
}

/** Reads the shape of the stage's role and schema (both may be missing). */
export async function readStageShape(client: Client, spec: UmamiDatabaseSpec): Promise<StageShape> {
  return (await client.query<StageShape>(CONFLICT_SQL, [spec.role.name, spec.schema])).rows[0];
}
