/**
 * `github:<owner>/<repo>@<tag>`: a release tag's migrations as Umami publishes them. In order (for
 * umami-software/umami): the copy bundled in vendor/umami, the offline mirror; then the cache, then the tag's tarball from GitHub's codeload host
 * (`<base>/<owner>/<repo>/tar.gz/refs/tags/<tag>`, what github.com's "Download ZIP/tar.gz" links and the API's
 * `/tarball/<tag>` redirect to; anonymous, no API rate limit). Both layouts are understood:
 * `prisma/migrations` (Umami 3.x) and `db/postgresql/migrations` (2.x). Files of a release the tool knows are
 * checked against its pinned checksums (releases.ts); the cache against its manifest and the remote.
 */
import { join } from "node:path";
import { UserError } from "../../kernel/errors.js";
import { findBundled } from "./bundled.js";
import {
  cacheEntryDir,
  sha256,
  checksumsOf,
  differingFiles,
  readManifest,
  verifyEntry,
  writeEntry,
  type CacheManifest,
  type ReleaseFiles,
} from "./cache.js";
import { readMigrationsDirectory } from "./directory.js";
import { findInMirror, UMAMI_LAYOUTS } from "./mirror.js";
import { compareWithRelease, describeDifferences, KNOWN_RELEASES, knownRelease } from "./releases.js";
import { readTarGz, TarFormatError } from "./tar.js";
import type { LoadOptions, Migration, MigrationOrigin, MigrationSet } from "./types.js";

/** GitHub's host for repository archives. */
const DEFAULT_GITHUB_BASE_URL = "https://codeload.github.com";

/** A tag's tarball could not be downloaded (no answer, or an HTTP error): the URL and why, for a caller's own remedy. */
export class DownloadError extends UserError {
  constructor(
    message: string,
    readonly url: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
const DEFAULT_TIMEOUT_MS = 120_000;
const MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024;
const UMAMI_REPO = "umami-software/umami";

/** A parsed `github:` source. */
interface GithubSource {
  source: string;
  owner: string;
  repo: string;
  tag: string;
}

const GITHUB_SOURCE = /^github:([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)@(.+)$/;
// Umami tags its releases v<major>.<minor>.<patch>; a branch or `latest` moves, and its cache would go stale.
const RELEASE_TAG = /^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/** Parses `github:<owner>/<repo>@<tag>`; a one-line error for anything else. */
export function parseGithubSource(source: string): GithubSource {
  const match = GITHUB_SOURCE.exec(source);
  if (!match) {
    throw new UserError(
      `Migration source ${JSON.stringify(source)} is not github:<owner>/<repo>@<tag>. Use e.g. github:${UMAMI_REPO}@v3.1.0.`,
    );
  }
  const [, owner, repo, tag] = match;
  if (!RELEASE_TAG.test(tag)) {
    throw new UserError(
      `${source} does not name a release tag (${JSON.stringify(tag)}); a branch or "latest" moves under a cache. Use a tag like v3.1.0.`,
    );
  }
  return { source, owner, repo, tag };
}

/** The tarball's address for `s` under `baseUrl`. */
function tarballUrl(s: GithubSource, baseUrl = DEFAULT_GITHUB_BASE_URL): string {
  return `${baseUrl.replace(/\/+$/, "")}/${s.owner}/${s.repo}/tar.gz/refs/tags/${encodeURIComponent(s.tag)}`;
}

/** Loads a `github:` source from the bundled copy, the mirror, the cache or GitHub (in that order). */
export async function loadGithubRelease(s: GithubSource, options: LoadOptions): Promise<MigrationSet> {
  const isUmami = `${s.owner}/${s.repo}` === UMAMI_REPO;
  const bundled = isUmami && options.bundledDir ? findBundled(options.bundledDir, s.tag) : undefined;
  if (bundled) {
    return finish(
      s,
      readMigrationsDirectory(bundled),
      "bundled",
      `the bundled copy (${bundled})`,
      `Restore vendor/umami/${s.tag} from git (git checkout -- vendor/umami): nothing under vendor/ is edited by hand.`,
    );
  }
  if (options.mirrorDir && isUmami) {
    const dir = findInMirror(options.mirrorDir, s.tag);
    return finish(
      s,
      readMigrationsDirectory(dir),
      "mirror",
      `the mirror (${dir})`,
      "Restore the release's files in the mirror from the tag.",
    );
  }

  const entryDir = cacheEntryDir(options.cacheDir, s.owner, s.repo, s.tag);
  const manifest = readManifest(entryDir);
  const damaged = manifest ? verifyEntry(entryDir, manifest) : [];
  if (manifest && damaged.length === 0) {
    const dir = join(entryDir, manifest.layout);
    return finish(
      s,
      readMigrationsDirectory(dir),
      "cache",
      `the cache (${dir})`,
      `Delete ${entryDir} and run again to download the tag afresh.`,
    );
  }

  const url = tarballUrl(s, options.githubBaseUrl);
  const download = await extractMigrations(
    s,
    url,
    await fetchTarball(s, url, options, manifest ? { entryDir, damaged } : { entryDir }),
  );
  if (manifest) {
    // The cache was damaged (a file edited or lost): the download must be what was cached, or the tag moved.
    const differ = differingFiles(manifest.files, checksumsOf(download.files));
    if (differ.length > 0) {
      throw new UserError(
        `${s.source}: GitHub's ${s.tag} differs from the copy cached on ${manifest.fetchedAt} in ${differ.join(", ")} (the tag was moved or re-created). ` +
          `Check the tag on GitHub; if the new files are right, delete ${entryDir} and run again.`,
      );
    }
  }
  // Checked before anything is cached: a tarball that is not the release never lands in the cache.
  const migrationsOf = (files: ReleaseFiles): Migration[] =>
    [...files]
      .filter(([p]) => p.endsWith("/migration.sql"))
      .map(([p, bytes]) => ({ name: p.split("/")[0], sql: bytes.toString("utf8"), checksum: sha256(bytes) }));
  checkKnownRelease(
    s,
    migrationsOf(download.files),
    `GitHub (${url})`,
    "The tag no longer holds the release this tool knows; check it on GitHub, or pass --migrations <dir> with files you trust.",
  );
  const written: CacheManifest = {
    source: s.source,
    url,
    layout: download.layout,
    commit: download.commit,
    fetchedAt: new Date().toISOString(),
    files: checksumsOf(download.files),
  };
  const dir = writeEntry(entryDir, written, download.files);
  return finish(s, readMigrationsDirectory(dir), "github", `GitHub (${url})`, "");
}

function finish(
  s: GithubSource,
  read: Omit<MigrationSet, "source">,
  origin: MigrationOrigin,
  where: string,
  remedy: string,
): MigrationSet {
  const notes = checkKnownRelease(s, read.migrations, where, remedy);
  return { ...read, source: s.source, origin, notes };
}

/** Refuses files that differ from a release the tool knows; returns the note for the set. */
function checkKnownRelease(s: GithubSource, migrations: readonly Migration[], where: string, remedy: string): string[] {
  if (`${s.owner}/${s.repo}` !== UMAMI_REPO)
    return [`${s.owner}/${s.repo} is not Umami's repository; its files are used as found.`];
  const release = knownRelease(s.tag);
  if (!release) {
    return [
      `Umami ${s.tag} is not a release this tool knows (it knows ${KNOWN_RELEASES.map((r) => r.tag).join(", ")}); its files are used as found, their checksums kept in the cache manifest.`,
    ];
  }
  const differences = compareWithRelease(release, migrations);
  if (differences.length > 0) {
    throw new UserError(
      `${s.source} from ${where} differs from Umami ${s.tag}'s release as this tool knows it: ${describeDifferences(differences)}. ${remedy}`.trim(),
    );
  }
  return [
    `Umami ${s.tag}'s release files: every checksum matches the tool's record of the tag (commit ${release.commit.slice(0, 8)}).`,
  ];
}

async function fetchTarball(
  s: GithubSource,
  url: string,
  options: LoadOptions,
  cache: { entryDir: string; damaged?: string[] },
): Promise<Buffer> {
  let response: Response;
  try {
    response = await fetch(url, {
      signal: AbortSignal.timeout(options.downloadTimeoutMs ?? DEFAULT_TIMEOUT_MS),
      redirect: "follow",
    });
  } catch (error) {
    const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    const reason =
      e.name === "TimeoutError" ? "timed out" : (e.cause?.code ?? e.cause?.message ?? e.message ?? String(error));
    const cached = cache.damaged
      ? `its cache entry (${cache.entryDir}) differs from its manifest in ${cache.damaged.join(", ")}, and it is not`
      : `it is neither in the cache (${cache.entryDir}) nor`;
    throw new DownloadError(
      `Could not download ${s.source} from ${url} (${reason}), and ${cached} in a mirror` +
        `${options.mirrorDir ? "" : " (UMAMI_MIGRATIONS_MIRROR is not set)"}. Set UMAMI_MIGRATIONS_MIRROR to a directory of Umami's release files laid out by tag ` +
        `(<dir>/${s.tag}/prisma/migrations), or run once where GitHub is reachable to fill the cache.`,
      url,
      reason,
      { cause: error },
    );
  }
  if (response.status === 404) {
    throw new UserError(
      `GitHub has no tag ${s.tag} in ${s.owner}/${s.repo} (${url} answered 404). Check the version: Umami's tags look like v3.1.0.`,
    );
  }
  if (!response.ok) {
    throw new DownloadError(
      `Could not download ${s.source}: ${url} answered HTTP ${response.status}. Try again later, or set UMAMI_MIGRATIONS_MIRROR to a mirror of the release files.`,
      url,
      `HTTP ${response.status}`,
    );
  }
  const length = Number(response.headers.get("content-length") ?? 0);
  if (length > MAX_DOWNLOAD_BYTES)
    throw new UserError(
      `${url} is ${length} bytes, more than a release tarball (${MAX_DOWNLOAD_BYTES}); check UMAMI_GITHUB_BASE_URL.`,
    );
  return Buffer.from(await response.arrayBuffer());
}

/** The migrations of a tag's tarball, found under either Umami layout below the archive's top folder. */
async function extractMigrations(
  s: GithubSource,
  url: string,
  gz: Buffer,
): Promise<{ layout: string; commit?: string; files: ReleaseFiles }> {
  let contents;
  try {
    contents = await readTarGz(gz, (path) =>
      UMAMI_LAYOUTS.some((layout) => path.split("/").slice(1).join("/").startsWith(`${layout}/`)),
    );
  } catch (error) {
    if (error instanceof TarFormatError)
      throw new UserError(`${url} did not return a tar.gz archive (${error.message}). Check UMAMI_GITHUB_BASE_URL.`, {
        cause: error,
      });
    throw error;
  }
  for (const layout of UMAMI_LAYOUTS) {
    const files: ReleaseFiles = new Map();
    for (const file of contents.files) {
      const inside = file.path.split("/").slice(1).join("/");
      if (!inside.startsWith(`${layout}/`)) continue;
      const path = inside.slice(layout.length + 1);
      // Only what Prisma reads, and nothing that could climb out of the cache entry.
      if (path === "migration_lock.toml" || /^[^/.\\][^/\\]*\/migration\.sql$/.test(path)) files.set(path, file.data);
    }
    if (files.has("migration_lock.toml")) return { layout, commit: contents.comment, files };
  }
  throw new UserError(
    `${s.source}: the tag's tarball has neither prisma/migrations (Umami 3) nor db/postgresql/migrations (Umami 2) with a migration_lock.toml. Check the tag.`,
  );
}
