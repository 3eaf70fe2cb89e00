/**
 * A directory in Prisma's layout (`<name>/migration.sql` + `migration_lock.toml`), read as `prisma migrate
 * deploy` reads it; every other source ends here once its files are on disk.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../../kernel/errors.js";
import { prismaChecksum } from "../bookkeeping.js";
import type { MigrationSet } from "./types.js";

/** Reads a directory in Prisma's layout; refuses what `prisma migrate deploy` would refuse, and a missing lock file. */
export function readMigrationsDirectory(dir: string): Omit<MigrationSet, "source"> & { source?: string } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(
      `Migrations directory ${dir} does not exist. Pass --migrations <dir> with Prisma's layout, or github:umami-software/umami@v<version>.`,
    );
  }
  const lockPath = join(dir, "migration_lock.toml");
  if (!existsSync(lockPath)) {
    throw new UserError(
      `${lockPath} is missing. A Prisma migrations directory has a migration_lock.toml saying provider = "postgresql"; check the path.`,
    );
  }
  const provider = readProvider(readFileSync(lockPath, "utf8"));
  if (provider !== "postgresql") {
    throw new UserError(
      `${lockPath} names provider ${JSON.stringify(provider ?? "<none>")}, expected "postgresql" (Prisma P3019). These migrations are for another database; use Umami's prisma/migrations (3.x) or db/postgresql/migrations (2.x).`,
    );
  }
  // Prisma's CLI lists the sub-directories and sorts them with localeCompare (packages/migrate/src/utils/listMigrations.ts).
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b));
  if (names.length === 0) {
    throw new UserError(
      `Migrations directory ${dir} has no migration sub-directories. Point --migrations at the directory that holds <name>/migration.sql.`,
    );
  }
  const migrations = names.map((name) => {
    const file = join(dir, name, "migration.sql");
    if (!existsSync(file)) {
      throw new UserError(
        `Could not find the migration file at ${file} (Prisma P3015). Restore the file or delete the directory ${name}.`,
      );
    }
    // Prisma reads the script as UTF-8 text and hashes that text's UTF-8 bytes.
    const sql = readFileSync(file, "utf8");
    return { name, sql, checksum: prismaChecksum(sql) };
  });
  return { dir, provider, migrations };
}

/** The provider in a `migration_lock.toml`, read as Prisma's `read_provider_from_lock_file` does. */
export function readProvider(lockFile: string): string | undefined {
  const line = lockFile.split(/\r?\n/).find((l) => l.startsWith("provider"));
  return line
    ?.replace(/^provider\s*=\s*/, "")
    .trim()
    .replace(/^"|"$/g, "");
}
