/**
 * docs/threat-model.md keeps up with the audit: every path class of scripts/audit/classes.ts has its section,
 * every section names at least one test, and every test it names exists.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AUDIT_CLASSES } from "../../../scripts/audit/classes.js";

const root = new URL("../../../", import.meta.url);
const model = readFileSync(new URL("docs/threat-model.md", root), "utf8");

/** Where each class's section starts: its heading or its bold id at the start of a line. */
function sections(): Map<string, string> {
  const starts = Object.keys(AUDIT_CLASSES).map((id) => {
    const at = model.search(new RegExp(`^(?:### .*|\\*\\*)\`${id}\``, "m"));
    return { id, at };
  });
  const sorted = [...starts].filter((s) => s.at >= 0).sort((a, b) => a.at - b.at);
  const out = new Map<string, string>();
  sorted.forEach((s, i) => out.set(s.id, model.slice(s.at, sorted[i + 1]?.at ?? model.indexOf("\n## ", s.at))));
  return out;
}

/** The tests a text names: `file` › "name". */
function testsIn(text: string): { file: string; name: string }[] {
  return [...text.matchAll(/`(test\/[^`]+\.test\.ts)` › "((?:[^"\\]|\\.)*)"/g)].map((m) => ({
    file: m[1],
    name: m[2].replace(/\\"/g, '"'),
  }));
}

describe("docs/threat-model.md", () => {
  it("has a section for every class, each naming a test", () => {
    const found = sections();
    for (const id of Object.keys(AUDIT_CLASSES)) {
      const text = found.get(id);
      expect(text, `no section for class ${id}`).toBeDefined();
      expect(testsIn(text!).length, `class ${id} names no test`).toBeGreaterThan(0);
    }
  });

  it("names only tests that exist", () => {
    const named = testsIn(model);
    expect(named.length).toBeGreaterThan(20);
    for (const { file, name } of named) {
      const source = readFileSync(new URL(file, root), "utf8");
      expect(source.includes(name), `${file} has no test "${name}"`).toBe(true);
    }
  });
});
