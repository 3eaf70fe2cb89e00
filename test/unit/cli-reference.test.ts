/**
 * docs/cli.md's command reference is identical to the CLI's own `--help` (regenerate with `npm run docs`).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildReference, help, REFERENCE_FILE, withReference } from "../../scripts/gen-reference.js";
import { KEPT_SERVER_DOC } from "../../scripts/commands/local.js";
import { readDoc } from "../support/markdown.js";

describe(REFERENCE_FILE, () => {
  it("has a command reference identical to the CLI's --help (run `npm run docs` when this fails)", () => {
    const doc = readFileSync(new URL(`../../${REFERENCE_FILE}`, import.meta.url), "utf8");
    const reference = buildReference();
    for (const command of [
      "plan",
      "local",
      "migrate",
      "verify",
      "fingerprint",
      "baseline",
      "preflight",
      "post-deploy",
      "rollback",
      "handoff",
    ]) {
      expect(reference).toContain(`### umami-db ${command}\n`);
    }
    expect(withReference(doc, reference)).toBe(doc);
  });

  it("is built from the program the CLI parses, printing what a real --help run prints", () => {
    for (const args of [[], ["migrate", "deploy"]]) {
      const run = execFileSync(process.execPath, ["bin/umami-db.js", ...args, "--help"], {
        cwd: new URL("../..", import.meta.url),
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
      });
      expect(help(args)).toBe(run.trimEnd());
    }
  }, 60_000);
});

describe("pointers the CLI prints into the docs", () => {
  it("local --keep's hint names a document and a heading that exist (it named the README's, which moved)", () => {
    expect(readDoc(KEPT_SERVER_DOC.path).split("\n")).toContain(`## ${KEPT_SERVER_DOC.heading}`);
  });
});
