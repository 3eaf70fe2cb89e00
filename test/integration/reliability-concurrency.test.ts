/**
 * Concurrency, through the CLI as separate processes (as when several deploy jobs or Umami
 * containers start together): five `umami-db migrate` at once, and five `umami-db post-deploy` at once on a
 * freshly provisioned stage. Every process exits 0, each migration is applied exactly once, `_prisma_migrations`
 * holds one row per migration, and no lock is left behind.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec, type UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { buildCredentialsSecret } from "../../sst/database/secret.js";
import { parseDatabaseUrl, toUrl, withClient, type ConnectionSettings } from "../../scripts/kernel/db.js";
import { readMigrationRows } from "../../scripts/migrate/bookkeeping.js";
import { loadRelease } from "../support/migrations.js";
import { provisionStage } from "../../scripts/flows/provision.js";
import { writeSecretFile } from "../../scripts/stage/credentials.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../support/server.js";
import { applicationDataChecksums, runCli } from "../support/reliability.js";
import { scratchDir } from "../support/scratch.js";

const PASSWORD = "Concurrency-Cli-Password-0123456789abcdef";
let server: TestServer;
let names: string[];

beforeAll(async () => {
  server = await startTestServer();
  names = (await loadRelease("3.1.0")).migrations.map((m) => m.name);
});
afterAll(async () => server?.stop());

async function provisioned(
  stage: string,
): Promise<{ spec: UmamiDatabaseSpec; umami: ConnectionSettings; url: string }> {
  const spec = buildSpec(stage);
  await withClient(server.admin, (c) => provisionStage(c, spec, { admin: TEST_ADMIN.name, password: PASSWORD }));
  const url = toUrl({ ...server.admin, schema: spec.schema }, { user: spec.role.name, password: PASSWORD });
  return { spec, umami: parseDatabaseUrl(url), url };
}

async function expectAppliedOnce(umami: ConnectionSettings, schema: string) {
  const rows = await withClient(umami, (c) => readMigrationRows(c, schema));
  expect(rows.map((r) => r.migration_name)).toEqual(names);
  expect(rows.every((r) => r.finished_at !== null && r.rolled_back_at === null && r.applied_steps_count === 1)).toBe(
    true,
  );
  // Nobody holds Prisma's advisory lock any more and no session of the runs is left.
  const { rows: left } = await withClient(server.admin, (c) =>
    c.query<{ locks: number; sessions: number }>(
      `SELECT (SELECT count(*)::int FROM pg_catalog.pg_locks WHERE locktype = 'advisory') AS locks,
              (SELECT count(*)::int FROM pg_catalog.pg_stat_activity WHERE usename = $1) AS sessions`,
      [umami.user],
    ),
  );
  expect(left[0]).toEqual({ locks: 0, sessions: 0 });
}

describe("five processes at once", () => {
  it("umami-db migrate ×5: all exit 0, each migration applied exactly once, one row per migration", async () => {
    const { spec, umami, url } = await provisioned("dev");
    const data = await withClient(server.admin, applicationDataChecksums);
    const runs = await Promise.all(
      Array.from({ length: 5 }, () => runCli(["migrate", "deploy", "--json"], { DATABASE_URL: url })),
    );
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const results = runs.map((r) => JSON.parse(r.stdout) as { applied: string[]; alreadyApplied: string[] });
    expect(results.flatMap((r) => r.applied).sort()).toEqual(names);
    // Prisma's advisory lock is held for a whole run: one process applies everything, the others find it done.
    expect(results.filter((r) => r.applied.length > 0)).toHaveLength(1);
    expect(results.filter((r) => r.alreadyApplied.length === names.length)).toHaveLength(4);
    await expectAppliedOnce(umami, spec.schema);
    expect(await withClient(server.admin, applicationDataChecksums)).toEqual(data);
    for (const run of runs) expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  it("umami-db post-deploy ×5 on a fresh stage: all exit 0 and pass, migrations applied once in total", async () => {
    const { spec, umami } = await provisioned("pr-5");
    const dir = scratchDir("umami-concurrency-");
    const secretFile = join(dir, "credentials.json");
    writeSecretFile(
      secretFile,
      buildCredentialsSecret({
        username: spec.role.name,
        password: PASSWORD,
        host: "127.0.0.1",
        port: server.embedded.port,
        database: "app",
        schema: spec.schema,
        sslmode: "disable",
      }),
    );
    const env = { ADMIN_DATABASE_URL: server.adminUrl(), UMAMI_SECRET_FILE: secretFile };
    const runs = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        runCli(
          [
            "post-deploy",
            "--stage",
            "pr-5",
            "--no-cloudwatch",
            "--no-before",
            "--json",
            "--reports-dir",
            join(dir, `reports-${i}`),
          ],
          env,
          { cwd: dir },
        ),
      ),
    );
    for (const run of runs) expect(run.code, run.stderr + run.stdout).toBe(0);
    const results = runs.map(
      (r) => JSON.parse(r.stdout) as { ok: boolean; migrations: { applied: string[]; alreadyApplied: string[] } },
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.flatMap((r) => r.migrations.applied).sort()).toEqual(names);
    expect(results.filter((r) => r.migrations.applied.length > 0)).toHaveLength(1);
    await expectAppliedOnce(umami, spec.schema);
    for (const run of runs) expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });
});
