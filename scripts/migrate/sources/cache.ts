/**
 * The download cache (`.umami-db/cache/github/<owner>/<repo>/<tag>/`): the migrations of one tag, and a
 * manifest with each file's SHA-256, so a later run works offline and notices when the cache or the remote
 * changed. Entries are written into a scratch directory and renamed into place: an interrupted run never
 * leaves half a cache entry.
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { UserError } from "../../kernel/errors.js";

/** What the cache records about one tag. */
export interface CacheManifest {
  source: string;
  url: string;
  /** Where the release keeps its migrations (`prisma/migrations` or `db/postgresql/migrations`). */
  layout: string;
  /** The commit the tarball was made from (its pax comment), when it says. */
  commit?: string;
  fetchedAt: string;
  /** Path under `layout` → SHA-256 of the file. */
  files: Record<string, string>;
}

/** The files of one tag: path under the layout → bytes. */
export type ReleaseFiles = Map<string, Buffer>;

/** The cache entry's directory for one source. */
export function cacheEntryDir(cacheDir: string, owner: string, repo: string, tag: string): string {
  return join(cacheDir, "github", owner, repo, tag);
}

/** SHA-256 hex of some bytes. */
export function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The entry's manifest, or undefined when the tag was never cached. */
export function readManifest(entryDir: string): CacheManifest | undefined {
  const path = join(entryDir, "manifest.json");
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as CacheManifest;
  } catch (error) {
    throw new UserError(
      `The cache manifest ${path} is not valid JSON (${(error as Error).message}). Delete ${entryDir} and run again to download the tag afresh.`,
      { cause: error },
    );
  }
}

/** The files on disk that differ from the manifest (changed, missing, or not in it). Empty: the entry is intact. */
export function verifyEntry(entryDir: string, manifest: CacheManifest): string[] {
  const root = join(entryDir, manifest.layout);
  const onDisk = new Map(listFiles(root).map((path) => [path, sha256(readFileSync(join(root, path)))]));
  return differingFiles(manifest.files, onDisk);
}

/** Paths whose checksum differs between two `path → sha256` maps, in name order. */
export function differingFiles(a: Record<string, string>, b: Map<string, string> | Record<string, string>): string[] {
  const other = b instanceof Map ? Object.fromEntries(b) : b;
  const paths = new Set([...Object.keys(a), ...Object.keys(other)]);
  return [...paths].filter((p) => a[p] !== other[p]).sort((x, y) => x.localeCompare(y));
}

/** Checksums of downloaded files, as the manifest records them. */
export function checksumsOf(files: ReleaseFiles): Record<string, string> {
  return Object.fromEntries(
    [...files].map(([path, bytes]): [string, string] => [path, sha256(bytes)]).sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** Writes a fresh entry (files + manifest), replacing a damaged one; returns the migrations directory. */
export function writeEntry(entryDir: string, manifest: CacheManifest, files: ReleaseFiles): string {
  mkdirSync(dirname(entryDir), { recursive: true });
  const scratch = mkdtempSync(join(dirname(entryDir), `.${manifest.layout.replaceAll("/", "_")}-`));
  try {
    for (const [path, bytes] of files) {
      const target = join(scratch, manifest.layout, path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, bytes);
    }
    writeFileSync(join(scratch, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    rmSync(entryDir, { recursive: true, force: true });
    try {
      renameSync(scratch, entryDir);
    } catch (error) {
      // Another run filled the entry first: use its copy if it is intact.
      const theirs = readManifest(entryDir);
      if (!theirs || verifyEntry(entryDir, theirs).length > 0) throw error;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return join(entryDir, manifest.layout);
}

function listFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join("/"));
}
