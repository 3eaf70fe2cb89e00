/**
 * `umami-db local --keep` keeps the embedded server's data directory; `restartCommand` (printed by local)
 * must bring that server back as it was: same port, loopback only, pg_stat_statements preloaded.
 */
import { execSync } from "node:child_process";
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { parseDatabaseUrl, withClient } from "../../../scripts/kernel/db.js";
import { startEmbeddedPostgres, type EmbeddedServer } from "../../../scripts/local/embedded.js";

let server: EmbeddedServer | undefined;
afterAll(() => {
  if (server?.restartCommand)
    execSync(`${server.restartCommand.replace(/ -l \S+ start/, " stop -m fast")} || true`, { stdio: "ignore" });
  if (server) rmSync(server.dataDir, { recursive: true, force: true });
});

describe("a kept embedded server", () => {
  it("starts again with the printed command, on the same port with the same settings", async () => {
    server = await startEmbeddedPostgres({ keep: true });
    const superuser = parseDatabaseUrl(server.superuserUrl);
    await withClient(superuser, (c) => c.query("CREATE DATABASE kept_marker"));
    await server.stop();
    await expect(withClient({ ...superuser, connectTimeoutMs: 2000 }, (c) => c.query("SELECT 1"))).rejects.toThrow(
      /connection refused/i,
    );

    expect(server.restartCommand).toMatch(/pg_ctl -D \S+ -l \S+server\.log start/);
    execSync(server.restartCommand!, { stdio: "ignore", cwd: "/tmp" });
    const settings = await withClient(superuser, async (c) => {
      const { rows } = await c.query<{ preload: string; listen: string; port: string; marker: boolean }>(
        `SELECT current_setting('shared_preload_libraries') AS preload, current_setting('listen_addresses') AS listen,
                current_setting('port') AS port, EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = 'kept_marker') AS marker`,
      );
      return rows[0];
    });
    expect(settings).toEqual({
      preload: "pg_stat_statements",
      listen: "127.0.0.1",
      port: String(server.port),
      marker: true,
    });
  });
});
