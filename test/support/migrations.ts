/**
 * Umami's release files for tests: the migrations through the product's own `github:` source, which finds them
 * in the copy bundled with the tool (vendor/umami; no mirror, no network), the bundled paths for what needs
 * files (Prisma's own CLI, Umami's schema), and the npm package umami@2.10.0's pre-release `04_team_redesign`
 * (`docs/design.md` § "Umami's releases and Prisma"), fetched once with `npm pack` and cached under tmp/.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  BUNDLED_DIR,
  DEFAULT_CACHE_DIR,
  loadMigrations,
  umamiReleaseSource,
  type LoadOptions,
  type MigrationSet,
} from "../../scripts/migrate/sources.js";
import { PROJECT_ROOT } from "./reliability.js";

const execFileAsync = promisify(execFile);

/** The known Umami versions tests use. */
type UmamiVersion = "2.10.0" | "3.1.0";

/** Umami's release files as the tool ships them, laid out by tag (vendor/umami). */
export const UMAMI_RELEASES: string = BUNDLED_DIR;

/** The source options tests pass to flows: the bundled copy, no mirror; nothing is downloaded for a known tag. */
export function testSourceOptions(): LoadOptions {
  return { bundledDir: BUNDLED_DIR, mirrorDir: undefined, cacheDir: DEFAULT_CACHE_DIR };
}

/** `github:umami-software/umami@v<version>`. */
export function releaseSource(version: UmamiVersion): string {
  return umamiReleaseSource(version);
}

/** Loads Umami `version`'s release migrations from the bundled copy. */
export function loadRelease(version: UmamiVersion): Promise<MigrationSet> {
  return loadMigrations(releaseSource(version), testSourceOptions());
}

/** The tables Umami 3.1.0's 19 migrations leave in the schema, `_prisma_migrations` included (measured). */
export const UMAMI_3_TABLES = [
  "_prisma_migrations",
  "board",
  "event_data",
  "link",
  "pixel",
  "report",
  "revenue",
  "segment",
  "session",
  "session_data",
  "session_replay",
  "session_replay_saved",
  "share",
  "team",
  "team_user",
  "user",
  "website",
  "website_event",
];

/** Each release's migrations directory in the bundled copy (2.x and 3.x layouts). */
export const RELEASE_DIRS = {
  "2.10.0": join(UMAMI_RELEASES, "v2.10.0", "db", "postgresql", "migrations"),
  "3.1.0": join(UMAMI_RELEASES, "v3.1.0", "prisma", "migrations"),
} as const;

/** Umami 3.1.0's Prisma schema (what its client is generated from; Prisma's CLI needs it to run). */
export const RELEASE_SCHEMA_3_1_0 = join(UMAMI_RELEASES, "v3.1.0", "prisma", "schema.prisma");

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
    const { stdout } = await execFileAsync(
      "npm",
      ["pack", "umami@2.10.0", "--pack-destination", scratch, "--json", "--ignore-scripts"],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    const { filename } = (JSON.parse(stdout) as { filename: string }[])[0];
    await execFileAsync("tar", ["-xzf", join(scratch, filename), "-C", scratch, "package/db/postgresql/migrations"]);
    if (!existsSync(dir)) renameSync(join(scratch, "package"), target);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return dir;
}
