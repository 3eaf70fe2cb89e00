/**
 * The contract with Prisma, checked against Prisma's own code: `@prisma/migrate` 7.10's MigrateDeploy,
 * MigrateStatus and MigrateResolve (and its engine's diagnoseMigrationHistory), run offline through
 * test/support/prisma-cli.ts on the Wasm schema engine over `@prisma/adapter-pg`, in a project laid out as
 * Umami 3.1.0's, against the same PostgreSQL 15 our runner migrates, as umami_user under an Aurora-like admin.
 * Each scenario has a database of its own (one stage `dev` each: schema umami, role umami_user).
 *
 * One difference is Prisma's and not ours: the stock adapter's `executeScript` splits a migration on `;` and
 * autocommits each piece, so a failing script leaves its earlier statements behind; Prisma's native engine
 * sends the script whole (one simple query, one implicit transaction) and our runner wraps each migration in
 * one transaction, so with either nothing of a failed migration remains. The tests below show both.
 */
import { appendFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDatabaseUrl, withClient } from "../../../scripts/kernel/db.js";
import { readMigrationRows, type MigrationRow } from "../../../scripts/migrate/bookkeeping.js";
import { FailedMigrationsError, MigrationFailedError } from "../../../scripts/migrate/errors.js";
import { applyMigrations, migrationStatus, resolveRolledBack } from "../../../scripts/migrate/runner.js";
import { compareSchemas } from "../../../scripts/migrate/schema-compare.js";
import { readSchemaSnapshot } from "../../../scripts/migrate/schema-snapshot.js";
import { loadMigrations, type MigrationSet } from "../../../scripts/migrate/sources.js";
import { createPrismaProject, type PrismaProject } from "../../support/prisma-project.js";
import { PROJECT_ROOT, runCli } from "../../support/reliability.js";
import { devStageIn, startTestServer, type TestServer, type UmamiStage } from "../../support/server.js";
import { loadRelease, RELEASE_DIRS, testSourceOptions } from "../../support/migrations.js";

const PASSWORD = "Contract-Test-Password-0123456789abcdef";
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let server: TestServer;
let release2: MigrationSet;
let release3: MigrationSet;
let brokenDir: string;
const projects: PrismaProject[] = [];

type Stage = UmamiStage;
const stageIn = (database: string): Promise<Stage> => devStageIn(server, database, PASSWORD);

function project(migrationsDir: string): PrismaProject {
  const p = createPrismaProject(migrationsDir);
  projects.push(p);
  return p;
}

const rows = (stage: Stage) => withClient(stage.umami, (c) => readMigrationRows(c, "umami"));

/** The migration names under "The following migration(s) have been applied:" in MigrateDeploy's output. */
function appliedByPrisma(stdout: string): string[] {
  return [...stdout.matchAll(/└─ ([^/\s]+)\/\n/g)].map((m) => m[1]);
}

/** What Prisma's engine says of the history (the data behind `migrate status`). */
async function diagnose(p: PrismaProject, stage: Stage) {
  const run = await p.run(["migrate", "diagnose"], stage.url);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as {
    editedMigrationNames: string[];
    failedMigrationNames: string[];
    hasMigrationsTable: boolean;
    history: unknown;
  };
}

/** A row without what differs between any two runs (id, timestamps), keeping whether it finished. */
function stable(row: MigrationRow) {
  return {
    migration_name: row.migration_name,
    checksum: row.checksum,
    logs: row.logs,
    rolled_back_at: row.rolled_back_at,
    applied_steps_count: row.applied_steps_count,
    finished: row.finished_at !== null,
  };
}

async function tableExists(stage: Stage, name: string): Promise<boolean> {
  const { rows: r } = await withClient(stage.umami, (c) =>
    c.query<{ t: string | null }>("SELECT pg_catalog.to_regclass($1)::text AS t", [`umami.${name}`]),
  );
  return r[0].t !== null;
}

beforeAll(async () => {
  server = await startTestServer({ sampleApp: false });
  release2 = await loadRelease("2.10.0");
  release3 = await loadRelease("3.1.0");
  // Umami 2.10.0's release plus a migration of ours whose second statement fails.
  brokenDir = join(PROJECT_ROOT, "tmp", "prisma-contract", `broken-${process.pid}`);
  rmSync(brokenDir, { recursive: true, force: true });
  cpSync(RELEASE_DIRS["2.10.0"], brokenDir, { recursive: true });
  mkdirSync(join(brokenDir, "05_broken"));
  writeFileSync(
    join(brokenDir, "05_broken", "migration.sql"),
    '-- CreateTable\nCREATE TABLE "contract_partial" ("id" INTEGER);\n\n-- AlterTable\nALTER TABLE "website" ADD COLUMN "broken" no_such_type;\n',
  );
});
afterAll(async () => {
  for (const p of projects) p.remove();
  if (brokenDir) rmSync(brokenDir, { recursive: true, force: true });
  await server?.stop();
});

describe("our history, read by Prisma", () => {
  let ours: Stage;
  beforeAll(async () => {
    ours = await stageIn("contract_ours");
    await applyMigrations(ours.umami, release3);
  });

  it("is up to date for `prisma migrate status` (exit 0) and its engine finds nothing failed, edited or diverging", async () => {
    const p = project(RELEASE_DIRS["3.1.0"]);
    const status = await p.run(["migrate", "status"], ours.url);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain("19 migrations found in prisma/migrations");
    expect(status.stdout).toContain("Database schema is up to date!");
    expect(await diagnose(p, ours)).toEqual({
      editedMigrationNames: [],
      failedMigrationNames: [],
      hasMigrationsTable: true,
      history: null,
    });
  });

  it("leaves `prisma migrate deploy` nothing to do: exit 0, no pending migration, not one row changed", async () => {
    const before = await rows(ours);
    const deploy = await project(RELEASE_DIRS["3.1.0"]).run(["migrate", "deploy"], ours.url);
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(deploy.stdout).toContain("No pending migrations to apply.");
    expect(await rows(ours)).toEqual(before);
  });
});

describe("upgrades across the two tools", () => {
  it("2.10.0 (release) applied by us, then Prisma with 3.1.0: Prisma applies exactly 05..19, and we then see nothing to do", async () => {
    const stage = await stageIn("contract_upgrade");
    await applyMigrations(stage.umami, release2);
    const ourRows = await rows(stage);
    const deploy = await project(RELEASE_DIRS["3.1.0"]).run(["migrate", "deploy"], stage.url);
    expect(deploy.code, deploy.stderr).toBe(0);
    const later = release3.migrations.slice(4).map((m) => m.name);
    expect(later[0]).toBe("05_add_visit_id");
    expect(later.at(-1)).toBe("19_add_session_replay");
    expect(appliedByPrisma(deploy.stdout)).toEqual(later);
    const after = await rows(stage);
    expect(after.slice(0, 4)).toEqual(ourRows);
    expect(after.slice(4).map((r) => r.migration_name)).toEqual(later);
    expect(await migrationStatus(stage.umami, release3)).toMatchObject({
      pending: [],
      failed: [],
      modified: [],
      missingLocally: [],
    });
    expect(await applyMigrations(stage.umami, release3)).toMatchObject({
      applied: [],
      modified: [],
      createdMigrationsTable: false,
    });
  });

  it("3.1.0 applied by Prisma, then our deploy: a no-op, rows untouched", async () => {
    const stage = await stageIn("contract_prisma");
    const deploy = await project(RELEASE_DIRS["3.1.0"]).run(["migrate", "deploy"], stage.url);
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(appliedByPrisma(deploy.stdout)).toEqual(release3.migrations.map((m) => m.name));
    const before = await rows(stage);
    const result = await applyMigrations(stage.umami, release3);
    expect(result).toMatchObject({
      applied: [],
      alreadyApplied: release3.migrations.map((m) => m.name),
      modified: [],
      createdMigrationsTable: false,
    });
    expect(await rows(stage)).toEqual(before);
    expect(await migrationStatus(stage.umami, release3)).toMatchObject({
      pending: [],
      failed: [],
      modified: [],
      missingLocally: [],
    });
  });

  it("leaves the same _prisma_migrations (DDL from the catalogs, row values) and the same Umami schema as Prisma", async () => {
    const ours = parseDatabaseUrl(
      `postgresql://umami_user:${PASSWORD}@127.0.0.1:${server.embedded.port}/contract_ours?schema=umami&sslmode=disable`,
    );
    const prisma = parseDatabaseUrl(
      `postgresql://umami_user:${PASSWORD}@127.0.0.1:${server.embedded.port}/contract_prisma?schema=umami&sslmode=disable`,
    );
    const [ourSnapshot, prismaSnapshot] = await Promise.all(
      [ours, prisma].map((s) => withClient(s, (c) => readSchemaSnapshot(c, "umami"))),
    );
    const table = (snap: typeof ourSnapshot) => ({
      columns: snap.columns.filter((c) => c.table === "_prisma_migrations"),
      indexes: snap.indexes.filter((i) => i.table === "_prisma_migrations"),
      constraints: snap.constraints.filter((c) => c.table === "_prisma_migrations"),
    });
    expect(
      table(ourSnapshot).columns.map(
        (c) => `${c.name} ${c.type}${c.notNull ? " NOT NULL" : ""}${c.default ? ` DEFAULT ${c.default}` : ""}`,
      ),
    ).toEqual([
      "applied_steps_count integer NOT NULL DEFAULT 0",
      "checksum character varying(64) NOT NULL",
      "finished_at timestamp with time zone",
      "id character varying(36) NOT NULL",
      "logs text",
      "migration_name character varying(255) NOT NULL",
      "rolled_back_at timestamp with time zone",
      "started_at timestamp with time zone NOT NULL DEFAULT now()",
    ]);
    expect(table(ourSnapshot)).toEqual(table(prismaSnapshot));
    // Every table, column, index, constraint and sequence of Umami's schema, as Prisma built it.
    expect(compareSchemas(prismaSnapshot, ourSnapshot)).toEqual([]);

    const [ourRows, prismaRows] = await Promise.all(
      [ours, prisma].map((s) => withClient(s, (c) => readMigrationRows(c, "umami"))),
    );
    expect(ourRows.map(stable)).toEqual(prismaRows.map(stable));
    expect(ourRows.map(stable)[0]).toEqual({
      migration_name: "01_init",
      checksum: release3.migrations[0].checksum,
      logs: null,
      rolled_back_at: null,
      applied_steps_count: 1,
      finished: true,
    });
    for (const r of [...ourRows, ...prismaRows]) {
      expect(r.id).toMatch(UUID_V4);
      expect(r.started_at <= (r.finished_at ?? "")).toBe(true);
    }
  });
});

describe("a failed migration and resolve --rolled-back, both directions", () => {
  it("ours → Prisma: Prisma sees our failure (status exit 1, deploy P3009) and, once we resolve it, sees it pending again", async () => {
    const stage = await stageIn("contract_fail_ours");
    const broken = await loadMigrations(brokenDir, testSourceOptions());
    const error = await applyMigrations(stage.umami, broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationFailedError);
    // One transaction: nothing of the failed script remains (as with Prisma's native engine).
    expect(await tableExists(stage, "contract_partial")).toBe(false);

    const p = project(brokenDir);
    const status = await p.run(["migrate", "status"], stage.url);
    expect(status.code).toBe(1);
    expect(status.stderr).toContain("Following migration have failed:\n05_broken");
    expect((await diagnose(p, stage)).failedMigrationNames).toEqual(["05_broken"]);
    const deploy = await p.run(["migrate", "deploy"], stage.url);
    expect(deploy.code).toBe(1);
    expect(deploy.stderr).toContain("P3009");
    expect(deploy.stderr).toContain("The `05_broken` migration started at");

    await resolveRolledBack(stage.umami, "05_broken");
    const after = await p.run(["migrate", "status"], stage.url);
    expect(after.code).toBe(1);
    expect(after.stdout).toContain("Following migration have not yet been applied:\n05_broken");
    expect((await diagnose(p, stage)).failedMigrationNames).toEqual([]);

    // And Prisma's own resolve clears a failure we recorded.
    await applyMigrations(stage.umami, broken).catch(() => undefined);
    expect((await migrationStatus(stage.umami, broken)).failed).toEqual(["05_broken"]);
    const resolve = await p.run(["migrate", "resolve", "--rolled-back", "05_broken"], stage.url);
    expect(resolve.code, resolve.stderr).toBe(0);
    expect(resolve.stdout).toContain("Migration 05_broken marked as rolled back.");
    expect(await migrationStatus(stage.umami, broken)).toMatchObject({ failed: [], pending: ["05_broken"] });
  });

  it("Prisma → ours: we see Prisma's failure (status failed, deploy P3009), and once we resolve it Prisma sees it pending", async () => {
    const stage = await stageIn("contract_fail_prisma");
    const broken = await loadMigrations(brokenDir, testSourceOptions());
    const p = project(brokenDir);
    const deploy = await p.run(["migrate", "deploy"], stage.url);
    expect(deploy.code).toBe(1);
    expect(deploy.stderr).toContain('type "no_such_type" does not exist');
    // The stock adapter ran the script as two autocommitted statements: the first one stayed.
    expect(await tableExists(stage, "contract_partial")).toBe(true);
    const failed = (await rows(stage)).at(-1);
    expect(failed).toMatchObject({
      migration_name: "05_broken",
      checksum: broken.migrations[4].checksum,
      finished_at: null,
      rolled_back_at: null,
      applied_steps_count: 0,
    });

    expect(await migrationStatus(stage.umami, broken)).toMatchObject({ failed: ["05_broken"], pending: [] });
    const error = await applyMigrations(stage.umami, broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FailedMigrationsError);
    expect((error as Error).message).toContain(
      "Found failed migration 05_broken in umami._prisma_migrations (Prisma P3009",
    );

    await resolveRolledBack(stage.umami, "05_broken");
    const status = await p.run(["migrate", "status"], stage.url);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain("Following migration have not yet been applied:\n05_broken");
  });
});

describe("an edited migration, and a database ahead of the folder", () => {
  let stage: Stage;
  let edited: PrismaProject;
  beforeAll(async () => {
    stage = await stageIn("contract_edited");
    await applyMigrations(stage.umami, release3);
    edited = project(RELEASE_DIRS["3.1.0"]);
    appendFileSync(
      join(edited.migrationsDir, "10_add_distinct_id", "migration.sql"),
      "\n-- edited after it was applied\n",
    );
  });

  it("is named the same way by both: 10_add_distinct_id", async () => {
    expect((await diagnose(edited, stage)).editedMigrationNames).toEqual(["10_add_distinct_id"]);
    const ours = await migrationStatus(stage.umami, await loadMigrations(edited.migrationsDir, testSourceOptions()));
    expect(ours.modified.map((m) => m.name)).toEqual(["10_add_distinct_id"]);
  });

  // Prisma 7 exits 0 ("up to date") for an edited migration, and so do we (reported; exit 1 only with --strict).
  it("exits as Prisma's `migrate status` does for an edited migration (0, up to date); --strict makes ours exit 1", async () => {
    const prisma = await edited.run(["migrate", "status"], stage.url);
    expect(prisma.code).toBe(0);
    expect(prisma.stdout).toContain("Database schema is up to date!");
    const ours = await runCli(["migrate", "status", "--migrations", edited.migrationsDir], { DATABASE_URL: stage.url });
    expect(ours.code).toBe(prisma.code);
    expect(ours.stdout).toContain("10_add_distinct_id");
    const strict = await runCli(["migrate", "status", "--strict", "--migrations", edited.migrationsDir], {
      DATABASE_URL: stage.url,
    });
    expect(strict.code).toBe(1);
  });

  it("a database ahead of the folder: Prisma's engine names the unknown migration, and both exit 0", async () => {
    const behind = project(RELEASE_DIRS["3.1.0"]);
    rmSync(join(behind.migrationsDir, "19_add_session_replay"), { recursive: true });
    expect((await diagnose(behind, stage)).history).toEqual({
      diagnostic: "migrationsDirectoryIsBehind",
      unpersistedMigrationNames: ["19_add_session_replay"],
    });
    const prisma = await behind.run(["migrate", "status"], stage.url);
    expect(prisma.code).toBe(0);
    expect(prisma.stdout).toContain("Database schema is up to date!");
    const status = await migrationStatus(stage.umami, await loadMigrations(behind.migrationsDir, testSourceOptions()));
    expect(status.missingLocally).toEqual(["19_add_session_replay"]);
    const ours = await runCli(["migrate", "status", "--migrations", behind.migrationsDir], { DATABASE_URL: stage.url });
    expect(ours.code, ours.stderr).toBe(prisma.code);
  });
});
