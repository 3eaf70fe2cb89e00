/**
 * `migrate status` as Prisma 7 decides it (`docs/design.md` § "Umami's releases and Prisma"). The diagnosis follows prisma-engines'
 * `diagnose_migration_history.rs` (which rows count as applied, edited, failed, unpersisted) and the verdict
 * follows `@prisma/migrate`'s `MigrateStatus.ts`: exit 1 when migrations are unapplied, the histories
 * diverge, the database is not managed by Prisma or a migration failed; otherwise "Database schema is up to
 * date!" and exit 0 — even when an applied migration was edited or the database has migrations the folder
 * lacks (Prisma lists those in `editedMigrationNames` / `migrationsDirectoryIsBehind` and says nothing).
 * `--strict` makes those two exit 1 as well. Pure: the runner reads the rows, the command prints.
 */
import { matchesChecksum, type MigrationRow } from "./bookkeeping.js";
import { ChecksumMismatchError } from "./errors.js";
import { explainUmamiEdit } from "./sources/releases.js";
import type { Migration } from "./sources/types.js";

/** An applied migration whose file no longer matches the recorded checksum (Prisma's `editedMigrationNames`). */
export interface ModifiedMigration {
  name: string;
  fileChecksum: string;
  recordedChecksum: string;
  /** The one-line report: Umami's own edit between releases when the checksums say so, else ChecksumMismatchError's message. */
  message: string;
  /** True when both checksums are ones Umami shipped (e.g. npm's pre-release 04 → the release's). */
  changedByUmami: boolean;
}

/** Prisma's `HistoryDiagnostic`: how the folder and `_prisma_migrations` relate (null: in sync). */
export type HistoryDiagnostic =
  | { diagnostic: "databaseIsBehind"; unappliedMigrationNames: string[] }
  | { diagnostic: "migrationsDirectoryIsBehind"; unpersistedMigrationNames: string[] }
  | {
      diagnostic: "historiesDiverge";
      lastCommonMigrationName: string | null;
      unpersistedMigrationNames: string[];
      unappliedMigrationNames: string[];
    };

/** Where a schema's migration history stands (`umami-db migrate status`). */
export interface MigrationStatus {
  schema: string;
  /** Whether `_prisma_migrations` exists (Prisma: "not managed by Prisma Migrate" when it does not). */
  hasMigrationsTable: boolean;
  /** Applied and not rolled back. */
  applied: string[];
  /**
   * What `migrate deploy` would apply: no row, or only rolled-back rows. (Prisma's status counts a
   * migration with only rolled-back rows as present; its deploy applies it again. We call it pending.)
   */
  pending: string[];
  /** Failed and unresolved (finished_at and rolled_back_at NULL): these block deploys (P3009). */
  failed: string[];
  /** Prisma's `editedMigrationNames`: the first recorded row's checksum differs from the file. */
  modified: ModifiedMigration[];
  /** Rows (any state) whose migration is not in the folder: the database is ahead of the folder. */
  missingLocally: string[];
  /** Prisma's history diagnostic. */
  history: HistoryDiagnostic | null;
  /** Prisma's verdict: "Database schema is up to date!" (exit 0). Edited and missing-locally do not count. */
  upToDate: boolean;
}

/** Diagnoses `rows` (ordered by started_at, as Prisma lists them) against the folder's `migrations`. */
export function diagnoseMigrations(
  schema: string,
  migrations: readonly Migration[],
  rows: readonly MigrationRow[],
  hasMigrationsTable: boolean,
): MigrationStatus {
  const folder = new Set(migrations.map((m) => m.name));
  const recorded = new Set(rows.map((r) => r.migration_name));
  const live = rows.filter((r) => r.rolled_back_at === null);
  const notInDb = migrations.map((m, index) => ({ name: m.name, index })).filter((m) => !recorded.has(m.name));
  const notInFolder = unique(rows.filter((r) => !folder.has(r.migration_name)).map((r) => r.migration_name));
  const failed = unique(live.filter((r) => r.finished_at === null).map((r) => r.migration_name));
  const history = diagnoseHistory(migrations, notInDb, notInFolder);
  return {
    schema,
    hasMigrationsTable,
    applied: unique(live.filter((r) => r.finished_at !== null).map((r) => r.migration_name)),
    pending: migrations.filter((m) => !live.some((r) => r.migration_name === m.name)).map((m) => m.name),
    failed,
    modified: findModified(migrations, rows),
    missingLocally: notInFolder,
    history,
    upToDate:
      hasMigrationsTable &&
      failed.length === 0 &&
      (history === null || history.diagnostic === "migrationsDirectoryIsBehind"),
  };
}

/** Prisma's `Diagnostics::history`: by name only, ignoring order, as the engine does. */
function diagnoseHistory(
  migrations: readonly Migration[],
  notInDb: { name: string; index: number }[],
  notInFolder: string[],
): HistoryDiagnostic | null {
  if (notInDb.length === 0 && notInFolder.length === 0) return null;
  const unapplied = notInDb.map((m) => m.name);
  if (notInFolder.length === 0) return { diagnostic: "databaseIsBehind", unappliedMigrationNames: unapplied };
  if (notInDb.length === 0)
    return { diagnostic: "migrationsDirectoryIsBehind", unpersistedMigrationNames: notInFolder };
  const first = notInDb[0].index;
  return {
    diagnostic: "historiesDiverge",
    lastCommonMigrationName: first === 0 ? null : migrations[first - 1].name,
    unpersistedMigrationNames: notInFolder,
    unappliedMigrationNames: unapplied,
  };
}

/**
 * Prisma's edited check: each folder migration against the *first* row with its name (whatever its state),
 * with Prisma's checksum comparison (both line endings, the old unpadded format).
 */
export function findModified(migrations: readonly Migration[], rows: readonly MigrationRow[]): ModifiedMigration[] {
  return migrations.flatMap((m) => {
    const row = rows.find((r) => r.migration_name === m.name);
    if (!row || matchesChecksum(m.sql, row.checksum)) return [];
    const umami = explainUmamiEdit(m.name, row.checksum, m.checksum);
    const message = umami ?? new ChecksumMismatchError(m.name, m.checksum, row.checksum).message;
    return [
      {
        name: m.name,
        fileChecksum: m.checksum,
        recordedChecksum: row.checksum,
        message,
        changedByUmami: umami !== undefined,
      },
    ];
  });
}

/** What a status says, as lines and an exit code (0 in sync for Prisma, 1 not; `strict` counts edits and extra rows). */
export function statusVerdict(
  status: MigrationStatus,
  options: { strict?: boolean } = {},
): { exitCode: 0 | 1; lines: string[] } {
  const lines: string[] = [];
  const h = status.history;
  if (h?.diagnostic === "historiesDiverge") {
    lines.push(
      `Your local migration history and the migrations table from your database are different (last common migration: ${h.lastCommonMigrationName ?? "none"}).`,
    );
  }
  if (!status.hasMigrationsTable)
    lines.push(`The current database is not managed by Prisma Migrate: ${status.schema} has no _prisma_migrations.`);
  lines.push(...status.pending.map((n) => `  pending  ${n}`));
  lines.push(
    ...status.failed.map((n) => `  FAILED   ${n} — undo its changes, then umami-db migrate resolve --rolled-back ${n}`),
  );
  const reported = options.strict
    ? "fails with --strict"
    : "reported; Prisma's status ignores it, --strict fails on it";
  lines.push(
    ...status.modified.map((m) => `  ${m.changedByUmami ? "CHANGED " : "EDITED  "} ${m.message} (${reported})`),
  );
  if (status.missingLocally.length > 0) {
    lines.push(
      `  AHEAD    The following migration(s) are applied to the database but missing from the local migrations directory: ${status.missingLocally.join(", ")} (${reported})`,
    );
  }
  const strictFailure = options.strict === true && (status.modified.length > 0 || status.missingLocally.length > 0);
  const ok = status.upToDate && status.pending.length === 0 && !strictFailure;
  if (ok) lines.push("Database schema is up to date!");
  return { exitCode: ok ? 0 : 1, lines };
}

function unique(names: string[]): string[] {
  return [...new Set(names)];
}
