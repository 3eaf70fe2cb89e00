/**
 * The command context through the real CLI: `local` writes its credentials file where UMAMI_SECRET_FILE says,
 * the file `post-deploy` and `rollback` then read and delete — one precedence (flag, variable, default) for
 * every command.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorLines, runCli } from "../../support/reliability.js";
import { startTestServer, type TestServer } from "../../support/server.js";

let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer({ sampleApp: false });
  dir = mkdtempSync(join(tmpdir(), "umami-context-"));
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A migrations directory whose one migration fails: the run stops right after the credentials file is written. */
function failingMigrations(): string {
  const migrations = join(dir, "migrations");
  mkdirSync(join(migrations, "01_fails"), { recursive: true });
  writeFileSync(join(migrations, "migration_lock.toml"), 'provider = "postgresql"\n');
  writeFileSync(join(migrations, "01_fails", "migration.sql"), "SELECT no_such_function();\n");
  return migrations;
}

describe("local and UMAMI_SECRET_FILE", () => {
  it("writes the credentials file the variable names, as rollback and post-deploy read it", async () => {
    const file = join(dir, "from-env", "credentials.json");
    const run = await runCli(
      ["local", "--migrations", failingMigrations(), "--json"],
      {
        ADMIN_DATABASE_URL: server.adminUrl(),
        UMAMI_SECRET_FILE: file,
      },
      { cwd: dir },
    );
    expect(errorLines(run)).toEqual([]);
    expect(JSON.parse(run.stdout)).toMatchObject({ failedStep: "migrate as umami_user", secretFile: file });
    expect(existsSync(file)).toBe(true);
    expect(existsSync(join(dir, ".umami-db"))).toBe(false);

    // The flag still wins over the variable.
    const flag = join(dir, "from-flag", "credentials.json");
    const second = await runCli(
      ["local", "--migrations", failingMigrations(), "--secret-file", flag, "--json"],
      {
        ADMIN_DATABASE_URL: server.adminUrl(),
        UMAMI_SECRET_FILE: file,
      },
      { cwd: dir },
    );
    expect(JSON.parse(second.stdout)).toMatchObject({ secretFile: flag });
  });
});
