/**
 * `npm:umami@<version>`: that package's tarball from the npm registry (`npm pack`, cached), its
 * `db/postgresql/migrations`. npm's packages are not Umami's release files: `umami@2.10.0` ships a pre-release
 * `04_team_redesign` (DESIGN.md fact 10) and is refused; other versions are used with a note saying so.
 * There is no switch to accept npm's 2.10.0: a database already migrated from it is named as such by
 * `migrate status` against the release, and files one must apply anyway can be passed as a directory, which
 * the tool then names as npm's pre-release copy.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { UserError } from "../../kernel/errors.js";
import { shortChecksum } from "../errors.js";
import { readMigrationsDirectory } from "./directory.js";
import { DEFAULT_MIGRATIONS_SOURCE, identifyMigrations, knownRelease, NPM_PRERELEASE_COPY, umamiReleaseSource } from "./releases.js";
import type { MigrationSet } from "./types.js";

/** Where Umami keeps its PostgreSQL migrations inside its npm package. */
export const UMAMI_MIGRATIONS_PATH = "db/postgresql/migrations";

const execFileAsync = promisify(execFile);
const NPM_SOURCE = /^npm:umami@(.+)$/;
// Exact versions only: a tag such as `latest` moves, and a cached copy of it would silently go stale.
const EXACT_VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/** The one-line refusal of npm's `umami@2.10.0`. */
export function npmPrereleaseRefusal(): string {
  const copy = NPM_PRERELEASE_COPY;
  const [name, checksum] = Object.entries(copy.differs)[0];
  const release = knownRelease(copy.release)!.checksums[name];
  return (
    `${copy.source} is not Umami's 2.10.0 release: its ${name} is a pre-release copy (checksum ${shortChecksum(checksum)}, the release's is ${shortChecksum(release)}) ` +
    `that lacks ${copy.lacks.join(" and ")}, which Umami 3 needs. Use ${umamiReleaseSource(copy.release)} (or the default, ${DEFAULT_MIGRATIONS_SOURCE}).`
  );
}

/** Loads `npm:umami@<version>` (refusing 2.10.0) from the cache, downloading it once with `npm pack`. */
export async function loadNpmPackage(source: string, cacheDir: string): Promise<MigrationSet> {
  const match = NPM_SOURCE.exec(source);
  if (!match) throw new UserError(`Migration source ${JSON.stringify(source)} is not supported. Use ${DEFAULT_MIGRATIONS_SOURCE}, docker:<image> or a directory.`);
  const version = match[1];
  if (source === NPM_PRERELEASE_COPY.source) throw new UserError(npmPrereleaseRefusal());
  if (!EXACT_VERSION.test(version)) {
    throw new UserError(`npm:umami@${version} is not an exact version. Use one like npm:umami@2.9.0 (see \`npm view umami versions\`), or better ${DEFAULT_MIGRATIONS_SOURCE}.`);
  }
  const dir = await fetchUmamiMigrations(version, cacheDir);
  const read = readMigrationsDirectory(dir);
  const known = identifyMigrations(read.migrations);
  const notes = [`npm's package is not Umami's release: prefer ${umamiReleaseSource(version)}.`, ...(known ? [known] : [])];
  return { ...read, source, origin: "npm", notes };
}

/** Ensures umami@`version`'s migrations are in the cache (downloading once with `npm pack`); returns their directory. */
async function fetchUmamiMigrations(version: string, cacheDir: string): Promise<string> {
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
      throw new UserError(`umami@${version} has no ${UMAMI_MIGRATIONS_PATH} in its package. Use ${umamiReleaseSource(version)} instead.`, { cause: error });
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
  if (e.code === "ENOENT") return new UserError(`npm is not on PATH, so npm:umami@${version} cannot be fetched. Use ${umamiReleaseSource(version)} or --migrations <dir>.`, { cause: error });
  const text = `${e.stderr ?? ""}\n${e.message ?? ""}`;
  if (/E404|ETARGET|No matching version|notarget/i.test(text)) {
    return new UserError(`The npm registry has no umami@${version}. Use ${DEFAULT_MIGRATIONS_SOURCE} or another release tag.`, { cause: error });
  }
  const first = text.split("\n").map((l) => l.trim()).find((l) => /npm (ERR|error)/i.test(l)) ?? text.trim().split("\n")[0];
  return new UserError(`Could not fetch umami@${version} from the npm registry (${first}). Check network access to the registry, or use ${umamiReleaseSource(version)}.`, { cause: error });
}
