/**
 * A stage's traces in one database, read from the catalogs before and after a rollback: its role, its schema
 * (and how many tables), where pgcrypto lives, its default privileges; the other databases where the role
 * still owns objects or holds privileges; and the locks and membership the rollback needs first.
 */
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { quoteIdent } from "../../sst/database/quote.js";
import type { Client } from "../kernel/db.js";

/** What the stage has in the database a client is connected to. */
export interface State {
  roleOid: string | null;
  schemaOid: string | null;
  tables: number;
  pgcryptoSchema: string | null;
  defaultAcls: number;
}

/** Reads the stage's traces; `oids` (from a first read) also finds default privileges a dropped role or schema left. */
export async function readState(
  client: Client,
  spec: UmamiDatabaseSpec,
  oids?: { role: string | null; schema: string | null },
): Promise<State> {
  const { rows } = await client.query<{
    role_oid: string | null;
    schema_oid: string | null;
    tables: number;
    pgcrypto_schema: string | null;
    default_acls: number;
  }>(
    `
    WITH r AS (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1),
         s AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $2)
    SELECT
      (SELECT oid::text FROM r) AS role_oid,
      (SELECT oid::text FROM s) AS schema_oid,
      (SELECT count(*)::int FROM pg_catalog.pg_class c WHERE c.relnamespace IN (SELECT oid FROM s) AND c.relkind IN ('r', 'p')) AS tables,
      (SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = $3) AS pgcrypto_schema,
      (SELECT count(*)::int FROM pg_catalog.pg_default_acl d
        WHERE d.defaclnamespace IN (SELECT oid FROM s UNION SELECT $4::oid)
           OR d.defaclrole IN (SELECT oid FROM r UNION SELECT $5::oid)
           OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(d.defaclacl) a WHERE a.grantee IN (SELECT oid FROM r UNION SELECT $5::oid))) AS default_acls
    `,
    [spec.role.name, spec.schema, spec.extension.name, oids?.schema ?? "0", oids?.role ?? "0"],
  );
  const row = rows[0];
  return {
    roleOid: row.role_oid,
    schemaOid: row.schema_oid,
    tables: row.tables,
    pgcryptoSchema: row.pgcrypto_schema,
    defaultAcls: row.default_acls,
  };
}

/** Other databases where the role owns objects or holds privileges (pg_shdepend; 0 = shared objects). */
export async function otherDatabases(client: Client, role: string): Promise<string[]> {
  const { rows } = await client.query<{ datname: string }>(
    `
    SELECT DISTINCT d.datname
    FROM pg_catalog.pg_shdepend s
    JOIN pg_catalog.pg_database d ON d.oid = s.dbid
    WHERE s.refclassid = 'pg_catalog.pg_authid'::regclass AND s.refobjid = $1::regrole AND d.datname <> pg_catalog.current_database()
    ORDER BY 1
    `,
    // regrole parses its input as an SQL identifier: quoted, so a mixed-case role is found as written.
    [quoteIdent(role)],
  );
  return rows.map((r) => r.datname);
}

/** Locks the schema's tables, so nothing new can come to depend on them between the check and the drop. */
export async function lockSchemaTables(client: Client, schema: string): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    "SELECT relname AS name FROM pg_catalog.pg_class WHERE relnamespace = $1::regnamespace AND relkind IN ('r', 'p') ORDER BY relname",
    [quoteIdent(schema)],
  );
  if (rows.length === 0) return;
  const tables = rows.map((r) => `${quoteIdent(schema)}.${quoteIdent(r.name)}`).join(", ");
  await client.query(`LOCK TABLE ${tables} IN ACCESS EXCLUSIVE MODE`);
}

/** Whether `admin` is already a member of `role` (DROP OWNED BY needs it). */
export async function isMember(client: Client, role: string, admin: string): Promise<boolean> {
  const { rows } = await client.query<{ member: boolean }>(
    `
    SELECT EXISTS (
      SELECT 1 FROM pg_catalog.pg_auth_members m
      WHERE m.roleid = $1::regrole AND m.member = $2::regrole
    ) AS member
    `,
    [quoteIdent(role), quoteIdent(admin)],
  );
  return rows[0].member;
}

/** Takes back the membership the rollback granted `admin` for DROP OWNED BY, when the role outlived the run. */
export async function revokeMembership(client: Client, role: string, admin: string): Promise<void> {
  await client.query(`REVOKE ${quoteIdent(role)} FROM ${quoteIdent(admin)}`);
}
