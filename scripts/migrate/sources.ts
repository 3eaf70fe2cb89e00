/**
 * Where Umami's Prisma migrations come from (`--migrations`):
 * - `github:umami-software/umami@v3.1.0` — a release tag's files: the copy bundled in vendor/umami first, then
 *   the offline mirror (UMAMI_MIGRATIONS_MIRROR), then the cache, then GitHub; checked against the releases the tool knows (sources/github.ts);
 * - `docker:<image>` — the files inside the image the container runs (sources/docker.ts);
 * - a directory in Prisma's layout (sources/directory.ts);
 * - `npm:umami@<version>` — refused: npm's 2.10.0 is a pre-release copy (sources/npm.ts).
 * The default is the stage's `umamiVersion` (sst/stages.ts) from its tag. Umami's SQL is vendored
 * byte-identical (vendor/umami), never edited. See docs/prisma-compatibility.md for how each rule follows Prisma's own code.
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readMigrationsDirectory } from "./sources/directory.js";
import { loadDockerImage } from "./sources/docker.js";
import { loadGithubRelease, parseGithubSource } from "./sources/github.js";
import { refuseNpmSource } from "./sources/npm.js";
import { identifyMigrations } from "./sources/releases.js";
import type { LoadOptions, MigrationSet } from "./sources/types.js";

export type { DockerRunner, LoadOptions, Migration, MigrationSet } from "./sources/types.js";
export { readMigrationsDirectory, readProvider } from "./sources/directory.js";
export { BUNDLED_DIR } from "./sources/bundled.js";
export {
  DEFAULT_MIGRATIONS_SOURCE,
  umamiReleaseSource,
  umamiReleaseVersion,
} from "./sources/releases.js";

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The default cache directory, inside the project and ignored by git. */
export const DEFAULT_CACHE_DIR = join(PROJECT_ROOT, ".umami-db", "cache");

/** Loads the migrations named by `source` (see the file's summary for the kinds). */
export async function loadMigrations(source: string, options: LoadOptions): Promise<MigrationSet> {
  if (source.startsWith("github:")) return loadGithubRelease(parseGithubSource(source), options);
  if (source.startsWith("docker:")) return loadDockerImage(source, options);
  if (source.startsWith("npm:")) throw refuseNpmSource(source);
  const read = readMigrationsDirectory(resolve(source));
  const known = identifyMigrations(read.migrations);
  return { ...read, source, origin: "directory", notes: known ? [known] : [] };
}
