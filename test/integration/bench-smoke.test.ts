/**
 * Benchmarks cannot break unnoticed: every `npm run bench*` script runs here at a tiny size (seconds each) and
 * must finish and print its figures. The figures themselves mean nothing at that size; the full runs are in
 * docs/benchmarks.md. A new bench script without a smoke size fails the first test.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../support/reliability.js";

const scripts = (
  JSON.parse(readFileSync(`${PROJECT_ROOT}/package.json`, "utf8")) as { scripts: Record<string, string> }
).scripts;

/** Each bench script's tiny size, and what its output must show. */
const SMOKE: Record<string, { args: string[]; figures: RegExp[] }> = {
  bench: {
    args: ["--smoke"],
    figures: [
      /^saturated: TPS during ÷ alone\s+\d+\.\d\d \(\d+ \/ \d+ tx\/s\)/m,
      /^connections held by the flow\s+\d+ \(server sampled \d+\)/m,
      /^migrate: runner ÷ plain SQL\s+\d+\.\d\d/m,
      /^audit: time \(20 tables\)\s+\d+ ms, \d+ queries/m,
      /^npm run local wall time\s+\d+\.\d s/m,
    ],
  },
  "bench:impact": {
    args: ["--window-seconds", "4", "--pairs", "1", "--rate", "20"],
    figures: [
      /^\| 1 \| (one|none) \| \d+\.\d \| [\d.]+ \| 0 \|/m,
      /^median with one deploy: [\d.]+ TPS, p99 [\d.]+ ms; without: [\d.]+ TPS/m,
      /^one deploy's server cost: \d+ ms CPU, \d+ WAL bytes, \d+ temp bytes, 0 locks on the application's \d+ relations .*audit passed\)$/m,
    ],
  },
  "bench:online": {
    args: ["--events", "1000"],
    figures: [
      /^inserts: online \d+ \(0 lost, 0 failed\)/m,
      /^time: online .+ vs offline .+: \d+\.\d\d×$/m,
      /^end state: schemas equal;/m,
    ],
  },
  "bench:upgrade": {
    args: ["--rows", "1000"],
    figures: [
      /^dataset \(Umami 2\.10\.0\): .*1,000 events/m,
      /^migrate deploy --dry-run: 15 pending/m,
      /^Data the pending migrations destroy/m,
      /^upgrade 2\.10\.0 → 3\.1\.0 as umami_user: 15 migrations in [\d.]+ s/m,
    ],
  },
};

function npmRun(script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", "--silent", script, "--", ...args], {
      cwd: PROJECT_ROOT,
      env: process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run bench* at a tiny size", () => {
  it("has a smoke size for every bench script", () => {
    expect(
      Object.keys(scripts)
        .filter((s) => /^bench(:|$)/.test(s))
        .sort(),
    ).toEqual(Object.keys(SMOKE).sort());
  });

  it.each(Object.entries(SMOKE))(
    "%s completes and prints its figures",
    async (script, { args, figures }) => {
      const run = await npmRun(script, args);
      expect(run.code, run.stderr.slice(-2000)).toBe(0);
      for (const figure of figures) expect(run.stdout).toMatch(figure);
    },
    240_000,
  );
});
