/**
 * The dry run's lock plan, pure: statements split as PostgreSQL's lexer splits them, each statement's lock and
 * work, and Umami 3.1.0's own migrations 05..19 against a grown 2.10.0 schema's estimates.
 */
import { UMAMI_RELEASES as MIRROR } from "../../support/migrations.js";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { deployImpact, describeImpact, formatBytes, type TableEstimate } from "../../../scripts/migrate/deploy-impact.js";
import { planStatements } from "../../../scripts/migrate/lock-plan.js";
import { splitStatements } from "../../../scripts/migrate/statements.js";
import { readMigrationsDirectory } from "../../../scripts/migrate/sources.js";


const plan = (sql: string, indexes: [string, string][] = []) => planStatements(sql, new Map(indexes)).map(({ table, line, lock, work, what }) => ({ table, line, lock, work, what }));

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
    expect(plan('ALTER TABLE "t" ADD COLUMN "a" UUID NULL, ADD COLUMN b int DEFAULT 0, ADD COLUMN c timestamptz DEFAULT now();')).toEqual([
      { table: "t", line: 1, lock: "ACCESS EXCLUSIVE", work: "catalog", what: "ADD COLUMN a" },
      { table: "t", line: 1, lock: "ACCESS EXCLUSIVE", work: "catalog", what: "ADD COLUMN b" },
      { table: "t", line: 1, lock: "ACCESS EXCLUSIVE", work: "catalog", what: "ADD COLUMN c" },
    ]);
    expect(plan("ALTER TABLE t ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();\nALTER TABLE t ADD COLUMN n bigserial;")).toEqual([
      { table: "t", line: 1, lock: "ACCESS EXCLUSIVE", work: "rewrite", what: "ADD COLUMN id (a per-row default: rewrites the table)" },
      { table: "t", line: 2, lock: "ACCESS EXCLUSIVE", work: "rewrite", what: "ADD COLUMN n (a per-row default: rewrites the table)" },
    ]);
  });

  it("type changes rewrite; SET NOT NULL, CHECK and FOREIGN KEY read every row; NOT VALID does not", () => {
    expect(plan('ALTER TABLE "report" ALTER COLUMN "parameters" SET DATA TYPE JSONB USING parameters::JSONB;').map((o) => [o.lock, o.work])).toEqual([["ACCESS EXCLUSIVE", "rewrite"]]);
    expect(plan("ALTER TABLE e ALTER COLUMN v SET NOT NULL;")[0]).toMatchObject({ lock: "ACCESS EXCLUSIVE", work: "scan" });
    expect(plan("ALTER TABLE e ADD CONSTRAINT c CHECK (v > 0);")[0]).toMatchObject({ lock: "ACCESS EXCLUSIVE", work: "scan" });
    expect(plan("ALTER TABLE e ADD CONSTRAINT f FOREIGN KEY (w) REFERENCES w (id);")[0]).toMatchObject({ lock: "SHARE ROW EXCLUSIVE", work: "scan" });
    expect(plan("ALTER TABLE e ADD CONSTRAINT f FOREIGN KEY (w) REFERENCES w (id) NOT VALID;")[0]).toMatchObject({ lock: "SHARE ROW EXCLUSIVE", work: "catalog" });
    expect(plan("ALTER TABLE e ADD PRIMARY KEY (id);")[0]).toMatchObject({ lock: "ACCESS EXCLUSIVE", work: "index" });
  });

  it("CREATE INDEX takes SHARE (writes wait), CONCURRENTLY takes SHARE UPDATE EXCLUSIVE; DROP INDEX locks the index's table", () => {
    expect(plan('CREATE INDEX "i" ON "website_event"("visit_id");\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS j ON ONLY umami.website_event (a);\nDROP INDEX IF EXISTS "i", "k";', [["k", "session"]])).toEqual([
      { table: "website_event", line: 1, lock: "SHARE", work: "index", what: "CREATE INDEX i" },
      { table: "website_event", line: 2, lock: "SHARE UPDATE EXCLUSIVE", work: "index", what: "CREATE UNIQUE INDEX CONCURRENTLY (fails inside a migration's transaction) j" },
      { table: "website_event", line: 3, lock: "ACCESS EXCLUSIVE", work: "catalog", what: "DROP INDEX i" },
      { table: "session", line: 3, lock: "ACCESS EXCLUSIVE", work: "catalog", what: "DROP INDEX k" },
    ]);
  });

  it("UPDATE, DELETE and INSERT … SELECT take ROW EXCLUSIVE; tables the script creates are left out", () => {
    expect(plan('CREATE TABLE "n" (id int);\nALTER TABLE n ADD COLUMN x int;\nUPDATE "website_event" we SET a = 1 FROM s;\nDELETE FROM "report" WHERE type = \'x\';\nINSERT INTO "share" SELECT 1;')).toEqual([
      { table: "website_event", line: 3, lock: "ROW EXCLUSIVE", work: "update", what: "UPDATE (every row)" },
      { table: "report", line: 4, lock: "ROW EXCLUSIVE", work: "delete", what: "DELETE (the rows its WHERE matches)" },
      { table: "share", line: 5, lock: "ROW EXCLUSIVE", work: "insert", what: "INSERT … SELECT" },
    ]);
  });
});

describe("Umami 3.1.0 after 2.10.0, on a grown database", () => {
  const set = readMigrationsDirectory(resolve(MIRROR, "v3.1.0/prisma/migrations"));
  const pending = set.migrations.filter((m) => m.name >= "05");
  const table = (name: string, rows: number, mb: number, indexes: string[] = []): TableEstimate => ({ table: name, rows, tableBytes: mb * 1024 * 1024, indexBytes: 0, indexes });
  const estimates = [
    table("website_event", 3_000_000, 900),
    table("session", 300_000, 60, ["session_session_id_key", "session_website_id_created_at_hostname_idx", "session_website_id_created_at_subdivision1_idx"]),
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
        operations: [
          { line: 2, lock: "ACCESS EXCLUSIVE", work: "catalog", what: "ADD COLUMN visit_id" },
          // Its WHERE is the join to the visits it computed: in fact every row.
          { line: 4, lock: "ROW EXCLUSIVE", work: "update", what: "UPDATE (the rows its WHERE matches)" },
          { line: 16, lock: "ACCESS EXCLUSIVE", work: "scan", what: "ALTER COLUMN visit_id SET NOT NULL (checks every row)" },
          { line: 19, lock: "SHARE", work: "index", what: "CREATE INDEX website_event_visit_id_idx" },
          { line: 22, lock: "SHARE", work: "index", what: "CREATE INDEX website_event_website_id_visit_id_created_at_idx" },
        ],
      },
    ]);
  });

  it("names exactly the migrations that do long work on big tables; tables created by 11..19 never appear", () => {
    expect(impact.filter((i) => i.long).map((i) => i.migration)).toEqual(["05_add_visit_id", "07_add_tag", "09_update_hostname_region"]);
    expect(impact.flatMap((i) => i.tables.map((t) => t.table))).not.toContain("segment");
    const byMigration = Object.fromEntries(impact.map((i) => [i.migration, i.tables.map((t) => `${t.table}:${t.lock}:${t.work}`)]));
    expect(byMigration["08_add_utm_clid"]).toEqual(["website_event:ACCESS EXCLUSIVE:catalog"]);
    expect(byMigration["12_update_report_parameter"]).toEqual(["report:ACCESS EXCLUSIVE:rewrite"]);
    expect(byMigration["17_remove_duplicate_key"]).toEqual(["session:ACCESS EXCLUSIVE:catalog", "team:ACCESS EXCLUSIVE:catalog", "team_user:ACCESS EXCLUSIVE:catalog", "user:ACCESS EXCLUSIVE:catalog", "website:ACCESS EXCLUSIVE:catalog"]);
  });

  it("renders one line per migration and table, and the window to plan", () => {
    const lines = describeImpact(impact);
    expect(lines).toContain("  05_add_visit_id — website_event (~3,000,000 rows, 900.0 MB + 0 bytes indexes, big): ACCESS EXCLUSIVE, blocks reads and writes; updates rows");
    expect(lines.at(-1)).toBe(
      "  Catalog changes only, on small tables (a brief ACCESS EXCLUSIVE once granted): 10_add_distinct_id (session_data), 15_add_share (website), 17_remove_duplicate_key (team, team_user, user, website), 19_add_session_replay (website)",
    );
    expect(lines[0]).toBe(
      "Plan a window for 05_add_visit_id (website_event), 07_add_tag (website_event), 09_update_hostname_region (website_event, session): they rewrite, update, scan or index big tables while holding these locks.",
    );
    expect(formatBytes(1_181_116_006)).toBe("1.1 GB");
  });
});
