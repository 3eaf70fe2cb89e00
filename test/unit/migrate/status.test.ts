/**
 * `migrate status` as Prisma 7 decides it: prisma-engines' diagnose_migration_history.rs for what counts as
 * unapplied, edited, failed and unpersisted, @prisma/migrate's MigrateStatus.ts for the exit code. An edited
 * migration and a database ahead of the folder are reported with exit 0; `--strict` fails on them. Umami's
 * own edit between releases (npm's pre-release 04 → the release's) is named as such.
 */
import { describe, expect, it } from "vitest";
import type { MigrationRow } from "../../../scripts/migrate/bookkeeping.js";
import { prismaChecksum } from "../../../scripts/migrate/bookkeeping.js";
import { loadMigrations, type Migration } from "../../../scripts/migrate/sources.js";
import { NPM_PRERELEASE_COPY } from "../../../scripts/migrate/sources/releases.js";
import { diagnoseMigrations, statusVerdict } from "../../../scripts/migrate/status.js";
import { join } from "node:path";
import { UMAMI_RELEASES, testSourceOptions } from "../../support/migrations.js";

const MIRROR = UMAMI_RELEASES;
const v3 = (await loadMigrations(join(MIRROR, "v3.1.0/prisma/migrations"), testSourceOptions())).migrations;
const v2 = (await loadMigrations(join(MIRROR, "v2.10.0/db/postgresql/migrations"), testSourceOptions())).migrations;

let clock = 0;
function row(name: string, checksum: string, state: "applied" | "failed" | "rolled-back" = "applied"): MigrationRow {
  const at = new Date(Date.UTC(2026, 0, 1, 0, 0, clock++)).toISOString();
  return {
    id: `id-${clock}`,
    checksum,
    migration_name: name,
    started_at: at,
    finished_at: state === "failed" || state === "rolled-back" ? null : at,
    rolled_back_at: state === "rolled-back" ? at : null,
    logs: null,
    applied_steps_count: state === "applied" ? 1 : 0,
  };
}
const applied = (migrations: readonly Migration[]) => migrations.map((m) => row(m.name, m.checksum));
const status = (migrations: readonly Migration[], rows: MigrationRow[], hasTable = true) =>
  diagnoseMigrations("umami", migrations, rows, hasTable);

describe("Prisma's diagnosis and verdict", () => {
  it("in sync: up to date, exit 0", () => {
    const s = status(v3, applied(v3));
    expect(s).toMatchObject({
      history: null,
      pending: [],
      failed: [],
      modified: [],
      missingLocally: [],
      upToDate: true,
    });
    expect(statusVerdict(s)).toEqual({ exitCode: 0, lines: ["Database schema is up to date!"] });
  });

  it("an edited applied migration: reported, exit 0 (Prisma ignores it); exit 1 with --strict", () => {
    const edited = v3.map((m) =>
      m.name === "07_add_tag" ? { ...m, sql: `${m.sql}-- edit\n`, checksum: prismaChecksum(`${m.sql}-- edit\n`) } : m,
    );
    const s = status(edited, applied(v3));
    expect(s.modified.map((m) => [m.name, m.changedByUmami])).toEqual([["07_add_tag", false]]);
    expect(s.upToDate).toBe(true);
    const lenient = statusVerdict(s);
    expect(lenient.exitCode).toBe(0);
    expect(lenient.lines).toEqual([
      expect.stringMatching(
        /^ {2}EDITED {3}Migration 07_add_tag was edited after it was applied \(checksum [0-9a-f]{10}… ≠ recorded c38c9605d7…\)\. .* \(reported; Prisma's status ignores it, --strict fails on it\)$/,
      ),
      "Database schema is up to date!",
    ]);
    expect(statusVerdict(s, { strict: true }).exitCode).toBe(1);
  });

  it("names npm's pre-release 04 → the release's 04 as Umami's own change between releases", () => {
    const npmRows = applied(v2).map((r) =>
      r.migration_name === "04_team_redesign" ? { ...r, checksum: NPM_PRERELEASE_COPY.differs["04_team_redesign"] } : r,
    );
    const s = status(v3, [...npmRows, ...applied(v3.slice(4))]);
    expect(s.modified).toEqual([
      {
        name: "04_team_redesign",
        fileChecksum: "eb0e4ae2ef5204bc67ddb248358a402cd3bd88567d710f808f16c5124e5fd9cb",
        recordedChecksum: "83afff5fe5fb58062ef3590cc1da45e991a7f905cb6ba52691450d77fdf4ef24",
        changedByUmami: true,
        message:
          "Migration 04_team_redesign was changed by Umami between releases: the database applied it as shipped in npm's umami@2.10.0 (a pre-release copy), checksum 83afff5fe5…; " +
          "the folder has it as shipped in Umami v2.10.0 and v3.1.0, checksum eb0e4ae2ef…. The database therefore lacks user.display_name and website.created_by, which the release adds.",
      },
    ]);
    const verdict = statusVerdict(s);
    expect(verdict.exitCode).toBe(0);
    expect(verdict.lines[0]).toMatch(
      /^ {2}CHANGED {2}Migration 04_team_redesign was changed by Umami between releases/,
    );
  });

  it("a database ahead of the folder (a newer Umami ran): Prisma's migrationsDirectoryIsBehind, exit 0; exit 1 with --strict", () => {
    const s = status(v2, applied(v3));
    expect(s.history).toEqual({
      diagnostic: "migrationsDirectoryIsBehind",
      unpersistedMigrationNames: v3.slice(4).map((m) => m.name),
    });
    expect(s.missingLocally).toHaveLength(15);
    const verdict = statusVerdict(s);
    expect(verdict.exitCode).toBe(0);
    expect(verdict.lines).toEqual([
      expect.stringMatching(
        /^ {2}AHEAD {4}The following migration\(s\) are applied to the database but missing from the local migrations directory: 05_add_visit_id, 06_session_data, .*, 19_add_session_replay \(reported; /,
      ),
      "Database schema is up to date!",
    ]);
    expect(statusVerdict(s, { strict: true }).exitCode).toBe(1);
  });

  it("unapplied migrations: databaseIsBehind, exit 1", () => {
    const s = status(v3, applied(v2));
    expect(s.history).toEqual({
      diagnostic: "databaseIsBehind",
      unappliedMigrationNames: v3.slice(4).map((m) => m.name),
    });
    expect(statusVerdict(s).exitCode).toBe(1);
  });

  it("histories that diverge, exit 1 with the last common migration", () => {
    const s = status(v3.slice(0, 5), [...applied(v3.slice(0, 4)), row("05_someone_elses", "x".repeat(64))]);
    expect(s.history).toEqual({
      diagnostic: "historiesDiverge",
      lastCommonMigrationName: "04_team_redesign",
      unpersistedMigrationNames: ["05_someone_elses"],
      unappliedMigrationNames: ["05_add_visit_id"],
    });
    const verdict = statusVerdict(s, {});
    expect(verdict.exitCode).toBe(1);
    expect(verdict.lines[0]).toBe(
      "Your local migration history and the migrations table from your database are different (last common migration: 04_team_redesign).",
    );
  });

  it("a failed migration, and no _prisma_migrations at all, exit 1", () => {
    const failed = status(v2, [...applied(v2.slice(0, 3)), row("04_team_redesign", v2[3].checksum, "failed")]);
    expect(failed).toMatchObject({ failed: ["04_team_redesign"], history: null, upToDate: false });
    expect(statusVerdict(failed).exitCode).toBe(1);
    const unmanaged = status(v2, [], false);
    expect(statusVerdict(unmanaged).lines[0]).toBe(
      "The current database is not managed by Prisma Migrate: umami has no _prisma_migrations.",
    );
    expect(statusVerdict(unmanaged).exitCode).toBe(1);
  });

  it("follows Prisma's rows: a rolled-back attempt counts as recorded (edited against the first row), yet deploy would apply it", () => {
    const broken = { ...v2[3], checksum: prismaChecksum("broken") };
    // Only a rolled-back row: Prisma's status sees no unapplied migration; its deploy applies it. We say pending.
    const rolledBack = status(v2, [
      ...applied(v2.slice(0, 3)),
      row("04_team_redesign", broken.checksum, "rolled-back"),
    ]);
    expect(rolledBack).toMatchObject({ history: null, pending: ["04_team_redesign"], upToDate: true });
    expect(statusVerdict(rolledBack).exitCode).toBe(1);
    // Re-applied after the fix: Prisma compares the file with the first row, the rolled-back one, and lists it as edited.
    const fixed = status(v2, [
      ...applied(v2.slice(0, 3)),
      row("04_team_redesign", broken.checksum, "rolled-back"),
      row("04_team_redesign", v2[3].checksum),
    ]);
    expect(fixed.modified.map((m) => m.name)).toEqual(["04_team_redesign"]);
    expect(statusVerdict(fixed).exitCode).toBe(0);
  });
});
