/**
 * The project as a newcomer's clone would be elsewhere on this machine, made cheaply: its files hard-linked into
 * `dest` (no copy of their bytes), `node_modules` either hard-linked whole or as symlinks to this tree's packages
 * — except the packages named in `realPackages`, which are hard-linked: Node resolves a symlinked package to its
 * real path, so only those are really found under `dest`.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "./reliability.js";

/** What a clone holds besides node_modules (the tree's caches and outputs left out). */
const SKIPPED = new Set(["node_modules", ".git", ".sst", ".umami-db", "tmp", "reports"]);

/** Makes the copy in `dest` (which must exist and be empty) and returns it. */
export function projectCopy(
  dest: string,
  options: { realPackages?: string[]; wholeNodeModules?: boolean } = {},
): string {
  const entries = readdirSync(PROJECT_ROOT).filter((name) => !SKIPPED.has(name));
  execFileSync("cp", ["-al", ...entries.map((name) => join(PROJECT_ROOT, name)), dest]);
  const modules = join(PROJECT_ROOT, "node_modules");
  if (options.wholeNodeModules) {
    execFileSync("cp", ["-al", modules, dest]);
    return dest;
  }
  mkdirSync(join(dest, "node_modules"));
  const real = new Set(options.realPackages ?? []);
  for (const name of readdirSync(modules)) {
    if (real.has(name)) execFileSync("cp", ["-al", join(modules, name), join(dest, "node_modules")]);
    else symlinkSync(join(modules, name), join(dest, "node_modules", name));
  }
  return dest;
}
