/**
 * The secret's URLs as the Umami container reads them, on real PostgreSQL 15: node-pg's `pg.Pool` from the URL
 * (what Umami's `PrismaPg({ connectionString })` builds) and this tool's own parser must see the same session —
 * the role's statement timeout at run time, none through DIRECT_DATABASE_URL — and two pools of 10 (a rolling
 * deploy) must fit in the derived connection limit.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec, type UmamiDatabaseSpec } from "../../../sst/database/spec.js";
import { buildCredentialsSecret, type CredentialsSecret } from "../../../sst/database/secret.js";
import { stageSettings } from "../../../sst/stages.js";
import { parseDatabaseUrl, withClient } from "../../../scripts/kernel/db.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";

const PASSWORD = "Container-Urls-Password-0123456789abcdef";
// A short guard keeps the test fast; the mechanism is the one the 60 s default uses.
const GUARD_MS = 300;

let server: TestServer;
let spec: UmamiDatabaseSpec;
let secret: CredentialsSecret;

beforeAll(async () => {
  server = await startTestServer({ sampleApp: false });
  spec = buildSpec("dev", { ...stageSettings("dev"), statementTimeoutMs: GUARD_MS });
  await withClient(server.admin, (c) => provisionStage(c, spec, { admin: TEST_ADMIN.name, password: PASSWORD }));
  secret = buildCredentialsSecret({
    username: spec.role.name,
    password: PASSWORD,
    host: "127.0.0.1",
    port: server.embedded.port,
    database: "app",
    schema: spec.schema,
    sslmode: "disable",
  });
});
afterAll(async () => server?.stop());

/** Runs `sql` through a pool built from the URL alone, as Umami's data layer does. */
async function throughNodePg<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const pool = new pg.Pool({ connectionString: url });
  // An idle client that loses its server emits 'error' on the pool; unhandled, it would fail the run.
  pool.on("error", () => undefined);
  try {
    return (await pool.query<T>(sql)).rows;
  } finally {
    await pool.end();
  }
}

/** Runs `sql` through this tool's own URL parser (libpq semantics, scripts/kernel/db.ts). */
function throughUmamiDb<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  return withClient(parseDatabaseUrl(url), async (c) => (await c.query<T>(sql)).rows);
}

const SHOW =
  "SELECT pg_catalog.current_setting('statement_timeout') AS timeout, pg_catalog.current_setting('search_path') AS path";
const LONGER_THAN_GUARD = `SELECT true AS slept FROM pg_catalog.pg_sleep(${(GUARD_MS * 3) / 1000})`;

describe("the statement timeout through each URL", () => {
  it("bounds Umami's runtime: DATABASE_URL has the role's guard and a runaway query is cancelled", async () => {
    for (const read of [throughNodePg, throughUmamiDb]) {
      expect(await read(secret.DATABASE_URL, SHOW)).toEqual([{ timeout: `${GUARD_MS}ms`, path: "umami" }]);
      await expect(read(secret.DATABASE_URL, LONGER_THAN_GUARD)).rejects.toThrow(
        "canceling statement due to statement timeout",
      );
    }
  });

  it("lifts it for migrations: DIRECT_DATABASE_URL's startup options beat the role's setting", async () => {
    for (const read of [throughNodePg, throughUmamiDb]) {
      expect(await read(secret.DIRECT_DATABASE_URL, SHOW)).toEqual([{ timeout: "0", path: "umami" }]);
      expect(await read(secret.DIRECT_DATABASE_URL, LONGER_THAN_GUARD)).toEqual([{ slept: true }]);
    }
    // Where the value comes from: the client's startup packet, not the role (pg_settings.source).
    const [source] = await throughNodePg<{ source: string }>(
      secret.DIRECT_DATABASE_URL,
      "SELECT source FROM pg_catalog.pg_settings WHERE name = 'statement_timeout'",
    );
    expect(source).toEqual({ source: "client" });
  });
});

describe("the connection limit", () => {
  it("holds two of Umami's pools of 10 at once (a rolling deploy) with zero connection errors", async () => {
    expect(spec.role.connectionLimit).toBe(22);
    const pools = [0, 1].map(() =>
      new pg.Pool({ connectionString: secret.DATABASE_URL, max: 10 }).on("error", () => undefined),
    );
    try {
      // 20 queries that each hold a connection long enough for all of them to be open together.
      const runs = pools.flatMap((pool) =>
        Array.from({ length: 10 }, () =>
          pool.query("SELECT pg_catalog.pg_sleep(0.1)").then(
            () => "ok",
            (e: unknown) => (e as Error).message,
          ),
        ),
      );
      const results = await Promise.all(runs);
      expect(results.filter((r) => r !== "ok")).toEqual([]);
      const [{ n }] = await throughUmamiDb<{ n: number }>(
        secret.DIRECT_DATABASE_URL,
        "SELECT rolconnlimit AS n FROM pg_catalog.pg_roles WHERE rolname = current_user",
      );
      expect(n).toBe(22);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});
