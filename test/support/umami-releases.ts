/**
 * Umami's official release files for the tests: the offline mirror named by UMAMI_MIGRATIONS_MIRROR (laid out
 * by tag, `<dir>/v3.1.0/prisma/migrations`), which tests and .ci/run point at ../shared/umami; and the npm
 * package umami@2.10.0's pre-release `04_team_redesign` (DESIGN.md fact 10), fetched once with `npm pack` and
 * cached under tmp/.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { loadMigrations, type MigrationSet } from "../../scripts/migrate/sources.js";
import { PROJECT_ROOT } from "./reliability.js";
import { UMAMI_MIRROR } from "./migrations.js";

const execFileAsync = promisify(execFile);

export { UMAMI_MIRROR };

/** Each release's migrations directory inside the mirror (2.x and 3.x layouts). */
export const RELEASE_DIRS = {
  "2.10.0": join(UMAMI_MIRROR, "v2.10.0", "db", "postgresql", "migrations"),
  "3.1.0": join(UMAMI_MIRROR, "v3.1.0", "prisma", "migrations"),
} as const;

/** Umami 3.1.0's Prisma schema (what its client is generated from; Prisma's CLI needs it to run). */
export const RELEASE_SCHEMA_3_1_0 = join(UMAMI_MIRROR, "v3.1.0", "prisma", "schema.prisma");

/** A release's migrations, loaded through the directory source. */
export function loadRelease(version: keyof typeof RELEASE_DIRS): Promise<MigrationSet> {
  return loadMigrations(RELEASE_DIRS[version]);
}

/** SHA-256 of `04_team_redesign`: the npm package's pre-release copy and the one every release ships. */
export const TEAM_REDESIGN_CHECKSUMS = {
  npmPreRelease: "83afff5fe5fb58062ef3590cc1da45e991a7f905cb6ba52691450d77fdf4ef24",
  release: "eb0e4ae2ef5204bc67ddb248358a402cd3bd88567d710f808f16c5124e5fd9cb",
} as const;

const NPM_CACHE = join(PROJECT_ROOT, "tmp", "npm-umami");

/**
 * The migrations directory of the npm package umami@2.10.0 (its `04_team_redesign` is the pre-release copy),
 * from `npm pack` once, then from tmp/npm-umami.
 */
export async function npmUmami2100MigrationsDir(): Promise<string> {
  const target = join(NPM_CACHE, "umami@2.10.0");
  const dir = join(target, "db", "postgresql", "migrations");
  if (existsSync(join(dir, "migration_lock.toml"))) return dir;
  mkdirSync(NPM_CACHE, { recursive: true });
  const scratch = mkdtempSync(join(NPM_CACHE, ".pack-"));
  try {
    const { stdout } = await execFileAsync("npm", ["pack", "umami@2.10.0", "--pack-destination", scratch, "--json", "--ignore-scripts"], { maxBuffer: 64 * 1024 * 1024 });
    const { filename } = (JSON.parse(stdout) as { filename: string }[])[0];
    await execFileAsync("tar", ["-xzf", join(scratch, filename), "-C", scratch, "package/db/postgresql/migrations"]);
    if (!existsSync(dir)) renameSync(join(scratch, "package"), target);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return dir;
}
