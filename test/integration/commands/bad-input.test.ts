/**
 * Bad input through the CLI (child processes): each kind gets a non-zero exit, its exact one-line
 * message (what is wrong and what to do), no password in any output, and no change to the database — the
 * catalog (roles, schemas, grants, relations, `_prisma_migrations` rows) and the application's rows are
 * compared before and after all of them.
 *
 * Not here: PostgreSQL older than 15 (no such server can run on this machine; preflight's version check is an
 * unexported function — see docs/reliability.md).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec } from "../../../sst/database/spec.js";
import { buildCredentialsSecret } from "../../../sst/database/secret.js";
import { parseDatabaseUrl, toUrl, withClient, type ConnectionSettings } from "../../../scripts/kernel/db.js";
import { freePort } from "../../../scripts/local/embedded.js";
import { applyMigrations } from "../../../scripts/migrate/runner.js";
import { loadMigrations } from "../../../scripts/migrate/sources.js";
import { loadRelease, testSourceOptions } from "../../support/migrations.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { writeSecretFile } from "../../../scripts/stage/credentials.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";
import {
  applicationDataChecksums,
  catalogSnapshot,
  errorLines,
  inBatches,
  runCli,
  type CliRun,
} from "../../support/reliability.js";

const PASSWORD = "Bad-Input-Umami-Password-0123456789abcde";
const WEAK = { name: "weak_admin", password: "weak-admin-password-xyz" };
let server: TestServer;
let superuserOnApp: ConnectionSettings;
let dir: string;
let blackhole: Server;
let blackholePort: number;
let closedPort: number;
let before: { catalog: string; data: Record<string, string> };
let runs: Map<string, CliRun>;

/** One kind of bad input: the command, its environment, and what it must answer. */
interface Case {
  name: string;
  args: string[];
  env?: Record<string, string>;
  code: number;
  /** The exact `error: …` line on stderr. */
  error?: string;
  /** A line that must appear on stdout (checks that report a finding instead of an error, exit 1). */
  stdout?: RegExp;
  /** A line that must appear on stderr (step failures of `local`). */
  stderr?: RegExp;
}

const port = () => server.embedded.port;
const umamiUrl = (password = PASSWORD, database = "app", extra = "sslmode=disable") =>
  `postgresql://umami_user:${password}@127.0.0.1:${port()}/${database}?schema=umami&${extra}`;
const secretFile = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
};

function cases(): Case[] {
  const admin = server.adminUrl();
  const validSecret = buildCredentialsSecret({
    username: "umami_user",
    password: PASSWORD,
    host: "127.0.0.1",
    port: port(),
    database: "app",
    schema: "umami",
    sslmode: "disable",
  });
  const postDeploy = (file: string): Pick<Case, "args" | "env"> => ({
    args: ["post-deploy", "--stage", "dev", "--no-cloudwatch", "--reports-dir", join(dir, "reports")],
    env: { ADMIN_DATABASE_URL: admin, UMAMI_SECRET_FILE: file },
  });
  const secretError = (file: string, problems: string) =>
    `error: Cannot resolve the stage: The credentials secret file ${file} is not valid: ${problems}. Redeploy the stack (sst deploy) or rewrite the secret with all keys of the stack's format.`;
  // Cut off inside the password: the parser's message must not quote it.
  const malformedText = `{"username": "umami_user", "password": "${PASSWORD}`;
  const malformed = secretFile("malformed.json", malformedText);
  const missingKey = secretFile(
    "missing-key.json",
    JSON.stringify({ ...validSecret, DATABASE_URL: undefined, dbname: undefined }),
  );
  const wrongTypes = secretFile("wrong-types.json", JSON.stringify({ ...validSecret, port: "five", username: 5 }));
  const inconsistent = secretFile(
    "inconsistent.json",
    JSON.stringify({ ...validSecret, DATABASE_URL: validSecret.DATABASE_URL.replace("/app?", "/other?") }),
  );
  const migrations = (name: string) => ({
    args: ["migrate", "deploy", "--migrations", join(dir, name)],
    env: { DATABASE_URL: umamiUrl() },
  });
  const long = `a${"b".repeat(59)}`;
  return [
    {
      name: "wrong password (umami_user)",
      args: ["migrate", "deploy"],
      env: { DATABASE_URL: umamiUrl("not-the-password") },
      code: 2,
      error: `error: Login as umami_user to database app at 127.0.0.1:${port()} failed: wrong password. Check the secret or the URL's password.`,
    },
    {
      name: "wrong password (administrator)",
      args: ["fingerprint", "--stage", "dev"],
      env: { ADMIN_DATABASE_URL: admin.replace(TEST_ADMIN.password, "not-the-admin-password") },
      code: 2,
      error: `error: Login as app_admin to database app at 127.0.0.1:${port()} failed: wrong password. Check the secret or the URL's password.`,
    },
    {
      name: "unknown host",
      args: ["migrate", "deploy"],
      env: {
        DATABASE_URL: `postgresql://umami_user:${PASSWORD}@no-such-host.invalid:5432/app?schema=umami&sslmode=require`,
      },
      code: 2,
      error:
        "error: Host no-such-host.invalid could not be resolved. Check the host name (cluster endpoint) and your DNS/VPN.",
    },
    {
      name: "closed port",
      args: ["migrate", "deploy"],
      env: {
        DATABASE_URL: `postgresql://umami_user:${PASSWORD}@127.0.0.1:${closedPort}/app?schema=umami&sslmode=disable`,
      },
      code: 2,
      error: `error: Nothing is listening at 127.0.0.1:${closedPort} (connection refused). Check the port and that the database is running.`,
    },
    {
      name: "connect timeout (a server that accepts and never answers)",
      args: ["fingerprint", "--stage", "dev", "--connect-timeout", "1"],
      env: {
        ADMIN_DATABASE_URL: `postgresql://app_admin:${TEST_ADMIN.password}@127.0.0.1:${blackholePort}/app?sslmode=disable`,
      },
      code: 2,
      error:
        `error: Connecting to 127.0.0.1:${blackholePort} timed out after 1 s. Usual causes: the security group does not allow this runner, ` +
        "or the cluster is in a private subnet — run from inside the VPC or through `sst tunnel`.",
    },
    {
      name: "TLS required, server without TLS",
      args: ["migrate", "deploy"],
      env: { DATABASE_URL: umamiUrl(PASSWORD, "app", "sslmode=require") },
      code: 2,
      error: `error: The server at 127.0.0.1:${port()} does not accept TLS connections, and sslmode=require requires TLS. Point the URL at the cluster endpoint (Aurora accepts TLS), or use sslmode=disable for a database on this machine.`,
    },
    {
      name: "--finish without --online",
      args: ["migrate", "deploy", "--finish"],
      env: { DATABASE_URL: umamiUrl(PASSWORD) },
      code: 2,
      error:
        "error: --finish completes an online upgrade: pass it with --online (`umami-db migrate deploy --online --finish`).",
    },
    {
      name: "post-deploy --finish without --online (refused before anything is resolved)",
      args: ["post-deploy", "--stage", "dev", "--no-before", "--finish"],
      env: { ADMIN_DATABASE_URL: admin },
      code: 2,
      error:
        "error: --finish completes an online upgrade: pass it with --online (`umami-db post-deploy --online --finish`).",
    },
    {
      name: "--max-app-latency not a number",
      args: ["post-deploy", "--stage", "dev", "--online", "--max-app-latency", "fast"],
      env: { ADMIN_DATABASE_URL: admin },
      code: 2,
      error: 'error: --max-app-latency takes a whole number greater than 0 (got "fast").',
    },
    {
      name: "--online with --engine docker",
      args: ["migrate", "deploy", "--online", "--engine", "docker"],
      env: { DATABASE_URL: umamiUrl(PASSWORD) },
      code: 2,
      error:
        "error: --online runs with the builtin engine only (Prisma's deploy has no online mode); drop --engine docker.",
    },
    {
      name: "database missing",
      args: ["migrate", "deploy"],
      env: { DATABASE_URL: umamiUrl(PASSWORD, "no_such_db") },
      code: 2,
      error: `error: Database no_such_db does not exist at 127.0.0.1:${port()}. Check the database name in the stage settings or URL.`,
    },
    {
      name: "secret file missing",
      ...postDeploy(join(dir, "absent.json")),
      code: 2,
      error: `error: Cannot resolve the stage: The secret file ${join(dir, "absent.json")} does not exist. Run \`umami-db local\` to create it, or pass the right --secret-file.`,
    },
    {
      name: "secret not JSON",
      ...postDeploy(malformed),
      code: 2,
      error: secretError(malformed, `it is not JSON (syntax error at position ${malformedText.length})`),
    },
    {
      name: "secret missing keys",
      ...postDeploy(missingKey),
      code: 2,
      error: secretError(missingKey, 'missing "dbname", "DATABASE_URL"'),
    },
    {
      name: "secret with wrong types",
      ...postDeploy(wrongTypes),
      code: 2,
      error: secretError(
        wrongTypes,
        '"username" must be a non-empty string; "port" must be a whole number from 1 to 65535',
      ),
    },
    {
      name: "DATABASE_URL inconsistent with the parts",
      ...postDeploy(inconsistent),
      code: 2,
      error: secretError(inconsistent, 'DATABASE_URL\'s database (other) differs from "database" (app)'),
    },
    {
      name: "invalid stage name",
      args: ["post-deploy", "--stage", "x_y"],
      env: { ADMIN_DATABASE_URL: admin },
      code: 2,
      error:
        'error: Cannot resolve the stage: Invalid stage "x_y": a stage starts with a letter and has only letters, digits and hyphens, at most 40 characters (e.g. dev, pr-42).',
    },
    {
      name: "stage name too long (60 characters)",
      args: ["preflight", "--stage", long],
      env: { ADMIN_DATABASE_URL: admin },
      code: 2,
      error: `error: Cannot resolve the stage: Invalid stage "${long}": a stage starts with a letter and has only letters, digits and hyphens, at most 40 characters (e.g. dev, pr-42).`,
    },
    {
      name: "stage name with a quote",
      args: ["plan", "--stage", 'a"b'],
      code: 2,
      error:
        'error: Invalid stage "a\\"b": a stage starts with a letter and has only letters, digits and hyphens, at most 40 characters (e.g. dev, pr-42).',
    },
    {
      name: "migrations directory empty",
      ...migrations("empty"),
      code: 2,
      error: `error: Migrations directory ${join(dir, "empty")} has no migration sub-directories. Point --migrations at the directory that holds <name>/migration.sql.`,
    },
    {
      name: "migration.sql missing",
      ...migrations("no-sql"),
      code: 2,
      error: `error: Could not find the migration file at ${join(dir, "no-sql", "01_init", "migration.sql")} (Prisma P3015). Restore the file or delete the directory 01_init.`,
    },
    {
      name: "migration_lock.toml names mysql",
      ...migrations("mysql"),
      code: 2,
      error: `error: ${join(dir, "mysql", "migration_lock.toml")} names provider "mysql", expected "postgresql" (Prisma P3019). These migrations are for another database; use Umami's prisma/migrations (3.x) or db/postgresql/migrations (2.x).`,
    },
    {
      name: "migrations directory missing",
      ...migrations("absent"),
      code: 2,
      error: `error: Migrations directory ${join(dir, "absent")} does not exist. Pass --migrations <dir> with Prisma's layout, or github:umami-software/umami@v<version>.`,
    },
    {
      // Without --strict, Prisma 7's verdict: reported, exit 0 (test/integration/migrate/runner.test.ts).
      name: "a migration modified after it was applied (status --strict)",
      args: ["migrate", "status", "--strict", "--migrations", join(dir, "edited")],
      env: {
        DATABASE_URL: toUrl({ ...server.admin, schema: "umami_pr_3" }, { user: "umami_user_pr_3", password: PASSWORD }),
      },
      code: 1,
      stdout:
        /^ {2}EDITED {3}Migration 01_init was edited after it was applied \(checksum [0-9a-f]{10}… ≠ recorded [0-9a-f]{10}…\)\. It is not applied again; restore the file or add a new migration\. \(fails with --strict\)$/m,
    },
    {
      name: "npm's umami@2.10.0 (a pre-release copy) as the source",
      args: ["migrate", "deploy", "--migrations", "npm:umami@2.10.0"],
      env: { DATABASE_URL: umamiUrl().replace("schema=umami", "schema=umami_pr_77") },
      code: 2,
      error:
        "error: npm:umami@2.10.0 is not Umami's 2.10.0 release: its 04_team_redesign is a pre-release copy (checksum 83afff5fe5…, the release's is eb0e4ae2ef…) " +
        "that lacks user.display_name and website.created_by, which Umami 3 needs. Use github:umami-software/umami@v2.10.0 (or the default, github:umami-software/umami@v3.1.0).",
    },
    {
      name: "local offline: a release not bundled, no mirror, no cache, GitHub unreachable (fails before starting a server)",
      args: [
        "local",
        "--migrations",
        "github:umami-software/umami@v3.9.9",
        "--secret-file",
        join(dir, "local-offline.json"),
      ],
      env: {
        UMAMI_MIGRATIONS_MIRROR: "",
        UMAMI_GITHUB_BASE_URL: `http://127.0.0.1:${closedPort}`,
        UMAMI_MIGRATIONS_CACHE: join(dir, "offline-cache"),
      },
      code: 2,
      stderr: new RegExp(
        // formatMs: "812 ms", or "1.2 s" on a loaded machine (a refused connection's retries).
        `^FAIL load migrations \\((?:\\d+ ms|\\d+\\.\\d s)\\) — Could not download github:umami-software/umami@v3\\.9\\.9 from http://127\\.0\\.0\\.1:${closedPort}/umami-software/umami/tar\\.gz/refs/tags/v3\\.9\\.9 \\(ECONNREFUSED\\), ` +
          `and it is neither in the cache \\(${join(dir, "offline-cache")}/github/umami-software/umami/v3\\.9\\.9\\) nor in a mirror \\(UMAMI_MIGRATIONS_MIRROR is not set\\)\\. Set UMAMI_MIGRATIONS_MIRROR .*fill the cache\\.$`,
        "m",
      ),
      stdout: /^Umami schema, stage dev, on an embedded PostgreSQL \(not reached\): FAILED at "load migrations"$/m,
    },
    {
      name: "a mirror that lacks the release (local --migrations github:…@v3.0.0)",
      args: [
        "local",
        "--migrations",
        "github:umami-software/umami@v3.0.0",
        "--secret-file",
        join(dir, "local-no-tag.json"),
      ],
      env: { UMAMI_MIGRATIONS_MIRROR: dir },
      code: 2,
      stderr:
        /^FAIL load migrations \(\d+ ms\) — The mirror .* \(UMAMI_MIGRATIONS_MIRROR\) has no Umami v3\.0\.0: looked for .*\/v3\.0\.0\/prisma\/migrations and .*\/v3\.0\.0\/db\/postgresql\/migrations\. /m,
    },
    {
      name: "administrator without CREATEROLE (preflight)",
      args: ["preflight", "--stage", "pr-7"],
      env: {
        ADMIN_DATABASE_URL: server
          .adminUrl()
          .replace(`${TEST_ADMIN.name}:${TEST_ADMIN.password}`, `${WEAK.name}:${WEAK.password}`),
      },
      code: 1,
      stdout: /^ERROR\s+admin-rights\s+weak_admin lacks CREATEROLE, membership in rds_superuser$/m,
    },
    {
      name: "administrator without CREATEROLE (local --admin-url)",
      args: ["local", "--stage", "pr-7", "--secret-file", join(dir, "local-pr-7.json")],
      env: {
        ADMIN_DATABASE_URL: server
          .adminUrl()
          .replace(`${TEST_ADMIN.name}:${TEST_ADMIN.password}`, `${WEAK.name}:${WEAK.password}`),
      },
      code: 2,
      stderr:
        /^FAIL provision schema, role and grants \(\d+ ms\) — Provisioning step "CREATE ROLE "umami_user_pr_7"" failed as weak_admin: permission denied to create role\. The administrator needs CREATEROLE and ownership of \(or CREATE on\) database app\.$/m,
    },
    {
      name: "role already exists and is not this stage's (preflight)",
      args: ["preflight", "--stage", "pr-9"],
      env: { ADMIN_DATABASE_URL: admin },
      code: 1,
      stdout:
        /^ERROR\s+conflicts\s+role umami_user_pr_9 already exists and is not stage pr-9's: role umami_user_pr_9 does not have search_path=umami_pr_9 \(not set by provisioning\)$/m,
    },
    {
      name: "URL that is not a URL",
      args: ["migrate", "deploy"],
      env: { DATABASE_URL: "not a url" },
      code: 2,
      error: "error: The database URL is not a URL (not a url). Use postgresql://user:password@host:5432/database.",
    },
    {
      name: "sslmode=disable for a remote host",
      args: ["migrate", "deploy"],
      env: { DATABASE_URL: `postgresql://umami_user:${PASSWORD}@db.example.com:5432/app?schema=umami&sslmode=disable` },
      code: 2,
      error:
        "error: sslmode=disable is refused for db.example.com: TLS is required for any host but localhost. Use sslmode=require (or sslmode=verify-full with sslrootcert=<CA bundle> in the URL, or --ca-file where the command has it).",
    },
    {
      name: "--connect-timeout not a number",
      args: ["preflight", "--stage", "dev", "--connect-timeout", "abc"],
      env: { ADMIN_DATABASE_URL: admin },
      code: 2,
      error: 'error: --connect-timeout takes a whole number greater than 0 (got "abc").',
    },
    {
      name: "no database URL",
      args: ["migrate", "deploy"],
      code: 2,
      error:
        "error: No database URL. Pass --database-url postgresql://umami_user:…@host:5432/db?schema=umami or set DATABASE_URL.",
    },
    {
      name: "resolve --rolled-back on a migration never applied",
      args: ["migrate", "resolve", "--rolled-back", "09_nope"],
      env: { DATABASE_URL: umamiUrl() },
      code: 2,
      error:
        "error: Migration 09_nope cannot be rolled back because it was never applied to the database (Prisma P3011). Pass the whole directory name, e.g. 01_init.",
    },
    {
      name: "--out below a regular file",
      args: ["fingerprint", "--stage", "dev", "--out", join(dir, "malformed.json", "fp.json")],
      env: { ADMIN_DATABASE_URL: admin },
      code: 2,
      error: `error: Could not write ${join(dir, "malformed.json", "fp.json")}: EEXIST: file already exists, mkdir '${join(dir, "malformed.json")}'. Choose a path you can write to.`,
    },
    {
      name: "post-deploy --reports-dir below a regular file (checked before any work)",
      args: [
        "post-deploy",
        "--stage",
        "dev",
        "--no-cloudwatch",
        "--reports-dir",
        join(dir, "malformed.json", "reports"),
      ],
      env: { ADMIN_DATABASE_URL: admin, UMAMI_DATABASE_URL: umamiUrl() },
      code: 2,
      error: `error: Cannot write into ${join(dir, "malformed.json", "reports")} (--reports-dir): ENOTDIR: not a directory, mkdir '${join(dir, "malformed.json", "reports")}'. Choose a directory you can write to.`,
    },
    {
      name: "local with a migrations directory that does not exist (fails before starting a server)",
      args: ["local", "--migrations", join(dir, "absent"), "--secret-file", join(dir, "local-absent.json")],
      code: 2,
      stderr:
        /^FAIL load migrations \(\d+ ms\) — Migrations directory .*absent does not exist\. Pass --migrations <dir> with Prisma's layout, or github:umami-software\/umami@v<version>\.$/m,
      stdout: /^Umami schema, stage dev, on an embedded PostgreSQL \(not reached\): FAILED at "load migrations"$/m,
    },
    {
      name: "bare migrate (no subcommand) with a database URL set: changes nothing",
      args: ["migrate"],
      env: { DATABASE_URL: umamiUrl().replace("schema=umami", "schema=umami_pr_78") },
      code: 2,
      error:
        "error: Name what to do: `umami-db migrate deploy` applies pending migrations, `migrate status` lists them, `migrate resolve --rolled-back <name>` clears a failed one.",
    },
    {
      name: "URL whose password has a malformed %-escape",
      args: ["migrate", "status"],
      env: { DATABASE_URL: `postgresql://umami_user:100%zz@127.0.0.1:${port()}/app?schema=umami&sslmode=disable` },
      code: 2,
      error:
        "error: The database URL's password has a malformed %-escape. Percent-encode special characters (% as %25, @ as %40, : as %3A).",
    },
    {
      name: "post-deploy without preflight's snapshot (and without --no-before)",
      args: [
        "post-deploy",
        "--stage",
        "dev",
        "--no-cloudwatch",
        "--before-dir",
        join(dir, "no-snapshot-here"),
        "--reports-dir",
        join(dir, "reports-no-before"),
      ],
      env: { ADMIN_DATABASE_URL: admin, UMAMI_DATABASE_URL: umamiUrl() },
      code: 2,
      error: `error: No "before" snapshot in ${join(dir, "no-snapshot-here")}: post-deploy could not prove the application untouched. Run \`umami-db preflight --stage dev\` before \`sst deploy\` (it saves one), or pass --no-before to run without the comparison.`,
    },
    {
      name: "preflight --out-dir below a regular file",
      args: ["preflight", "--stage", "dev", "--out-dir", join(dir, "malformed.json", "out")],
      env: { ADMIN_DATABASE_URL: admin },
      code: 2,
      error: `error: Cannot write into ${join(dir, "malformed.json", "out")} (--out-dir): ENOTDIR: not a directory, mkdir '${join(dir, "malformed.json", "out")}'. Choose a directory you can write to.`,
    },
    {
      name: "post-deploy with an Umami URL that is not the stage's role and schema",
      args: [
        "post-deploy",
        "--stage",
        "dev",
        "--no-cloudwatch",
        "--umami-url",
        admin,
        "--reports-dir",
        join(dir, "reports-wrong-umami"),
      ],
      env: { ADMIN_DATABASE_URL: admin },
      code: 2,
      error: `error: Cannot resolve the stage: the Umami connection (--umami-url) is ${TEST_ADMIN.name} on schema public, but stage dev is umami_user on schema umami; pass the stage's own credentials or the right --stage.`,
    },
    {
      name: "migrate into a schema nobody provisioned",
      args: ["migrate", "deploy"],
      env: { DATABASE_URL: umamiUrl().replace("schema=umami", "schema=umami_pr_77") },
      code: 2,
      error:
        "error: Schema umami_pr_77 does not exist and umami_user may not create it (no CREATE on the database). Provision the stage first (sst deploy, or umami-db local --admin-url), or correct ?schema= in the URL.",
    },
    {
      name: "rollback without --yes off a terminal",
      args: ["rollback", "--stage", "dev"],
      env: { ADMIN_DATABASE_URL: admin },
      code: 2,
      error: "error: rollback deletes data and asks for confirmation; on a non-interactive shell pass --yes.",
    },
  ];
}

beforeAll(async () => {
  server = await startTestServer();
  superuserOnApp = { ...server.superuser, database: "app" };
  dir = mkdtempSync(join(tmpdir(), "umami-bad-input-"));
  closedPort = await freePort();
  blackhole = createServer(() => undefined);
  await new Promise<void>((r) => blackhole.listen(0, "127.0.0.1", () => r()));
  blackholePort = (blackhole.address() as { port: number }).port;

  // A deployed stage to protect, a stage with an applied-then-edited migration, a weak administrator and a
  // role that no provisioning of stage pr-9 made.
  const provision = (stage: string) =>
    withClient(server.admin, (c) =>
      provisionStage(c, buildSpec(stage), { admin: TEST_ADMIN.name, password: PASSWORD }),
    );
  await provision("dev");
  await applyMigrations(parseDatabaseUrl(umamiUrl()), await loadRelease("3.1.0"));
  const fixture = (name: string, provider: string, migrations: Record<string, string | null>) => {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, "migration_lock.toml"), `provider = "${provider}"\n`);
    for (const [m, sql] of Object.entries(migrations)) {
      mkdirSync(join(dir, name, m));
      if (sql !== null) writeFileSync(join(dir, name, m, "migration.sql"), sql);
    }
  };
  fixture("empty", "postgresql", {});
  fixture("no-sql", "postgresql", { "01_init": null });
  fixture("mysql", "mysql", { "01_init": "CREATE TABLE t (id int);\n" });
  fixture("edited", "postgresql", { "01_init": "CREATE TABLE t (id integer);\n" });
  await provision("pr-3");
  const pr3 = parseDatabaseUrl(
    toUrl({ ...server.admin, schema: "umami_pr_3" }, { user: "umami_user_pr_3", password: PASSWORD }),
  );
  await applyMigrations(pr3, await loadMigrations(join(dir, "edited"), testSourceOptions()));
  writeFileSync(join(dir, "edited", "01_init", "migration.sql"), "CREATE TABLE t (id bigint);\n");
  await withClient(server.superuser, (c) =>
    c.query(
      `CREATE ROLE ${WEAK.name} LOGIN PASSWORD '${WEAK.password}'; GRANT CREATE ON DATABASE app TO ${WEAK.name}; CREATE ROLE umami_user_pr_9 LOGIN`,
    ),
  );
  writeSecretFile(
    join(dir, "dev.json"),
    buildCredentialsSecret({
      username: "umami_user",
      password: PASSWORD,
      host: "127.0.0.1",
      port: port(),
      database: "app",
      schema: "umami",
      sslmode: "disable",
    }),
  );

  before = {
    catalog: await withClient(superuserOnApp, catalogSnapshot),
    data: await withClient(server.admin, applicationDataChecksums),
  };
  const all = cases();
  const results = await inBatches(
    all.map((c) => () => runCli(c.args, c.env ?? {}, { cwd: dir })),
    5,
  );
  runs = new Map(all.map((c, i) => [c.name, results[i]]));
}, 300_000);

afterAll(async () => {
  blackhole?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("bad input through the CLI", () => {
  it("covers at least 20 kinds, each named below", () => {
    expect([...casesByName().keys()]).toEqual(CASE_NAMES);
    expect(runs.size).toBeGreaterThanOrEqual(20);
  });

  it.each(CASE_NAMES)("%s: non-zero exit, the exact message, no password", (name) => {
    const c = casesByName().get(name)!;
    const run = runs.get(name)!;
    expect(run.code, run.stderr + run.stdout).toBe(c.code);
    if (c.error) {
      expect(errorLines(run)).toEqual([c.error]);
    } else {
      expect(errorLines(run)).toEqual([]);
    }
    if (c.stdout) expect(run.stdout).toMatch(c.stdout);
    if (c.stderr) expect(run.stderr).toMatch(c.stderr);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    for (const secret of [PASSWORD, TEST_ADMIN.password, WEAK.password, "not-the-password", "not-the-admin-password"]) {
      expect(run.stdout + run.stderr).not.toContain(secret);
    }
  });

  it("changed nothing in the database: catalog, migration rows and application data as before", async () => {
    expect(await withClient(superuserOnApp, catalogSnapshot)).toBe(before.catalog);
    expect(await withClient(server.admin, applicationDataChecksums)).toEqual(before.data);
    expect(existsSync(join(dir, "local-pr-7.json"))).toBe(false);
    for (const file of ["local-offline.json", "local-no-tag.json", "offline-cache"])
      expect(existsSync(join(dir, file))).toBe(false);
  });
});

// The cases need the server (ports, URLs), which exists only once beforeAll ran; it.each needs their names now.
let cached: Map<string, Case> | undefined;
function casesByName(): Map<string, Case> {
  cached ??= new Map(cases().map((c) => [c.name, c]));
  return cached;
}
const CASE_NAMES = [
  "wrong password (umami_user)",
  "wrong password (administrator)",
  "unknown host",
  "closed port",
  "connect timeout (a server that accepts and never answers)",
  "TLS required, server without TLS",
  "--finish without --online",
  "post-deploy --finish without --online (refused before anything is resolved)",
  "--max-app-latency not a number",
  "--online with --engine docker",
  "database missing",
  "secret file missing",
  "secret not JSON",
  "secret missing keys",
  "secret with wrong types",
  "DATABASE_URL inconsistent with the parts",
  "invalid stage name",
  "stage name too long (60 characters)",
  "stage name with a quote",
  "migrations directory empty",
  "migration.sql missing",
  "migration_lock.toml names mysql",
  "migrations directory missing",
  "a migration modified after it was applied (status --strict)",
  "npm's umami@2.10.0 (a pre-release copy) as the source",
  "local offline: a release not bundled, no mirror, no cache, GitHub unreachable (fails before starting a server)",
  "a mirror that lacks the release (local --migrations github:…@v3.0.0)",
  "administrator without CREATEROLE (preflight)",
  "administrator without CREATEROLE (local --admin-url)",
  "role already exists and is not this stage's (preflight)",
  "URL that is not a URL",
  "sslmode=disable for a remote host",
  "--connect-timeout not a number",
  "no database URL",
  "resolve --rolled-back on a migration never applied",
  "--out below a regular file",
  "post-deploy --reports-dir below a regular file (checked before any work)",
  "local with a migrations directory that does not exist (fails before starting a server)",
  "bare migrate (no subcommand) with a database URL set: changes nothing",
  "URL whose password has a malformed %-escape",
  "post-deploy without preflight's snapshot (and without --no-before)",
  "preflight --out-dir below a regular file",
  "post-deploy with an Umami URL that is not the stage's role and schema",
  "migrate into a schema nobody provisioned",
  "rollback without --yes off a terminal",
];
