import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { baselineCommand } from "../../../scripts/commands/baseline.js";
import { baseline } from "../../support/baselines.js";
import { scratchDir } from "../../support/scratch.js";

let dir: string;
let out: string;
let err: string;
beforeEach(() => {
  dir = scratchDir("baseline-command-");
  out = "";
  err = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((err += String(chunk)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

const write = (name: string, value: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value));
  return path;
};
const run = (...args: string[]) => baselineCommand().exitOverride().parseAsync(args, { from: "user" });

describe("umami-db baseline compare", () => {
  it("prints the table, writes the Markdown report and exits 0 when every threshold is met", async () => {
    const report = join(dir, "report.md");
    await run("compare", write("b.json", baseline("before")), write("a.json", baseline("after")), "--report", report);
    expect(process.exitCode).toBe(0);
    expect(out).toContain("Result: no threshold broken.");
    expect(readFileSync(report, "utf8")).toContain("### Performance baseline: before → after");
  });

  it("exits 1 when a threshold is broken, and --json prints the comparison", async () => {
    await run(
      "compare",
      write("b.json", baseline("before")),
      write("a.json", baseline("after", { connections: 20 })),
      "--json",
    );
    expect(process.exitCode).toBe(1);
    const comparison = JSON.parse(out);
    expect(comparison.ok).toBe(false);
    expect(comparison.rows.find((r: { metric: string }) => r.metric.startsWith("Client connections")).verdict).toBe(
      "fail",
    );
  });

  it.each([
    ["a missing file", () => join(dir, "nope.json"), /Cannot read baseline .*nope\.json \(ENOENT\)/],
    ["text that is not JSON", () => write("x.json", "{not json"), /x\.json is not JSON/],
    [
      "another format version",
      () => write("v.json", { ...baseline("x"), version: 2 }),
      /format version 2; this tool reads version 1/,
    ],
    ["a baseline without sizes", () => write("s.json", { ...baseline("x"), sizes: undefined }), /missing sizes/],
  ])("exits 2 with one line for %s", async (_, file, message) => {
    await run("compare", write("b.json", baseline("before")), file());
    expect(process.exitCode).toBe(2);
    expect(err).toMatch(message);
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(out).toBe("");
  });
});

describe("umami-db baseline capture", () => {
  it("refuses to run without an administrator URL", async () => {
    const saved = process.env.ADMIN_DATABASE_URL;
    delete process.env.ADMIN_DATABASE_URL;
    try {
      await run("capture", "--label", "x");
    } finally {
      if (saved !== undefined) process.env.ADMIN_DATABASE_URL = saved;
    }
    expect(process.exitCode).toBe(2);
    expect(err).toMatch(/No administrator URL/);
  });

  it("refuses a CloudWatch period that is not a multiple of 60 while parsing, before anything else", async () => {
    await expect(run("capture", "--label", "x", "--period-seconds", "61")).rejects.toThrow(
      "--period-seconds must be a multiple of 60 seconds for CloudWatch (got 61). Use e.g. 300.",
    );
    expect(out).toBe("");
  });
});
