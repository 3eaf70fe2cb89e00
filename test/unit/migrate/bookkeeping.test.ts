/**
 * The pure parts of the Prisma bookkeeping: the table's DDL, the failure text Prisma stores in `logs`, and the
 * one-line messages — checked against exact strings.
 */
import { describe, expect, it } from "vitest";
import { ChecksumMismatchError, FailedMigrationsError, shortChecksum } from "../../../scripts/migrate/errors.js";
import {
  buildMigrationsTableDdl,
  lineOf,
  PRISMA_ADVISORY_LOCK_KEY,
  renderApplyMigrationError,
} from "../../../scripts/migrate/bookkeeping.js";

describe("_prisma_migrations DDL", () => {
  it("is Prisma's column list, qualified with the quoted schema", () => {
    expect(buildMigrationsTableDdl('Umami "x"')).toBe(`
    CREATE TABLE "Umami ""x"""."_prisma_migrations" (
        id                      VARCHAR(36) PRIMARY KEY NOT NULL,
        checksum                VARCHAR(64) NOT NULL,
        finished_at             TIMESTAMPTZ,
        migration_name          VARCHAR(255) NOT NULL,
        logs                    TEXT,
        rolled_back_at          TIMESTAMPTZ,
        started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
        applied_steps_count     INTEGER NOT NULL DEFAULT 0
    )`);
  });

  it("uses Prisma Migrate's advisory lock key", () => {
    expect(PRISMA_ADVISORY_LOCK_KEY).toBe(72707369n);
  });
});

describe("failure text", () => {
  const script = "CREATE TABLE a (id int);\n\nINSERT INTO nope VALUES (1);\n";

  it("finds the line of a PostgreSQL error position (characters, from 1)", () => {
    expect(lineOf(script, 1)).toBe(1);
    expect(lineOf(script, script.indexOf("nope") + 1)).toBe(3);
  });

  it("is Prisma's P3018 message, with the lines up to the error", () => {
    const position = String(script.indexOf("nope") + 1);
    expect(
      renderApplyMigrationError("02_x", script, { code: "42P01", message: 'relation "nope" does not exist', position }),
    ).toBe(
      "A migration failed to apply. New migrations cannot be applied before the error is recovered from. " +
        "Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n\n" +
        'Migration name: 02_x\n\nDatabase error code: 42P01\n\nDatabase error:\nERROR: relation "nope" does not exist\n\n' +
        "Position:\n  1 CREATE TABLE a (id int);\n  2 \n  3 INSERT INTO nope VALUES (1);\n",
    );
  });
});

describe("messages", () => {
  it("names an edited migration with both checksums, shortened", () => {
    const error = new ChecksumMismatchError("03_metric_performance_index", "3fa0b1c2d3e4f5", "baf86a7adc077bc4");
    expect(error.message).toBe(
      "Migration 03_metric_performance_index was edited after it was applied (checksum 3fa0b1c2d3… ≠ recorded baf86a7adc…). It is not applied again; restore the file or add a new migration.",
    );
    expect(shortChecksum("abc")).toBe("abc");
  });

  it("reports a failed migration as P3009 on one line, with the way out", () => {
    const logs = renderApplyMigrationError("02_x", "SELECT 1/0;", { code: "22012", message: "division by zero" });
    const error = new FailedMigrationsError("umami", [
      {
        id: "i",
        checksum: "c",
        finished_at: null,
        migration_name: "02_x",
        logs,
        rolled_back_at: null,
        started_at: "2026-11-25T12:00:00.000000Z",
        applied_steps_count: 0,
      },
    ]);
    expect(error.message).toBe(
      "Found failed migration 02_x in umami._prisma_migrations (Prisma P3009: migrate found failed migrations in the target database, new migrations will not be applied). " +
        "02_x started at 2026-11-25T12:00:00.000000Z failed: ERROR: division by zero. Undo whatever it changed (if anything), then run " +
        '`umami-db migrate resolve --rolled-back 02_x` (same as `prisma migrate resolve --rolled-back "02_x"`) and migrate again; see https://pris.ly/d/migrate-resolve.',
    );
  });
});
