/**
 * The Umami releases this tool knows, as data (known-releases.json, written by `umami-db releases add`): each
 * migration's SHA-256 at the release tag and every vendored file's (vendor/umami/<tag>/), pinned when the release
 * was added from Umami's repository at the tag. A source claiming to be a
 * known release is checked against it, a directory or image is named by it, and `migrate status` uses it to
 * tell an edit Umami itself shipped between releases from an edit someone made.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DEFAULT_UMAMI_VERSION } from "../../../sst/stages.js";
import { shortChecksum } from "../errors.js";
import type { Migration } from "./types.js";

/** One Umami release as the tool knows it. */
export interface KnownRelease {
  /** The git tag (`v3.1.0`). */
  tag: string;
  /** The tag's commit in umami-software/umami. */
  commit: string;
  /** Where the release keeps its PostgreSQL migrations. */
  layout: "prisma/migrations" | "db/postgresql/migrations";
  /** Migration name → SHA-256 of its `migration.sql`. */
  checksums: Readonly<Record<string, string>>;
  /** Every other file vendored with the release (path under `vendor/umami/<tag>/`) → SHA-256. */
  files: Readonly<Record<string, string>>;
}

/** A copy of a release that is not the release (npm's `umami@2.10.0`), and what it lacks. */
interface KnownCopy {
  /** The source that delivers it. */
  source: string;
  /** How messages name it. */
  label: string;
  /** The release it claims to be. */
  release: string;
  /** Its migrations whose checksum differs from the release's, with the copy's checksum. */
  differs: Readonly<Record<string, string>>;
  /** What a database migrated from it lacks compared with the release. */
  lacks: readonly string[];
}

/** The data file that pins the known releases; `umami-db releases add` writes it, nobody edits it by hand. */
export const KNOWN_RELEASES_FILE = fileURLToPath(new URL("./known-releases.json", import.meta.url));

/** The known releases as the data file records them, oldest first. */
export function readKnownReleases(file: string = KNOWN_RELEASES_FILE): KnownRelease[] {
  return (JSON.parse(readFileSync(file, "utf8")) as { releases: KnownRelease[] }).releases;
}

/** The releases the tool knows, oldest first. */
export const KNOWN_RELEASES: readonly KnownRelease[] = readKnownReleases();

/** npm's `umami@2.10.0` ships a pre-release `04_team_redesign` (`docs/design.md` § "Umami's releases and Prisma"). */
export const NPM_PRERELEASE_COPY: KnownCopy = {
  source: "npm:umami@2.10.0",
  label: "npm's umami@2.10.0 (a pre-release copy)",
  release: "v2.10.0",
  differs: { "04_team_redesign": "83afff5fe5fb58062ef3590cc1da45e991a7f905cb6ba52691450d77fdf4ef24" },
  lacks: ["user.display_name", "website.created_by"],
};

/** The GitHub source of Umami release `version` (`3.1.0` → `github:umami-software/umami@v3.1.0`). */
export function umamiReleaseSource(version: string): string {
  return `github:umami-software/umami@v${version.replace(/^v/, "")}`;
}

/** The Umami version a `github:umami-software/umami@v<version>` source names, or undefined for any other source. */
export function umamiReleaseVersion(source: string): string | undefined {
  return /^github:umami-software\/umami@v(\d+\.\d+\.\d+)$/.exec(source)?.[1];
}

/** The source applied when none is given: the default Umami version (sst/stages.ts) from its release tag. */
export const DEFAULT_MIGRATIONS_SOURCE = umamiReleaseSource(DEFAULT_UMAMI_VERSION);

/** The known release with this tag, if any. */
export function knownRelease(tag: string): KnownRelease | undefined {
  return KNOWN_RELEASES.find((r) => r.tag === tag);
}

/** A difference between a set of files and a known release. */
interface ReleaseDifference {
  name: string;
  /** The set's checksum (absent: the release has it, the set does not). */
  found?: string;
  /** The release's checksum (absent: the set has a migration the release lacks). */
  expected?: string;
}

/** Every migration in which `migrations` differs from `release` (changed, missing, extra). */
export function compareWithRelease(release: KnownRelease, migrations: readonly Migration[]): ReleaseDifference[] {
  const found = new Map(migrations.map((m) => [m.name, m.checksum]));
  const names = [...new Set([...Object.keys(release.checksums), ...found.keys()])].sort((a, b) => a.localeCompare(b));
  return names.flatMap((name) => {
    const expected = release.checksums[name];
    const has = found.get(name);
    return has === expected ? [] : [{ name, found: has, expected }];
  });
}

/** `04_team_redesign (83afff5f… ≠ release eb0e4ae2…), 20_new (not in the release)`. */
export function describeDifferences(differences: readonly ReleaseDifference[]): string {
  return differences
    .map((d) => {
      if (!d.found) return `${d.name} (missing)`;
      if (!d.expected) return `${d.name} (not in the release)`;
      return `${d.name} (${shortChecksum(d.found)} ≠ release ${shortChecksum(d.expected)})`;
    })
    .join(", ");
}

/**
 * One line naming what the tool knows about a set of files it was not told the release of (a directory, an
 * image), or undefined when they share nothing with Umami's migrations (a fixture, an application's own).
 */
export function identifyMigrations(migrations: readonly Migration[]): string | undefined {
  if (!migrations.some((m) => KNOWN_RELEASES.some((r) => m.name in r.checksums))) return undefined;
  const exact = KNOWN_RELEASES.find((r) => compareWithRelease(r, migrations).length === 0);
  if (exact) return `These are Umami ${exact.tag}'s release files.`;
  const copy = NPM_PRERELEASE_COPY;
  if (
    Object.entries(copy.differs).some(([name, checksum]) =>
      migrations.some((m) => m.name === name && m.checksum === checksum),
    )
  ) {
    return `These files contain ${copy.label}: its ${Object.keys(copy.differs).join(", ")} is not Umami's release and lacks ${copy.lacks.join(" and ")}; use ${umamiReleaseSource(copy.release)} or later.`;
  }
  // The nearest release: the one whose migrations the set shares most of.
  const nearest = [...KNOWN_RELEASES].sort(
    (a, b) => compareWithRelease(a, migrations).length - compareWithRelease(b, migrations).length,
  )[0];
  const changed = compareWithRelease(nearest, migrations).filter((d) => d.found && d.expected);
  return changed.length
    ? `These files are not a release this tool knows: ${describeDifferences(changed)} differ from Umami ${nearest.tag}.`
    : `These files are Umami ${nearest.tag}'s migrations${migrations.length < Object.keys(nearest.checksums).length ? " up to " + migrations[migrations.length - 1].name : " plus ones the tool does not know"}.`;
}

/** Who shipped `name` with this checksum: `Umami v2.10.0 and v3.1.0`, `npm's umami@2.10.0 (a pre-release copy)`, or undefined. */
function whoShipped(name: string, checksum: string): string | undefined {
  const tags = KNOWN_RELEASES.filter((r) => r.checksums[name] === checksum).map((r) => r.tag);
  const who = [
    ...(NPM_PRERELEASE_COPY.differs[name] === checksum ? [NPM_PRERELEASE_COPY.label] : []),
    ...(tags.length
      ? [`Umami ${tags.length > 1 ? `${tags.slice(0, -1).join(", ")} and ${tags[tags.length - 1]}` : tags[0]}`]
      : []),
  ];
  return who.length ? who.join(" and ") : undefined;
}

/**
 * When both the applied checksum and the file's are ones Umami shipped, the edit is Umami's own between
 * releases: one line saying which copy the database has and which the folder has (undefined otherwise).
 */
export function explainUmamiEdit(name: string, recordedChecksum: string, fileChecksum: string): string | undefined {
  const applied = whoShipped(name, recordedChecksum);
  const folder = whoShipped(name, fileChecksum);
  if (!applied || !folder) return undefined;
  const copy = NPM_PRERELEASE_COPY;
  const lacks =
    copy.differs[name] === recordedChecksum
      ? ` The database therefore lacks ${copy.lacks.join(" and ")}, which the release adds.`
      : "";
  return (
    `Migration ${name} was changed by Umami between releases: the database applied it as shipped in ${applied}, checksum ${shortChecksum(recordedChecksum)}; ` +
    `the folder has it as shipped in ${folder}, checksum ${shortChecksum(fileChecksum)}.${lacks}`
  );
}
