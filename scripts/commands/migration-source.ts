/**
 * The `--migrations` option every migrating command shares, and the one place flags and environment become the
 * sources' `LoadOptions` (inputs.ts holds the precedence table; nothing below the commands reads `process.env`).
 */
import { resolve } from "node:path";
import { umamiVersionOf } from "../../sst/database/spec.js";
import { DEFAULT_UMAMI_VERSION, defaultStage } from "../../sst/stages.js";
import { BUNDLED_DIR, DEFAULT_CACHE_DIR, umamiReleaseSource, type LoadOptions } from "../migrate/sources.js";
import { Problems } from "../kernel/problems.js";
import { environmentValue, type Environment } from "./inputs.js";

/** The help text of `--migrations`. */
export const MIGRATIONS_OPTION_HELP =
  "github:umami-software/umami@v<version> (release tag; the copy bundled in vendor/umami, the mirror, the cache, then GitHub), docker:<image>, or a directory in Prisma's layout";

/** The default source of `stage`: its `umamiVersion` (sst/stages.ts) from the release tag. */
export function defaultMigrationsSource(stage: string = defaultStage): string {
  return umamiReleaseSource(umamiVersionOf(stage));
}

/** The help line that names the default (the stage's umamiVersion). */
export function migrationsDefaultHelp(): string {
  return `(default: the stage's umamiVersion in sst/stages.ts, ${DEFAULT_UMAMI_VERSION} unless set)`;
}

/**
 * The sources' options from the environment, validated once: every problem is collected, then reported in one
 * line. Pure: the command passes `process.env`.
 */
export function migrationLoadOptions(env: Environment, problems = new Problems()): LoadOptions {
  const base = environmentValue(env, "UMAMI_GITHUB_BASE_URL");
  if (base !== undefined && !/^https?:\/\/[^/\s]+/.test(base)) {
    problems.add(
      `UMAMI_GITHUB_BASE_URL=${JSON.stringify(base)} is not an http(s) URL: set it to GitHub's archive host (https://codeload.github.com) or a mirror of it, or unset it`,
    );
  }
  const mirror = environmentValue(env, "UMAMI_MIGRATIONS_MIRROR");
  const cache = environmentValue(env, "UMAMI_MIGRATIONS_CACHE");
  problems.throwIfAny();
  return {
    bundledDir: BUNDLED_DIR,
    githubBaseUrl: base,
    mirrorDir: mirror === undefined ? undefined : resolve(mirror),
    cacheDir: cache === undefined ? DEFAULT_CACHE_DIR : resolve(cache),
  };
}

/** The notes a loaded set carries, as `note:` lines for stderr. */
export function noteLines(notes: readonly string[] | undefined): string {
  return (notes ?? []).map((n) => `note: ${n}\n`).join("");
}
