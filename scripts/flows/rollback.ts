/**
 * Removes one stage from the database in the order measured to work (`docs/design.md` § "Facts we measured"), touching only
 * what the stage created: its schema (with a pgcrypto created there), whatever its role owns or was granted,
 * and the role. A pgcrypto the database already had lives in another schema and is never touched; another
 * stage's names differ, so its objects are never named. Afterwards the catalog is read again: what remains
 * is reported as a leftover, not hidden.
 *
 * All or nothing: before anything is dropped, every database where the role has a trace is checked for what
 * the rollback would do to the application (`scripts/rollback/blockers.ts`); one blocker and nothing changes. The
 * stage's database is changed in one transaction that ends with `DROP ROLE`, so a failure there leaves the
 * schema and the role as they were.
 */
import { buildRollbackSql } from "../../sst/database/sql.js";
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { grant as grantStatement } from "../../sst/database/statements.js";
import { connect, withClient, type Client, type ConnectionSettings } from "../kernel/db.js";
import { onInterrupt, type Undo } from "../kernel/interrupt.js";
import { UserError } from "../kernel/errors.js";
import { findRollbackBlockers, type RollbackBlocker } from "../rollback/blockers.js";
import {
  isMember,
  lockSchemaTables,
  otherDatabases,
  readState,
  revokeMembership,
  type State,
} from "../rollback/state.js";
import { MultiDatabaseTransaction } from "../rollback/transaction.js";

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
const ROLLBACK_LOCK_TIMEOUT_MS = 5_000;

/** A protected stage was asked to roll back without `--force`. */
export class ProtectedStageError extends UserError {
  override name = "ProtectedStageError";
  constructor(readonly stage: string) {
    super(
      `Stage ${stage} is protected (production-like): rollback would delete its analytics data. Pass --force if you mean it.`,
    );
  }
}

/** Options for `rollbackStage`. */
interface RollbackOptions {
  /** Roll back a protected stage. @default false */
  force?: boolean;
}

/** A rollback that failed part-way, undone where it could be; `committed` lists what stayed done. */
function rollbackFailed(spec: UmamiDatabaseSpec, error: unknown, committed: string[]): UserError {
  const pgError = error as { code?: string; message?: string };
  const cause =
    pgError.code === "55P03"
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
export async function rollbackStage(
  admin: ConnectionSettings,
  spec: UmamiDatabaseSpec,
  options: RollbackOptions = {},
): Promise<RollbackResult> {
  if (spec.protect && !options.force) throw new ProtectedStageError(spec.stage);
  const settings = { ...admin, database: spec.database };
  const result: RollbackResult = {
    stage: spec.stage,
    database: spec.database,
    removed: [],
    kept: [],
    leftovers: [],
    nothingToDo: false,
    blockers: [],
  };
  const [grant, dropSchema, dropOwned, dropRole] = buildRollbackSql(spec, { admin: admin.user });
  const role = spec.role.name;
  const target = { role, schema: spec.schema, admin: admin.user, database: spec.database };
  const main = await connect(settings);
  const transaction = new MultiDatabaseTransaction(admin, ROLLBACK_LOCK_TIMEOUT_MS);
  const others: { database: string; client: Client }[] = [];
  const committed: string[] = [];
  let addedMembership = false;
  let revoke: Undo | undefined;
  let state: State;
  try {
    state = await readState(main, spec);
    const databases = state.roleOid ? await otherDatabases(main, role) : [];
    // DROP OWNED BY in another database needs the administrator's membership committed (`docs/design.md` § "Facts we measured").
    if (databases.length > 0 && !(await isMember(main, role, admin.user))) {
      await main.query(grant);
      addedMembership = true;
      // Interrupted, the open transaction rolls back with the connection, but this grant was committed. One
      // revoke, whoever asks first (the `finally` below, woken by the cancelled statement, or the interrupt).
      revoke = onInterrupt(`revoked ${admin.user}'s temporary membership in ${role}`, async () => {
        await main.query("ROLLBACK").catch(() => undefined);
        await revokeMembership(main, role, admin.user);
      });
    }
    await transaction.join(spec.database, main);
    if (state.roleOid) await main.query(grant);
    if (state.schemaOid) await lockSchemaTables(main, spec.schema);
    if (state.roleOid || state.schemaOid) result.blockers.push(...(await findRollbackBlockers(main, target)));
    for (const database of databases) {
      let client: Client;
      try {
        client = await transaction.openIn(database);
      } catch (error) {
        result.blockers.push({
          database,
          object: `database ${database}`,
          reason: `${role} owns objects or holds privileges there, and ${admin.user} cannot connect to remove them (${(error as Error).message})`,
          remedy: grantStatement({
            privileges: ["CONNECT"],
            on: { kind: "DATABASE", name: [database] },
            to: admin.user,
          }),
        });
        continue;
      }
      others.push({ database, client });
      result.blockers.push(...(await findRollbackBlockers(client, { ...target, database })));
    }
    if (result.blockers.length > 0) {
      await transaction.close();
      return result;
    }
    if (state.schemaOid) await main.query(dropSchema);
    for (const other of others) await other.client.query(dropOwned);
    // DROP OWNED BY revokes grants on shared objects (databases) too, in whichever database runs first, and
    // DROP ROLE reads pg_shdepend, a shared catalog: the other databases commit before this one continues.
    for (const other of others) {
      await transaction.commit(other.database);
      committed.push(`objects and privileges of ${role} in database ${other.database}`);
    }
    result.removed.push(...committed);
    if (state.roleOid) await main.query(dropOwned);
    if (state.roleOid) await main.query(dropRole);
    await transaction.commit(spec.database);
    addedMembership = false; // went with the role
  } catch (error) {
    await transaction.close();
    throw rollbackFailed(spec, error, committed);
  } finally {
    await transaction.close();
    // Unless it went with the role: then there is nothing left to revoke.
    if (addedMembership) await revoke?.().catch(() => undefined);
    else revoke?.drop();
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
  const after = await withClient(settings, (client) =>
    readState(client, spec, { role: state.roleOid, schema: state.schemaOid }),
  );
  if (after.roleOid) result.leftovers.push(`role ${role}`);
  if (after.schemaOid) result.leftovers.push(`schema ${spec.schema}`);
  if (after.defaultAcls > 0)
    result.leftovers.push(`${after.defaultAcls} pg_default_acl entries for ${role}/${spec.schema}`);
  return result;
}
