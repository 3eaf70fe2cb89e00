/**
 * The Prisma-compatible runner on real PostgreSQL 15: Umami 3.1.0's release migrations (from the offline
 * mirror, through the `github:` source) applied as umami_user with only the spec's grants, `_prisma_migrations` compared with what Prisma writes, and the
 * failure cases (fixtures, run as the Aurora-like admin in schemas of their own).
 */
import { execFile } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, parseDatabaseUrl, withClient, type ConnectionSettings } from "../../../scripts/kernel/db.js";
import { applyMigrations, migrationStatus, resolveRolledBack } from "../../../scripts/migrate/runner.js";
import {
  CannotRollBackError,
  FailedMigrationsError,
  MigrationFailedError,
  MigrationLockTimeoutError,
  SchemaNotEmptyError,
} from "../../../scripts/migrate/errors.js";
import { PRISMA_ADVISORY_LOCK_KEY, prismaChecksum, readMigrationRows } from "../../../scripts/migrate/bookkeeping.js";
import { loadMigrations, type MigrationSet } from "../../../scripts/migrate/sources.js";
import { KNOWN_RELEASES, NPM_PRERELEASE_COPY } from "../../../scripts/migrate/sources/releases.js";
import { loadRelease, UMAMI_3_TABLES, testSourceOptions } from "../../support/migrations.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { buildSpec } from "../../../sst/database/spec.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";

const FIXTURES = resolve(import.meta.dirname, "../../fixtures/migrations");
const UMAMI_PASSWORD = "Migrate-Test-Password-0123456789abcdef";
// The release's checksums as pinned in the tool (test/unit/migrate/sources.test.ts checks them against sha256sum).
const RELEASE = KNOWN_RELEASES.find((r) => r.tag === "v3.1.0")!;
const UMAMI_NAMES = Object.keys(RELEASE.checksums);
const UMAMI_CHECKSUMS = Object.values(RELEASE.checksums);
const UMAMI_TABLES = UMAMI_3_TABLES;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let server: TestServer;
let umami: ConnectionSettings;
let umamiSet: MigrationSet;
let statsSettings: ConnectionSettings;

beforeAll(async () => {
  server = await startTestServer();
  await withClient(server.admin, (c) =>
    provisionStage(c, buildSpec("dev"), { admin: TEST_ADMIN.name, password: UMAMI_PASSWORD }),
  );
  umami = parseDatabaseUrl(
    `postgresql://umami_user:${UMAMI_PASSWORD}@127.0.0.1:${server.embedded.port}/app?schema=umami&sslmode=disable`,
  );
  umamiSet = await loadRelease("3.1.0");
  // pg_stat_statements (preloaded) records every statement the server ran; its view lives in `postgres`.
  statsSettings = server.superuser;
  await withClient(statsSettings, (c) => c.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"));
});
afterAll(async () => server?.stop());

/** Settings for the admin in a schema of its own (the runner creates it when missing). */
function adminIn(schema: string): ConnectionSettings {
  return { ...server.admin, schema };
}

async function tablesIn(schema: string): Promise<string[]> {
  const { rows } = await withClient(server.admin, (c) =>
    c.query<{ relname: string }>(
      "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1",
      [schema],
    ),
  );
  return rows.map((r) => r.relname);
}

function rowsOf(settings: ConnectionSettings) {
  return withClient(settings, (c) => readMigrationRows(c, settings.schema));
}

describe("Umami 3.1.0 as umami_user", () => {
  it("loads the release's 19 migrations from the bundled copy, checksums equal to sha256sum of the files", () => {
    expect(umamiSet).toMatchObject({ source: "github:umami-software/umami@v3.1.0", origin: "bundled" });
    expect(umamiSet.migrations.map((m) => m.name)).toEqual(UMAMI_NAMES);
    expect(umamiSet.migrations.map((m) => m.checksum)).toEqual(UMAMI_CHECKSUMS);
    for (const m of umamiSet.migrations) {
      expect(
        createHash("sha256")
          .update(readFileSync(join(umamiSet.dir, m.name, "migration.sql")))
          .digest("hex"),
      ).toBe(m.checksum);
    }
  });

  it("applies all of them with the spec's grants and never issues CREATE SCHEMA", async () => {
    await withClient(statsSettings, (c) => c.query("SELECT pg_stat_statements_reset()"));
    const events: string[] = [];
    const result = await applyMigrations(umami, umamiSet, {
      onProgress: (e) => events.push(`${e.type}${"name" in e ? ` ${e.name}` : ""}`),
    });
    expect(result).toMatchObject({
      schema: "umami",
      applied: UMAMI_NAMES,
      alreadyApplied: [],
      pending: [],
      modified: [],
      createdMigrationsTable: true,
      dryRun: false,
    });
    expect(events).toEqual(UMAMI_NAMES.flatMap((n) => [`start ${n}`, `applied ${n}`]));
    expect(await tablesIn("umami")).toEqual(UMAMI_TABLES);
    const { rows } = await withClient(statsSettings, (c) =>
      c.query<{ query: string }>(
        "SELECT query FROM pg_stat_statements s JOIN pg_catalog.pg_roles r ON r.oid = s.userid WHERE r.rolname = 'umami_user'",
      ),
    );
    expect(rows.some((r) => /_prisma_migrations/.test(r.query))).toBe(true); // the view does see this role's statements
    expect(rows.filter((r) => /CREATE\s+SCHEMA/i.test(r.query))).toEqual([]);
  });

  it("creates _prisma_migrations with Prisma's exact columns, types, defaults and key", async () => {
    const { rows } = await withClient(server.admin, (c) =>
      c.query(
        `SELECT a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
                pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS "default"
           FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = 'umami._prisma_migrations'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      ),
    );
    expect(rows).toEqual([
      { name: "id", type: "character varying(36)", not_null: true, default: null },
      { name: "checksum", type: "character varying(64)", not_null: true, default: null },
      { name: "finished_at", type: "timestamp with time zone", not_null: false, default: null },
      { name: "migration_name", type: "character varying(255)", not_null: true, default: null },
      { name: "logs", type: "text", not_null: false, default: null },
      { name: "rolled_back_at", type: "timestamp with time zone", not_null: false, default: null },
      { name: "started_at", type: "timestamp with time zone", not_null: true, default: "now()" },
      { name: "applied_steps_count", type: "integer", not_null: true, default: "0" },
    ]);
    const key = await withClient(server.admin, (c) =>
      c.query(
        "SELECT conname, pg_catalog.pg_get_constraintdef(oid) AS def FROM pg_catalog.pg_constraint WHERE conrelid = 'umami._prisma_migrations'::regclass",
      ),
    );
    expect(key.rows).toEqual([{ conname: "_prisma_migrations_pkey", def: "PRIMARY KEY (id)" }]);
    const owner = await withClient(server.admin, (c) =>
      c.query(
        "SELECT relowner::regrole::text AS owner FROM pg_catalog.pg_class WHERE oid = 'umami._prisma_migrations'::regclass",
      ),
    );
    expect(owner.rows[0].owner).toBe("umami_user");
  });

  it("writes one row per migration with the values Prisma writes", async () => {
    const rows = await rowsOf(umami);
    expect(rows.map((r) => r.migration_name)).toEqual(UMAMI_NAMES);
    rows.forEach((row, i) => {
      expect(row.id).toMatch(UUID_V4);
      expect(row.checksum).toBe(UMAMI_CHECKSUMS[i]);
      expect(row.logs).toBeNull();
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
      expect(row.finished_at).not.toBeNull();
      expect(row.started_at <= row.finished_at!).toBe(true);
      if (i > 0) expect(rows[i - 1].finished_at! <= row.started_at).toBe(true);
    });
    expect(new Set(rows.map((r) => r.id)).size).toBe(UMAMI_NAMES.length);
  });

  it("applies nothing the second time, and reports the schema up to date", async () => {
    const before = await rowsOf(umami);
    const result = await applyMigrations(umami, umamiSet);
    expect(result).toMatchObject({
      applied: [],
      alreadyApplied: UMAMI_NAMES,
      modified: [],
      createdMigrationsTable: false,
    });
    expect(await rowsOf(umami)).toEqual(before);
    expect(await migrationStatus(umami, umamiSet)).toEqual({
      schema: "umami",
      hasMigrationsTable: true,
      applied: UMAMI_NAMES,
      pending: [],
      failed: [],
      modified: [],
      missingLocally: [],
      history: null,
      upToDate: true,
    });
  });

  it("reports an applied migration whose file was edited, without re-running it", async () => {
    const edited = structuredClone(umamiSet);
    edited.migrations[2].sql += "\n-- edited after it was applied\n";
    edited.migrations[2].checksum = prismaChecksum(edited.migrations[2].sql);
    const result = await applyMigrations(umami, edited);
    expect(result.applied).toEqual([]);
    expect(result.modified).toEqual([
      {
        name: "03_metric_performance_index",
        fileChecksum: edited.migrations[2].checksum,
        recordedChecksum: UMAMI_CHECKSUMS[2],
        message: expect.stringContaining(
          `Migration 03_metric_performance_index was edited after it was applied (checksum ${edited.migrations[2].checksum.slice(0, 10)}… ≠ recorded baf86a7adc…)`,
        ),
        changedByUmami: false,
      },
    ]);
    expect((await migrationStatus(umami, edited)).modified.map((m) => m.name)).toEqual(["03_metric_performance_index"]);
    // Git turning LF into CRLF is not an edit (Prisma compares both line endings).
    const crlf = structuredClone(umamiSet);
    crlf.migrations[0].sql = crlf.migrations[0].sql.replaceAll("\n", "\r\n");
    expect((await applyMigrations(umami, crlf)).modified).toEqual([]);
  });

  it("waits for Prisma's advisory lock held by someone else, and gives up like Prisma", async () => {
    const holder = await connect(server.admin);
    try {
      await holder.query("SELECT pg_advisory_lock($1)", [PRISMA_ADVISORY_LOCK_KEY.toString()]);
      const error = await applyMigrations(umami, umamiSet, { lockTimeoutMs: 300 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationLockTimeoutError);
      expect((error as Error).message).toContain("pg_advisory_lock(72707369)");
    } finally {
      await holder.end();
    }
    expect((await applyMigrations(umami, umamiSet)).applied).toEqual([]);
  });
});

describe("failures, as Prisma records and reports them", () => {
  it("rolls back a broken migration entirely, records the failure, then blocks like P3009", async () => {
    const settings = adminIn("fx_broken");
    const set = await loadMigrations(join(FIXTURES, "broken"), testSourceOptions());
    const error = await applyMigrations(settings, set).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationFailedError);
    expect(error).toMatchObject({ migration: "02_broken", code: "42P01", line: 10 });
    expect((error as Error).message).not.toContain("\n");
    // 01 committed; nothing of 02 (table, index, row) survived; 03 never ran.
    expect(await tablesIn("fx_broken")).toEqual(["_prisma_migrations", "a"]);
    const leftovers = await withClient(settings, (c) =>
      c.query(
        "SELECT (SELECT count(*)::int FROM fx_broken.a) AS rows, to_regclass('fx_broken.partial_id_idx') AS idx, to_regclass('fx_broken.partial_id_seq') AS seq",
      ),
    );
    expect(leftovers.rows[0]).toEqual({ rows: 0, idx: null, seq: null });

    const rows = await rowsOf(settings);
    expect(
      rows.map((r) => [r.migration_name, r.applied_steps_count, r.finished_at === null, r.rolled_back_at]),
    ).toEqual([
      ["01_create_a", 1, false, null],
      ["02_broken", 0, true, null],
    ]);
    const failed = rows[1];
    expect(failed.id).toMatch(UUID_V4);
    expect(failed.checksum).toBe(set.migrations[1].checksum);
    expect(failed.logs).toContain(
      "A migration failed to apply. New migrations cannot be applied before the error is recovered from.",
    );
    expect(failed.logs).toContain(
      'Migration name: 02_broken\n\nDatabase error code: 42P01\n\nDatabase error:\nERROR: relation "does_not_exist" does not exist',
    );

    const again = await applyMigrations(settings, set).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(FailedMigrationsError);
    expect((again as Error).message).toMatch(
      /^Found failed migration 02_broken in fx_broken\._prisma_migrations \(Prisma P3009/,
    );
    expect((again as Error).message).toContain("umami-db migrate resolve --rolled-back 02_broken");
    expect(await tablesIn("fx_broken")).toEqual(["_prisma_migrations", "a"]);
    expect(await migrationStatus(settings, set)).toMatchObject({
      applied: ["01_create_a"],
      pending: ["03_after"],
      failed: ["02_broken"],
    });
  });

  it("resumes after resolve --rolled-back, as Prisma does, once the migration is fixed", async () => {
    const settings = adminIn("fx_broken");
    await expect(resolveRolledBack(settings, "01_create_a")).rejects.toThrow(CannotRollBackError);
    await expect(resolveRolledBack(settings, "99_nope")).rejects.toThrow(/never applied/);
    expect(await resolveRolledBack(settings, "02_broken")).toEqual({ schema: "fx_broken", name: "02_broken", rows: 1 });
    const fixed = await loadMigrations(join(FIXTURES, "broken"), testSourceOptions());
    fixed.migrations[1].sql = 'CREATE TABLE "partial" ("id" SERIAL PRIMARY KEY);\n';
    fixed.migrations[1].checksum = prismaChecksum(fixed.migrations[1].sql);
    expect((await applyMigrations(settings, fixed)).applied).toEqual(["02_broken", "03_after"]);
    const rows = await rowsOf(settings);
    expect(rows.map((r) => [r.migration_name, r.finished_at !== null, r.rolled_back_at !== null])).toEqual([
      ["01_create_a", true, false],
      ["02_broken", false, true],
      ["02_broken", true, false],
      ["03_after", true, false],
    ]);
  });

  it("refuses a schema that has tables but no _prisma_migrations (P3005), changing nothing", async () => {
    const set = await loadMigrations(join(FIXTURES, "ok"), testSourceOptions());
    const error = await applyMigrations(adminIn("public"), set).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaNotEmptyError);
    expect((error as Error).message).toContain("customers");
    expect(await tablesIn("public")).not.toContain("_prisma_migrations");
  });

  it("dry-runs without creating the schema or the table", async () => {
    const settings = adminIn(`fx_dry_${randomUUID().slice(0, 8)}`);
    const set = await loadMigrations(join(FIXTURES, "ok"), testSourceOptions());
    expect(await applyMigrations(settings, set, { dryRun: true })).toMatchObject({
      applied: [],
      pending: ["01_create_a", "02_create_b"],
      dryRun: true,
    });
    const exists = await withClient(server.admin, (c) =>
      c.query("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1) AS e", [settings.schema]),
    );
    expect(exists.rows[0].e).toBe(false);
  });

  it("lets two runners started together apply each migration once", async () => {
    const settings = adminIn("fx_race");
    const [a, b] = await Promise.all([applyMigrations(settings, umamiSet), applyMigrations(settings, umamiSet)]);
    expect([...a.applied, ...b.applied].sort()).toEqual(UMAMI_NAMES);
    expect([a.applied, b.applied]).toContainEqual([]);
    expect((await rowsOf(settings)).map((r) => r.migration_name)).toEqual(UMAMI_NAMES);
  });
});

describe("the umami-db migrate command", () => {
  const BIN = resolve(import.meta.dirname, "../../../bin/umami-db.js");
  async function run(args: string[], env: Record<string, string> = {}) {
    try {
      const { stdout, stderr } = await promisify(execFile)("node", [BIN, ...args], { env: { ...process.env, ...env } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }
  const url = () =>
    `postgresql://umami_user:${UMAMI_PASSWORD}@127.0.0.1:${server.embedded.port}/app?schema=umami&sslmode=disable`;

  it("reads DATABASE_URL, brings the schema up to date, exits 0 and never prints the password", async () => {
    const deploy = await run(["migrate", "deploy", "--json"], { DATABASE_URL: url() });
    expect(deploy.code).toBe(0);
    const result = JSON.parse(deploy.stdout) as { schema: string; applied: string[]; alreadyApplied: string[] };
    expect(result.schema).toBe("umami");
    expect([...result.alreadyApplied, ...result.applied]).toEqual(UMAMI_NAMES);
    const status = await run(["migrate", "status", "--database-url", url()]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(
      "schema umami: 19 applied, 0 pending, 0 failed, 19 in github:umami-software/umami@v3.1.0",
    );
    expect(status.stdout).toContain("Database schema is up to date!");
    for (const out of [deploy.stdout, deploy.stderr, status.stdout, status.stderr])
      expect(out).not.toContain(UMAMI_PASSWORD);
  });

  it("after an upgrade from npm's pre-release 2.10.0, names Umami's own change and exits 0 as Prisma 7 does; --strict exits 1", async () => {
    const admin = adminIn("fx_upgrade");
    await applyMigrations(admin, await loadRelease("2.10.0"));
    // A database migrated from npm's umami@2.10.0 records its pre-release 04's checksum (the SQL is not ours to ship).
    await withClient(admin, (c) =>
      c.query("UPDATE fx_upgrade._prisma_migrations SET checksum = $1 WHERE migration_name = '04_team_redesign'", [
        NPM_PRERELEASE_COPY.differs["04_team_redesign"],
      ]),
    );
    const target = new URL(server.adminUrl());
    target.searchParams.set("schema", "fx_upgrade");
    const db = ["--database-url", target.toString()];

    const behind = await run(["migrate", "status", ...db]);
    expect([behind.code, behind.stdout]).toEqual([1, expect.stringContaining("  pending  05_add_visit_id")]);
    const deploy = await run(["migrate", "deploy", ...db, "--json"]);
    expect(deploy.code).toBe(0);
    expect(JSON.parse(deploy.stdout).applied).toEqual(UMAMI_NAMES.slice(4));

    const status = await run(["migrate", "status", ...db]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      /^ {2}CHANGED {2}Migration 04_team_redesign was changed by Umami between releases: the database applied it as shipped in npm's umami@2\.10\.0 \(a pre-release copy\), checksum 83afff5fe5…; the folder has it as shipped in Umami v2\.10\.0 and v3\.1\.0, checksum eb0e4ae2ef…\. The database therefore lacks user\.display_name and website\.created_by, which the release adds\. \(reported; /m,
    );
    expect(status.stdout).toContain("Database schema is up to date!");
    expect((await run(["migrate", "status", ...db, "--strict"])).code).toBe(1);

    // The folder behind the database (Umami 3.1.0 ran, the source says 2.10.0): reported, exit 0; --strict exits 1.
    const ahead = await run([
      "migrate",
      "status",
      ...db,
      "--migrations",
      "github:umami-software/umami@v2.10.0",
      "--json",
    ]);
    expect(ahead.code).toBe(0);
    expect(JSON.parse(ahead.stdout)).toMatchObject({
      missingLocally: UMAMI_NAMES.slice(4),
      history: { diagnostic: "migrationsDirectoryIsBehind" },
      upToDate: true,
      exitCode: 0,
    });
    expect(
      (await run(["migrate", "status", ...db, "--migrations", "github:umami-software/umami@v2.10.0", "--strict"])).code,
    ).toBe(1);
    for (const out of [status.stdout, status.stderr, ahead.stdout]) expect(out).not.toContain(TEST_ADMIN.password);
  });

  it("exits 1 from status when a migration is pending, and 2 with one line on bad input", async () => {
    const pending = await run([
      "migrate",
      "status",
      "--database-url",
      url().replace("schema=umami", "schema=fx_nothing_here"),
      "--migrations",
      join(FIXTURES, "ok"),
    ]);
    expect(pending.code).toBe(1);
    expect(pending.stdout).toContain("pending  01_create_a");
    const bad = await run([
      "migrate",
      "deploy",
      "--database-url",
      url(),
      "--migrations",
      join(FIXTURES, "wrong-provider"),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toMatch(/^error: .*names provider "mysql"/);
  });
});
