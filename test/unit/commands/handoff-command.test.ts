/**
 * `umami-db handoff` as a user runs it: the secret's ARN from SST's outputs (no AWS call, no database), the
 * Markdown on stdout and in --out, the same facts as --json, and one-line errors with exit 2.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { errorLines, runCli } from "../../support/reliability.js";
import { scratchDir } from "../../support/scratch.js";

const ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:observability/umami-db-credentials-AbCdEf";
const dir = scratchDir("umami-handoff-");
const outputs = join(dir, "outputs.json");
writeFileSync(outputs, JSON.stringify({ stage: "dev", secretArn: ARN, region: "us-east-1" }));

describe("umami-db handoff", () => {
  it("prints the handoff from SST's outputs, writes the same Markdown with --out, and the data with --json", async () => {
    const out = join(dir, "handoff.md");
    const text = await runCli(["handoff", "--stage", "dev", "--outputs-file", outputs, "--out", out]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`"valueFrom": "${ARN}:DIRECT_DATABASE_URL::"`);
    expect(readFileSync(out, "utf8")).toBe(text.stdout);
    const json = await runCli(["handoff", "--stage", "dev", "--outputs-file", outputs, "--json"]);
    expect(json.code).toBe(0);
    const handoff = JSON.parse(json.stdout);
    expect(handoff).toMatchObject({ stage: "dev", secretArn: ARN, umamiVersion: "3.1.0", connections: { limit: 22 } });
    expect(handoff.containerDefinition.secrets.map((s: { name: string }) => s.name)).toEqual([
      "DATABASE_URL",
      "DIRECT_DATABASE_URL",
    ]);
  });

  it("refuses a missing stage, a malformed version and another stage's outputs with one line and exit 2", async () => {
    const noStage = await runCli(["handoff"]);
    expect([noStage.code, errorLines(noStage)]).toEqual([
      2,
      ["error: Pass --stage <stage>: the handoff is for one stage's secret."],
    ]);
    const version = await runCli(["handoff", "--stage", "dev", "--outputs-file", outputs, "--umami-version", "latest"]);
    expect([version.code, errorLines(version)]).toEqual([
      2,
      ["error: --umami-version must be a release like 3.1.0 (got latest)."],
    ]);
    const other = await runCli(["handoff", "--stage", "production", "--outputs-file", outputs]);
    expect(other.code).toBe(2);
    expect(errorLines(other)[0]).toContain(`outputs file ${outputs} is for stage dev, not production`);
  });
});
