/**
 * `npx umami-db …` in a subdirectory acts on the same project as at the top, as `npx sst …` does: the
 * outputs SST wrote beside sst.config.ts are read, and `.umami-db/` is the top's.
 */
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../../scripts/kernel/project-root.js";
import { localSecretPath } from "../../../scripts/stage/stage.js";
import { beforeDir } from "../../../scripts/flows/snapshots.js";
import { scratchDir } from "../../support/scratch.js";

const run = promisify(execFile);
const bin = new URL("../../../bin/umami-db.js", import.meta.url).pathname;
const ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:observability/umami-db-credentials-AbCdEf";

/** A project as SST leaves it after `sst deploy --stage dev`: sst.config.ts, .sst/outputs.json, and subdirectories. */
function deployedProject(): { top: string; deep: string } {
  const top = scratchDir("umami-project-root-");
  const deep = join(top, "docs", "deeper");
  mkdirSync(deep, { recursive: true });
  mkdirSync(join(top, ".sst"));
  writeFileSync(join(top, "sst.config.ts"), "");
  writeFileSync(
    join(top, ".sst", "outputs.json"),
    JSON.stringify({ stage: "dev", secretArn: ARN, region: "us-east-1" }),
  );
  return { top, deep };
}

describe("projectRoot", () => {
  it("is the nearest directory holding sst.config.ts, from any subdirectory; the working directory outside a project", () => {
    const { top, deep } = deployedProject();
    expect(projectRoot(deep)).toBe(top);
    expect(projectRoot(top)).toBe(top);
    const outside = scratchDir("umami-no-project-");
    expect(projectRoot(outside)).toBe(outside);
  });

  it("places the credentials file and preflight's snapshot at the project's top, wherever the command runs", () => {
    const { top, deep } = deployedProject();
    const cwd = process.cwd();
    try {
      process.chdir(deep);
      expect(localSecretPath("dev")).toBe(join(top, ".umami-db", "dev", "credentials.json"));
      expect(beforeDir("dev")).toBe(join(top, ".umami-db", "dev", "before"));
    } finally {
      process.chdir(cwd);
    }
  });

  it("umami-db handoff in a subdirectory reads the outputs sst deploy wrote at the top (no AWS needed)", async () => {
    const { deep } = deployedProject();
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith("AWS_") && !key.startsWith("UMAMI_")),
    );
    const { stdout } = await run(process.execPath, [bin, "handoff", "--stage", "dev", "--json"], {
      cwd: deep,
      env,
      timeout: 60_000,
    });
    expect(JSON.parse(stdout)).toMatchObject({ stage: "dev", secretArn: ARN });
  }, 60_000);
});
