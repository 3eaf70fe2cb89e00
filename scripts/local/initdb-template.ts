/**
 * An initialised data directory, kept once per machine user and copied for each embedded server: a copy takes
 * about 0.2 s where initdb takes about 1.4 s of CPU, and `local` starts two servers (its own and the scratch one
 * for the schema check). The template is keyed by the programs' version and platform and initdb's arguments
 * (every clone with the same package shares it), written whole and renamed into place (concurrent first runs
 * never see half of one), and never changed afterwards. It is an optimisation only: when the cache cannot be
 * read or written, initdb runs as before.
 *
 * Where: as root beside root's copy of the programs (/var/cache/umami-db), else `~/.cache/umami-db`. Deleting it
 * is always safe.
 */
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { PgBinaries, ServerUser } from "./pg-binaries.js";

/** Written last into a complete template: a directory without it is not used. */
const COMPLETE = "umami-db-template";

/** Where templates are kept by default: as root beside root's copy of the programs, else `~/.cache/umami-db`. */
export function defaultTemplateCache(user: ServerUser | undefined, rootCache: string): string {
  return user ? rootCache : join(homedir(), ".cache", "umami-db");
}

/** The template directory under `cache` for these programs and initdb arguments. */
export function templateDir(binaries: PgBinaries, initdbArgs: string[], cache: string): string {
  const key = createHash("sha256")
    .update(JSON.stringify([binaries.version, process.platform, process.arch, initdbArgs]))
    .digest("hex")
    .slice(0, 16);
  return join(cache, `initdb-template-${key}`);
}

/** Copies a complete template into the empty `dataDir` (owned by `user` afterwards); false when there is none. */
export function copyTemplate(template: string, dataDir: string, user: ServerUser | undefined): boolean {
  if (!existsSync(join(template, COMPLETE))) return false;
  try {
    cpSync(template, dataDir, { recursive: true, filter: (source) => source !== join(template, COMPLETE) });
    // PostgreSQL refuses a data directory others can read.
    chmodSync(dataDir, 0o700);
    if (user) chownTree(dataDir, user);
    return true;
  } catch {
    // A template that cannot be copied whole: the caller empties the directory and runs initdb.
    for (const entry of readdirSync(dataDir)) rmSync(join(dataDir, entry), { recursive: true, force: true });
    return false;
  }
}

/** Keeps a copy of a freshly initialised `dataDir` as the template; any failure leaves no template. */
export function saveTemplate(dataDir: string, template: string): void {
  const partial = `${template}.partial-${process.pid}-${Date.now()}`;
  try {
    mkdirSync(join(template, ".."), { recursive: true, mode: 0o755 });
    cpSync(dataDir, partial, { recursive: true });
    chmodSync(partial, 0o700);
    writeFileSync(join(partial, COMPLETE), "initialised by initdb; copied for each embedded server\n");
    // Another run may have saved the same template first: keep theirs. One without its mark was cut short.
    if (existsSync(template) && !existsSync(join(template, COMPLETE))) rmSync(template, { recursive: true });
    if (!existsSync(template)) renameSync(partial, template);
  } catch {
    // Only an optimisation: the next run runs initdb again.
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

function chownTree(dir: string, user: ServerUser): void {
  chownSync(dir, user.uid, user.gid);
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true }))
    chownSync(join(entry.parentPath, entry.name), user.uid, user.gid);
}
