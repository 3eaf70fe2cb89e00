/**
 * The migration runner's user errors, each mirroring a Prisma Migrate error code (P3005, P3009, P3018, P1002,
 * P3011, P3012) so a user who searches the code finds Prisma's own guidance, and each one line long.
 */
import { UserError } from "../kernel/errors.js";
import type { MigrationRow } from "./bookkeeping.js";
import type { LockHolder, LockWait } from "./monitor.js";

const RESOLVE_DOC = "https://pris.ly/d/migrate-resolve";

/** Short form of a checksum for messages (`3fa1b2c…`). */
export function shortChecksum(checksum: string): string {
  return checksum.length > 10 ? `${checksum.slice(0, 10)}…` : checksum;
}

/** P3009: a migration failed earlier and was not resolved; nothing new is applied until it is. */
export class FailedMigrationsError extends UserError {
  override name = "FailedMigrationsError";
  constructor(
    readonly schema: string,
    readonly failed: MigrationRow[],
  ) {
    const first = failed[0];
    const names = failed.map((f) => f.migration_name).join(", ");
    const reason = firstDatabaseError(first.logs);
    super(
      `Found failed migration ${names} in ${schema}._prisma_migrations (Prisma P3009: migrate found failed migrations in the target database, new migrations will not be applied). ` +
        `${first.migration_name} started at ${first.started_at} failed${reason ? `: ${reason}` : ""}. ` +
        `Undo whatever it changed (if anything), then run \`umami-db migrate resolve --rolled-back ${first.migration_name}\` ` +
        `(same as \`prisma migrate resolve --rolled-back "${first.migration_name}"\`) and migrate again; see ${RESOLVE_DOC}.`,
    );
  }
}

/** P3018: a migration's SQL failed. Its transaction rolled back and the failure is recorded as Prisma records it. */
export class MigrationFailedError extends UserError {
  override name = "MigrationFailedError";
  constructor(
    readonly migration: string,
    readonly schema: string,
    readonly code: string | undefined,
    readonly line: number | undefined,
    databaseMessage: string,
    options: { cause?: unknown; recorded: boolean },
  ) {
    super(
      `Migration ${migration} failed${line ? ` at line ${line}` : ""}: ${databaseMessage}${code ? ` (SQLSTATE ${code})` : ""}. ` +
        (options.recorded
          ? `Nothing of it was applied (its transaction rolled back) and it is recorded as failed in ${schema}._prisma_migrations, ` +
            `so the next run stops with P3009 until it is resolved: fix the migration, run \`umami-db migrate resolve --rolled-back ${migration}\`, then migrate again.`
          : `Nothing of it was applied (its transaction rolled back) and, the connection being lost, nothing was recorded: ` +
            `the next run applies it again once the database is reachable.`),
      { cause: options.cause },
    );
    this.recorded = options.recorded;
  }

  /** Whether the failure row was written (Prisma's P3009 state) or the connection was lost first. */
  readonly recorded: boolean;
}

/** P3005: the schema has tables but no `_prisma_migrations`; Prisma refuses to migrate it (baseline first). */
export class SchemaNotEmptyError extends UserError {
  override name = "SchemaNotEmptyError";
  constructor(
    readonly schema: string,
    readonly tables: string[],
  ) {
    super(
      `Schema ${schema} already has tables (${tables.slice(0, 5).join(", ")}${tables.length > 5 ? ", …" : ""}) but no _prisma_migrations (Prisma P3005: the database schema is not empty). ` +
        `Point ?schema= at Umami's own schema, or baseline it: https://pris.ly/d/migrate-baseline.`,
    );
  }
}

/** The schema in `?schema=` does not exist and the connecting role may not create it (as Umami's role may not). */
export class SchemaMissingError extends UserError {
  override name = "SchemaMissingError";
  constructor(
    readonly schema: string,
    readonly user: string,
    reason: string,
  ) {
    super(
      `Schema ${schema} does not exist and ${user} may not create it (${reason}). ` +
        `Provision the stage first (sst deploy, or umami-db local --admin-url), or correct ?schema= in the URL.`,
    );
  }
}

/** P1002: another migration run holds Prisma's advisory lock for longer than Prisma waits (10 s). */
export class MigrationLockTimeoutError extends UserError {
  override name = "MigrationLockTimeoutError";
  constructor(
    readonly host: string,
    readonly port: number,
    readonly waitedMs: number,
    options?: { cause?: unknown },
  ) {
    super(
      `Timed out after ${waitedMs} ms waiting for Prisma's migration lock (pg_advisory_lock(72707369)) at ${host}:${port}: another migration (an Umami container starting, or another umami-db run) is in progress. ` +
        `Wait for it to finish and run again; see https://pris.ly/d/migrate-advisory-locking.`,
      options,
    );
  }
}

/**
 * A migration statement waited longer than `lock_timeout` for a lock (usually on a table Umami's live sessions
 * are using). Not a Prisma error: Prisma sets no lock_timeout. Nothing was applied and, the cause being
 * transient, nothing is recorded either — a recorded failure would make Umami's own container refuse to start
 * (P3009) over a wait; the next run simply tries again.
 */
export class LockWaitTimeoutError extends UserError {
  override name = "LockWaitTimeoutError";
  constructor(
    readonly migration: string,
    readonly lockTimeoutMs: number,
    readonly wait: LockWait | undefined,
    options?: { cause?: unknown },
  ) {
    const holders = wait?.holders ?? [];
    const what = wait ? `${wait.mode} on ${wait.object}` : "a lock";
    const by = holders.length
      ? `held by ${holders.map(describeHolder).join(", ")}`
      : "held by another session (it was not identified: the wait ended before the monitor's next look)";
    const remedy = holders.length
      ? `Let ${holders.length === 1 ? "that session" : "those sessions"} finish, or end ${holders.length === 1 ? "it" : "them"} (SELECT pg_terminate_backend(${holders[0].pid}))`
      : "Find the session in pg_locks and let it finish";
    super(
      `Migration ${migration} waited ${formatSeconds(lockTimeoutMs)} (lock_timeout) for ${what}, ${by}. ` +
        `Nothing of it was applied and nothing was recorded. ${remedy}, or wait longer with \`migrate deploy --lock-timeout <seconds>\`, then run again.`,
      options,
    );
  }
}

function describeHolder(holder: LockHolder): string {
  const details = [
    holder.user,
    holder.application ? `application "${holder.application}"` : null,
    holder.state,
    holder.seconds !== null ? `for ${holder.seconds} s` : null,
  ].filter(Boolean);
  return `pid ${holder.pid}${details.length ? ` (${details.join(", ")})` : ""}`;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** A migration recorded as applied whose file changed since (Prisma's checksum comparison). */
export class ChecksumMismatchError extends UserError {
  override name = "ChecksumMismatchError";
  override readonly exitCode = 1;
  constructor(
    readonly migration: string,
    readonly fileChecksum: string,
    readonly recordedChecksum: string,
  ) {
    super(
      `Migration ${migration} was edited after it was applied (checksum ${shortChecksum(fileChecksum)} ≠ recorded ${shortChecksum(recordedChecksum)}). ` +
        `It is not applied again; restore the file or add a new migration.`,
    );
  }
}

/** P3011/P3012: `resolve --rolled-back` on a migration that never ran, or that did not fail. */
export class CannotRollBackError extends UserError {
  override name = "CannotRollBackError";
  constructor(
    readonly migration: string,
    readonly reason: "never-applied" | "not-failed",
  ) {
    super(
      reason === "never-applied"
        ? `Migration ${migration} cannot be rolled back because it was never applied to the database (Prisma P3011). Pass the whole directory name, e.g. 01_init.`
        : `Migration ${migration} cannot be rolled back because it is not in a failed state (Prisma P3012). Only failed migrations can be marked rolled back.`,
    );
  }
}

function firstDatabaseError(logs: string | null): string | undefined {
  const match = logs ? /Database error:\n(.*)/.exec(logs) : null;
  return match?.[1]?.trim();
}
