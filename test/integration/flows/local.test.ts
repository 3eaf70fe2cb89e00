/**
 * `umami-db local` end to end: on its own embedded PostgreSQL 15 (via the CLI, as a user runs it), and with
 * `--admin-url` against a second, already running server — twice, to show the second run changes nothing.
 */
import { execFile } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionCount, parseDatabaseUrl, resetConnectionPeak, withClient } from "../../../scripts/kernel/db.js";
import { runLocal, type LocalResult } from "../../../scripts/flows/local.js";
import { readSecretFile } from "../../../scripts/stage/credentials.js";
import { KNOWN_RELEASES } from "../../../scripts/migrate/sources/releases.js";
import { releaseSource, testSourceOptions, UMAMI_3_TABLES } from "../../support/migrations.js";
import { readDoc, sampleSteps, shellCommands, words } from "../../support/markdown.js";
import { startTestServer, type TestServer } from "../../support/server.js";
import { scratchDir } from "../../support/scratch.js";

const run = promisify(execFile);
const root = new URL("../../..", import.meta.url).pathname;
const UMAMI_TABLES = UMAMI_3_TABLES;
const UMAMI_NAMES = Object.keys(KNOWN_RELEASES.find((r) => r.tag === "v3.1.0")!.checksums);

let server: TestServer;
let dir: string;
beforeAll(async () => {
  server = await startTestServer();
  dir = scratchDir("umami-local-test-");
});
afterAll(async () => server?.stop());

function stepNames(result: Pick<LocalResult, "steps">): string[] {
  return result.steps.map((s) => `${s.ok ? "ok" : "FAIL"} ${s.name}`);
}

describe("umami-db local", () => {
  it("runs the whole flow on an embedded PostgreSQL 15 and prints one JSON object with --json, as the README runs it", async () => {
    const secretFile = join(dir, "embedded", "credentials.json");
    // The README's command, through npm (-s keeps npm's banner off stdout), plus a secret file outside the tree.
    const readmeCommand = "npm run -s local -- --json";
    expect(shellCommands(readDoc("README.md"))).toContain(readmeCommand);
    const [npm, ...args] = words(readmeCommand);
    const { stdout } = await run(npm, [...args, "--secret-file", secretFile], { cwd: root, timeout: 120_000 });
    const result = JSON.parse(stdout) as LocalResult;
    expect(result.ok).toBe(true);
    // The README's sample shows the steps a real run takes, in order (its timings are one run's).
    expect(sampleSteps(readDoc("README.md"))).toEqual(result.steps.map((s) => s.name));
    expect(stepNames(result)).toEqual([
      "ok load migrations",
      "ok start embedded PostgreSQL 15",
      "ok baseline before",
      "ok fingerprint the application",
      "ok provision schema, role and grants",
      "ok write credentials file",
      "ok migrate as umami_user",
      "ok audit isolation",
      "ok baseline after",
      "ok compare baseline",
      "ok verify schema against the release",
      "ok stop embedded PostgreSQL",
    ]);
    // The default: Umami 3.1.0's release (the stage's umamiVersion), here from the mirror.
    expect(result.migrations).toMatchObject({
      source: "github:umami-software/umami@v3.1.0",
      applied: UMAMI_NAMES,
      notes: [expect.stringMatching(/^Umami v3\.1\.0's release files/)],
    });
    expect(result.steps[0].detail).toBe("19 migrations from github:umami-software/umami@v3.1.0 (bundled)");
    expect(result.umamiTables).toBe(17);
    expect(result.tables).toEqual(UMAMI_TABLES);
    expect(result.schemaCheck).toMatchObject({ ok: true, compared: result.migrations.applied, differences: [] });
    expect(result.checks?.audit.findings.filter((f) => f.severity === "fail")).toEqual([]);
    expect(result.checks?.audit.fingerprint).toMatchObject({ compared: true, changed: [] });
    expect(result.databaseUrl).toMatch(
      /^postgresql:\/\/umami_user:\*\*\*\*@127\.0\.0\.1:\d+\/app\?schema=umami&sslmode=disable$/,
    );
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    expect(stdout).not.toContain(readSecretFile(secretFile).password);
  });

  it("runs against an existing server with --admin-url, and a second run applies and changes nothing", async () => {
    const secretFile = join(dir, "existing", "credentials.json");
    const options = {
      stage: "dev",
      adminUrl: server.adminUrl(),
      keep: false,
      migrations: releaseSource("3.1.0"),
      sources: testSourceOptions(),
      secretFile,
    };
    resetConnectionPeak();
    const first = await runLocal(options);
    // The whole flow — baseline, fingerprint, provisioning, migrations, audit with live probes — never holds
    // more than two connections at once (the issue's goal: connections +0–2).
    expect(connectionCount).toEqual({ open: 0, peak: 2 });
    expect({ failed: first.steps.filter((s) => !s.ok), error: first.error }).toEqual({ failed: [], error: undefined });
    expect(first.ok).toBe(true);
    expect(first.server.embedded).toBe(false);
    // The schema check's scratch server starts before the first change to the user's database.
    expect(stepNames(first).slice(0, 3)).toEqual([
      "ok load migrations",
      "ok start the schema check's scratch PostgreSQL",
      "ok baseline before",
    ]);
    expect(first.migrations.applied).toEqual(UMAMI_NAMES);
    const password = readSecretFile(secretFile).password;

    const second = await runLocal(options);
    expect(second.ok).toBe(true);
    expect(second.migrations).toMatchObject({ applied: [], alreadyApplied: first.migrations.applied });
    expect(second.steps.find((s) => s.name === "provision schema, role and grants")?.detail).toMatch(
      /^role umami_user kept, schema umami kept/,
    );
    expect(readSecretFile(secretFile).password).toBe(password);

    // The administrator cannot read Umami's tables (isolation); umami_user, from the credentials file, can.
    await withClient(parseDatabaseUrl(readSecretFile(secretFile).DATABASE_URL), async (c) => {
      const { rows } = await c.query<{ n: number }>("SELECT count(*)::int AS n FROM umami._prisma_migrations");
      expect(rows[0].n).toBe(19);
    });

    // The role's password changed elsewhere: the file is stale, so the next run rotates instead of failing.
    await withClient(server.admin, (c) => c.query("ALTER ROLE umami_user PASSWORD 'changed-elsewhere-0123456789'"));
    const third = await runLocal(options);
    expect({ ok: third.ok, error: third.error }).toEqual({ ok: true, error: undefined });
    expect(third.steps.find((s) => s.name === "provision schema, role and grants")?.detail).toMatch(
      /^role umami_user kept \(password rotated: the credentials file's was no longer valid\), schema umami kept/,
    );
    expect(readSecretFile(secretFile).password).not.toBe(password);
  });

  it("refuses, changing nothing, a role of the same name that another database's stage uses", async () => {
    // Stage dev already lives in database app (the test above); the same stage pointed at app2 would reuse role
    // umami_user and rotate the password app's credentials hold.
    const first = join(dir, "existing", "credentials.json");
    const app2 = await server.createDatabase("app2_local");
    const result = await runLocal({
      stage: "dev",
      adminUrl: server.adminUrl("app2_local"),
      keep: false,
      migrations: releaseSource("3.1.0"),
      sources: testSourceOptions(),
      secretFile: join(dir, "app2", "credentials.json"),
    });
    expect(result.ok).toBe(false);
    expect(result.failedStep).toBe("provision schema, role and grants");
    expect(result.error).toMatch(
      /^Step "provision schema, role and grants" failed: role umami_user already exists and is not stage dev's: role umami_user has objects or grants in 1 other database\(s\)\. If they are leftovers of stage dev/,
    );
    await withClient(parseDatabaseUrl(readSecretFile(first).DATABASE_URL), (c) => c.query("SELECT 1")); // app's password still works
    const schemas = await withClient(app2, (c) =>
      c.query("SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = 'umami'"),
    );
    expect(schemas.rows).toEqual([]);
  });

  it("refuses a bad --admin-url with one line and exit 2 before starting anything", async () => {
    const error = (await run(process.execPath, ["bin/umami-db.js", "local", "--admin-url", "mysql://x@y/z"], {
      cwd: root,
    }).catch((e: unknown) => e)) as {
      code: number;
      stderr: string;
    };
    expect(error.code).toBe(2);
    expect(error.stderr).toBe("error: The database URL must start with postgresql:// (found mysql://).\n");
  });
});
