/**
 * Removes one stage from the database in the order measured to work (DESIGN.md facts 2 and 7), touching only
 * what the stage created: its schema (with a pgcrypto created there), whatever its role owns or was granted,
 * and the role. A pgcrypto the database already had lives in another schema and is never touched; another
 * stage's names differ, so its objects are never named. Afterwards the catalog is read again: what remains
 * is reported as a leftover, not hidden.
 */
import { buildRollbackSql } from "../../sst/database/sql.js";
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { escapeIdentifier, withClient, withTransaction, type Client, type ConnectionSettings } from "../kernel/db.js";
import { UserError } from "../kernel/errors.js";

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
}

/** A protected stage was asked to roll back without `--force`. */
export class ProtectedStageError extends UserError {
  override name = "ProtectedStageError";
  constructor(readonly stage: string) {
    super(`Stage ${stage} is protected (production-like): rollback would delete its analytics data. Pass --force if you mean it.`);
  }
}

/** Objects outside the schema that depend on objects inside it: DROP SCHEMA … CASCADE would drop them too. */
export class DependentObjectsError extends UserError {
  override name = "DependentObjectsError";
  constructor(
    readonly schema: string,
    readonly dependents: string[],
  ) {
    super(
      `Rollback stopped: ${dependents.join(", ")} outside schema ${schema} depend on it and DROP SCHEMA … CASCADE would drop them. ` +
        "Remove those dependencies first (they belong to the application), then run rollback again.",
    );
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

/** Objects outside the schema whose removal CASCADE would cause (views, foreign keys, defaults, functions…). */
async function dependentsOutside(client: Client, schema: string): Promise<string[]> {
  const { rows } = await client.query<{ dependent: string }>(
    `
    WITH inside AS (
      SELECT 'pg_catalog.pg_class'::regclass AS classid, c.oid FROM pg_catalog.pg_class c WHERE c.relnamespace = $1::regnamespace
      UNION ALL SELECT 'pg_catalog.pg_proc'::regclass, p.oid FROM pg_catalog.pg_proc p WHERE p.pronamespace = $1::regnamespace
      UNION ALL SELECT 'pg_catalog.pg_type'::regclass, t.oid FROM pg_catalog.pg_type t WHERE t.typnamespace = $1::regnamespace
    ),
    dependents AS (
      SELECT d.classid, d.objid,
        CASE d.classid
          WHEN 'pg_catalog.pg_class'::regclass THEN (SELECT relnamespace FROM pg_catalog.pg_class WHERE oid = d.objid)
          WHEN 'pg_catalog.pg_rewrite'::regclass THEN (SELECT c.relnamespace FROM pg_catalog.pg_rewrite w JOIN pg_catalog.pg_class c ON c.oid = w.ev_class WHERE w.oid = d.objid)
          WHEN 'pg_catalog.pg_constraint'::regclass THEN (SELECT connamespace FROM pg_catalog.pg_constraint WHERE oid = d.objid)
          WHEN 'pg_catalog.pg_attrdef'::regclass THEN (SELECT c.relnamespace FROM pg_catalog.pg_attrdef a JOIN pg_catalog.pg_class c ON c.oid = a.adrelid WHERE a.oid = d.objid)
          WHEN 'pg_catalog.pg_trigger'::regclass THEN (SELECT c.relnamespace FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid WHERE g.oid = d.objid)
          WHEN 'pg_catalog.pg_proc'::regclass THEN (SELECT pronamespace FROM pg_catalog.pg_proc WHERE oid = d.objid)
          WHEN 'pg_catalog.pg_type'::regclass THEN (SELECT typnamespace FROM pg_catalog.pg_type WHERE oid = d.objid)
        END AS namespace
      FROM pg_catalog.pg_depend d
      JOIN inside i ON i.classid = d.refclassid AND i.oid = d.refobjid
      WHERE d.deptype IN ('n', 'a')
    )
    SELECT DISTINCT o.type || ' ' || o.identity AS dependent
    FROM dependents,
      -- A view depends through its _RETURN rule: name the view. pg_identify_object always schema-qualifies.
      LATERAL pg_catalog.pg_identify_object(
        CASE WHEN classid = 'pg_catalog.pg_rewrite'::regclass THEN 'pg_catalog.pg_class'::regclass ELSE classid END,
        CASE WHEN classid = 'pg_catalog.pg_rewrite'::regclass THEN (SELECT ev_class FROM pg_catalog.pg_rewrite WHERE oid = objid) ELSE objid END,
        0) AS o
    WHERE namespace IS NOT NULL AND namespace <> $1::regnamespace
    ORDER BY 1
    `,
    // regnamespace parses its input as an SQL identifier: quoted, or umami_Feature_X would fold to lower case.
    [escapeIdentifier(schema)],
  );
  return rows.map((r) => r.dependent);
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
    [escapeIdentifier(role)],
  );
  return rows.map((r) => r.datname);
}

/** Options for `rollbackStage`. */
export interface RollbackOptions {
  /** Roll back a protected stage. @default false */
  force?: boolean;
}

/**
 * Rolls back `spec` on the database `admin` reaches (as the administrator). Idempotent: a second run finds
 * nothing and returns `nothingToDo`. Throws `ProtectedStageError` or `DependentObjectsError` before changing anything.
 */
export async function rollbackStage(admin: ConnectionSettings, spec: UmamiDatabaseSpec, options: RollbackOptions = {}): Promise<RollbackResult> {
  if (spec.protect && !options.force) throw new ProtectedStageError(spec.stage);
  const settings = { ...admin, database: spec.database };
  const result: RollbackResult = { stage: spec.stage, database: spec.database, removed: [], kept: [], leftovers: [], nothingToDo: false };
  const [grant, dropSchema, dropOwned, dropRole] = buildRollbackSql(spec, { admin: admin.user });
  const before = await withClient(settings, async (client) => {
    const state = await readState(client, spec);
    if (state.schemaOid) {
      const dependents = await dependentsOutside(client, spec.schema);
      if (dependents.length > 0) throw new DependentObjectsError(spec.schema, dependents);
    }
    const others = state.roleOid ? await otherDatabases(client, spec.role.name) : [];
    await withTransaction(client, async () => {
      if (state.roleOid) await client.query(grant);
      if (state.schemaOid) await client.query(dropSchema);
      if (state.roleOid) await client.query(dropOwned);
    });
    return { state, others };
  });
  const { state, others } = before;
  result.nothingToDo = !state.roleOid && !state.schemaOid && state.defaultAcls === 0;
  if (state.schemaOid) {
    const pgcrypto = state.pgcryptoSchema === spec.schema ? ", pgcrypto" : "";
    result.removed.push(`schema ${spec.schema} (${state.tables} tables${pgcrypto})`);
  }
  if (state.pgcryptoSchema && state.pgcryptoSchema !== spec.schema) {
    result.kept.push(`pgcrypto in schema ${state.pgcryptoSchema} (not created by this stage)`);
  }
  if (state.roleOid) {
    // DROP OWNED BY acts on the current database only; repeat it where the role still has objects or grants.
    for (const database of others) {
      try {
        await withClient({ ...admin, database }, (client) => withTransaction(client, async () => {
          await client.query(grant);
          await client.query(dropOwned);
        }));
        result.removed.push(`objects and privileges of ${spec.role.name} in database ${database}`);
      } catch (error) {
        result.leftovers.push(`objects or privileges of ${spec.role.name} in database ${database} (${(error as Error).message})`);
      }
    }
    await withClient(settings, async (client) => {
      try {
        await client.query(dropRole);
        result.removed.push(`role ${spec.role.name}`);
      } catch (error) {
        result.leftovers.push(`role ${spec.role.name}: ${(error as Error).message}`);
      }
    });
  }
  if (state.defaultAcls > 0) result.removed.push(`default privileges (${state.defaultAcls} entries)`);
  const after = await withClient(settings, (client) => readState(client, spec, { role: state.roleOid, schema: state.schemaOid }));
  if (after.roleOid) result.leftovers.push(`role ${spec.role.name}`);
  if (after.schemaOid) result.leftovers.push(`schema ${spec.schema}`);
  if (after.defaultAcls > 0) result.leftovers.push(`${after.defaultAcls} pg_default_acl entries for ${spec.role.name}/${spec.schema}`);
  result.leftovers = [...new Set(result.leftovers)];
  return result;
}
