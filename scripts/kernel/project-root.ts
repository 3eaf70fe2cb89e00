/**
 * The project a command acts on, found as SST finds its own: the nearest directory at or above the working
 * directory that holds `sst.config.ts`. `npx sst deploy` in a subdirectory writes `.sst/outputs.json` there, so
 * `npx umami-db …` in any subdirectory reads it, and keeps `.umami-db/` (credentials, preflight's snapshot)
 * beside it, as at the top. Outside a project (no `sst.config.ts` above), the working directory.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** The nearest directory at or above `cwd` holding sst.config.ts, else `cwd` itself. */
export function projectRoot(cwd: string = process.cwd()): string {
  const start = resolve(cwd);
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "sst.config.ts"))) return dir;
    if (dirname(dir) === dir) return start;
  }
}
