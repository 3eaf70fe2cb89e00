/**
 * post-deploy and `local --admin-url` change a real database: before the first change they start the schema
 * check's scratch server, which used to start only at the end, after provisioning, migrating and auditing. Here
 * the scratch server cannot start (as root: a temporary directory the OS user postgres cannot reach; as an
 * ordinary user: one it cannot write), and each run is refused with the database exactly as it was.
 */
import { chmodSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec } from "../../../sst/database/spec.js";
import { buildCredentialsSecret } from "../../../sst/database/secret.js";
import { withClient } from "../../../scripts/kernel/db.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { writeSecretFile } from "../../../scripts/stage/credentials.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";
import { catalogSnapshot, runCli } from "../../support/reliability.js";
import { scratchDir } from "../../support/scratch.js";

const PASSWORD = "Scratch-First-Umami-Password-0123456789ab";
let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer();
  dir = scratchDir("umami-scratch-first-");
  await withClient(server.admin, (c) =>
    provisionStage(c, buildSpec("dev"), { admin: TEST_ADMIN.name, password: PASSWORD }),
  );
}, 120_000);

afterAll(async () => server?.stop());

/** A temporary directory the scratch server cannot use: root's 0700 (postgres cannot reach it), else read-only. */
function unusableTmp(): string {
  const tmp = scratchDir("umami-scratch-closed-");
  chmodSync(tmp, process.getuid?.() === 0 ? 0o700 : 0o500);
  return tmp;
}

const snapshot = () => withClient(server.superuser, (c) => catalogSnapshot(c));

describe("the scratch server is started before the first change", () => {
  it("post-deploy: refused at that step, nothing migrated", async () => {
    const secretFile = join(dir, "dev.json");
    writeSecretFile(
      secretFile,
      buildCredentialsSecret({
        username: "umami_user",
        password: PASSWORD,
        host: "127.0.0.1",
        port: server.embedded.port,
        database: "app",
        schema: "umami",
        sslmode: "disable",
      }),
    );
    const before = await snapshot();
    const tmp = unusableTmp();
    const run = await runCli(
      ["post-deploy", "--stage", "dev", "--no-cloudwatch", "--no-before", "--reports-dir", join(dir, "reports")],
      { ADMIN_DATABASE_URL: server.adminUrl(), UMAMI_SECRET_FILE: secretFile, TMPDIR: tmp },
    );
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/^FAIL +start the schema check's scratch PostgreSQL/m);
    expect(run.stderr).not.toMatch(/migrate as umami_user|^\s+at /m);
    expect(await snapshot()).toBe(before);
    const tables = await withClient(
      server.admin,
      async (c) =>
        (await c.query("SELECT relname FROM pg_catalog.pg_class WHERE relnamespace = 'umami'::regnamespace")).rowCount,
    );
    expect(tables).toBe(0);
    expect(readdirSync(tmp).filter((n) => !/^tsx-\d+$/.test(n))).toEqual([]);
  }, 120_000);

  it("local --admin-url: refused at that step, no role, no schema, no credentials file", async () => {
    const before = await snapshot();
    const secretFile = join(dir, "pr-7.json");
    const run = await runCli(["local", "--stage", "pr-7", "--secret-file", secretFile], {
      ADMIN_DATABASE_URL: server.adminUrl(),
      TMPDIR: unusableTmp(),
    });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toMatch(/FAILED at "start the schema check's scratch PostgreSQL"/);
    expect(run.stderr).not.toMatch(/provision schema/);
    expect(await snapshot()).toBe(before);
    expect(existsSync(secretFile)).toBe(false);
  }, 120_000);
});
