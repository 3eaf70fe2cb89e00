/**
 * The `--migrations` option every migrating command shares, and the environment that steers the sources,
 * read here at the edge (nothing below the commands reads `process.env`):
 * - UMAMI_MIGRATIONS_MIRROR — an offline mirror of Umami's release files laid out by tag, read before any download;
 * - UMAMI_GITHUB_BASE_URL — where GitHub's tag tarballs are served (default https://codeload.github.com);
 * - UMAMI_MIGRATIONS_CACHE — the download cache (default .umami-db/cache).
 */
import { resolve } from "node:path";
import { umamiVersionOf } from "../../sst/database/spec.js";
import { DEFAULT_UMAMI_VERSION, defaultStage } from "../../sst/stages.js";
import { UserError } from "../kernel/errors.js";
import { umamiReleaseSource, type LoadOptions } from "../migrate/sources.js";

/** The environment variables the migration sources read (through this module). */
export const MIGRATIONS_ENV = {
  mirror: "UMAMI_MIGRATIONS_MIRROR",
  githubBaseUrl: "UMAMI_GITHUB_BASE_URL",
  cache: "UMAMI_MIGRATIONS_CACHE",
} as const;

/** The help text of `--migrations`. */
export const MIGRATIONS_OPTION_HELP =
  "github:umami-software/umami@v<version> (release tag; mirror, cache, then GitHub), docker:<image>, or a directory in Prisma's layout";

/** The default source of `stage`: its `umamiVersion` (sst/stages.ts) from the release tag. */
export function defaultMigrationsSource(stage: string = defaultStage): string {
  return umamiReleaseSource(umamiVersionOf(stage));
}

/** The help line that names the default (the stage's umamiVersion). */
export function migrationsDefaultHelp(): string {
  return `(default: the stage's umamiVersion in sst/stages.ts, ${DEFAULT_UMAMI_VERSION} unless set)`;
}

/** The sources' options from the environment, validated once. */
export function migrationLoadOptions(env: NodeJS.ProcessEnv = process.env): LoadOptions {
  const base = env[MIGRATIONS_ENV.githubBaseUrl] || undefined;
  if (base !== undefined && !/^https?:\/\/[^/\s]+/.test(base)) {
    throw new UserError(`${MIGRATIONS_ENV.githubBaseUrl}=${JSON.stringify(base)} is not an http(s) URL. Set it to GitHub's archive host (https://codeload.github.com) or a mirror of it, or unset it.`);
  }
  const mirror = env[MIGRATIONS_ENV.mirror] || undefined;
  const cache = env[MIGRATIONS_ENV.cache] || undefined;
  return {
    githubBaseUrl: base,
    mirrorDir: mirror === undefined ? undefined : resolve(mirror),
    cacheDir: cache === undefined ? undefined : resolve(cache),
  };
}

/** The notes a loaded set carries, as `note:` lines for stderr. */
export function noteLines(notes: readonly string[] | undefined): string {
  return (notes ?? []).map((n) => `note: ${n}\n`).join("");
}
