/**
 * Five runners started at the same moment as umami_user (as when several Umami containers and a deploy
 * script start together): Prisma's advisory lock serialises them, so each migration is applied exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDatabaseUrl, withClient, type ConnectionSettings } from "../../../scripts/kernel/db.js";
import { applyMigrations } from "../../../scripts/migrate/runner.js";
import { readMigrationRows } from "../../../scripts/migrate/bookkeeping.js";
import { loadRelease } from "../../support/migrations.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { buildSpec } from "../../../sst/database/spec.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";

const PASSWORD = "Concurrency-Test-Password-0123456789abcdef";
let server: TestServer;
let umami: ConnectionSettings;

beforeAll(async () => {
  server = await startTestServer({ sampleApp: false });
  await withClient(server.admin, (c) =>
    provisionStage(c, buildSpec("dev"), { admin: TEST_ADMIN.name, password: PASSWORD }),
  );
  umami = parseDatabaseUrl(
    `postgresql://umami_user:${PASSWORD}@127.0.0.1:${server.embedded.port}/app?schema=umami&sslmode=disable`,
  );
});
afterAll(async () => server?.stop());

describe("five runners at once", () => {
  it("apply each of Umami's migrations exactly once", async () => {
    const set = await loadRelease("3.1.0");
    const names = set.migrations.map((m) => m.name);
    const results = await Promise.all(Array.from({ length: 5 }, () => applyMigrations(umami, set)));
    expect(results.flatMap((r) => r.applied).sort()).toEqual(names);
    // The lock is held for a whole run, so one runner applies everything and the others find nothing to do.
    expect(results.filter((r) => r.applied.length > 0)).toHaveLength(1);
    expect(results.filter((r) => r.createdMigrationsTable)).toHaveLength(1);
    const rows = await withClient(umami, (c) => readMigrationRows(c, "umami"));
    expect(rows.map((r) => r.migration_name)).toEqual(names);
    expect(rows.every((r) => r.finished_at !== null && r.applied_steps_count === 1)).toBe(true);
  });
});
