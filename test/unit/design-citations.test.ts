/**
 * Comments cite `docs/design.md` by section name (STYLE.md rule 11), and every cited section exists: a renamed
 * or missing section fails here with the file that cites it. A citation by number (the old brief's "fact N",
 * whose numbers never matched docs/design.md) fails too. Read from the comments of every source file.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const SOURCES = ["scripts", "sst", "bench", "test", "sst.config.ts"];

function sourceFiles(path: string): string[] {
  const full = join(ROOT, path);
  if (/\.(ts|mts|mjs|js)$/.test(path)) return [full];
  return readdirSync(full, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === "node_modules" || entry.name === "fixtures") return [];
    const child = join(path, entry.name);
    return entry.isDirectory() || /\.(ts|mts|mjs|js)$/.test(entry.name) ? sourceFiles(child) : [];
  });
}

/**
 * The comments of a source file, each as one line of text (`*` and `//` margins dropped), so a citation that
 * wraps is still read whole. String and template literals are skipped, so a URL's `//` starts no comment.
 */
function commentsOf(text: string): string[] {
  const tokens = /\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`/g;
  return [...text.matchAll(tokens)]
    .map((m) => m[0])
    .filter((t) => t.startsWith("//") || t.startsWith("/*"))
    .map((c) =>
      c
        .replace(/^\/\*+|\*+\/$/g, "")
        .split("\n")
        .map((l) => l.replace(/^\s*(\*|\/\/)?\s?/, ""))
        .join(" "),
    );
}

/** Every name a heading of docs/design.md answers to: its text, and its text without a trailing "(…)". */
function sectionNames(markdown: string): Set<string> {
  const names = new Set<string>();
  for (const [, heading] of markdown.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    names.add(heading);
    names.add(heading.replace(/\s*\(.*\)$/, ""));
  }
  return names;
}

const CITATION = /`?docs\/design\.md`?\s*§\s*"([^"]+)"/g;
// Built from parts, so this file's own text holds no citation by number.
const BY_NUMBER = new RegExp(["design\\.md,?\\s+facts?\\s+\\d", "\\bfacts?\\s+\\d+[a-z]?\\b"].join("|"), "i");

const files = SOURCES.flatMap(sourceFiles).map((f) => relative(ROOT, f));
const comments = new Map(files.map((f) => [f, commentsOf(readFileSync(join(ROOT, f), "utf8"))]));
const sections = sectionNames(readFileSync(join(ROOT, "docs/design.md"), "utf8"));

describe("citations of docs/design.md", () => {
  it("name sections that exist", () => {
    const missing: string[] = [];
    for (const [file, texts] of comments) {
      for (const text of texts)
        for (const [, name] of text.matchAll(CITATION)) if (!sections.has(name)) missing.push(`${file}: § "${name}"`);
    }
    expect(missing).toEqual([]);
  });

  it("never cite a fact by number", () => {
    const numbered = [...comments].flatMap(([file, texts]) =>
      texts.filter((t) => BY_NUMBER.test(t)).map((t) => `${file}: ${t.match(BY_NUMBER)?.[0]}`),
    );
    expect(numbered).toEqual([]);
  });

  it("reads the citations it checks (the parser sees wrapped comments and the headings)", () => {
    const cited = [...comments.values()].flat().flatMap((t) => [...t.matchAll(CITATION)].map((m) => m[1]));
    expect(cited.length).toBeGreaterThan(20);
    expect(sections.has("Facts we measured")).toBe(true);
    expect(commentsOf('const u = "postgresql://h/db"; /* a\n * `docs/design.md`\n * § "Shape" */')).toEqual([
      'a `docs/design.md` § "Shape" ',
    ]);
  });
});
