/**
 * `umami-db migrate deploy` on an upgrade, through the CLI: `--dry-run` on a 2.10.0 (release) database with
 * events names the 3.1.0 migrations that lock or rewrite its tables, with the planner's row estimates, while
 * Umami holds website_event exclusively (the plan reads pg_class only) and changes nothing; `--json` keeps
 * stdout for the one object while progress of a long migration goes to stderr.
 */
import { UMAMI_RELEASES as MIRROR, testSourceOptions } from "../../support/migrations.js";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, parseDatabaseUrl, toUrl, withClient, type ConnectionSettings } from "../../../scripts/kernel/db.js";
import { applyMigrations, type MigrateResult } from "../../../scripts/migrate/runner.js";
import { readMigrationRows } from "../../../scripts/migrate/bookkeeping.js";
import { loadMigrations } from "../../../scripts/migrate/sources.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { buildSpec } from "../../../sst/database/spec.js";
import { runCli } from "../../support/reliability.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";

const V3 = resolve(MIRROR, "v3.1.0/prisma/migrations");
const PASSWORD = "Upgrade-Plan-Password-0123456789abcdef";

let server: TestServer;
let umami: ConnectionSettings;
let url: string;

beforeAll(async () => {
  server = await startTestServer({ sampleApp: false });
  const spec = buildSpec("dev");
  await withClient(server.admin, (c) => provisionStage(c, spec, { admin: TEST_ADMIN.name, password: PASSWORD }));
  url = toUrl({ ...server.admin, schema: spec.schema }, { user: spec.role.name, password: PASSWORD });
  umami = parseDatabaseUrl(url);
  await applyMigrations(
    umami,
    await loadMigrations(resolve(MIRROR, "v2.10.0/db/postgresql/migrations"), testSourceOptions()),
  );
  await withClient(umami, async (c) => {
    await c.query(`INSERT INTO website (website_id, name) VALUES ('00000000-0000-4000-8000-000000000001', 'Site')`);
    await c.query(
      `INSERT INTO website_event (event_id, website_id, session_id, url_path)
       SELECT gen_random_uuid(), '00000000-0000-4000-8000-000000000001', md5('s' || g % 500)::uuid, '/page/' || g
         FROM generate_series(1, 5000) g`,
    );
    await c.query("ANALYZE website_event");
  });
});
afterAll(async () => server?.stop());

describe("migrate deploy --dry-run", () => {
  it("plans 05..19 with the locks and row estimates while Umami holds website_event exclusively, and changes nothing", async () => {
    const before = await withClient(umami, (c) => readMigrationRows(c, "umami"));
    // A live session holding the strongest lock: anything that opens website_event would queue behind it.
    const live = await connect(umami);
    try {
      await live.query("BEGIN");
      await live.query("LOCK TABLE website_event IN ACCESS EXCLUSIVE MODE");
      const run = await runCli(["migrate", "deploy", "--dry-run", "--json", "--migrations", V3], { DATABASE_URL: url });
      expect(run.code, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout) as MigrateResult;
      expect(result.pending).toHaveLength(15);
      const visit = result.impact?.find((i) => i.migration === "05_add_visit_id");
      expect(visit?.tables.map(({ table, lock, blocks, work, rows }) => ({ table, lock, blocks, work, rows }))).toEqual(
        [{ table: "website_event", lock: "ACCESS EXCLUSIVE", blocks: "reads and writes", work: "update", rows: 5000 }],
      );
      expect(visit?.tables[0].tableBytes).toBeGreaterThan(0);
      expect(result.impact?.map((i) => i.migration)).not.toContain("11_add_segment");

      const text = await runCli(["migrate", "deploy", "--dry-run", "--migrations", V3], { DATABASE_URL: url });
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain("  05_add_visit_id — website_event (~5,000 rows, ");
      expect(text.stdout).toContain(": ACCESS EXCLUSIVE, blocks reads and writes; updates rows\n");
      // First what destroys data, with the live row estimates; then the window verdict.
      const lines = text.stdout.split("\n");
      expect(lines[1]).toBe("Data the pending migrations destroy (back it up first if it matters):");
      expect(lines[2]).toMatch(
        /^ {2}05_add_visit_id — website_event \(~5,000 rows, .*\): updates rows; line 4 UPDATE \(the rows its WHERE matches\)$/,
      );
      expect(lines).toContain("None rewrites, updates, scans or indexes a big table.");
    } finally {
      await live.query("ROLLBACK").catch(() => undefined);
      await live.end();
    }
    expect(await withClient(umami, (c) => readMigrationRows(c, "umami"))).toEqual(before);
  });
});

describe("--lock-timeout", () => {
  it("refuses what is not a number of seconds in one line, before connecting", async () => {
    for (const value of ["abc", "0", "-1", "10s"]) {
      const run = await runCli(["migrate", "deploy", "--lock-timeout", value, "--migrations", V3], {
        DATABASE_URL: url,
      });
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(
        `error: --lock-timeout takes a number of seconds greater than 0, e.g. 10 or 2.5 (got ${JSON.stringify(value)}).\n`,
      );
    }
  });
});

describe("progress on stderr, the result alone on stdout", () => {
  it("--json: a long migration's progress lines go to stderr, stdout is one JSON object", async () => {
    const dir = mkdtempSync(join(tmpdir(), "umami-progress-"));
    try {
      writeFileSync(join(dir, "migration_lock.toml"), 'provider = "postgresql"\n');
      mkdirSync(join(dir, "01_slow"));
      writeFileSync(join(dir, "01_slow", "migration.sql"), "SELECT pg_sleep(2.6);\n");
      const schema = toUrl(
        { ...umami, schema: "progress_check" },
        { user: TEST_ADMIN.name, password: TEST_ADMIN.password },
      );
      const run = await runCli(["migrate", "deploy", "--json", "--migrations", dir], { DATABASE_URL: schema });
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ applied: ["01_slow"] });
      expect(run.stderr).toMatch(/^ {2}… 01_slow — running 2\.\d s$/m);
      expect(run.stderr).toMatch(/^ok {3}01_slow \(2\.\d s\) — applied$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
