/** How a command ends: the exit-code table and the one-line rule for user errors (scripts/commands/run.ts). */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ensureWritableDir, EXIT, flowExitCode, reportError } from "../../../scripts/commands/run.js";
import { UserError } from "../../../scripts/kernel/errors.js";
import { scratchDir } from "../../support/scratch.js";

afterEach(() => vi.restoreAllMocks());

function stderrOf(fn: () => number): { code: number; text: string } {
  const chunks: string[] = [];
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  const code = fn();
  return { code, text: chunks.join("") };
}

describe("reportError", () => {
  it("prints a user error on one line even when its message quotes a multi-line excerpt", () => {
    let parseError = "";
    try {
      JSON.parse('{"a": 1,\n "b": x\n}');
    } catch (error) {
      parseError = (error as Error).message;
    }
    expect(parseError).toContain("\n"); // what made the message two lines before
    const { code, text } = stderrOf(() =>
      reportError(new UserError(`f.json is not JSON (${parseError}). Give another file.`)),
    );
    expect(code).toBe(EXIT.couldNotRun);
    expect(text.split("\n")).toEqual([
      `error: f.json is not JSON (Unexpected token 'x', "{"a": 1, "b": x }" is not valid JSON). Give another file.`,
      "",
    ]);
  });

  it("keeps the stack of anything else (a bug)", () => {
    const { code, text } = stderrOf(() => reportError(new TypeError("boom")));
    expect(code).toBe(EXIT.couldNotRun);
    expect(text).toMatch(/^internal error \(please report\): TypeError: boom\n\s+at /);
  });
});

describe("ensureWritableDir", () => {
  it("proves a directory writable and leaves nothing it created (a command refused afterwards changes nothing)", () => {
    const top = scratchDir("umami-writable-");
    ensureWritableDir(join(top, "reports", "dev"), "--reports-dir");
    expect(readdirSync(top)).toEqual([]);
    mkdirSync(join(top, "kept"));
    ensureWritableDir(join(top, "kept"), "--reports-dir");
    expect(readdirSync(top)).toEqual(["kept"]);
    expect(readdirSync(join(top, "kept"))).toEqual([]);
  });

  it("still refuses a directory below a regular file, in one line", () => {
    const top = scratchDir("umami-writable-");
    writeFileSync(join(top, "file"), "");
    expect(() => ensureWritableDir(join(top, "file", "reports"), "--reports-dir")).toThrow(
      /^Cannot write into .*\(--reports-dir\): ENOTDIR.*Choose a directory you can write to\.$/,
    );
  });
});

describe("flowExitCode", () => {
  it("is 0 when ok, 2 when a step could not run, 1 when a check failed", () => {
    expect([flowExitCode({ ok: true }), flowExitCode({ ok: false, error: "x" }), flowExitCode({ ok: false })]).toEqual([
      0, 2, 1,
    ]);
  });
});

describe("umami-db --version", () => {
  it("prints package.json's version and exits 0", () => {
    const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    expect(execFileSync(process.execPath, ["bin/umami-db.js", "--version"], { encoding: "utf8" })).toBe(`${version}\n`);
  });
});
