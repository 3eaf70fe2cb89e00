/**
 * `umami-db releases add <tag>`: brings a new Umami release into the tool. Run where GitHub is reachable: the
 * tag is downloaded through the `github:` source (no bundled copy, no mirror, a scratch cache), its files are
 * written byte-identical to `vendor/umami/<tag>/`, their SHA-256 recorded in known-releases.json, and the result
 * says which migrations are new since the latest release the tool knew and what each would lock or destroy.
 * Every file lands through a scratch directory renamed into place: an interrupted run adds nothing.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../../kernel/errors.js";
import { planStatements, type TableOperation } from "../lock-plan.js";
import { cacheEntryDir, readManifest, sha256 } from "./cache.js";
import { DownloadError, loadGithubRelease, parseGithubSource } from "./github.js";
import { readKnownReleases, type KnownRelease } from "./releases.js";
import type { LoadOptions } from "./types.js";

/** Where a release is added: the vendored copies and the data file that pins them. */
export interface ReleaseStore {
  /** `vendor/umami`. */
  bundledDir: string;
  /** known-releases.json. */
  releasesFile: string;
}

/** What `addRelease` did, for the command to render. */
export interface AddedRelease {
  tag: string;
  commit: string;
  layout: string;
  /** The migrations directory written under the bundled copy. */
  dir: string;
  migrations: number;
  /** The newest release the tool knew before (the comparison's base), if any is older. */
  since?: string;
  /** Migrations the base release lacks, each with what its upgrade plan would lock, in order. */
  added: { name: string; operations: TableOperation[] }[];
  /** Migrations the base release has with another checksum (Umami edited them between releases). */
  changed: string[];
}

const VERSION = /^v(\d+)\.(\d+)\.(\d+)/;
const versionKey = (tag: string) => (VERSION.exec(tag) ?? [0, 0, 0, 0]).slice(1).map(Number);
const older = (a: string, b: string) => {
  const [x, y] = [versionKey(a), versionKey(b)];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
};

/** Downloads Umami `tag`, vendors it and records its checksums; refuses a tag the tool already knows. */
export async function addRelease(
  tag: string,
  store: ReleaseStore,
  sources: Pick<LoadOptions, "githubBaseUrl" | "downloadTimeoutMs">,
): Promise<AddedRelease> {
  const s = parseGithubSource(`github:umami-software/umami@${tag}`);
  const known = readKnownReleases(store.releasesFile);
  if (known.some((r) => r.tag === tag))
    throw new UserError(`Umami ${tag} is already a release this tool knows (${store.releasesFile}); nothing to add.`);
  const target = join(store.bundledDir, tag);
  if (existsSync(target))
    throw new UserError(
      `${target} exists but ${tag} is not recorded in ${store.releasesFile}. Remove the folder (nothing under vendor/ is edited by hand) and run again.`,
    );

  const scratch = mkdtempSync(join(store.bundledDir, `.add-${tag}-`));
  try {
    const cacheDir = join(scratch, "cache");
    const set = await loadGithubRelease(s, { bundledDir: undefined, mirrorDir: undefined, cacheDir, ...sources }).catch(
      (error: unknown) => {
        // The loader's remedy (a mirror, the cache) is not this command's: it downloads, and only from GitHub.
        if (!(error instanceof DownloadError)) throw error;
        throw new UserError(
          `Could not download ${s.source} from ${error.url} (${error.reason}). \`releases add\` takes a release from GitHub only, never from ` +
            `UMAMI_MIGRATIONS_MIRROR or the cache: run it where ${new URL(error.url).host} is reachable, or set UMAMI_GITHUB_BASE_URL to a server that serves GitHub's tag tarballs.`,
          { cause: error },
        );
      },
    );
    const manifest = readManifest(cacheEntryDir(cacheDir, s.owner, s.repo, tag))!;
    if (!manifest.commit)
      throw new UserError(
        `${s.source}: the tarball names no commit (no pax comment), so its provenance cannot be recorded. Check UMAMI_GITHUB_BASE_URL points at GitHub's codeload or a faithful mirror.`,
      );
    const release: KnownRelease = {
      tag,
      commit: manifest.commit,
      layout: manifest.layout as KnownRelease["layout"],
      checksums: Object.fromEntries(set.migrations.map((m) => [m.name, m.checksum])),
      files: { [`${manifest.layout}/migration_lock.toml`]: sha256(readFileSync(join(set.dir, "migration_lock.toml"))) },
    };
    cpSync(set.dir, join(scratch, "release", manifest.layout), { recursive: true });
    renameSync(join(scratch, "release"), target);
    const releases = [...known, release].sort((a, b) => older(a.tag, b.tag));
    writeFileSync(store.releasesFile, `${JSON.stringify({ releases }, null, 2)}\n`);
    appendReadmeRow(store.bundledDir, release, set.migrations.length);

    const base = known
      .filter((r) => older(r.tag, tag) < 0)
      .sort((a, b) => older(a.tag, b.tag))
      .at(-1);
    const before = base?.checksums ?? {};
    // The plan of each new migration, knowing the indexes the release's earlier migrations created.
    const indexes = new Map<string, string>();
    for (const m of set.migrations.filter((m) => m.name in before)) planStatements(m.sql, indexes);
    const created = new Set<string>();
    return {
      tag,
      commit: release.commit,
      layout: release.layout,
      dir: join(target, release.layout),
      migrations: set.migrations.length,
      since: base?.tag,
      added: set.migrations
        .filter((m) => !(m.name in before))
        .map((m) => ({ name: m.name, operations: planStatements(m.sql, indexes, created) })),
      changed: set.migrations.filter((m) => m.name in before && before[m.name] !== m.checksum).map((m) => m.name),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** vendor/umami/README.md's provenance table gains the release's row. */
function appendReadmeRow(bundledDir: string, release: KnownRelease, count: number): void {
  const path = join(bundledDir, "README.md");
  const lines = readFileSync(path, "utf8").split("\n");
  const last = lines.findLastIndex((line) => line.startsWith("| `"));
  lines.splice(
    last + 1,
    0,
    `| \`${release.tag}/${release.layout}/\` | ${release.tag} | ${release.commit} | the ${release.tag.slice(1)} release's ${count} migrations (added by \`umami-db releases add\`) |`,
  );
  writeFileSync(path, lines.join("\n"));
}
