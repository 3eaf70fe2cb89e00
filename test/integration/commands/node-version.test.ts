/**
 * On Node 20 the tool's output starts with the tool: the AWS SDK's multi-line Node 20 notice (emitted when a
 * client is built) is left out by the CLI's entry point; .nvmrc names Node 22, the line CI runs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT, runCli } from "../../support/reliability.js";

describe("Node", () => {
  it(".nvmrc names Node 22", () => {
    expect(readFileSync(join(PROJECT_ROOT, ".nvmrc"), "utf8").trim()).toBe("22");
  });

  it("a command that builds an AWS client prints its own one line, no SDK notice about Node", async () => {
    const run = await runCli([
      "preflight",
      "--stage",
      "dev",
      "--host",
      "db.example.com",
      "--master-secret-arn",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).not.toMatch(/NodeVersionSupportWarning|node >=22/);
    expect(run.stderr.trimEnd().split("\n")).toEqual([
      expect.stringMatching(/^error: Cannot resolve the stage: No AWS credentials/),
    ]);
  }, 60_000);
});
