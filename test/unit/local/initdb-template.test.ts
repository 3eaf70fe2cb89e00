/**
 * The initdb template's directory rules, on plain directories: a template is used only with its completion mark,
 * a cut-short one is replaced, a whole one is never overwritten, and the key follows the programs' version and
 * initdb's arguments.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { copyTemplate, saveTemplate, templateDir } from "../../../scripts/local/initdb-template.js";
import { scratchDir } from "../../support/scratch.js";

/** A stand-in data directory: a file at the top and one below. */
function dataDir(root: string, name: string, content: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, "base"), { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, "PG_VERSION"), content);
  writeFileSync(join(dir, "base", "1"), content);
  return dir;
}

describe("initdb template directories", () => {
  it("a saved template is copied whole into an empty data directory, 0700, without its mark", () => {
    const root = scratchDir("umami-template-");
    const template = join(root, "cache", "initdb-template-x");
    saveTemplate(dataDir(root, "fresh", "15"), template);
    const target = join(root, "target");
    mkdirSync(target);
    expect(copyTemplate(template, target, undefined)).toBe(true);
    expect(readdirSync(target).sort()).toEqual(["PG_VERSION", "base"]);
    expect(readFileSync(join(target, "base", "1"), "utf8")).toBe("15");
    expect(statSync(target).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(root, "cache"))).toEqual(["initdb-template-x"]);
  });

  it("a template without its mark is not copied, and the next save replaces it", () => {
    const root = scratchDir("umami-template-");
    const template = dataDir(root, "initdb-template-cut", "old");
    const target = join(root, "target");
    mkdirSync(target);
    expect(copyTemplate(template, target, undefined)).toBe(false);
    expect(readdirSync(target)).toEqual([]);
    saveTemplate(dataDir(root, "fresh", "new"), template);
    expect(copyTemplate(template, target, undefined)).toBe(true);
    expect(readFileSync(join(target, "PG_VERSION"), "utf8")).toBe("new");
  });

  it("a whole template is kept: a second save changes nothing and leaves no partial copy", () => {
    const root = scratchDir("umami-template-");
    const template = join(root, "initdb-template-y");
    saveTemplate(dataDir(root, "first", "first"), template);
    saveTemplate(dataDir(root, "second", "second"), template);
    expect(readFileSync(join(template, "PG_VERSION"), "utf8")).toBe("first");
    expect(readdirSync(root).filter((n) => n.includes("partial"))).toEqual([]);
  });

  it("the key follows the programs' version and initdb's arguments", () => {
    const root = scratchDir("umami-template-");
    const program = (version: string) => ({ initdb: "initdb", postgres: "postgres", pg_ctl: "pg_ctl", version });
    const a = program("15.1.0");
    const b = program("15.10.0");
    const key = (binaries: typeof a, args: string[]) => templateDir(binaries, args, root);
    expect(key(a, ["--auth=scram-sha-256"])).toBe(key(a, ["--auth=scram-sha-256"]));
    expect(key(a, ["--auth=scram-sha-256"])).not.toBe(key(a, ["--auth=trust"]));
    expect(key(a, ["--auth=scram-sha-256"])).not.toBe(key(b, ["--auth=scram-sha-256"]));
    expect(key(a, []).startsWith(join(root, "initdb-template-"))).toBe(true);
  });
});
