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
/**
 * History a reader cannot open: the number of the issue, round or story that added the code, or the withheld
 * set it was judged on (the test below lists examples). An upstream project's issue (`pulumi-postgresql issue
 * 233`) can be opened: a name with a hyphen or a slash before it lets it through. A round trip is a cost, not
 * history.
 */
const HISTORY = new RegExp(
  [
    String.raw`(?<![\w.]+[-/][\w.-]+,?\s+)\b(?:issues?|rounds?)\s+#?\d`,
    String.raw`\bstor(?:y|ies)\s+\d`,
    String.raw`\bheld[- ]out\b`,
    String.raw`\b(?:this|previous|earlier|later|last|next|first) rounds?\b(?!\s+trips?)`,
  ].join("|"),
  "i",
);

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

  it("describe behaviour, never the history that added it (issue, round or story numbers)", () => {
    const cited = [...comments].flatMap(([file, texts]) =>
      texts.filter((t) => HISTORY.test(t)).map((t) => `${file}: ${t.match(HISTORY)?.[0]}`),
    );
    expect(cited).toEqual([]);
  });

  it("tells history from names (the history pattern reads what it must)", () => {
    const history = [
      "added in issue 17",
      "round 1's checks",
      "Story 4.1's contract",
      "the held-out set",
      "later rounds' classes",
    ];
    const names = [
      "pulumi-postgresql issue 233",
      "prisma-engines issue 1887",
      "one round trip",
      "this round trip has arrived",
    ];
    expect(history.filter((t) => !HISTORY.test(t))).toEqual([]);
    expect(names.filter((t) => HISTORY.test(t))).toEqual([]);
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
