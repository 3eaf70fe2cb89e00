/**
 * A kept server a newcomer can use, and credentials files keyed to what they describe. `local --keep` prints how
 * psql connects as the administrator, umami_user and the superuser (passwords only in 0600 files); the
 * credentials file's PSQL_URL works in psql. A later run never writes another server's credentials over a file
 * (one line, the file unchanged); a run without --keep marks its file, so the next may replace it; rollback
 * removes the file of the role it dropped.
 */
import { execFileSync, execSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../support/server.js";
import { runCli } from "../../support/reliability.js";
import { scratchDir } from "../../support/scratch.js";

let server: TestServer;
let dir: string;
let restart: string | undefined;
let dataDir: string | undefined;

beforeAll(async () => {
  server = await startTestServer();
  dir = scratchDir("umami-kept-");
}, 120_000);

afterAll(async () => {
  if (restart) execSync(`${restart.replace(/ -l \S+ start/, " stop -m fast")} || true`, { stdio: "ignore" });
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  await server?.stop();
});

const psql = (args: string[], env: Record<string, string> = {}) =>
  execFileSync("psql", ["-X", "-At", ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", ...env },
  }).trim();

describe("local --keep", () => {
  const secretFile = () => join(dir, "kept", "credentials.json");

  it("prints psql connection strings for the admin, umami_user and the superuser; no password printed", async () => {
    const run = await runCli(["local", "--keep", "--secret-file", secretFile()]);
    expect(run.code, run.stderr).toBe(0);
    restart = /^ {2}restart with: {2}(.+)$/m.exec(run.stdout)?.[1];
    dataDir = /^ {2}data kept in: {2}(\S+)$/m.exec(run.stdout)?.[1];
    const serviceFile = join(dir, "kept", "pg_service.conf");
    expect(run.stdout).toContain(`  then connect:  export PGSERVICEFILE=${serviceFile}\n`);
    expect(run.stdout).toMatch(/^ +psql service=admin +# app_admin, the Aurora-like administrator/m);
    expect(run.stdout).toMatch(/^ +psql service=umami +# umami_user, search_path umami$/m);
    expect(run.stdout).toMatch(/^ +psql service=superuser +# postgres, the embedded server's superuser$/m);
    expect(statSync(serviceFile).mode & 0o777).toBe(0o600);
    const passwords = [...readFileSync(serviceFile, "utf8").matchAll(/^password=(.+)$/gm)].map((m) => m[1]);
    expect(passwords).toHaveLength(3);
    for (const password of passwords) expect(run.stdout + run.stderr).not.toContain(password);

    execSync(restart!, { stdio: "ignore", cwd: "/" });
    const env = { PGSERVICEFILE: serviceFile };
    expect(psql(["service=admin", "-c", "SELECT current_user"], env)).toBe("app_admin");
    expect(psql(["service=umami", "-c", "SELECT current_user || ' ' || current_setting('search_path')"], env)).toBe(
      "umami_user umami",
    );
    expect(psql(["service=superuser", "-c", "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"], env)).toBe(
      "t",
    );
    // The credentials file's own psql URL (psql refuses DATABASE_URL's schema=).
    const secret = JSON.parse(readFileSync(secretFile(), "utf8")) as { PSQL_URL: string; DATABASE_URL: string };
    expect(psql([secret.PSQL_URL, "-c", "SELECT count(*) FROM _prisma_migrations"])).toBe("19");
    expect(() => psql([secret.DATABASE_URL, "-c", "SELECT 1"])).toThrow(/invalid URI query parameter: "schema"/);
  }, 180_000);

  it("a second run would write a new server's credentials over the kept one's: refused, the file unchanged", async () => {
    const before = readFileSync(secretFile(), "utf8");
    const run = await runCli(["local", "--secret-file", secretFile()]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toMatch(
      /error: +The credentials file \S+ holds the credentials of umami_user on 127\.0\.0\.1:\d+\/app; this run would write a new embedded server's over them\. Pass --secret-file with another path, or remove \S+ if that server or role is gone\. Nothing was changed\./,
    );
    expect(run.stderr).not.toMatch(/start embedded/);
    const other = await runCli(["local", "--secret-file", secretFile()], { ADMIN_DATABASE_URL: server.adminUrl() });
    expect(other.code).toBe(2);
    expect(other.stdout).toMatch(/this run would write those of umami_user on 127\.0\.0\.1:\d+\/app over them/);
    expect(readFileSync(secretFile(), "utf8")).toBe(before);
  }, 120_000);
});

describe("credentials of a server or role that is gone", () => {
  it("a run without --keep marks its file; the next run replaces it", async () => {
    const file = join(dir, "plain", "credentials.json");
    const first = await runCli(["local", "--secret-file", file]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain("(mode 0600; marked: its server was removed)");
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({
      SERVER_REMOVED: expect.stringMatching(/without --keep/),
    });
    const second = await runCli(["local", "--secret-file", file]);
    expect(second.code, second.stderr).toBe(0);
  }, 180_000);

  it("rollback removes the file of the role it dropped", async () => {
    const file = join(dir, "rb", "credentials.json");
    await server.createDatabase("rb");
    const env = { ADMIN_DATABASE_URL: server.adminUrl("rb") };
    const local = await runCli(["local", "--secret-file", file], env);
    expect(local.code, local.stderr).toBe(0);
    const rollback = await runCli(["rollback", "--stage", "dev", "--yes", "--secret-file", file], env);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rollback.stdout).toContain(`removed  secret file ${file} (its role is gone)\n`);
    expect(existsSync(file)).toBe(false);
  }, 180_000);
});
