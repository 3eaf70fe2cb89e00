/**
 * The live path, with a local credentials file standing in for Secrets Manager: `preflight` saves the
 * "before" snapshot, provisioning stands in for `sst deploy`, `post-deploy` migrates, verifies, compares and
 * writes the report directory. A change to the application between the two is caught by name.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec } from "../../../sst/database/spec.js";
import { buildCredentialsSecret } from "../../../sst/database/secret.js";
import { withClient } from "../../../scripts/kernel/db.js";
import type { PostDeployResult } from "../../../scripts/flows/post-deploy.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { writeSecretFile } from "../../../scripts/stage/credentials.js";
import { NPM_PRERELEASE_COPY } from "../../../scripts/migrate/sources/releases.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";
import { scratchDir } from "../../support/scratch.js";
import { umamiDbProgram } from "../../../scripts/commands/program.js";

const exec = promisify(execFile);
const root = new URL("../../..", import.meta.url).pathname;
const PASSWORD = "Post-Deploy-Test-Password-0123456789ab";

let server: TestServer;
let dir: string;
beforeAll(async () => {
  server = await startTestServer();
  dir = scratchDir("umami-post-deploy-");
});
afterAll(async () => server?.stop());

/** Runs the CLI with the admin URL in the environment (never in argv), returning exit code and output. */
async function cli(args: string[]) {
  const env = { ...process.env, ADMIN_DATABASE_URL: server.adminUrl() };
  return exec(process.execPath, ["bin/umami-db.js", ...args], { cwd: root, env, timeout: 120_000 })
    .then((r) => ({ code: 0, ...r }))
    .catch((error: unknown) => {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    });
}

function latestReport(reports: string): { json: PostDeployResult; md: string } {
  const stageDir = join(reports, "dev");
  const latest = readdirSync(stageDir).sort().at(-1) as string;
  return {
    json: JSON.parse(readFileSync(join(stageDir, latest, "report.json"), "utf8")) as PostDeployResult,
    md: readFileSync(join(stageDir, latest, "report.md"), "utf8"),
  };
}

describe("preflight → deploy → post-deploy", () => {
  const before = () => join(dir, "before");
  const secretFile = () => join(dir, "credentials.json");
  const reports = () => join(dir, "reports");

  it("preflight passes on the clean database and saves the fingerprint and the baseline", async () => {
    const result = await cli(["preflight", "--stage", "dev", "--before-dir", before()]);
    expect(result.stderr).not.toContain("error");
    expect(result.code).toBe(0);
    expect(existsSync(join(before(), "fingerprint.json"))).toBe(true);
    expect(existsSync(join(before(), "baseline.json"))).toBe(true);
  });

  it("post-deploy migrates as umami_user, verifies, compares and writes report.md and report.json", async () => {
    // Stands in for `sst deploy`: the same declaration, provisioned as the Aurora-like administrator.
    const spec = buildSpec("dev");
    await withClient(server.admin, (c) => provisionStage(c, spec, { admin: TEST_ADMIN.name, password: PASSWORD }));
    writeSecretFile(
      secretFile(),
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

    // The ARN SST's outputs would hold (the secret's value still comes from the file).
    const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:observability/umami-db-credentials-AbCdEf";
    const summary = join(dir, "step-summary.md");
    const result = await cli([
      "post-deploy",
      "--stage",
      "dev",
      "--secret-file",
      secretFile(),
      "--secret-id",
      arn,
      "--before-dir",
      before(),
      "--reports-dir",
      reports(),
      "--summary-file",
      summary,
    ]);
    expect(result.code).toBe(0);
    const { json, md } = latestReport(reports());
    // Beside report.md: the charts it links (no CloudWatch on a local server: the migrations and the audit) and
    // report.html with them inline; the job summary appended to --summary-file.
    const reportDir = join(reports(), "dev", readdirSync(join(reports(), "dev")).sort().at(-1) as string);
    expect(readdirSync(join(reportDir, "charts")).sort()).toEqual(["audit.svg", "migrations.svg"]);
    expect(md).toContain("](charts/migrations.svg)");
    expect(readFileSync(join(reportDir, "report.html"), "utf8").match(/<svg/g)).toHaveLength(2);
    expect(readFileSync(summary, "utf8")).toMatch(
      /^# Umami schema post-deploy report — stage `dev`\n\n\*\*Result: PASS\*\*/,
    );
    expect(readFileSync(summary, "utf8")).toContain("`charts/migrations.svg` — 19 migration(s) in");
    // The stage's umamiVersion (3.1.0) from its release tag, served by the mirror.
    expect(json).toMatchObject({
      ok: true,
      stage: "dev",
      umamiTables: 17,
      names: { schema: "umami", role: "umami_user" },
    });
    expect(json.migrations).toMatchObject({
      source: "github:umami-software/umami@v3.1.0",
      modified: [],
      missingLocally: [],
    });
    expect(json.migrations.applied).toHaveLength(19);
    expect(json.steps.find((s) => s.name === "migration status")).toMatchObject({ ok: true, detail: "up to date" });
    expect(json.before.fingerprint).not.toBeNull();
    expect(json.checks?.audit.fingerprint).toEqual({ compared: true, changed: [] });
    expect(json.checks?.comparison?.ok).toBe(true);
    expect(md).toContain("**Result: PASS**");
    expect(md).toContain("| Umami tables | 17 + `_prisma_migrations` |");
    // The handoff closes the report, with the secret's keys by ARN.
    expect(md).toContain("## Handoff for Story 4.1 — Umami 3.1.0 on ECS, stage `dev`");
    expect(md).toContain(`"valueFrom": "${arn}:DATABASE_URL::"`);
    expect(json.handoff?.containerDefinition.secrets).toHaveLength(2);
    expect(json.schemaCheck).toMatchObject({ ok: true, differences: [] });
    expect(json.steps.map((s) => s.name)).toContain("verify schema against the release");
    expect(md).toMatch(
      /## Schema against the release\n\nLive schema `umami` against `github:umami-software\/umami@v3\.1\.0`: matches the release \(19 applied migration\(s\) rebuilt on a scratch server\)\. Scratch PostgreSQL started in \d+ ms/,
    );
    expect(`${result.stdout}${result.stderr}${md}${JSON.stringify(json)}`).not.toContain(PASSWORD);
  });

  it("fails, naming the step and the object, when the application changed since preflight", async () => {
    await withClient(server.admin, (c) => c.query("ALTER TABLE public.orders ADD COLUMN coupon text"));
    const result = await cli([
      "post-deploy",
      "--stage",
      "dev",
      "--secret-file",
      secretFile(),
      "--before-dir",
      before(),
      "--reports-dir",
      reports(),
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("post-deploy dev: FAIL");
    // One object, said in the singular.
    expect(result.stdout).toContain("fingerprint:   1 application object changed\n");
    const { json, md } = latestReport(reports());
    expect(json.migrations).toMatchObject({ applied: [], alreadyApplied: expect.arrayContaining(["01_init"]) });
    expect(json.checks?.audit.fingerprint.changed).toContainEqual(
      expect.objectContaining({ object: "column public.orders.coupon", change: "added" }),
    );
    expect(json.steps.find((s) => s.name === "audit isolation")?.ok).toBe(false);
    expect(md).toContain("**Result: FAIL**");
    await withClient(server.admin, (c) => c.query("ALTER TABLE public.orders DROP COLUMN coupon"));
  });

  it("passes after an upgrade from npm's pre-release 04, naming Umami's own change, as Prisma 7 would; --strict fails", async () => {
    // What a database first migrated from npm's umami@2.10.0 records for 04 (its pre-release copy's checksum).
    await withClient({ ...server.superuser, database: "app" }, (c) =>
      c.query("UPDATE umami._prisma_migrations SET checksum = $1 WHERE migration_name = '04_team_redesign'", [
        NPM_PRERELEASE_COPY.differs["04_team_redesign"],
      ]),
    );
    const args = [
      "post-deploy",
      "--stage",
      "dev",
      "--secret-file",
      secretFile(),
      "--before-dir",
      before(),
      "--reports-dir",
      reports(),
    ];
    const lenient = await cli(args);
    expect(lenient.code, lenient.stdout).toBe(0);
    const { json, md } = latestReport(reports());
    expect(json.ok).toBe(true);
    expect(json.migrations.modified).toEqual([
      expect.stringMatching(
        /^Migration 04_team_redesign was changed by Umami between releases: the database applied it as shipped in npm's umami@2\.10\.0/,
      ),
    ]);
    expect(json.steps.find((s) => s.name === "migration status")).toMatchObject({
      ok: true,
      detail: "up to date (1 edited since applied; reported, --strict fails on them)",
    });
    expect(md).toContain("## Edited migrations\n\n- Migration 04_team_redesign was changed by Umami between releases");

    const strict = await cli([...args, "--strict"]);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain("post-deploy dev: FAIL");
    expect(latestReport(reports()).json.steps.find((s) => s.name === "migration status")).toMatchObject({
      ok: false,
      detail: "not in sync (1 edited since applied)",
    });
  });

  it("--no-before: the fingerprint's remedy is post-deploy's own (preflight), and every flag its output names is one it has", async () => {
    const args = [
      "post-deploy",
      "--stage",
      "dev",
      "--secret-file",
      secretFile(),
      "--no-before",
      "--reports-dir",
      reports(),
    ];
    const result = await cli(args);
    expect(result.code, result.stderr).toBe(0);
    const finding = latestReport(reports()).json.checks?.audit.findings.find(
      (f) => f.check === "application fingerprint",
    );
    expect(finding?.remedy).toBe(
      "Not compared: run `umami-db preflight --stage dev` before `sst deploy` (it saves the fingerprint post-deploy compares), then post-deploy without --no-before.",
    );
    // A user copies a remedy's flag onto the command they ran: it must be one of post-deploy's.
    const flags = umamiDbProgram()
      .commands.find((c) => c.name() === "post-deploy")!
      .options.map((o) => o.long);
    const named = [...new Set(result.stdout.match(/--[a-z][a-z-]+/g))];
    expect(named).toContain("--no-before");
    expect(named.filter((flag) => !flags.includes(flag))).toEqual([]);
  });
});
