/**
 * Scratch directories that remove themselves: `scratchDir(prefix)` makes one under the system's temporary
 * directory, and the test file's afterAll (registered when this module is first imported, once per file, as
 * vitest isolates modules per file) removes every one it made. Tests leave /tmp as they found it.
 */
import { mkdtempSync, rmSync } from "node:fs";
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
