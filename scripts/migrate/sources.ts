/**
 * Where Umami's Prisma migrations come from: a directory in Prisma's layout (`<name>/migration.sql` +
 * `migration_lock.toml`), or `npm:umami@<version>` — that package's tarball from the npm registry, fetched
 * once with `npm pack` and cached, using its `db/postgresql/migrations`. Umami's SQL is never copied into
 * this repository. See docs/prisma-compatibility.md for how each rule follows Prisma's own code.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { UserError } from "../kernel/errors.js";
import { prismaChecksum } from "./bookkeeping.js";

/** The one pinned place for the Umami version whose migrations are applied by default. */
export const DEFAULT_MIGRATIONS_SOURCE = "npm:umami@2.10.0";

/** Where Umami keeps its PostgreSQL migrations inside its npm package. */
export const UMAMI_MIGRATIONS_PATH = "db/postgresql/migrations";

/** One migration: directory name, the `migration.sql` text and its checksum as Prisma computes it. */
export interface Migration {
  name: string;
  sql: string;
  /** SHA-256 of the script's UTF-8 bytes, 64 lowercase hex digits (Prisma's `render_checksum`). */
  checksum: string;
}

/** A loaded migrations directory, in the order Prisma applies it. */
export interface MigrationSet {
  /** What the user asked for (`npm:umami@2.10.0` or a path). */
  source: string;
  /** The directory the migrations were read from. */
  dir: string;
  /** The provider named by `migration_lock.toml` (always `postgresql`: anything else is refused). */
  provider: string;
  migrations: Migration[];
}

/** Options for `loadMigrations`. */
export interface LoadOptions {
  /** Cache for npm tarballs. @default `<project>/.umami-db/cache` (git-ignored) */
  cacheDir?: string;
}

const execFileAsync = promisify(execFile);
const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The default cache directory, inside the project and ignored by git. */
export const DEFAULT_CACHE_DIR = join(PROJECT_ROOT, ".umami-db", "cache");

const NPM_SOURCE = /^npm:umami@(.+)$/;
// Exact versions only: a tag such as `latest` moves, and a cached copy of it would silently go stale.
const EXACT_VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/** Loads the migrations named by `source` (a directory or `npm:umami@<version>`). */
export async function loadMigrations(source: string, options: LoadOptions = {}): Promise<MigrationSet> {
  const npm = NPM_SOURCE.exec(source);
  if (npm) {
    const dir = await fetchUmamiMigrations(npm[1], options.cacheDir ?? DEFAULT_CACHE_DIR);
    return { ...readMigrationsDirectory(dir), source };
  }
  if (source.startsWith("npm:")) {
    throw new UserError(`Migration source ${JSON.stringify(source)} is not supported. Use npm:umami@<version> (e.g. ${DEFAULT_MIGRATIONS_SOURCE}) or a directory.`);
  }
  return { ...readMigrationsDirectory(resolve(source)), source };
}

/** Reads a directory in Prisma's layout; refuses what `prisma migrate deploy` would refuse, and a missing lock file. */
export function readMigrationsDirectory(dir: string): Omit<MigrationSet, "source"> & { source?: string } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(`Migrations directory ${dir} does not exist. Pass --migrations <dir> with Prisma's layout, or ${DEFAULT_MIGRATIONS_SOURCE}.`);
  }
  const lockPath = join(dir, "migration_lock.toml");
  if (!existsSync(lockPath)) {
    throw new UserError(`${lockPath} is missing. A Prisma migrations directory has a migration_lock.toml saying provider = "postgresql"; check the path.`);
  }
  const provider = readProvider(readFileSync(lockPath, "utf8"));
  if (provider !== "postgresql") {
    throw new UserError(
      `${lockPath} names provider ${JSON.stringify(provider ?? "<none>")}, expected "postgresql" (Prisma P3019). These migrations are for another database; use Umami's db/postgresql/migrations.`,
    );
  }
  // Prisma's CLI lists the sub-directories and sorts them with localeCompare (packages/migrate/src/utils/listMigrations.ts).
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b));
  if (names.length === 0) {
    throw new UserError(`Migrations directory ${dir} has no migration sub-directories. Point --migrations at the directory that holds <name>/migration.sql.`);
  }
  const migrations = names.map((name) => {
    const file = join(dir, name, "migration.sql");
    if (!existsSync(file)) {
      throw new UserError(`Could not find the migration file at ${file} (Prisma P3015). Restore the file or delete the directory ${name}.`);
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
  return line?.replace(/^provider\s*=\s*/, "").trim().replace(/^"|"$/g, "");
}

/** Ensures umami@`version`'s migrations are in the cache (downloading once with `npm pack`); returns their directory. */
async function fetchUmamiMigrations(version: string, cacheDir: string): Promise<string> {
  if (!EXACT_VERSION.test(version)) {
    throw new UserError(`npm:umami@${version} is not an exact version. Use one like ${DEFAULT_MIGRATIONS_SOURCE} (see \`npm view umami versions\`).`);
  }
  const target = join(cacheDir, "npm", `umami@${version}`);
  const migrationsDir = join(target, UMAMI_MIGRATIONS_PATH);
  if (existsSync(join(migrationsDir, "migration_lock.toml"))) return migrationsDir;

  mkdirSync(cacheDir, { recursive: true });
  // Download and extract into a scratch directory, then rename: a concurrent or interrupted run never
  // leaves a half-extracted cache entry behind.
  const scratch = mkdtempSync(join(cacheDir, `.umami@${version}-`));
  try {
    let filename: string;
    try {
      const { stdout } = await execFileAsync("npm", ["pack", `umami@${version}`, "--pack-destination", scratch, "--json", "--ignore-scripts"], {
        maxBuffer: 64 * 1024 * 1024,
      });
      filename = (JSON.parse(stdout) as { filename: string }[])[0].filename;
    } catch (error) {
      throw describeNpmFailure(version, error);
    }
    const extracted = join(scratch, "extracted");
    mkdirSync(extracted);
    try {
      await execFileAsync("tar", ["-xzf", join(scratch, filename), "-C", extracted, `package/${UMAMI_MIGRATIONS_PATH}`]);
    } catch (error) {
      throw new UserError(`umami@${version} has no ${UMAMI_MIGRATIONS_PATH} in its package. Use a version of Umami 2 or later (e.g. ${DEFAULT_MIGRATIONS_SOURCE}).`, { cause: error });
    }
    mkdirSync(dirname(target), { recursive: true });
    try {
      renameSync(join(extracted, "package"), target);
    } catch (error) {
      // Another run filled the cache first: use its copy.
      if (!existsSync(join(migrationsDir, "migration_lock.toml"))) throw error;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return migrationsDir;
}

function describeNpmFailure(version: string, error: unknown): UserError {
  const e = error as { code?: string | number; stderr?: string; message?: string };
  if (e.code === "ENOENT") return new UserError("npm is not on PATH, so npm:umami@<version> cannot be fetched. Install Node.js with npm, or pass --migrations <dir>.", { cause: error });
  const text = `${e.stderr ?? ""}\n${e.message ?? ""}`;
  if (/E404|ETARGET|No matching version|notarget/i.test(text)) {
    return new UserError(`The npm registry has no umami@${version}. Use a published version (see \`npm view umami versions\`), e.g. ${DEFAULT_MIGRATIONS_SOURCE}.`, { cause: error });
  }
  const first = text.split("\n").map((l) => l.trim()).find((l) => /npm (ERR|error)/i.test(l)) ?? text.trim().split("\n")[0];
  return new UserError(`Could not fetch umami@${version} from the npm registry (${first}). Check network access to the registry, or pass --migrations <dir>.`, { cause: error });
}
