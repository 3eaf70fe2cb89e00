/**
 * A migration runner that behaves like `prisma migrate deploy` on PostgreSQL and leaves `_prisma_migrations`
 * exactly as Prisma would, so Umami's container (which runs `prisma migrate deploy` at start) finds nothing
 * pending. Each step follows prisma-engines' `apply_migrations.rs`; the one deliberate difference is that a
 * migration and its bookkeeping row commit together in one transaction (docs/prisma-compatibility.md).
 */
import { quoteIdent } from "../../sst/database/quote.js";
import { withAdvisoryLock, withClient, type Client, type ConnectionSettings } from "../kernel/db.js";
import { interrupted } from "../kernel/interrupt.js";
import {
  CannotRollBackError,
  FailedMigrationsError,
  LockWaitTimeoutError,
  MigrationFailedError,
  MigrationLockTimeoutError,
  SchemaMissingError,
  SchemaNotEmptyError,
} from "./errors.js";
import {
  buildMigrationsTableDdl,
  inspectSchema,
  lineOf,
  markRolledBack,
  MIGRATIONS_TABLE,
  PRISMA_ADVISORY_LOCK_KEY,
  PRISMA_LOCK_TIMEOUT_MS,
  readMigrationRows,
  recordMigrationFailed,
  recordMigrationApplied,
  renderApplyMigrationError,
  type MigrationRow,
} from "./bookkeeping.js";
import type { Migration, MigrationSet } from "./sources/types.js";
import { diagnoseMigrations, findModified, type MigrationStatus, type ModifiedMigration } from "./status.js";
import { deployImpact, readTableEstimates, type MigrationImpact } from "./deploy-impact.js";
import { watchBackend, type IndexBuild, type LockWait } from "./monitor.js";

export type { ModifiedMigration } from "./status.js";

/** How long one statement of a migration waits for a lock before giving up (`lock_timeout`), by default. */
const DEFAULT_STATEMENT_LOCK_TIMEOUT_MS = 10_000;

/** How often a running migration is looked at from the second connection, by default. */
const DEFAULT_PROGRESS_INTERVAL_MS = 2_000;

/** What a run did (or, with `dryRun`, would do). */
export interface MigrateResult {
  schema: string;
  /** Applied by this run, in order. */
  applied: string[];
  /** Already recorded as applied before this run. */
  alreadyApplied: string[];
  /** Would be applied (dry run only; empty otherwise). */
  pending: string[];
  /**
   * Dry run only: the existing tables each pending migration locks or rewrites, with the lock, what it blocks
   * and the tables' estimated rows and sizes (read from pg_class, taking no lock).
   */
  impact?: MigrationImpact[];
  /** Applied earlier but edited since: reported, never re-run (`prisma migrate deploy` ignores these). */
  modified: ModifiedMigration[];
  /** Whether this run created `_prisma_migrations`. */
  createdMigrationsTable: boolean;
  dryRun: boolean;
  ms: number;
}

/** Progress of a run, for the command's stderr lines. */
export type MigrateEvent =
  | { type: "lock-wait" }
  /** The migration's transaction began; its own timeouts as the server reports them (`0` = none). */
  | { type: "start"; name: string; statementTimeout: string; lockTimeout: string }
  /** A migration still running, every progress interval: elapsed time, and what the backend is doing. */
  | { type: "progress"; name: string; elapsedMs: number; waiting?: LockWait; index?: IndexBuild }
  | { type: "applied"; name: string; ms: number }
  | { type: "failed"; name: string; ms: number };

/** Options for `applyMigrations`. */
export interface MigrateOptions {
  /** Report what would be applied; write nothing, take no lock. @default false */
  dryRun?: boolean;
  onProgress?: (event: MigrateEvent) => void;
  /** How long to wait for Prisma's advisory lock. @default 10000 (Prisma's own timeout) */
  lockTimeoutMs?: number;
  /**
   * How long one statement of a migration waits for a lock held by another session, e.g. Umami's live queries
   * on `website_event` (PostgreSQL's `lock_timeout`, set for each migration's transaction). Statements
   * themselves never time out: `statement_timeout` is 0 inside migrations, whatever the role or database says.
   * @default 10000
   */
  statementLockTimeoutMs?: number;
  /** How often a running migration reports progress (a second connection, opened after the first interval). @default 2000 */
  progressIntervalMs?: number;
}

/** Applies `set`'s pending migrations to the schema named by `settings.schema`, as `prisma migrate deploy` does. */
export async function applyMigrations(
  settings: ConnectionSettings,
  set: MigrationSet,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const started = performance.now();
  const schema = settings.schema;
  return withClient(settings, async (client) => {
    if (options.dryRun) {
      const rows = (await hasMigrationsTable(client, schema)) ? await readMigrationRows(client, schema) : [];
      const plan = planRun(schema, set.migrations, rows);
      const impact = deployImpact(plan.unapplied, await readTableEstimates(client, schema));
      return {
        ...plan,
        pending: plan.unapplied.map((m) => m.name),
        impact,
        applied: [],
        createdMigrationsTable: false,
        dryRun: true,
        ms: performance.now() - started,
      };
    }
    return lockLikePrisma(client, settings, options, async (pid) => {
      // Prisma creates a missing schema, and only a missing one: CREATE SCHEMA [IF NOT EXISTS] fails for a role
      // without CREATE on the database even when the schema exists (`docs/design.md` § "Facts we measured").
      const createdMigrationsTable = await initializeSchema(client, schema);
      const plan = planRun(schema, set.migrations, await readMigrationRows(client, schema));
      const applied: string[] = [];
      for (const migration of plan.unapplied) {
        await applyOne(client, settings, pid, migration, options);
        applied.push(migration.name);
      }
      return { ...plan, applied, pending: [], createdMigrationsTable, dryRun: false, ms: performance.now() - started };
    });
  });
}

/** Reads where `settings.schema` stands against `set`, as Prisma's `migrate status` diagnoses it, writing nothing. */
export async function migrationStatus(settings: ConnectionSettings, set: MigrationSet): Promise<MigrationStatus> {
  return withClient(settings, async (client) => {
    const schema = settings.schema;
    const hasTable = await hasMigrationsTable(client, schema);
    const rows = hasTable ? await readMigrationRows(client, schema) : [];
    return diagnoseMigrations(schema, set.migrations, rows, hasTable);
  });
}

/** `prisma migrate resolve --rolled-back <name>`: marks the failed rows of `name` rolled back, so deploys resume. */
export async function resolveRolledBack(
  settings: ConnectionSettings,
  name: string,
  options: Pick<MigrateOptions, "lockTimeoutMs"> = {},
): Promise<{ schema: string; name: string; rows: number }> {
  return withClient(settings, async (client) =>
    lockLikePrisma(client, settings, options, async () => {
      const rows = (await hasMigrationsTable(client, settings.schema))
        ? await readMigrationRows(client, settings.schema)
        : [];
      const relevant = rows.filter((r) => r.migration_name === name);
      if (relevant.length === 0) throw new CannotRollBackError(name, "never-applied");
      if (relevant.every((r) => r.finished_at !== null)) throw new CannotRollBackError(name, "not-failed");
      return { schema: settings.schema, name, rows: await markRolledBack(client, settings.schema, name) };
    }),
  );
}

/**
 * Sets `search_path` as Prisma connects (`search_path = "<schema>"`, quaint's `PostgresSearchPath`: unqualified
 * names in the migrations land there) and takes Prisma's advisory lock, giving up after Prisma's 10 s (the timeout covers the
 * wait for the lock only, not the migrations). Uncontended, this costs one round trip plus the scoped lock.
 */
async function lockLikePrisma<T>(
  client: Client,
  settings: ConnectionSettings,
  options: Pick<MigrateOptions, "lockTimeoutMs" | "onProgress">,
  fn: (pid: number) => Promise<T>,
): Promise<T> {
  const key = PRISMA_ADVISORY_LOCK_KEY.toString();
  const waitMs = options.lockTimeoutMs ?? PRISMA_LOCK_TIMEOUT_MS;
  const { rows } = await client.query<{ previous: string; got: boolean; pid: number }>(
    `SELECT pg_catalog.set_config('search_path', $1, false) AS search_path,
            pg_catalog.current_setting('lock_timeout') AS previous,
            pg_catalog.pg_backend_pid() AS pid,
            pg_catalog.pg_try_advisory_lock($2) AS got`,
    [quoteIdent(settings.schema), key],
  );
  const { previous, got, pid } = rows[0];
  if (got) {
    // Already held: withAdvisoryLock's lock re-enters at once and its unlock pairs with it; ours is released below.
    try {
      return await withAdvisoryLock(client, PRISMA_ADVISORY_LOCK_KEY, () => fn(pid));
    } finally {
      await client.query("SELECT pg_catalog.pg_advisory_unlock($1)", [key]).catch(() => undefined);
    }
  }
  options.onProgress?.({ type: "lock-wait" });
  await client.query("SELECT pg_catalog.set_config('lock_timeout', $1, false)", [`${waitMs}ms`]);
  try {
    return await withAdvisoryLock(client, PRISMA_ADVISORY_LOCK_KEY, async () => {
      await client.query("SELECT pg_catalog.set_config('lock_timeout', $1, false)", [previous]);
      return fn(pid);
    });
  } catch (error) {
    if ((error as { code?: string }).code === "55P03")
      throw new MigrationLockTimeoutError(settings.host, settings.port, waitMs, { cause: error });
    throw error;
  }
}

async function hasMigrationsTable(client: Client, schema: string): Promise<boolean> {
  return (await inspectSchema(client, schema)).tables.includes(MIGRATIONS_TABLE);
}

/**
 * Prisma's `setup_connection` and `initialize`: create the schema only if missing (CREATE SCHEMA [IF NOT EXISTS]
 * fails for a role without CREATE on the database even when the schema exists, `docs/design.md` § "Facts we measured"); create the
 * table in an empty schema; refuse a schema with tables but no `_prisma_migrations` (P3005).
 */
async function initializeSchema(client: Client, schema: string): Promise<boolean> {
  const { exists, tables } = await inspectSchema(client, schema);
  if (!exists) {
    // Asked first: after a failed CREATE, a surrounding transaction would refuse further queries.
    const { rows } = await client.query<{ user: string; may_create: boolean }>(
      "SELECT current_user AS user, pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE') AS may_create",
    );
    // The usual case: a stage's role pointed at a schema nobody provisioned (or a typo in ?schema=).
    if (!rows[0].may_create) throw new SchemaMissingError(schema, rows[0].user, "no CREATE on the database");
    await client.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
  }
  if (tables.includes(MIGRATIONS_TABLE)) return false;
  if (tables.length > 0) throw new SchemaNotEmptyError(schema, tables);
  await client.query(buildMigrationsTableDdl(schema));
  return true;
}

/** Prisma's `detect_failed_migrations` and its filter for unapplied migrations, plus the checksum report. */
function planRun(schema: string, migrations: Migration[], rows: MigrationRow[]) {
  const failed = rows.filter((r) => r.finished_at === null && r.rolled_back_at === null);
  if (failed.length > 0) throw new FailedMigrationsError(schema, failed);
  const live = rows.filter((r) => r.rolled_back_at === null);
  const isRecorded = (m: Migration) => live.some((r) => r.migration_name === m.name);
  return {
    schema,
    unapplied: migrations.filter((m) => !isRecorded(m)),
    alreadyApplied: migrations.filter(isRecorded).map((m) => m.name),
    // Named as Prisma's status names them (the first row of each name); deploy never re-runs them.
    modified: findModified(migrations, rows),
  };
}

/**
 * One migration: its script (one simple-protocol query, as Prisma's `simple_query`) and its row commit
 * together, or nothing does and the failure is recorded as Prisma records one. The transaction runs with no
 * statement_timeout and no idle-in-transaction timeout (a role's guard against runaway queries must not kill
 * a migration that rewrites a grown table), but with a lock_timeout, so that it never queues behind
 * Umami's live sessions for ever — and, while it queues, every new query on that table queues behind it.
 */
async function applyOne(
  client: Client,
  settings: ConnectionSettings,
  pid: number,
  migration: Migration,
  options: MigrateOptions,
): Promise<void> {
  const { onProgress } = options;
  const schema = settings.schema;
  const lockTimeoutMs = options.statementLockTimeoutMs ?? DEFAULT_STATEMENT_LOCK_TIMEOUT_MS;
  const t0 = performance.now();
  const startedAt = new Date();
  await client.query("BEGIN");
  // Inside the transaction first, so a failure here is rolled back like any other.
  let watch: ReturnType<typeof watchBackend> | undefined;
  try {
    const { rows } = await client.query<{ statement_timeout: string; lock_timeout: string }>(
      `SELECT pg_catalog.set_config('statement_timeout', '0', true) AS statement_timeout,
              pg_catalog.set_config('idle_in_transaction_session_timeout', '0', true) AS idle,
              pg_catalog.set_config('lock_timeout', $1, true) AS lock_timeout`,
      [`${lockTimeoutMs}ms`],
    );
    onProgress?.({
      type: "start",
      name: migration.name,
      statementTimeout: rows[0].statement_timeout,
      lockTimeout: rows[0].lock_timeout,
    });
    // Looked at often enough to see a lock wait at least twice before lock_timeout ends it.
    const every = options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
    const intervalMs = lockTimeoutMs > 0 ? Math.max(50, Math.min(every, Math.floor(lockTimeoutMs / 4))) : every;
    watch = watchBackend(settings, pid, {
      intervalMs,
      onSample: (sample) =>
        onProgress?.({ type: "progress", name: migration.name, elapsedMs: performance.now() - t0, ...sample }),
    });
    await client.query(migration.sql);
    await recordMigrationApplied(client, schema, migration.name, migration.checksum);
    await watch.stop();
    await client.query("COMMIT");
  } catch (error) {
    await watch?.stop();
    await client.query("ROLLBACK").catch(() => undefined);
    const e = error as { code?: string; message?: string; position?: string };
    if (e.code === "55P03") {
      // lock_timeout: a wait, not a defect of the migration. Not recorded (see LockWaitTimeoutError).
      onProgress?.({ type: "failed", name: migration.name, ms: performance.now() - t0 });
      throw new LockWaitTimeoutError(migration.name, lockTimeoutMs, watch?.lastWait(), { cause: error });
    }
    // Cancelled by SIGINT/SIGTERM (kernel/interrupt.ts): rolled back, not a failure of the migration, not recorded.
    if (interrupted()) throw error;
    const logs = renderApplyMigrationError(migration.name, migration.sql, e);
    // If even this write fails (the connection dropped), nothing of the migration was committed either: the
    // next run simply applies it again.
    const recorded = await recordMigrationFailed(client, schema, {
      checksum: migration.checksum,
      name: migration.name,
      startedAt,
      logs,
    }).then(
      () => true,
      () => false,
    );
    onProgress?.({ type: "failed", name: migration.name, ms: performance.now() - t0 });
    const line = e.position ? lineOf(migration.sql, Number(e.position)) : undefined;
    throw new MigrationFailedError(migration.name, schema, e.code, line, e.message ?? String(error), {
      cause: error,
      recorded,
    });
  }
  onProgress?.({ type: "applied", name: migration.name, ms: performance.now() - t0 });
}
