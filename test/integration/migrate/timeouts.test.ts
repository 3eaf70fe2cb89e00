/**
 * The runner against the role's timeouts and Umami's live sessions: a migration runs
 * with no statement_timeout whatever the role says, waits at most lock_timeout behind a session that holds a
 * lock (and names it), and reports progress from a second connection while it runs.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connect,
  connectionCount,
  parseDatabaseUrl,
  resetConnectionPeak,
  withClient,
  type ConnectionSettings,
} from "../../../scripts/kernel/db.js";
import { applyMigrations, type MigrateEvent } from "../../../scripts/migrate/runner.js";
import { LockWaitTimeoutError } from "../../../scripts/migrate/errors.js";
import { prismaChecksum, readMigrationRows } from "../../../scripts/migrate/bookkeeping.js";
import { loadMigrations } from "../../../scripts/migrate/sources.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { buildSpec } from "../../../sst/database/spec.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";
import { testSourceOptions } from "../../support/migrations.js";

const PASSWORD = "Timeouts-Test-Password-0123456789abcdef";
const SLEEP = "CREATE TABLE slow (id integer PRIMARY KEY);\nSELECT pg_sleep(2);\nINSERT INTO slow VALUES (1);\n";
const ALTER = 'ALTER TABLE "slow" ADD COLUMN "note" VARCHAR(50);\n';
// An index whose build takes ~2 s (1 ms per row in its expression), so the build is seen while it runs.
// The table exists before (a table created in the same transaction is invisible to the monitor's connection).
const TABLE = `CREATE FUNCTION slow_key(integer) RETURNS integer LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN PERFORM pg_sleep(0.001); RETURN $1; END $$;
CREATE TABLE indexed (id integer);
INSERT INTO indexed SELECT g FROM generate_series(1, 1500) g;
`;
const INDEX = "CREATE INDEX indexed_slow_key_idx ON indexed (slow_key(id));\n";

let server: TestServer;
let umami: ConnectionSettings;
let root: string;

/** A migrations directory holding the first `count` of `steps`. */
function migrations(steps: [string, string][]): string {
  const dir = mkdtempSync(join(root, "set-"));
  writeFileSync(join(dir, "migration_lock.toml"), 'provider = "postgresql"\n');
  for (const [name, sql] of steps) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, "migration.sql"), sql);
  }
  return dir;
}

beforeAll(async () => {
  server = await startTestServer({ sampleApp: false });
  const spec = buildSpec("dev");
  await withClient(server.admin, (c) => provisionStage(c, spec, { admin: TEST_ADMIN.name, password: PASSWORD }));
  // The guard a stage may put on the role: far shorter than the migration below.
  await withClient(server.admin, (c) => c.query("ALTER ROLE umami_user SET statement_timeout TO '1s'"));
  umami = parseDatabaseUrl(
    `postgresql://umami_user:${PASSWORD}@127.0.0.1:${server.embedded.port}/app?schema=umami&sslmode=disable`,
  );
  root = mkdtempSync(join(tmpdir(), "umami-timeouts-"));
});
afterAll(async () => {
  await server?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("statement_timeout on the role", () => {
  it("is in force for a plain session of the role", async () => {
    await withClient(umami, async (c) => {
      expect((await c.query<{ statement_timeout: string }>("SHOW statement_timeout")).rows[0].statement_timeout).toBe(
        "1s",
      );
      await expect(c.query("SELECT pg_sleep(2)")).rejects.toMatchObject({ code: "57014" });
    });
  });

  it("does not cut off a migration that runs longer; it is recorded exactly as before, and progress came from a second connection", async () => {
    const set = await loadMigrations(migrations([["01_sleep", SLEEP]]), testSourceOptions());
    const events: MigrateEvent[] = [];
    resetConnectionPeak();
    const result = await applyMigrations(umami, set, { onProgress: (e) => events.push(e), progressIntervalMs: 400 });
    expect(result.applied).toEqual(["01_sleep"]);
    expect(events[0]).toEqual({ type: "start", name: "01_sleep", statementTimeout: "0", lockTimeout: "10s" });
    const progress = events.filter((e) => e.type === "progress");
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.map((e) => e.elapsedMs)).toEqual(progress.map((e) => e.elapsedMs).sort((a, b) => a - b));
    expect(events.at(-1)).toMatchObject({ type: "applied", name: "01_sleep" });
    // The migration's connection and the monitor's: the one connection the runner adds, and nothing left open.
    expect(connectionCount.peak).toBe(2);
    expect(connectionCount.open).toBe(0);

    const rows = await withClient(umami, (c) => readMigrationRows(c, "umami"));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      migration_name: "01_sleep",
      checksum: prismaChecksum(SLEEP),
      logs: null,
      rolled_back_at: null,
      applied_steps_count: 1,
    });
    expect(rows[0].finished_at).not.toBeNull();
    // The role's setting is untouched for the next plain session.
    await withClient(umami, async (c) =>
      expect((await c.query<{ s: string }>("SELECT current_setting('statement_timeout') AS s")).rows[0].s).toBe("1s"),
    );
  });
});

describe("lock_timeout behind a live session", () => {
  it("gives up after lock_timeout, names the session holding the lock, applies and records nothing; the next run applies it", async () => {
    const dir = migrations([
      ["01_sleep", SLEEP],
      ["02_alter", ALTER],
    ]);
    const set = await loadMigrations(dir, testSourceOptions());
    // Umami's runtime, as the same role, in the middle of a transaction that read the table.
    const live = await connect({ ...umami, applicationName: "umami-live" });
    try {
      await live.query("BEGIN");
      await live.query("SELECT count(*) FROM umami.slow");
      const livePid = (await live.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid;

      const started = performance.now();
      const error = await applyMigrations(umami, set, { statementLockTimeoutMs: 800 }).catch((e: unknown) => e);
      const waited = performance.now() - started;
      expect(error).toBeInstanceOf(LockWaitTimeoutError);
      expect(waited).toBeLessThan(3000);
      expect((error as Error).message).toBe(
        `Migration 02_alter waited 0.8 s (lock_timeout) for AccessExclusiveLock on slow, held by pid ${livePid} (umami_user, application "umami-live", idle in transaction, for ${(error as LockWaitTimeoutError).wait?.holders[0].seconds} s). ` +
          `Nothing of it was applied and nothing was recorded. Let that session finish, or end it (SELECT pg_terminate_backend(${livePid})), ` +
          "or wait longer with `migrate deploy --lock-timeout <seconds>`, then run again.",
      );
      const rows = await withClient(umami, (c) => readMigrationRows(c, "umami"));
      expect(rows.map((r) => r.migration_name)).toEqual(["01_sleep"]);
      const columns = await withClient(umami, (c) =>
        c.query<{ column_name: string }>(
          "SELECT column_name FROM information_schema.columns WHERE table_schema = 'umami' AND table_name = 'slow' ORDER BY 1",
        ),
      );
      expect(columns.rows.map((r) => r.column_name)).toEqual(["id"]);
    } finally {
      await live.query("ROLLBACK").catch(() => undefined);
      await live.end();
    }
    const next = await applyMigrations(umami, set);
    expect(next.applied).toEqual(["02_alter"]);
  });
});

describe("progress of an index build", () => {
  it("reports the phase and blocks done from pg_stat_progress_create_index while the index builds", async () => {
    const set = await loadMigrations(
      migrations([
        ["03_table", TABLE],
        ["04_index", INDEX],
      ]),
      testSourceOptions(),
    );
    const events: MigrateEvent[] = [];
    await applyMigrations(umami, set, { onProgress: (e) => events.push(e), progressIntervalMs: 200 });
    const builds = events.flatMap((e) => (e.type === "progress" && e.index ? [e.index] : []));
    expect(builds.length).toBeGreaterThan(0);
    expect(builds[0]).toMatchObject({ table: "indexed", phase: expect.stringMatching(/^building index/) });
    expect(builds.some((b) => b.blocksTotal > 0 && b.blocksDone <= b.blocksTotal)).toBe(true);
  });
});
