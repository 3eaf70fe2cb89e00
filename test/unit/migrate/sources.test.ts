/**
 * Migration sources without network: Prisma-layout directories (fixtures), the refusals Prisma would make,
 * Prisma's checksum, the default, npm's refused sources, and what the tool knows about a directory's files
 * (its known releases).
 */
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UserError } from "../../../scripts/kernel/errors.js";
import { matchesChecksum, prismaChecksum } from "../../../scripts/migrate/bookkeeping.js";
import { DEFAULT_MIGRATIONS_SOURCE, loadMigrations, readProvider } from "../../../scripts/migrate/sources.js";
import { identifyMigrations, KNOWN_RELEASES, NPM_PRERELEASE_COPY } from "../../../scripts/migrate/sources/releases.js";
import { umamiVersionOf } from "../../../sst/database/spec.js";
import { DEFAULT_UMAMI_VERSION } from "../../../sst/stages.js";
import { UMAMI_RELEASES, testSourceOptions } from "../../support/migrations.js";

const MIRROR = UMAMI_RELEASES;

const FIXTURES = resolve(import.meta.dirname, "../../fixtures/migrations");
const scratch = mkdtempSync(join(tmpdir(), "umami-db-source-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("Prisma's checksum", () => {
  it("is the zero-padded SHA-256 hex of the script (prisma-engines checksum.rs test vector)", () => {
    expect(prismaChecksum("hello")).toBe("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  });

  it("equals the SHA-256 of the file's bytes", () => {
    const file = join(FIXTURES, "ok/02_create_b/migration.sql");
    expect(prismaChecksum(readFileSync(file, "utf8"))).toBe(
      createHash("sha256").update(readFileSync(file)).digest("hex"),
    );
  });

  it("matches across line endings and the old unpadded format, and only there", () => {
    const lf = "ab\ncd\nef\n";
    expect(matchesChecksum(lf.replaceAll("\n", "\r\n"), prismaChecksum(lf))).toBe(true);
    expect(matchesChecksum(lf, prismaChecksum(lf.replaceAll("\n", "\r\n")))).toBe(true);
    // A script whose digest has a byte below 0x10, so the old format drops a zero.
    const unpad = (s: string) => [...createHash("sha256").update(s).digest()].map((b) => b.toString(16)).join("");
    let script = lf;
    for (let i = 0; unpad(script).length === 64; i++) script = `${lf}-- ${i}\n`;
    expect(unpad(script).length).toBeLessThan(64);
    expect(matchesChecksum(script, unpad(script))).toBe(true);
    expect(matchesChecksum(lf, unpad(script))).toBe(false);
    expect(matchesChecksum("abc", prismaChecksum("abcd"))).toBe(false);
    expect(matchesChecksum("abc\n", prismaChecksum("abc"))).toBe(false);
  });
});

describe("directory sources", () => {
  it("loads migrations in name order with their text and checksums", async () => {
    const set = await loadMigrations(join(FIXTURES, "ok"), testSourceOptions());
    expect(set.provider).toBe("postgresql");
    expect(set.dir).toBe(join(FIXTURES, "ok"));
    expect(set.migrations.map((m) => m.name)).toEqual(["01_create_a", "02_create_b"]);
    for (const m of set.migrations) {
      const bytes = readFileSync(join(FIXTURES, "ok", m.name, "migration.sql"));
      expect(m.sql).toBe(bytes.toString("utf8"));
      expect(m.checksum).toBe(createHash("sha256").update(bytes).digest("hex"));
    }
  });

  it.each([
    ["wrong-provider", /names provider "mysql", expected "postgresql"/],
    ["missing-sql", /Could not find the migration file at .*02_no_script.*migration\.sql/],
    ["empty", /has no migration sub-directories/],
    ["no-lock", /migration_lock\.toml is missing/],
    ["does-not-exist", /does not exist/],
  ])("refuses %s with one line saying what to do", async (dir, message) => {
    const error = await loadMigrations(join(FIXTURES, dir), testSourceOptions()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("\n");
  });

  it("reads the provider line as Prisma does", () => {
    expect(readProvider('# comment\nprovider = "postgresql"')).toBe("postgresql");
    expect(readProvider('provider = "mysql"\n')).toBe("mysql");
    expect(readProvider("# nothing")).toBeUndefined();
  });
});

describe("the default source", () => {
  it("is Umami 3.1.0's release tag, from the stage's umamiVersion", () => {
    expect(DEFAULT_UMAMI_VERSION).toBe("3.1.0");
    expect(umamiVersionOf("dev")).toBe("3.1.0");
    expect(umamiVersionOf("pr-42")).toBe("3.1.0");
    expect(DEFAULT_MIGRATIONS_SOURCE).toBe("github:umami-software/umami@v3.1.0");
  });
});

describe("known releases", () => {
  it("pins the checksums of Umami's release files (sha256sum of the mirror's files)", () => {
    for (const release of KNOWN_RELEASES) {
      const dir = join(MIRROR, release.tag, release.layout);
      const onDisk = Object.fromEntries(
        Object.keys(release.checksums).map((name) => [
          name,
          createHash("sha256")
            .update(readFileSync(join(dir, name, "migration.sql")))
            .digest("hex"),
        ]),
      );
      expect(onDisk).toEqual(release.checksums);
    }
    expect(KNOWN_RELEASES.map((r) => [r.tag, Object.keys(r.checksums).length])).toEqual([
      ["v2.10.0", 4],
      ["v3.1.0", 19],
    ]);
  });

  it("names a directory by what it holds", async () => {
    const v3 = await loadMigrations(join(MIRROR, "v3.1.0/prisma/migrations"), testSourceOptions());
    expect(v3).toMatchObject({ origin: "directory", notes: ["These are Umami v3.1.0's release files."] });
    const npmCopy = join(scratch, "npm-copy");
    cpSync(join(MIRROR, "v2.10.0/db/postgresql/migrations"), npmCopy, { recursive: true });
    // npm's 04 is not in this repository; any file with its checksum would do, so the set's checksum is set directly.
    const set = await loadMigrations(npmCopy, testSourceOptions());
    set.migrations[3].checksum = NPM_PRERELEASE_COPY.differs["04_team_redesign"];
    expect(identifyMigrations(set.migrations)).toBe(
      "These files contain npm's umami@2.10.0 (a pre-release copy): its 04_team_redesign is not Umami's release and lacks user.display_name and website.created_by; use github:umami-software/umami@v2.10.0 or later.",
    );
    writeFileSync(join(npmCopy, "02_report_schema_session_data/migration.sql"), "-- edited\n");
    expect((await loadMigrations(npmCopy, testSourceOptions())).notes).toEqual([
      expect.stringMatching(
        /^These files are not a release this tool knows: 02_report_schema_session_data \([0-9a-f]{10}… ≠ release 4cc3c14482…\) differ from Umami v2\.10\.0\.$/,
      ),
    ]);
    // A directory that shares nothing with Umami's migrations gets no note.
    expect((await loadMigrations(join(FIXTURES, "ok"), testSourceOptions())).notes).toEqual([]);
  });
});

describe("npm sources", () => {
  it("refuses npm's umami@2.10.0 in one line naming the pre-release 04, what it lacks and the source to use", async () => {
    const error = await loadMigrations("npm:umami@2.10.0", {
      ...testSourceOptions(),
      cacheDir: join(scratch, "never-used"),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(
      "npm:umami@2.10.0 is not Umami's 2.10.0 release: its 04_team_redesign is a pre-release copy (checksum 83afff5fe5…, the release's is eb0e4ae2ef…) " +
        "that lacks user.display_name and website.created_by, which Umami 3 needs. Use github:umami-software/umami@v2.10.0 (or the default, github:umami-software/umami@v3.1.0).",
    );
  });

  it.each([
    [
      "npm:umami@3.1.0",
      /^Migration source "npm:umami@3\.1\.0" is not supported: Umami publishes its releases as GitHub tags, .* Use github:umami-software\/umami@v3\.1\.0, docker:<image> or a directory\.$/,
    ],
    ["npm:umami@latest", /Use github:umami-software\/umami@v3\.1\.0, docker/],
    ["npm:left-pad@1.3.0", /is not supported/],
  ])("refuses %s without any download", async (source, message) => {
    const error = await loadMigrations(source, { ...testSourceOptions(), cacheDir: join(scratch, "never-used") }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(message);
  });
});
