/**
 * docs/threat-model.md keeps up with the audit: every path class of scripts/audit/classes.ts has its section,
 * every section names at least one test, and every test it names exists; its table is the edge registry's
 * (scripts/audit/edge-registry.ts), row by row, and so is its list of what is out of scope.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AUDIT_CLASSES } from "../../../scripts/audit/classes.js";
import {
  CLASSES_WITHOUT_EDGES,
  JUDGED_EDGES,
  OUT_OF_SCOPE_EDGES,
  OUT_OF_SCOPE_REASONS,
} from "../../../scripts/audit/edge-registry.js";

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

/** The text of the section that starts with `heading` (a whole line), up to the next heading of its level or above. */
function section(heading: string): string {
  const start = model.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`docs/threat-model.md has no "${heading}"`);
  const level = heading.indexOf(" ");
  const rest = model.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`^#{1,${level}} `, "m"));
  return end < 0 ? rest : rest.slice(0, end);
}

/** The registry's edge keys a text names in code spans. */
function edgesIn(text: string): string[] {
  return [...text.matchAll(/`(pg_[a-z_0-9]+\.[a-z_0-9,]+(?: -> pg_[a-z_0-9]+)?)`/g)].map((m) => m[1]).sort();
}

/** Class → the edges the registry says it judges. */
function registryByClass(): Map<string, string[]> {
  const out = new Map<string, string[]>(Object.keys(CLASSES_WITHOUT_EDGES).map((id) => [id, []]));
  for (const [edge, classes] of Object.entries(JUDGED_EDGES))
    for (const id of classes) out.set(id, [...(out.get(id) ?? []), edge]);
  return out;
}

describe("docs/threat-model.md is the edge registry's table", () => {
  it("has one row per class of the registry, each with the registry's edges, and no other", () => {
    const rows = [
      ...section("## The edge registry, by class").matchAll(/^\| `([a-z-]+)` \|[^|]*\|([^|]*)\|[^|]*\|$/gm),
    ];
    const documented = new Map(rows.map((m) => [m[1], edgesIn(m[2])]));
    expect(rows.length, "a class has two rows").toBe(documented.size);
    const registry = registryByClass();
    expect([...documented.keys()].sort()).toEqual([...registry.keys()].sort());
    for (const [id, edges] of registry) expect(documented.get(id), `the row of ${id}`).toEqual(edges.sort());
  });

  it("lists every out-of-scope reason of the registry with its edges, and no other", () => {
    const bullets = section("### Catalog edges").split(/^- /m).slice(1);
    const documented = new Map(
      bullets.map((b) => [/^\*\*(.+?)\.\*\*/.exec(b)?.[1] ?? b.slice(0, 40), edgesIn(b.slice(b.indexOf("Edges:")))]),
    );
    expect([...documented.keys()]).toEqual(OUT_OF_SCOPE_REASONS.map((r) => r.title));
    for (const reason of OUT_OF_SCOPE_REASONS) {
      const edges = Object.entries(OUT_OF_SCOPE_EDGES)
        .filter(([, r]) => r === reason)
        .map(([edge]) => edge);
      expect(documented.get(reason.title), `the edges of "${reason.title}"`).toEqual(edges.sort());
    }
  });
});
