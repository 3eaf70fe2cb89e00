import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const run = promisify(execFile);
const workflow = parse(readFileSync(".github/workflows/deploy.yml", "utf8"));
const steps: { name?: string; uses?: string; run?: string; if?: string; with?: Record<string, unknown> }[] = workflow.jobs.deploy.steps;
const runs = steps.flatMap((s) => (s.run ? [s.run.trim()] : []));
const uses = (action: string) => steps.find((s) => s.uses?.startsWith(`${action}@`));

describe(".github/workflows/deploy.yml", () => {
  it("deploys on push to main, one deploy at a time, with an OIDC token", () => {
    expect(workflow.on).toEqual({ push: { branches: ["main"] } });
    expect(workflow.concurrency).toEqual({ group: "deploy-dev", "cancel-in-progress": false });
    expect(workflow.permissions).toMatchObject({ "id-token": "write" });
  });

  it("runs checkout, Node 20, npm ci, OIDC credentials, preflight, deploy, post-deploy, then uploads the reports", () => {
    expect(steps.map((s) => s.uses?.split("@")[0] ?? s.run?.split(" ").slice(0, 3).join(" "))).toEqual([
      "actions/checkout",
      "actions/setup-node",
      "npm ci",
      "aws-actions/configure-aws-credentials",
      "npx umami-db preflight",
      "npx sst deploy",
      "npx umami-db post-deploy",
      "actions/upload-artifact",
    ]);
    expect(uses("actions/setup-node")?.with?.["node-version"]).toBe(20);
    expect(uses("aws-actions/configure-aws-credentials")?.with?.["role-to-assume"]).toBe("${{ vars.AWS_DEPLOY_ROLE_ARN }}");
    expect(runs).toContain("npx sst deploy --stage dev");
    expect(runs).toContain("npx umami-db post-deploy --stage dev");
    expect(uses("actions/upload-artifact")).toMatchObject({ if: "always()", with: { path: "reports/" } });
    // No step swallows a failure: a failed verify must fail the job.
    expect(steps.filter((s) => "continue-on-error" in s)).toEqual([]);
    expect(runs.filter((r) => /\|\|\s*true/.test(r))).toEqual([]);
  });

  it("calls only commands that exist: sst in package.json, umami-db subcommands in the CLI", async () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8"));
    expect(pkg.dependencies.sst).toBeDefined();
    expect(pkg.bin["umami-db"]).toBe("bin/umami-db.js");
    const commands = runs.flatMap((r) => [...r.matchAll(/npx umami-db ([a-z-]+)/g)].map((m) => m[1]));
    expect(commands).toEqual(["preflight", "post-deploy"]);
    for (const command of commands) {
      const { stdout } = await run("node", ["bin/umami-db.js", command, "--help"]);
      expect(stdout).toContain(`Usage: umami-db ${command}`);
      expect(stdout).toContain("--stage");
    }
  });
});
