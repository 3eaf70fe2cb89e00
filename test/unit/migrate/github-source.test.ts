/**
 * `github:` sources against a local HTTP server that serves tag tarballs in GitHub's layout (test/support/
 * tarballs.ts: `git archive`, as GitHub makes them), built from Umami's release files. Also the mirror itself, the cache and its manifest, and every
 * way a download can fail.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../../scripts/kernel/errors.js";
import { BUNDLED_DIR, loadMigrations, type LoadOptions } from "../../../scripts/migrate/sources.js";
import { KNOWN_RELEASES } from "../../../scripts/migrate/sources/releases.js";
import { UMAMI_RELEASES } from "../../support/migrations.js";
import { gitArchive as makeArchive, startTarballServer } from "../../support/tarballs.js";

const scratch = mkdtempSync(join(tmpdir(), "umami-db-github-"));
// A mirror as an air-gapped user lays one out: a copy of the release files, in this file's scratch directory.
const MIRROR = join(scratch, "mirror");
cpSync(UMAMI_RELEASES, MIRROR, { recursive: true });
let server: Awaited<ReturnType<typeof startTarballServer>>;
let base: string;
let closed: string; // a port nothing listens on
let requests: string[];
let tarballs: Map<string, Buffer>;

/** A tag tarball as GitHub serves it, its commit in git archive's pax comment (checked independently of our reader). */
function gitArchive(version: string, layout: string, from: string, edit?: (dir: string) => void): Buffer {
  const { archive, commit } = makeArchive(scratch, version, layout, from, edit);
  expect(
    execFileSync("git", ["get-tar-commit-id"], { input: gunzipSync(archive) })
      .toString()
      .trim(),
  ).toBe(commit);
  return archive;
}

const serve = (tag: string, body: Buffer, repo?: string) => server.serve(tag, body, repo);

beforeAll(async () => {
  server = await startTarballServer();
  ({ base, closed, requests, tarballs } = server);
  serve("v3.1.0", gitArchive("3.1.0", "prisma/migrations", join(MIRROR, "v3.1.0/prisma/migrations")));
  serve("v2.10.0", gitArchive("2.10.0", "db/postgresql/migrations", join(MIRROR, "v2.10.0/db/postgresql/migrations")));
});
afterAll(async () => {
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** A fresh cache, no bundled copy, no mirror: what `releases add` downloads with. */
function fresh(): LoadOptions {
  return {
    bundledDir: undefined,
    mirrorDir: undefined,
    cacheDir: mkdtempSync(join(scratch, "cache-")),
    githubBaseUrl: base,
  };
}

async function refusal(source: string, options: LoadOptions): Promise<string> {
  const error = await loadMigrations(source, options).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UserError);
  expect((error as Error).message).not.toContain("\n");
  return (error as Error).message;
}

const release = (tag: string) => KNOWN_RELEASES.find((r) => r.tag === tag)!;

describe("github:umami-software/umami@<tag> from GitHub", () => {
  it("downloads the 3.x layout once, records each file's SHA-256, then works offline from the cache", async () => {
    const options = fresh();
    const before = requests.length;
    const set = await loadMigrations("github:umami-software/umami@v3.1.0", options);
    expect(requests.slice(before)).toEqual(["/umami-software/umami/tar.gz/refs/tags/v3.1.0"]);
    expect(set).toMatchObject({
      source: "github:umami-software/umami@v3.1.0",
      origin: "github",
      provider: "postgresql",
    });
    expect(set.dir).toBe(join(options.cacheDir, "github/umami-software/umami/v3.1.0/prisma/migrations"));
    expect(Object.fromEntries(set.migrations.map((m) => [m.name, m.checksum]))).toEqual(release("v3.1.0").checksums);
    expect(set.notes).toEqual([expect.stringMatching(/^Umami v3\.1\.0's release files: every checksum matches/)]);

    const manifest = JSON.parse(
      readFileSync(join(options.cacheDir, "github/umami-software/umami/v3.1.0/manifest.json"), "utf8"),
    );
    expect(manifest).toMatchObject({
      source: "github:umami-software/umami@v3.1.0",
      layout: "prisma/migrations",
      url: `${base}/umami-software/umami/tar.gz/refs/tags/v3.1.0`,
    });
    expect(manifest.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(Object.keys(manifest.files)).toHaveLength(20); // 19 migrations + migration_lock.toml
    expect(manifest.files["05_add_visit_id/migration.sql"]).toBe(release("v3.1.0").checksums["05_add_visit_id"]);
    // Only the migrations were kept (no package.json), and no scratch directory is left behind.
    expect(readdirSync(join(options.cacheDir, "github/umami-software/umami"))).toEqual(["v3.1.0"]);
    expect(readdirSync(join(options.cacheDir, "github/umami-software/umami/v3.1.0"))).toEqual([
      "manifest.json",
      "prisma",
    ]);

    const offline = await loadMigrations("github:umami-software/umami@v3.1.0", { ...options, githubBaseUrl: closed });
    expect(offline.origin).toBe("cache");
    expect(offline.migrations).toEqual(set.migrations);
  });

  it("understands the 2.x layout (db/postgresql/migrations)", async () => {
    const set = await loadMigrations("github:umami-software/umami@v2.10.0", fresh());
    expect(set.dir).toMatch(/v2\.10\.0\/db\/postgresql\/migrations$/);
    expect(Object.fromEntries(set.migrations.map((m) => [m.name, m.checksum]))).toEqual(release("v2.10.0").checksums);
  });

  it("restores a damaged cache entry from GitHub when GitHub still has the same files", async () => {
    const options = fresh();
    await loadMigrations("github:umami-software/umami@v3.1.0", options);
    const file = join(
      options.cacheDir,
      "github/umami-software/umami/v3.1.0/prisma/migrations/07_add_tag/migration.sql",
    );
    writeFileSync(file, "-- tampered\n");
    // Offline, it says which cached file is damaged rather than claiming there is no cache.
    expect(await refusal("github:umami-software/umami@v3.1.0", { ...options, githubBaseUrl: closed })).toMatch(
      /\(ECONNREFUSED\), and its cache entry \(.*\/v3\.1\.0\) differs from its manifest in 07_add_tag\/migration\.sql, and it is not in a mirror/,
    );
    const set = await loadMigrations("github:umami-software/umami@v3.1.0", options);
    expect(set.origin).toBe("github");
    expect(readFileSync(file, "utf8")).not.toBe("-- tampered\n");
  });

  it("refuses when the cache and GitHub disagree for one tag, naming the files, and keeps the cache", async () => {
    const options = fresh();
    // A tag the tool does not know, so only the cache's manifest can catch the change.
    serve("v9.0.0", gitArchive("9.0.0", "prisma/migrations", join(MIRROR, "v3.1.0/prisma/migrations")));
    const first = await loadMigrations("github:umami-software/umami@v9.0.0", options);
    expect(first.notes).toEqual([
      expect.stringContaining("Umami v9.0.0 is not a release this tool knows (it knows v2.10.0, v3.1.0)"),
    ]);
    const entry = join(options.cacheDir, "github/umami-software/umami/v9.0.0");
    const manifest = readFileSync(join(entry, "manifest.json"), "utf8");
    rmSync(join(entry, "prisma/migrations/19_add_session_replay"), { recursive: true }); // the cache lost a file
    serve(
      "v9.0.0",
      gitArchive("9.0.0", "prisma/migrations", join(MIRROR, "v3.1.0/prisma/migrations"), (dir) =>
        writeFileSync(join(dir, "04_team_redesign/migration.sql"), "-- moved tag\n"),
      ),
    );
    const message = await refusal("github:umami-software/umami@v9.0.0", options);
    expect(message).toMatch(
      /^github:umami-software\/umami@v9\.0\.0: GitHub's v9\.0\.0 differs from the copy cached on \S+ in 04_team_redesign\/migration\.sql \(the tag was moved or re-created\)\. /,
    );
    expect(message).toContain(`delete ${entry} and run again`);
    expect(readFileSync(join(entry, "manifest.json"), "utf8")).toBe(manifest);
  });

  it("refuses a tarball whose files differ from the release the tool knows, caching nothing", async () => {
    const options = fresh();
    serve(
      "v3.1.0",
      gitArchive("3.1.0", "prisma/migrations", join(MIRROR, "v3.1.0/prisma/migrations"), (dir) =>
        writeFileSync(join(dir, "11_add_segment/migration.sql"), "-- not Umami's\n"),
      ),
      "fork/umami",
    );
    tarballs.set("/umami-software/umami/tar.gz/refs/tags/v3.1.0", tarballs.get("/fork/umami/tar.gz/refs/tags/v3.1.0")!);
    try {
      const message = await refusal("github:umami-software/umami@v3.1.0", options);
      expect(message).toMatch(
        /^github:umami-software\/umami@v3\.1\.0 from GitHub \(http:\/\/127\.0\.0\.1:\d+\/umami-software\/umami\/tar\.gz\/refs\/tags\/v3\.1\.0\) differs from Umami v3\.1\.0's release as this tool knows it: 11_add_segment \([0-9a-f]{10}… ≠ release e7421573e8…\)\./,
      );
      expect(existsSync(join(options.cacheDir, "github"))).toBe(false);
      // Another repository's tag is not checked against Umami's releases, and says so.
      expect((await loadMigrations("github:fork/umami@v3.1.0", options)).notes).toEqual([
        "fork/umami is not Umami's repository; its files are used as found.",
      ]);
    } finally {
      serve("v3.1.0", gitArchive("3.1.0", "prisma/migrations", join(MIRROR, "v3.1.0/prisma/migrations")));
    }
  });

  it.each([
    [
      "a tag GitHub does not have",
      "github:umami-software/umami@v0.0.1",
      () => base,
      /^GitHub has no tag v0\.0\.1 in umami-software\/umami \(.* answered 404\)\. Check the version/,
    ],
    [
      "a branch instead of a tag",
      "github:umami-software/umami@master",
      () => base,
      /does not name a release tag \("master"\)/,
    ],
    ["no tag at all", "github:umami-software/umami", () => base, /is not github:<owner>\/<repo>@<tag>/],
    [
      "no network, no mirror, no cache",
      "github:umami-software/umami@v3.1.0",
      () => closed,
      /^Could not download github:umami-software\/umami@v3\.1\.0 from http:\/\/127\.0\.0\.1:\d+\/umami-software\/umami\/tar\.gz\/refs\/tags\/v3\.1\.0 \(ECONNREFUSED\), and it is neither in the cache \(.*\/github\/umami-software\/umami\/v3\.1\.0\) nor in a mirror \(UMAMI_MIGRATIONS_MIRROR is not set\)\. Set UMAMI_MIGRATIONS_MIRROR/,
    ],
  ])("refuses %s in one line", async (_name, source, url, message) => {
    expect(await refusal(source, { ...fresh(), githubBaseUrl: url() })).toMatch(message);
  });

  it("refuses a download that is not a tarball", async () => {
    tarballs.set("/umami-software/umami/tar.gz/refs/tags/v3.0.0", Buffer.from("<html>login</html>"));
    expect(await refusal("github:umami-software/umami@v3.0.0", fresh())).toMatch(
      /did not return a tar\.gz archive .* Check UMAMI_GITHUB_BASE_URL\.$/,
    );
  });
});

describe("the copy bundled in vendor/umami", () => {
  it("is read first: no mirror, no cache, no network needed for a release the tool ships", async () => {
    const before = requests.length;
    const options = {
      ...fresh(),
      bundledDir: BUNDLED_DIR,
      mirrorDir: join(scratch, "no-such-mirror"),
      githubBaseUrl: closed,
    };
    const v3 = await loadMigrations("github:umami-software/umami@v3.1.0", options);
    const v2 = await loadMigrations("github:umami-software/umami@v2.10.0", options);
    expect(requests.length).toBe(before);
    expect([v3.origin, v3.dir, v3.migrations.length]).toEqual([
      "bundled",
      join(BUNDLED_DIR, "v3.1.0/prisma/migrations"),
      19,
    ]);
    expect([v2.origin, v2.dir, v2.migrations.length]).toEqual([
      "bundled",
      join(BUNDLED_DIR, "v2.10.0/db/postgresql/migrations"),
      4,
    ]);
    expect(v3.notes).toEqual([
      "Umami v3.1.0's release files: every checksum matches the tool's record of the tag (commit c78ff36d).",
    ]);
    expect(existsSync(join(options.cacheDir, "github"))).toBe(false);
  });

  it("leaves a tag it does not ship to the mirror, the cache and the download", async () => {
    cpSync(join(MIRROR, "v3.1.0"), join(MIRROR, "v3.9.9"), { recursive: true });
    const set = await loadMigrations("github:umami-software/umami@v3.9.9", {
      ...fresh(),
      bundledDir: BUNDLED_DIR,
      mirrorDir: MIRROR,
    });
    expect([set.origin, set.dir]).toEqual(["mirror", join(MIRROR, "v3.9.9/prisma/migrations")]);
  });

  it("refuses a bundled copy edited by hand, naming the file and the remedy", async () => {
    const bundled = join(scratch, "edited-vendor");
    cpSync(join(BUNDLED_DIR, "v3.1.0"), join(bundled, "v3.1.0"), { recursive: true });
    writeFileSync(join(bundled, "v3.1.0/prisma/migrations/07_add_tag/migration.sql"), "-- edited\n");
    const message = await refusal("github:umami-software/umami@v3.1.0", { ...fresh(), bundledDir: bundled });
    expect(message).toMatch(
      /^github:umami-software\/umami@v3\.1\.0 from the bundled copy \(.*\) differs from Umami v3\.1\.0's release as this tool knows it: 07_add_tag \([0-9a-f]{10}… ≠ release c38c9605d7…\)\. Restore vendor\/umami\/v3\.1\.0 from git/,
    );
  });
});

describe("the offline mirror (UMAMI_MIGRATIONS_MIRROR)", () => {
  it("is read before any download, in either layout", async () => {
    const before = requests.length;
    const options = { ...fresh(), mirrorDir: MIRROR };
    const v3 = await loadMigrations("github:umami-software/umami@v3.1.0", options);
    const v2 = await loadMigrations("github:umami-software/umami@v2.10.0", options);
    expect(requests.length).toBe(before);
    expect([v3.origin, v3.dir, v3.migrations.length]).toEqual(["mirror", join(MIRROR, "v3.1.0/prisma/migrations"), 19]);
    expect([v2.origin, v2.dir, v2.migrations.length]).toEqual([
      "mirror",
      join(MIRROR, "v2.10.0/db/postgresql/migrations"),
      4,
    ]);
    expect(existsSync(join(options.cacheDir, "github"))).toBe(false);
  });

  it("says in one line which paths it looked for when it lacks the tag", async () => {
    const message = await refusal("github:umami-software/umami@v3.0.0", { ...fresh(), mirrorDir: MIRROR });
    expect(message).toBe(
      `The mirror ${MIRROR} (UMAMI_MIGRATIONS_MIRROR) has no Umami v3.0.0: looked for ${join(MIRROR, "v3.0.0/prisma/migrations")} and ${join(MIRROR, "v3.0.0/db/postgresql/migrations")}. ` +
        "Copy the release's files there from the tag, or unset UMAMI_MIGRATIONS_MIRROR to download from GitHub.",
    );
  });

  it("refuses a mirror whose files differ from the release the tool knows", async () => {
    const mirror = join(scratch, "edited-mirror");
    cpSync(join(MIRROR, "v2.10.0"), join(mirror, "v2.10.0"), { recursive: true });
    writeFileSync(join(mirror, "v2.10.0/db/postgresql/migrations/04_team_redesign/migration.sql"), "-- edited\n");
    mkdirSync(join(mirror, "v2.10.0/db/postgresql/migrations/05_extra"));
    writeFileSync(join(mirror, "v2.10.0/db/postgresql/migrations/05_extra/migration.sql"), "SELECT 1;\n");
    const message = await refusal("github:umami-software/umami@v2.10.0", { ...fresh(), mirrorDir: mirror });
    expect(message).toMatch(
      /^github:umami-software\/umami@v2\.10\.0 from the mirror \(.*\) differs from Umami v2\.10\.0's release as this tool knows it: 04_team_redesign \([0-9a-f]{10}… ≠ release eb0e4ae2ef…\), 05_extra \(not in the release\)\. Restore the release's files/,
    );
  });
});
