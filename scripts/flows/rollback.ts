/**
 * Removes one stage from the database in the order measured to work (DESIGN.md facts 2 and 7), touching only
 * what the stage created: its schema (with a pgcrypto created there), whatever its role owns or was granted,
 * and the role. A pgcrypto the database already had lives in another schema and is never touched; another
 * stage's names differ, so its objects are never named. Afterwards the catalog is read again: what remains
 * is reported as a leftover, not hidden.
 *
 * All or nothing: before anything is dropped, every database where the role has a trace is checked for what
 * the rollback would do to the application (`rollback-blockers.ts`); one blocker and nothing changes. The
 * stage's database is changed in one transaction that ends with `DROP ROLE`, so a failure there leaves the
 * schema and the role as they were.
 */
import { buildRollbackSql } from "../../sst/database/sql.js";
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { quoteIdent } from "../../sst/database/quote.js";
import { connect, withClient, type Client, type ConnectionSettings } from "../kernel/db.js";
import { onInterrupt } from "../kernel/interrupt.js";
import { UserError } from "../kernel/errors.js";
import { findRollbackBlockers, type RollbackBlocker } from "./rollback-blockers.js";

/** What a rollback did and what (if anything) is still there. */
export interface RollbackResult {
  stage: string;
  database: string;
  /** Objects removed, in order ("schema umami (10 tables)", "role umami_user", …). */
  removed: string[];
  /** Objects deliberately left alone ("pgcrypto in schema public (the database had it before)"). */
  kept: string[];
  /** Traces of the stage still present after the run; empty on success. */
  leftovers: string[];
  /** True when the stage had nothing in the database (a second rollback). */
  nothingToDo: boolean;
  /** Why the rollback refused to start; when not empty, nothing was changed. */
  blockers: RollbackBlocker[];
}

/** How long the rollback waits for a lock on the stage's tables (Umami still running) before giving up. */
export const ROLLBACK_LOCK_TIMEOUT_MS = 5_000;

/** A protected stage was asked to roll back without `--force`. */
export class ProtectedStageError extends UserError {
  override name = "ProtectedStageError";
  constructor(readonly stage: string) {
    super(`Stage ${stage} is protected (production-like): rollback would delete its analytics data. Pass --force if you mean it.`);
  }
}

interface State {
  roleOid: string | null;
  schemaOid: string | null;
  tables: number;
  pgcryptoSchema: string | null;
  defaultAcls: number;
}

async function readState(client: Client, spec: UmamiDatabaseSpec, oids?: { role: string | null; schema: string | null }): Promise<State> {
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
  return { roleOid: row.role_oid, schemaOid: row.schema_oid, tables: row.tables, pgcryptoSchema: row.pgcrypto_schema, defaultAcls: row.default_acls };
}

/** Other databases where the role owns objects or holds privileges (pg_shdepend; 0 = shared objects). */
async function otherDatabases(client: Client, role: string): Promise<string[]> {
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

/** Options for `rollbackStage`. */
export interface RollbackOptions {
  /** Roll back a protected stage. @default false */
  force?: boolean;
}


/** Locks the schema's tables, so nothing new can come to depend on them between the check and the drop. */
async function lockSchemaTables(client: Client, schema: string): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    "SELECT relname AS name FROM pg_catalog.pg_class WHERE relnamespace = $1::regnamespace AND relkind IN ('r', 'p') ORDER BY relname",
    [quoteIdent(schema)],
  );
  if (rows.length === 0) return;
  const tables = rows.map((r) => `${quoteIdent(schema)}.${quoteIdent(r.name)}`).join(", ");
  await client.query(`LOCK TABLE ${tables} IN ACCESS EXCLUSIVE MODE`);
}

async function isMember(client: Client, role: string, admin: string): Promise<boolean> {
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

/** A rollback that failed part-way, undone where it could be; `committed` lists what stayed done. */
function rollbackFailed(spec: UmamiDatabaseSpec, error: unknown, committed: string[]): UserError {
  const pgError = error as { code?: string; message?: string };
  const cause = pgError.code === "55P03"
    ? `the stage's tables stayed locked for ${ROLLBACK_LOCK_TIMEOUT_MS / 1000} s (Umami, or another session, is still using them). Stop Umami (scale its service to 0) and run rollback again`
    : (pgError.message ?? String(error));
  const done = committed.length > 0 ? ` Already done and kept: ${committed.join("; ")}.` : "";
  return new UserError(
    `Rollback of stage ${spec.stage} stopped and was undone in database ${spec.database} (schema ${spec.schema} and role ${spec.role.name} are as they were): ${cause}.${done}`,
    { cause: error },
  );
}

/**
 * Rolls back `spec` on the database `admin` reaches (as the administrator). Idempotent: a second run finds
 * nothing and returns `nothingToDo`. Throws `ProtectedStageError` before changing anything; when the rollback
 * would touch the application it returns the `blockers` and changes nothing.
 */
export async function rollbackStage(admin: ConnectionSettings, spec: UmamiDatabaseSpec, options: RollbackOptions = {}): Promise<RollbackResult> {
  if (spec.protect && !options.force) throw new ProtectedStageError(spec.stage);
  const settings = { ...admin, database: spec.database };
  const result: RollbackResult = { stage: spec.stage, database: spec.database, removed: [], kept: [], leftovers: [], nothingToDo: false, blockers: [] };
  const [grant, dropSchema, dropOwned, dropRole] = buildRollbackSql(spec, { admin: admin.user });
  const role = spec.role.name;
  const target = { role, schema: spec.schema, admin: admin.user, database: spec.database };
  const main = await connect(settings);
  const others: { database: string; client: Client }[] = [];
  const committed: string[] = [];
  let addedMembership = false;
  let dropRevoke = () => undefined as void;
  let state: State;
  try {
    state = await readState(main, spec);
    const databases = state.roleOid ? await otherDatabases(main, role) : [];
    // DROP OWNED BY in another database needs the administrator's membership committed (DESIGN.md fact 7).
    if (databases.length > 0 && !(await isMember(main, role, admin.user))) {
      await main.query(grant);
      addedMembership = true;
      // Interrupted, the open transaction rolls back with the connection, but this grant was committed.
      dropRevoke = onInterrupt(`revoked ${admin.user}'s temporary membership in ${role}`, async () => {
        await main.query("ROLLBACK").catch(() => undefined);
        await main.query(`REVOKE ${quoteIdent(role)} FROM ${quoteIdent(admin.user)}`);
      });
    }
    await main.query("BEGIN");
    await main.query(`SET LOCAL lock_timeout = ${ROLLBACK_LOCK_TIMEOUT_MS}`);
    if (state.roleOid) await main.query(grant);
    if (state.schemaOid) await lockSchemaTables(main, spec.schema);
    if (state.roleOid || state.schemaOid) result.blockers.push(...(await findRollbackBlockers(main, target)));
    for (const database of databases) {
      let client: Client;
      try {
        client = await connect({ ...admin, database });
      } catch (error) {
        result.blockers.push({
          database,
          object: `database ${database}`,
          reason: `${role} owns objects or holds privileges there, and ${admin.user} cannot connect to remove them (${(error as Error).message})`,
          remedy: `GRANT CONNECT ON DATABASE ${quoteIdent(database)} TO ${quoteIdent(admin.user)}`,
        });
        continue;
      }
      others.push({ database, client });
      await client.query("BEGIN");
      await client.query(`SET LOCAL lock_timeout = ${ROLLBACK_LOCK_TIMEOUT_MS}`);
      result.blockers.push(...(await findRollbackBlockers(client, { ...target, database })));
    }
    if (result.blockers.length > 0) {
      await main.query("ROLLBACK");
      return result;
    }
    if (state.schemaOid) await main.query(dropSchema);
    for (const other of others) await other.client.query(dropOwned);
    // DROP OWNED BY revokes grants on shared objects (databases) too, in whichever database runs first, and
    // DROP ROLE reads pg_shdepend, a shared catalog: the other databases commit before this one continues.
    while (others.length > 0) {
      const other = others.shift()!;
      await other.client.query("COMMIT");
      await other.client.end();
      committed.push(`objects and privileges of ${role} in database ${other.database}`);
    }
    result.removed.push(...committed);
    if (state.roleOid) await main.query(dropOwned);
    if (state.roleOid) await main.query(dropRole);
    await main.query("COMMIT");
    addedMembership = false; // went with the role
  } catch (error) {
    await main.query("ROLLBACK").catch(() => undefined);
    throw rollbackFailed(spec, error, committed);
  } finally {
    for (const other of others) {
      await other.client.query("ROLLBACK").catch(() => undefined);
      await other.client.end().catch(() => undefined);
    }
    if (addedMembership) await main.query(`REVOKE ${quoteIdent(role)} FROM ${quoteIdent(admin.user)}`).catch(() => undefined);
    dropRevoke();
    await main.end().catch(() => undefined);
  }
  result.nothingToDo = !state.roleOid && !state.schemaOid && state.defaultAcls === 0;
  if (state.schemaOid) {
    const pgcrypto = state.pgcryptoSchema === spec.schema ? ", pgcrypto" : "";
    result.removed.unshift(`schema ${spec.schema} (${state.tables} tables${pgcrypto})`);
  }
  if (state.pgcryptoSchema && state.pgcryptoSchema !== spec.schema) {
    result.kept.push(`pgcrypto in schema ${state.pgcryptoSchema} (not created by this stage)`);
  }
  if (state.roleOid) result.removed.push(`role ${role}`);
  if (state.defaultAcls > 0) result.removed.push(`default privileges (${state.defaultAcls} entries)`);
  const after = await withClient(settings, (client) => readState(client, spec, { role: state.roleOid, schema: state.schemaOid }));
  if (after.roleOid) result.leftovers.push(`role ${role}`);
  if (after.schemaOid) result.leftovers.push(`schema ${spec.schema}`);
  if (after.defaultAcls > 0) result.leftovers.push(`${after.defaultAcls} pg_default_acl entries for ${role}/${spec.schema}`);
  return result;
}
