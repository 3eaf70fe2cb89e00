/**
 * Umami's release migrations for tests, through the product's own `github:` source and the offline mirror
 * that vitest.config.ts names (UMAMI_MIGRATIONS_MIRROR, ../shared/umami unless set). Tests read the
 * environment here; the product reads it only in its commands.
 */
import { resolve } from "node:path";
import { loadMigrations, umamiReleaseSource, type LoadOptions, type MigrationSet } from "../../scripts/migrate/sources.js";

/** The known Umami versions tests use. */
export type UmamiVersion = "2.10.0" | "3.1.0";

/** The offline mirror of Umami's release files: the one place tests read it (vitest.config.ts sets it). */
export const UMAMI_MIRROR: string = (() => {
  const dir = process.env.UMAMI_MIGRATIONS_MIRROR;
  if (!dir) throw new Error("UMAMI_MIGRATIONS_MIRROR is not set: run the tests through vitest (vitest.config.ts sets it)");
  return resolve(dir);
})();

/** The source options tests pass to flows: the mirror from the environment. */
export function testSourceOptions(): LoadOptions {
  return { mirrorDir: UMAMI_MIRROR };
}

/** `github:umami-software/umami@v<version>`. */
export function releaseSource(version: UmamiVersion): string {
  return umamiReleaseSource(version);
}

/** Loads Umami `version`'s release migrations from the mirror. */
export function loadRelease(version: UmamiVersion): Promise<MigrationSet> {
  return loadMigrations(releaseSource(version), testSourceOptions());
}

/** The tables Umami 3.1.0's 19 migrations leave in the schema, `_prisma_migrations` included (measured). */
export const UMAMI_3_TABLES = [
  "_prisma_migrations", "board", "event_data", "link", "pixel", "report", "revenue", "segment", "session", "session_data",
  "session_replay", "session_replay_saved", "share", "team", "team_user", "user", "website", "website_event",
];
