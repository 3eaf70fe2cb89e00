/**
 * Migration sources without network: Prisma-layout directories (fixtures), the refusals Prisma would make,
 * Prisma's checksum, and an npm source served from the cache only.
 */
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UserError } from "../../../scripts/kernel/errors.js";
import { matchesChecksum, prismaChecksum } from "../../../scripts/migrate/bookkeeping.js";
import { DEFAULT_MIGRATIONS_SOURCE, loadMigrations, readProvider, UMAMI_MIGRATIONS_PATH } from "../../../scripts/migrate/sources.js";

const FIXTURES = resolve(import.meta.dirname, "../../fixtures/migrations");
const scratch = mkdtempSync(join(tmpdir(), "umami-db-source-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("Prisma's checksum", () => {
  it("is the zero-padded SHA-256 hex of the script (prisma-engines checksum.rs test vector)", () => {
    expect(prismaChecksum("hello")).toBe("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  });

  it("equals the SHA-256 of the file's bytes", () => {
    const file = join(FIXTURES, "ok/02_create_b/migration.sql");
    expect(prismaChecksum(readFileSync(file, "utf8"))).toBe(createHash("sha256").update(readFileSync(file)).digest("hex"));
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
    const set = await loadMigrations(join(FIXTURES, "ok"));
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
    const error = await loadMigrations(join(FIXTURES, dir)).catch((e: unknown) => e);
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

describe("npm sources", () => {
  it("pins the default in one place", () => {
    expect(DEFAULT_MIGRATIONS_SOURCE).toBe("npm:umami@2.10.0");
  });

  it("serves a cached package without touching the registry", async () => {
    // 0.0.0-cached-only is not on the registry: this can only pass if nothing is downloaded.
    const cacheDir = join(scratch, "cache");
    const dir = join(cacheDir, "npm", "umami@0.0.0-cached-only", UMAMI_MIGRATIONS_PATH);
    mkdirSync(dir, { recursive: true });
    cpSync(join(FIXTURES, "ok"), dir, { recursive: true });
    const set = await loadMigrations("npm:umami@0.0.0-cached-only", { cacheDir });
    expect(set.source).toBe("npm:umami@0.0.0-cached-only");
    expect(set.dir).toBe(dir);
    expect(set.migrations.map((m) => m.name)).toEqual(["01_create_a", "02_create_b"]);
  });

  it.each([
    ["npm:umami@latest", /not an exact version/],
    ["npm:umami@^2", /not an exact version/],
    ["npm:left-pad@1.3.0", /is not supported/],
  ])("refuses %s before any download", async (source, message) => {
    const error = await loadMigrations(source, { cacheDir: join(scratch, "never-used") }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(message);
  });
});
