/**
 * The initdb template with real servers: two first servers of a cache at once both run, and leave one whole
 * template and no partial copy; a later server starts from it (no initdb output in its log) and is the same
 * server (the superuser's password, pg_stat_statements). The rules on the directories themselves are unit tests
 * (test/unit/local/initdb-template.test.ts).
 */
import { chmodSync, readdirSync } from "node:fs";
import { beforeEach, describe, expect, it } from "vitest";
import { parseDatabaseUrl, withClient } from "../../../scripts/kernel/db.js";
import { startEmbeddedPostgres } from "../../../scripts/local/embedded.js";
import { scratchDir } from "../../support/scratch.js";

let cache: string;

beforeEach(() => {
  cache = scratchDir("umami-initdb-cache-");
  chmodSync(cache, 0o755);
});

/** Starts a server on `cache`; returns what initdb printed (nothing when it did not run) and stops it. */
async function startOnce(): Promise<{ initdbRan: boolean; settings: string }> {
  const lines: string[] = [];
  const server = await startEmbeddedPostgres({ templateCache: cache, onLog: (l) => lines.push(l) });
  try {
    const settings = await withClient(parseDatabaseUrl(server.superuserUrl), async (c) => {
      const { rows } = await c.query<{ libs: string }>("SELECT current_setting('shared_preload_libraries') AS libs");
      return rows[0].libs;
    });
    return { initdbRan: lines.join("").includes("The files belonging to this database system"), settings };
  } finally {
    await server.stop();
  }
}

/** The templates (complete or not) and partial copies under the cache. */
const cached = () => readdirSync(cache).filter((name) => name.startsWith("initdb-template-"));

describe("the initdb template", () => {
  it("two first servers at once both start and leave one whole template; the next starts from it, the same server", async () => {
    const first = await Promise.all([startOnce(), startOnce()]);
    expect(first.some((r) => r.initdbRan)).toBe(true);
    expect(cached()).toHaveLength(1);
    const next = await startOnce();
    expect(next.initdbRan).toBe(false);
    // The superuser's password (the connection above) and the settings are those of a fresh initdb.
    expect([...first, next].map((r) => r.settings)).toEqual(Array(3).fill("pg_stat_statements"));
    expect(cached()).toHaveLength(1);
  }, 60_000);
});
