/**
 * The house's map, enforced (docs/design.md): imports only go down — commands → flows → capabilities → kernel
 * → sst/ — and no module reaches itself through its imports. Read from the source files, so a new import that
 * breaks the map fails here with the edge that breaks it.
 */
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const CAPABILITIES = ["migrate", "audit", "evidence", "stage", "local", "plan", "rollback"];

/** Which folders each folder may import from (besides itself). Everything under `sst/` is the floor. */
const ALLOWED: Record<string, string[]> = {
  scripts: ["commands", "kernel"],
  // CI's own entry points (.github/workflows): like commands, they read the environment and print.
  ci: ["flows", ...CAPABILITIES, "kernel"],
  commands: ["flows", ...CAPABILITIES, "kernel"],
  flows: [...CAPABILITIES, "kernel"],
  // The audit proves the application untouched with the fingerprint: the one edge between capabilities.
  audit: ["evidence", "kernel"],
  migrate: ["kernel"],
  evidence: ["kernel"],
  stage: ["kernel"],
  local: ["kernel"],
  plan: ["kernel"],
  rollback: ["kernel"],
  kernel: [],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mjs)$/.test(entry.name) ? [path] : [];
  });
}

/** Relative imports of a file, static and dynamic, resolved to repository paths (`.js` → `.ts`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(?\s*)"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]);
  return specs.map((spec) => relative(ROOT, resolve(dirname(file), spec)).replace(/\.js$/, ".ts"));
}

/** Source text without its comments (a comment may name `process.env` to say it is not read). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

/** `scripts/flows/local.ts` → `flows`; `scripts/umami-db.ts` → `scripts`; `sst/stages.ts` → `sst`. */
function folderOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] === "sst") return "sst";
  return parts.length > 2 ? parts[1] : "scripts";
}

const files = [...sourceFiles(join(ROOT, "scripts")), ...sourceFiles(join(ROOT, "sst"))].map((f) => relative(ROOT, f));
const graph = new Map(files.map((f) => [f, importsOf(join(ROOT, f))]));

describe("layout", () => {
  it("has every scripts/ folder in the map", () => {
    const folders = new Set(files.filter((f) => f.startsWith("scripts/")).map(folderOf));
    expect([...folders].filter((f) => !(f in ALLOWED))).toEqual([]);
  });

  it("imports only go down: commands → flows → capabilities → kernel → sst/", () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      const from = folderOf(file);
      for (const target of targets) {
        const to = folderOf(target);
        if (to === from || to === "sst") continue;
        if (from === "sst" || !ALLOWED[from]?.includes(to)) wrong.push(`${file} → ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("has no import cycles", () => {
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        cycles.push([...path.slice(path.indexOf(file)), file].join(" → "));
        return;
      }
      state.set(file, "open");
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, "done");
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it("reads the environment only in the commands: no process.env below scripts/commands/ (STYLE.md rule 4)", () => {
    // scripts/ci/ holds the workflows' own entry points (run by GitHub Actions beside umami-db): edges too.
    const below = files.filter((f) => !["commands", "scripts", "ci"].includes(folderOf(f)));
    const readers = below.filter((f) =>
      /\bprocess\s*\.\s*env\b|\bprocess\s*\[\s*["']env["']\s*\]/.test(
        withoutComments(readFileSync(join(ROOT, f), "utf8")),
      ),
    );
    expect(readers).toEqual([]);
    // The check sees what it looks for.
    expect(/\bprocess\s*\.\s*env\b/.test(withoutComments("const x = process.env.HOME; // process.env"))).toBe(true);
    expect(/\bprocess\s*\.\s*env\b/.test(withoutComments("/** nothing reads `process.env` */\n// process.env"))).toBe(
      false,
    );
    expect(below).toContain("scripts/stage/stage.ts");
    expect(below).toContain("sst/stages.ts");
  });

  it("keeps catalog reads in the capabilities: the flows compose them and hold no catalog SQL", () => {
    const flows = files.filter((f) => folderOf(f) === "flows");
    const readers = flows.filter((f) => /\bpg_catalog\.|\bFROM\s+pg_[a-z_]+/.test(readFileSync(join(ROOT, f), "utf8")));
    expect(readers).toEqual([]);
    expect(flows).toContain("scripts/flows/preflight.ts");
  });

  it("finds the edges it checks (the parser sees static and dynamic imports)", () => {
    expect(graph.get("scripts/umami-db.ts")?.some((t) => t.startsWith("scripts/commands/"))).toBe(true);
    expect(graph.get("scripts/commands/verify.ts")).toContain("scripts/audit/audit.ts");
  });
});
