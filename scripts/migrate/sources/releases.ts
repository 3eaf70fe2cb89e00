/**
 * The Umami releases this tool knows, as data: each migration's SHA-256 at the release tag, pinned when the
 * tool was built (from Umami's repository at the tag; see README "Umami versions"). A source claiming to be a
 * known release is checked against it, a directory or image is named by it, and `migrate status` uses it to
 * tell an edit Umami itself shipped between releases from an edit someone made.
 */
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
}

/** A copy of a release that is not the release (npm's `umami@2.10.0`), and what it lacks. */
export interface KnownCopy {
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

const UMAMI_2_MIGRATIONS = {
  "01_init": "65f0f9ee4a3b432e7fa917795033254887497a849d95acf7d9cb4ff24b45f98f",
  "02_report_schema_session_data": "4cc3c14482cb8700574cbdbdb478a93ccd1cabb0aeed37dfffb77a80278ce575",
  "03_metric_performance_index": "baf86a7adc077bc46ea646d86aabc5f613aeb311e63894366979a18f6a9ca48c",
  "04_team_redesign": "eb0e4ae2ef5204bc67ddb248358a402cd3bd88567d710f808f16c5124e5fd9cb",
} as const;

/** The releases the tool knows, oldest first. */
export const KNOWN_RELEASES: readonly KnownRelease[] = [
  { tag: "v2.10.0", commit: "915a4ee9b0342fe57b3ba2537e6f96aa32273102", layout: "db/postgresql/migrations", checksums: UMAMI_2_MIGRATIONS },
  {
    tag: "v3.1.0",
    commit: "c78ff36db0c82e13c86e5073020472c6546313a3",
    layout: "prisma/migrations",
    checksums: {
      ...UMAMI_2_MIGRATIONS,
      "05_add_visit_id": "12e5b277e41da871b0768118937cef221c4d4f9c3206b719fffba86324df7a11",
      "06_session_data": "fcd8585d077229bb2a16ae4705a79a5bc31cf6cbca089de99f4b1c19cb0a0a17",
      "07_add_tag": "c38c9605d759b3b00f94076c929b6081d7dbd01a25d2955909fc8d1a6e3276b4",
      "08_add_utm_clid": "ad640f709cd22434c088d577a2cf124c275fe3dc53ca249a542ae05af66b07b6",
      "09_update_hostname_region": "e94d9993b17ac5c330ae3f872fd5869fb8095a3f3a7d31d2aaade73dc45fbe9c",
      "10_add_distinct_id": "6ece5066ccec715ca8a07b65eafde7f96d110c0638b2d2187398fd1a79770ff6",
      "11_add_segment": "e7421573e8b15f8a5c3e0928f1564ab43b3855d7c6634a36d87ece68196900e5",
      "12_update_report_parameter": "f74b307b6e62c8457f32c4bae0beb99e26eb384467755912714abdfeae9e09af",
      "13_add_revenue": "53180616f450ac033a60143ff9b7c3656205947809c7979a51991922e7f326ad",
      "14_add_link_and_pixel": "2017fc23cad1365fa62fe1c18b70c631eb6a119a902f88672ffad63f90d80f3d",
      "15_add_share": "11e97bd1bd36611c473ca7f518a8c8c1e66fba5b2798e72db224f7e20477eb74",
      "16_boards": "5cef1484333ad14bcbbc3e1b2262601d3274a072d9656fb422530d112f98b447",
      "17_remove_duplicate_key": "19ef24e157ab33d7a34b13d06c5ffc2eca95ae4f668c1ccbbe219e48a09d13b1",
      "18_add_performance": "4ab4d1d954adfd3e65a327797b8fa2a528aa4377cbe03e2bd79b1d1c33c3b6ae",
      "19_add_session_replay": "d0b6047a369c8aa04813fb06ac012c731777a9f3d602d491119f47e57aa2ec09",
    },
  },
];

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
export interface ReleaseDifference {
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
  if (Object.entries(copy.differs).some(([name, checksum]) => migrations.some((m) => m.name === name && m.checksum === checksum))) {
    return `These files contain ${copy.label}: its ${Object.keys(copy.differs).join(", ")} is not Umami's release and lacks ${copy.lacks.join(" and ")}; use ${umamiReleaseSource(copy.release)} or later.`;
  }
  // The nearest release: the one whose migrations the set shares most of.
  const nearest = [...KNOWN_RELEASES].sort((a, b) => compareWithRelease(a, migrations).length - compareWithRelease(b, migrations).length)[0];
  const changed = compareWithRelease(nearest, migrations).filter((d) => d.found && d.expected);
  return changed.length
    ? `These files are not a release this tool knows: ${describeDifferences(changed)} differ from Umami ${nearest.tag}.`
    : `These files are Umami ${nearest.tag}'s migrations${migrations.length < Object.keys(nearest.checksums).length ? " up to " + migrations[migrations.length - 1].name : " plus ones the tool does not know"}.`;
}

/** Who shipped `name` with this checksum: `Umami v2.10.0 and v3.1.0`, `npm's umami@2.10.0 (a pre-release copy)`, or undefined. */
export function whoShipped(name: string, checksum: string): string | undefined {
  const tags = KNOWN_RELEASES.filter((r) => r.checksums[name] === checksum).map((r) => r.tag);
  const who = [
    ...(NPM_PRERELEASE_COPY.differs[name] === checksum ? [NPM_PRERELEASE_COPY.label] : []),
    ...(tags.length ? [`Umami ${tags.length > 1 ? `${tags.slice(0, -1).join(", ")} and ${tags[tags.length - 1]}` : tags[0]}`] : []),
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
  const lacks = copy.differs[name] === recordedChecksum ? ` The database therefore lacks ${copy.lacks.join(" and ")}, which the release adds.` : "";
  return (
    `Migration ${name} was changed by Umami between releases: the database applied it as shipped in ${applied}, checksum ${shortChecksum(recordedChecksum)}; ` +
    `the folder has it as shipped in ${folder}, checksum ${shortChecksum(fileChecksum)}.${lacks}`
  );
}
