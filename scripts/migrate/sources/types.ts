/** The shapes every migration source returns, shared by the sources and the runner. */

/** One migration: directory name, the `migration.sql` text and its checksum as Prisma computes it. */
export interface Migration {
  name: string;
  sql: string;
  /** SHA-256 of the script's UTF-8 bytes, 64 lowercase hex digits (Prisma's `render_checksum`). */
  checksum: string;
}

/** Where a set's files were read from, after the source was resolved. */
export type MigrationOrigin = "directory" | "bundled" | "mirror" | "cache" | "github" | "docker";

/** A loaded migrations directory, in the order Prisma applies it. */
export interface MigrationSet {
  /** What the user asked for (`github:umami-software/umami@v3.1.0`, `docker:<image>`, a path). */
  source: string;
  /** The directory the migrations were read from (for `docker:`, the path inside the image). */
  dir: string;
  /** The provider named by `migration_lock.toml` (always `postgresql`: anything else is refused). */
  provider: string;
  migrations: Migration[];
  /** Where the files came from (mirror, cache, a download…). */
  origin?: MigrationOrigin;
  /** What the tool knows about these files (a known Umami release, npm's pre-release copy…), one line each. */
  notes?: string[];
}

/**
 * How sources reach the outside world. Commands get it from `readInputs` (commands/inputs.ts: flags and
 * UMAMI_MIGRATIONS_MIRROR, UMAMI_GITHUB_BASE_URL, UMAMI_MIGRATIONS_CACHE); nothing below them reads
 * `process.env`. The places are required, so no caller can forget the mirror or the bundled copy.
 */
export interface LoadOptions {
  /** The releases that ship with the tool, laid out by tag; undefined: none (`releases add` downloads). */
  bundledDir: string | undefined;
  /** An offline mirror of Umami's release files laid out by tag (`<dir>/v3.1.0/prisma/migrations`), read before any download. */
  mirrorDir: string | undefined;
  /** Cache for downloaded releases (`<project>/.umami-db/cache`, git-ignored, unless UMAMI_MIGRATIONS_CACHE names another). */
  cacheDir: string;
  /** Where GitHub's tag tarballs are served (codeload layout `<base>/<owner>/<repo>/tar.gz/refs/tags/<tag>`). @default "https://codeload.github.com" */
  githubBaseUrl?: string;
  /** How long a download may take, in milliseconds. @default 120000 */
  downloadTimeoutMs?: number;
  /** Runs the Docker client for `docker:` sources (tests inject one). @default the `docker` executable */
  docker?: DockerRunner;
}

/** Runs `docker <args>` and returns its output; rejects with the child's error (`code`, `stderr`). */
export type DockerRunner = (args: string[]) => Promise<{ stdout: string; stderr: string }>;
