/**
 * The README keeps its promises: exactly the two set-up commands, and a command reference identical to the
 * CLI's own `--help` (regenerate with `npm run docs`).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildReference, withReference } from "../../scripts/gen-reference.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> };

describe("README", () => {
  it("gives exactly the two set-up commands, and both npm scripts exist", () => {
    const setup = readme.split("## Set up")[1].split("\n## ")[0];
    const commands = [...setup.matchAll(/^(npm ci && npm (?:run )?[a-z]+)/gm)].map((m) => m[1]);
    expect(commands).toEqual(["npm ci && npm run local", "npm ci && npm test"]);
    expect(pkg.scripts.local).toBe("node bin/umami-db.js local");
    expect(pkg.scripts.test).toBe("vitest run");
  });

  it("has a command reference identical to the CLI's --help (run `npm run docs` when this fails)", () => {
    const reference = buildReference();
    for (const command of ["plan", "local", "migrate", "verify", "fingerprint", "baseline", "preflight", "post-deploy", "rollback"]) {
      expect(reference).toContain(`### umami-db ${command}\n`);
    }
    expect(withReference(readme, reference)).toBe(readme);
  }, 120_000);
});
