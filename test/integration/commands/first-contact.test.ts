/**
 * Through the real CLI: what a newcomer meets first says what to do. An unknown option is
 * named; a stage name that would make quoted identifiers, or that looks like the protected stage, is refused
 * with the rule; post-deploy before `sst deploy` says so (not "wrong password"); handoff without AWS names the
 * flags that work without it; and post-deploy refuses a "before" snapshot taken on another stage, host, port or
 * database, naming both.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec } from "../../../sst/database/spec.js";
import { withClient } from "../../../scripts/kernel/db.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";
import { errorLines, runCli } from "../../support/reliability.js";

const PASSWORD = "First-Contact-Umami-Password-0123456789ab";
let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), "umami-first-contact-"));
  await withClient(server.admin, (c) =>
    provisionStage(c, buildSpec("dev"), { admin: TEST_ADMIN.name, password: PASSWORD }),
  );
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const umamiUrl = (role = "umami_user", schema = "umami") =>
  `postgresql://${role}:${PASSWORD}@127.0.0.1:${server.embedded.port}/app?schema=${schema}&sslmode=disable`;

describe("the first commands a newcomer types", () => {
  it("an unknown option is named as unknown, before a missing required one", async () => {
    const run = await runCli(["plan", "--stge", "dev"], {}, { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr.split("\n").slice(0, 2)).toEqual(["error: unknown option '--stge'", "(Did you mean --stage?)"]);
    const missing = await runCli(["plan"], {}, { cwd: dir });
    expect(errorLines(missing)).toEqual(["error: required option '--stage <stage>' not specified"]);
  });

  it("a mixed-case stage is refused with the rule, before anything is named after it", async () => {
    const run = await runCli(
      ["local", "--stage", "Dev", "--secret-file", join(dir, "dev-upper.json")],
      {},
      { cwd: dir },
    );
    expect(run.code).toBe(2);
    expect(errorLines(run)).toEqual([
      'error: Invalid stage "Dev": use lower case (--stage dev): PostgreSQL folds unquoted names to lower case, so this stage would create the quoted identifiers "umami_Dev" and "umami_user_Dev" (and a .umami-db/Dev/ beside .umami-db/dev/).',
    ]);
    expect(run.stderr).not.toMatch(/start embedded/);
  });

  it.each([
    ["plan", ["plan", "--stage", "prod"]],
    ["preflight", ["preflight", "--stage", "prd"]],
    ["post-deploy", ["post-deploy", "--stage", "production-1"]],
  ])("%s: a look-alike of the protected stage gets a 'did you mean production?'", async (_, args) => {
    const run = await runCli(args, { ADMIN_DATABASE_URL: server.adminUrl() }, { cwd: dir });
    expect(run.code).toBe(2);
    const stage = args[2];
    expect(errorLines(run)).toEqual([
      `error: Invalid stage "${stage}": did you mean production? Stage ${stage} is not the protected stage production: it would get its own names (umami_${stage.replace("-", "_")}) on stage dev's cluster app-aurora-dev, unprotected. Use --stage production, or pass --new-stage if ${stage} is meant as a new stage.`,
    ]);
  });

  it("--new-stage says the look-alike is meant", async () => {
    const run = await runCli(["plan", "--stage", "prod", "--new-stage", "--json"], {}, { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ stage: "prod" });
  });

  it("post-deploy before sst deploy: 'run sst deploy --stage X first', not 'wrong password'", async () => {
    const run = await runCli(
      ["post-deploy", "--stage", "pr-50", "--no-cloudwatch", "--no-before", "--reports-dir", join(dir, "reports")],
      { ADMIN_DATABASE_URL: server.adminUrl(), UMAMI_DATABASE_URL: umamiUrl("umami_user_pr_50", "umami_pr_50") },
      { cwd: dir },
    );
    expect(run.code).toBe(2);
    expect(errorLines(run)).toEqual([
      `error: role umami_user_pr_50 and schema umami_pr_50 do not exist in 127.0.0.1:${server.embedded.port}/app: stage pr-50 is not deployed there yet. Run \`sst deploy --stage pr-50\` first (or \`umami-db local --admin-url …\` for a database outside AWS), then post-deploy.`,
    ]);
  });

  it("handoff without AWS names the flags that work without it", async () => {
    const run = await runCli(["handoff", "--stage", "dev"], { HOME: dir }, { cwd: dir });
    expect(run.code).toBe(2);
    expect(errorLines(run)).toEqual([
      "error: No AWS credentials were found to look up the ARN of secret observability/umami-db-credentials. Without AWS, pass --secret-id with the secret's full ARN (arn:aws:secretsmanager:…), or --outputs-file with the outputs of sst deploy --stage dev (they hold secretArn); or configure AWS (AWS_PROFILE, aws sso login, or OIDC in CI).",
    ]);
    // A command that reads the credentials secret names its own way around AWS.
    const postDeploy = await runCli(
      ["post-deploy", "--stage", "dev", "--no-cloudwatch", "--no-before"],
      { HOME: dir, ADMIN_DATABASE_URL: server.adminUrl() },
      { cwd: dir },
    );
    expect(postDeploy.code).toBe(2);
    expect(errorLines(postDeploy)[0]).toMatch(
      /No AWS credentials were found to read The credentials secret .*, or work without AWS: --secret-file <credentials JSON> or --umami-url/,
    );
    const withArn = await runCli(
      [
        "handoff",
        "--stage",
        "dev",
        "--secret-id",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:observability/umami-db-credentials-AbCdEf",
      ],
      { HOME: dir },
      { cwd: dir },
    );
    expect(withArn.code, withArn.stderr).toBe(0);
  });
});

describe("post-deploy and the 'before' snapshot", () => {
  let snapshot: string;
  const postDeploy = (before: string) =>
    runCli(
      [
        "post-deploy",
        "--stage",
        "dev",
        "--no-cloudwatch",
        "--before-dir",
        before,
        "--reports-dir",
        join(dir, "reports"),
      ],
      { ADMIN_DATABASE_URL: server.adminUrl(), UMAMI_DATABASE_URL: umamiUrl() },
      { cwd: dir },
    );
  const copy = (name: string, edit: (files: Record<string, Record<string, unknown>>) => void, drop: string[] = []) => {
    const to = join(dir, name);
    const files: Record<string, Record<string, unknown>> = {};
    for (const f of ["baseline.json", "fingerprint.json", "origin.json"])
      files[f] = JSON.parse(readFileSync(join(snapshot, f), "utf8"));
    edit(files);
    mkdirSync(to, { recursive: true });
    for (const [f, value] of Object.entries(files))
      if (!drop.includes(f)) writeFileSync(join(to, f), JSON.stringify(value));
    return to;
  };

  beforeAll(async () => {
    snapshot = join(dir, "before-dev");
    const run = await runCli(
      ["preflight", "--stage", "dev", "--before-dir", snapshot],
      { ADMIN_DATABASE_URL: server.adminUrl() },
      { cwd: dir },
    );
    expect(run.stdout).toMatch(/snapshot for post-deploy: .*origin\.json/);
  }, 120_000);

  it("preflight records where the snapshot was taken", () => {
    expect(JSON.parse(readFileSync(join(snapshot, "origin.json"), "utf8"))).toEqual({
      stage: "dev",
      host: "127.0.0.1",
      port: server.embedded.port,
      database: "app",
    });
  });

  it.each([
    [
      "another port",
      (f: Record<string, Record<string, unknown>>) => (f["origin.json"].port = 6543),
      `127.0.0.1:6543/app`,
    ],
    [
      "another host",
      (f: Record<string, Record<string, unknown>>) => (f["origin.json"].host = "db.example.com"),
      `db.example.com:PORT/app`,
    ],
    [
      "another database",
      (f: Record<string, Record<string, unknown>>) => (f["origin.json"].database = "other"),
      `127.0.0.1:PORT/other`,
    ],
  ])("refuses a snapshot from %s, naming both", async (name, edit, where) => {
    const before = copy(name.replace(/ /g, "-"), edit);
    const run = await postDeploy(before);
    expect(run.code).toBe(2);
    const there = where.replace("PORT", String(server.embedded.port));
    expect(errorLines(run)).toEqual([
      `error: The "before" snapshot in ${before} was taken on stage dev at ${there}, but post-deploy runs on stage dev at 127.0.0.1:${server.embedded.port}/app: it cannot prove this database untouched. Run \`umami-db preflight --stage dev\` against this database before \`sst deploy\`, pass --before-dir with its snapshot, or --no-before.`,
    ]);
  });

  it("refuses a snapshot of another stage", async () => {
    const before = copy("other-stage", (f) => (f["origin.json"].stage = "pr-9"));
    const run = await postDeploy(before);
    expect(errorLines(run)[0]).toMatch(
      /^error: The "before" snapshot in .* was taken on stage pr-9 at .*, but post-deploy runs on stage dev at /,
    );
  });

  it("judges a snapshot written before origin.json by its baseline's target", async () => {
    const before = copy("legacy", (f) => ((f["baseline.json"].target as Record<string, unknown>).port = 6543), [
      "origin.json",
    ]);
    const run = await postDeploy(before);
    expect(errorLines(run)).toHaveLength(1);
    expect(errorLines(run)[0]).toContain(
      `was taken on 127.0.0.1:6543/app, but post-deploy runs on stage dev at 127.0.0.1:${server.embedded.port}/app`,
    );
  });

  it("accepts its own stage's snapshot", async () => {
    const run = await postDeploy(snapshot);
    expect(errorLines(run)).toEqual([]);
    expect(run.stdout).toMatch(/^post-deploy dev: PASS$/m);
  }, 120_000);
});
