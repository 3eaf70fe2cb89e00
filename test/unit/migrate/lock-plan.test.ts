/**
 * The dry run's lock plan, pure: statements split as PostgreSQL's lexer splits them, each statement's lock and
 * work, and Umami 3.1.0's own migrations 05..19 against a grown 2.10.0 schema's estimates.
 */
import { UMAMI_RELEASES as MIRROR } from "../../support/migrations.js";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  deployImpact,
  describeImpact,
  formatBytes,
  type TableEstimate,
} from "../../../scripts/migrate/deploy-impact.js";
import { heldLocks, planStatements } from "../../../scripts/migrate/lock-plan.js";
import { splitStatements } from "../../../scripts/migrate/statements.js";
import { readMigrationsDirectory } from "../../../scripts/migrate/sources.js";

const plan = (sql: string, indexes: [string, string][] = []) =>
  planStatements(sql, new Map(indexes)).map(({ table, line, lock, work, what }) => ({ table, line, lock, work, what }));

describe("splitStatements", () => {
  it("ends statements only at semicolons outside comments, strings, quoted names and dollar quotes; counts lines from 1", () => {
    const sql = [
      "-- a comment; not a statement",
      "/* block ; /* nested ; */ still ; */ CREATE TABLE \"a;b\" (x text DEFAULT 'it''s; fine');",
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;",
      "SELECT E'\\';'",
      ";",
    ].join("\n");
    const statements = splitStatements(sql);
    expect(statements.map((s) => s.line)).toEqual([2, 3, 4]);
    expect(statements[0].tokens.slice(0, 4)).toEqual([
      { kind: "word", value: "create" },
      { kind: "word", value: "table" },
      { kind: "quoted", value: "a;b" },
      { kind: "punct", value: "(" },
    ]);
    expect(statements[0].tokens.find((t) => t.kind === "string")?.value).toBe("it's; fine");
    expect(statements[1].tokens.find((t) => t.kind === "string")?.value).toBe(" SELECT 1; ");
    expect(statements[2].tokens.at(-1)).toEqual({ kind: "string", value: "';" });
  });
});

describe("planStatements", () => {
  it("ADD COLUMN: a catalog change, unless its default differs per row (then a rewrite)", () => {
    expect(
      plan(
        'ALTER TABLE "t" ADD COLUMN "a" UUID NULL, ADD COLUMN b int DEFAULT 0, ADD COLUMN c timestamptz DEFAULT now();',
      ),
    ).toEqual([
      { table: "t", line: 1, lock: "ACCESS EXCLUSIVE", work: "catalog", what: "ADD COLUMN a" },
      { table: "t", line: 1, lock: "ACCESS EXCLUSIVE", work: "catalog", what: "ADD COLUMN b" },
      { table: "t", line: 1, lock: "ACCESS EXCLUSIVE", work: "catalog", what: "ADD COLUMN c" },
    ]);
    expect(
      plan(
        "ALTER TABLE t ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();\nALTER TABLE t ADD COLUMN n bigserial;",
      ),
    ).toEqual([
      {
        table: "t",
        line: 1,
        lock: "ACCESS EXCLUSIVE",
        work: "rewrite",
        what: "ADD COLUMN id (a per-row default: rewrites the table)",
      },
      {
        table: "t",
        line: 2,
        lock: "ACCESS EXCLUSIVE",
        work: "rewrite",
        what: "ADD COLUMN n (a per-row default: rewrites the table)",
      },
    ]);
  });

  it("type changes rewrite; SET NOT NULL, CHECK and FOREIGN KEY read every row; NOT VALID does not", () => {
    expect(
      plan('ALTER TABLE "report" ALTER COLUMN "parameters" SET DATA TYPE JSONB USING parameters::JSONB;').map((o) => [
        o.lock,
        o.work,
      ]),
    ).toEqual([["ACCESS EXCLUSIVE", "rewrite"]]);
    expect(plan("ALTER TABLE e ALTER COLUMN v SET NOT NULL;")[0]).toMatchObject({
      lock: "ACCESS EXCLUSIVE",
      work: "scan",
    });
    expect(plan("ALTER TABLE e ADD CONSTRAINT c CHECK (v > 0);")[0]).toMatchObject({
      lock: "ACCESS EXCLUSIVE",
      work: "scan",
    });
    expect(plan("ALTER TABLE e ADD CONSTRAINT f FOREIGN KEY (w) REFERENCES w (id);")[0]).toMatchObject({
      lock: "SHARE ROW EXCLUSIVE",
      work: "scan",
    });
    expect(plan("ALTER TABLE e ADD CONSTRAINT f FOREIGN KEY (w) REFERENCES w (id) NOT VALID;")[0]).toMatchObject({
      lock: "SHARE ROW EXCLUSIVE",
      work: "catalog",
    });
    expect(plan("ALTER TABLE e ADD PRIMARY KEY (id);")[0]).toMatchObject({ lock: "ACCESS EXCLUSIVE", work: "index" });
  });

  it("CREATE INDEX takes SHARE (writes wait), CONCURRENTLY takes SHARE UPDATE EXCLUSIVE; DROP INDEX locks the index's table", () => {
    expect(
      plan(
        'CREATE INDEX "i" ON "website_event"("visit_id");\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS j ON ONLY umami.website_event (a);\nDROP INDEX IF EXISTS "i", "k";',
        [["k", "session"]],
      ),
    ).toEqual([
      { table: "website_event", line: 1, lock: "SHARE", work: "index", what: "CREATE INDEX i" },
      {
        table: "website_event",
        line: 2,
        lock: "SHARE UPDATE EXCLUSIVE",
        work: "index",
        what: "CREATE UNIQUE INDEX CONCURRENTLY (fails inside a migration's transaction) j",
      },
      { table: "website_event", line: 3, lock: "ACCESS EXCLUSIVE", work: "catalog", what: "DROP INDEX i" },
      { table: "session", line: 3, lock: "ACCESS EXCLUSIVE", work: "catalog", what: "DROP INDEX k" },
    ]);
  });

  it("UPDATE, DELETE and INSERT … SELECT take ROW EXCLUSIVE; tables the script creates are left out", () => {
    expect(
      plan(
        'CREATE TABLE "n" (id int);\nALTER TABLE n ADD COLUMN x int;\nUPDATE "website_event" we SET a = 1 FROM s;\nDELETE FROM "report" WHERE type = \'x\';\nINSERT INTO "share" SELECT 1;',
      ),
    ).toEqual([
      { table: "website_event", line: 3, lock: "ROW EXCLUSIVE", work: "update", what: "UPDATE (every row)" },
      { table: "report", line: 4, lock: "ROW EXCLUSIVE", work: "delete", what: "DELETE (the rows its WHERE matches)" },
      { table: "share", line: 5, lock: "ROW EXCLUSIVE", work: "insert", what: "INSERT … SELECT" },
    ]);
  });
});

describe("what destroys data, in any syntactic form", () => {
  const destroys = (sql: string) =>
    planStatements(sql, new Map())
      .filter((o) => o.destroys)
      .map((o) => `${o.line} ${o.table}: ${o.destroys}`);

  it.each([
    [
      "a CTE, then DELETE … USING (Umami 3.2's session_data de-duplication)",
      'WITH ranked AS (\n  SELECT session_id, row_number() OVER (PARTITION BY session_id ORDER BY created_at DESC) AS rn FROM "session_data"\n)\nDELETE FROM "session_data" USING ranked WHERE "session_data".session_id = ranked.session_id AND ranked.rn > 1;',
      ["1 session_data: deletes rows"],
    ],
    [
      "WITH RECURSIVE, a column list and MATERIALIZED",
      "WITH RECURSIVE r (id) AS MATERIALIZED (SELECT 1), s AS NOT MATERIALIZED (SELECT 2) DELETE FROM ONLY umami.website_event * WHERE event_id IN (SELECT id FROM r);",
      ["1 website_event: deletes rows"],
    ],
    [
      "a data-modifying CTE with RETURNING",
      "WITH gone AS (DELETE FROM \"Report\" r WHERE r.type = 'x' RETURNING r.*) INSERT INTO report_archive SELECT * FROM gone;",
      ["1 Report: deletes rows"],
    ],
    [
      "a CTE that updates, then a SELECT",
      "with moved as (update session set region = 'x' returning 1) select count(*) from moved;",
      ["1 session: updates rows"],
    ],
    [
      "UPDATE … FROM with an alias",
      'UPDATE "website_event" AS we SET visit_id = v.id FROM visits v WHERE we.session_id = v.session_id;',
      ["1 website_event: updates rows"],
    ],
    ["DELETE without WHERE", "DELETE FROM session_data;", ["1 session_data: deletes rows"]],
    [
      "TRUNCATE of several tables",
      'TRUNCATE TABLE ONLY "event_data", umami.session_data RESTART IDENTITY CASCADE;',
      ["1 event_data: deletes rows", "1 session_data: deletes rows"],
    ],
    [
      "DROP TABLE",
      'DROP TABLE IF EXISTS "team_user", team CASCADE;',
      ["1 team_user: drops data", "1 team: drops data"],
    ],
    [
      "ALTER TABLE … DROP COLUMN, with and without COLUMN",
      'ALTER TABLE "session" DROP COLUMN IF EXISTS "hostname", DROP subdivision2, ADD COLUMN x int;',
      ["1 session: drops data", "1 session: drops data"],
    ],
    [
      "INSERT … ON CONFLICT DO UPDATE",
      "INSERT INTO session (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET region = EXCLUDED.region;",
      ["1 session: updates rows"],
    ],
    [
      "MERGE … THEN DELETE",
      "MERGE INTO website w USING gone g ON w.id = g.id WHEN MATCHED THEN DELETE;",
      ["1 website: deletes rows"],
    ],
    [
      "a DO block",
      "DO $$\nBEGIN\n  DELETE FROM report WHERE type = 'old';\n  UPDATE \"user\" SET role = 'user';\nEND\n$$;",
      ["1 report: deletes rows", "1 user: updates rows"],
    ],
  ])("%s", (_name, sql, expected) => {
    expect(destroys(sql)).toEqual(expected);
  });

  it("names nothing for statements that keep every row", () => {
    expect(
      destroys(
        "WITH x AS (SELECT 1) SELECT * FROM x;\nCREATE INDEX i ON t (a);\nALTER TABLE t DROP CONSTRAINT c, ADD COLUMN d int;\nINSERT INTO t VALUES (1) ON CONFLICT DO NOTHING;\nDROP INDEX i;",
      ),
    ).toEqual([]);
  });

  it("the plan says it with the table's row estimate, first, even on a small table", () => {
    const estimates: TableEstimate[] = [
      { table: "session_data", rows: 12_345, tableBytes: 8192 * 10, indexBytes: 8192, indexes: [] },
      { table: "session", rows: 40, tableBytes: 8192, indexBytes: 0, indexes: [] },
    ];
    const pending = [
      {
        name: "26_dedupe_session_data",
        checksum: "",
        sql: 'WITH ranked AS (SELECT id, row_number() OVER (PARTITION BY session_id, data_key ORDER BY created_at DESC) AS rn FROM "session_data")\nDELETE FROM "session_data" USING ranked WHERE "session_data".id = ranked.id AND ranked.rn > 1;\nCREATE UNIQUE INDEX "session_data_key" ON "session_data" ("session_id", "data_key");',
      },
      { name: "27_drop_column", checksum: "", sql: 'ALTER TABLE "session" DROP COLUMN "hostname";' },
    ];
    const lines = describeImpact(deployImpact(pending, estimates));
    expect(lines.slice(0, 3)).toEqual([
      "Data the pending migrations destroy (back it up first if it matters):",
      "  26_dedupe_session_data — session_data (~12,345 rows, 80.0 kB + 8.0 kB indexes): deletes rows; line 1 DELETE (the rows its WHERE matches)",
      "  27_drop_column — session (~40 rows, 8.0 kB + 0 bytes indexes): drops data; line 1 DROP COLUMN hostname (its data is deleted)",
    ]);
    expect(lines).toContain(
      "  26_dedupe_session_data — session_data (~12,345 rows, 80.0 kB + 8.0 kB indexes): SHARE, blocks writes; builds indexes; deletes rows",
    );
    expect(
      describeImpact(
        deployImpact([{ name: "01", checksum: "", sql: "ALTER TABLE session ADD COLUMN x int;" }], estimates),
      )[0],
    ).toBe("No pending migration deletes, updates or drops existing data.");
    // A table an earlier pending migration of the same upgrade creates holds no data yet: not in the destroy list.
    const boards = describeImpact(
      deployImpact(
        [
          {
            name: "16_boards",
            checksum: "",
            sql: 'CREATE TABLE "board" ("board_id" UUID NOT NULL, "slug" VARCHAR(100));',
          },
          { name: "17_remove_duplicate_key", checksum: "", sql: 'ALTER TABLE "board" DROP COLUMN "slug";' },
        ],
        estimates,
      ),
    );
    expect(boards.slice(0, 2)).toEqual([
      "No pending migration deletes, updates or drops existing data.",
      "  17_remove_duplicate_key — board: drops data in a table 16_boards creates earlier in this upgrade, so it holds no data yet (unless a pending migration fills it); line 1 DROP COLUMN slug (its data is deleted)",
    ]);
  });
});

describe("Umami 3.1.0 after 2.10.0, on a grown database", () => {
  const set = readMigrationsDirectory(resolve(MIRROR, "v3.1.0/prisma/migrations"));
  const pending = set.migrations.filter((m) => m.name >= "05");
  const table = (name: string, rows: number, mb: number, indexes: string[] = []): TableEstimate => ({
    table: name,
    rows,
    tableBytes: mb * 1024 * 1024,
    indexBytes: 0,
    indexes,
  });
  const estimates = [
    table("website_event", 3_000_000, 900),
    table("session", 300_000, 60, [
      "session_session_id_key",
      "session_website_id_created_at_hostname_idx",
      "session_website_id_created_at_subdivision1_idx",
    ]),
    table("website", 20, 0.01, ["website_share_id_idx", "website_share_id_key", "website_website_id_key"]),
    table("event_data", 0, 0, ["event_data_website_id_created_at_event_key_idx"]),
    table("report", 0, 0),
    table("session_data", 0, 0),
    table("team", 1, 0, ["team_team_id_key"]),
    table("team_user", 1, 0, ["team_user_team_user_id_key"]),
    table("user", 1, 0, ["user_user_id_key"]),
  ];
  const impact = deployImpact(pending, estimates);

  it("05_add_visit_id holds ACCESS EXCLUSIVE on website_event while it updates every row, checks NOT NULL and builds two indexes", () => {
    const visit = impact.find((i) => i.migration === "05_add_visit_id")!;
    expect(visit.long).toBe(true);
    expect(visit.tables).toEqual([
      {
        table: "website_event",
        lock: "ACCESS EXCLUSIVE",
        blocks: "reads and writes",
        work: "update",
        big: true,
        rows: 3_000_000,
        tableBytes: 900 * 1024 * 1024,
        indexBytes: 0,
        exists: true,
        destroys: ["updates rows"],
        operations: [
          { line: 2, lock: "ACCESS EXCLUSIVE", work: "catalog", what: "ADD COLUMN visit_id" },
          // Its WHERE is the join to the visits it computed: in fact every row.
          {
            line: 4,
            lock: "ROW EXCLUSIVE",
            work: "update",
            what: "UPDATE (the rows its WHERE matches)",
            destroys: "updates rows",
          },
          {
            line: 16,
            lock: "ACCESS EXCLUSIVE",
            work: "scan",
            what: "ALTER COLUMN visit_id SET NOT NULL (checks every row)",
          },
          { line: 19, lock: "SHARE", work: "index", what: "CREATE INDEX website_event_visit_id_idx" },
          {
            line: 22,
            lock: "SHARE",
            work: "index",
            what: "CREATE INDEX website_event_website_id_visit_id_created_at_idx",
          },
        ],
      },
    ]);
  });

  it("names exactly the migrations that do long work on big tables; tables created by 11..19 never appear", () => {
    expect(impact.filter((i) => i.long).map((i) => i.migration)).toEqual([
      "05_add_visit_id",
      "07_add_tag",
      "09_update_hostname_region",
    ]);
    expect(impact.flatMap((i) => i.tables.map((t) => t.table))).not.toContain("segment");
    const byMigration = Object.fromEntries(
      impact.map((i) => [i.migration, i.tables.map((t) => `${t.table}:${t.lock}:${t.work}`)]),
    );
    expect(byMigration["08_add_utm_clid"]).toEqual(["website_event:ACCESS EXCLUSIVE:catalog"]);
    expect(byMigration["12_update_report_parameter"]).toEqual(["report:ACCESS EXCLUSIVE:rewrite"]);
    expect(byMigration["17_remove_duplicate_key"]).toEqual([
      "session:ACCESS EXCLUSIVE:catalog",
      "team:ACCESS EXCLUSIVE:catalog",
      "team_user:ACCESS EXCLUSIVE:catalog",
      "user:ACCESS EXCLUSIVE:catalog",
      "website:ACCESS EXCLUSIVE:catalog",
    ]);
  });

  it("renders one line per migration and table, the window to plan, and first the data it destroys", () => {
    const lines = describeImpact(impact);
    expect(lines).toContain(
      "  05_add_visit_id — website_event (~3,000,000 rows, 900.0 MB + 0 bytes indexes, big): ACCESS EXCLUSIVE, blocks reads and writes; updates rows",
    );
    expect(lines.at(-1)).toBe(
      "  Catalog changes only, on small tables (a brief ACCESS EXCLUSIVE once granted): 10_add_distinct_id (session_data), 17_remove_duplicate_key (team, team_user, user, website), 19_add_session_replay (website)",
    );
    // 15_add_share drops website.share_id: never folded into the brief catalog changes.
    expect(lines).toContain(
      "  15_add_share — website (~20 rows, 10.2 kB + 0 bytes indexes): ACCESS EXCLUSIVE, blocks reads and writes; catalog change only (instant once the lock is granted); drops data",
    );
    const destroyed = lines.slice(0, lines.indexOf(lines.find((l) => l.startsWith("Plan a window"))!));
    expect(destroyed[0]).toBe("Data the pending migrations destroy (back it up first if it matters):");
    expect(destroyed.slice(1).map((l) => l.split(";")[0])).toEqual([
      "  05_add_visit_id — website_event (~3,000,000 rows, 900.0 MB + 0 bytes indexes): updates rows",
      "  06_session_data — session_data (~0 rows, 0 bytes + 0 bytes indexes): drops data",
      "  09_update_hostname_region — website_event (~3,000,000 rows, 900.0 MB + 0 bytes indexes): updates rows",
      "  09_update_hostname_region — session (~300,000 rows, 60.0 MB + 0 bytes indexes): drops data",
      "  14_add_link_and_pixel — report (~0 rows, 0 bytes + 0 bytes indexes): deletes rows, updates rows",
      "  15_add_share — website (~20 rows, 10.2 kB + 0 bytes indexes): drops data",
      // Created by 16_boards in the same deploy: named, and its size said to be unknown.
      // 16_boards creates board in the same upgrade: it holds no data yet, said so apart from the real losses.
      "  19_add_session_replay — board: drops data in a table 16_boards creates earlier in this upgrade, so it holds no data yet (unless a pending migration fills it)",
    ]);
    expect(lines[destroyed.length]).toBe(
      "Plan a window for 05_add_visit_id (website_event), 07_add_tag (website_event), 09_update_hostname_region (website_event, session): they rewrite, update, scan or index big tables while holding these locks.",
    );
    expect(formatBytes(1_181_116_006)).toBe("1.1 GB");
  });
});

describe("heldLocks", () => {
  const release = readMigrationsDirectory(resolve(MIRROR, "v3.1.0", "prisma", "migrations"));
  const sql = (name: string) => release.migrations.find((m) => m.name === name)!.sql;

  it("names the strongest lock per table, held to commit, not the last statement's", () => {
    expect(heldLocks(sql("05_add_visit_id"))).toEqual([{ table: "website_event", lock: "ACCESS EXCLUSIVE" }]);
    expect(heldLocks(sql("09_update_hostname_region"))).toEqual([
      { table: "website_event", lock: "ACCESS EXCLUSIVE" },
      { table: "session", lock: "ACCESS EXCLUSIVE" },
    ]);
    expect(heldLocks("CREATE INDEX i ON t (a);\nALTER TABLE u ADD COLUMN b int;\nCREATE INDEX j ON u (b);")).toEqual([
      { table: "t", lock: "SHARE" },
      { table: "u", lock: "ACCESS EXCLUSIVE" },
    ]);
  });
});
