/**
 * The live probe's row writes (scripts/audit/live-writes.ts): tables linked by foreign keys are locked and written
 * together, parents first, a child's key taken from its parent's new row; a table the probe has no value for, and a
 * child of it, are skipped with the reason; unlinked tables each get their own lock and subtransaction.
 */
import { describe, expect, it } from "vitest";
import { buildWritesBlock } from "../../../scripts/audit/live-writes.js";
import type { PlanColumn, PlanTable } from "../../../scripts/audit/live-effects-sql.js";

const column = (name: string, type: string, category: string, extra: Partial<PlanColumn> = {}): PlanColumn => ({
  name,
  type,
  category,
  notNull: true,
  hasDefault: false,
  identity: "",
  generated: "",
  label: null,
  ...extra,
});

const plan: PlanTable[] = [
  {
    name: "session",
    columns: [
      column("session_id", "uuid", "U"),
      column("website_id", "uuid", "U"),
      column("country", "character(2)", "S", { notNull: false }),
    ],
    foreignKeys: [{ columns: ["website_id"], parent: "website", parentColumns: ["website_id"], inSchema: true }],
  },
  {
    name: "website",
    columns: [
      column("website_id", "uuid", "U"),
      column("name", "character varying(100)", "S"),
      column("created_at", "timestamp with time zone", "D", { hasDefault: true }),
    ],
    foreignKeys: [],
  },
  { name: "report", columns: [column("doc", "xml", "U")], foreignKeys: [] },
  {
    name: "report_part",
    columns: [
      column("id", "uuid", "U"),
      column("doc", "xml", "U", { notNull: false }),
      column("report_doc", "xml", "U"),
    ],
    foreignKeys: [{ columns: ["report_doc"], parent: "report", parentColumns: ["doc"], inSchema: true }],
  },
  {
    name: "event_data",
    columns: [column("kind", "event_kind", "E", { label: "page'view" }), column("n", "numeric(5,2)", "N")],
    foreignKeys: [],
  },
];

describe("buildWritesBlock", () => {
  const { sql, skipped } = buildWritesBlock("umami", plan, { functions: false, counts: true, eventTriggers: false });

  it("skips, with the reason, a table it has no value for and the child that needs its row", () => {
    expect(skipped).toEqual([
      { table: "report", reason: "the probe has no value for column doc (xml)" },
      { table: "report_part", reason: "column report_doc references report, which the probe cannot write first" },
    ]);
    expect(sql).not.toContain('"umami"."report"');
  });

  it("locks linked tables together and writes the parent first, the child's key from the parent's new row", () => {
    expect(sql).toContain('LOCK TABLE "umami"."website", "umami"."session" IN ROW EXCLUSIVE MODE NOWAIT;');
    const website = sql.indexOf('INSERT INTO "umami"."website"');
    const session = sql.indexOf('INSERT INTO "umami"."session"');
    expect(website).toBeGreaterThan(0);
    expect(session).toBeGreaterThan(website);
    expect(sql).toContain(
      'INSERT INTO "umami"."session" ("session_id", "website_id") VALUES (pg_catalog.gen_random_uuid(), (SELECT p."website_id" FROM "umami"."website" p WHERE p.tableoid = o0 AND p.ctid = c0))',
    );
    // Deleted children first; only the probe's own row, by tableoid and ctid.
    expect(sql.indexOf('DELETE FROM "umami"."session" WHERE tableoid = o1 AND ctid = c1;')).toBeLessThan(
      sql.indexOf('DELETE FROM "umami"."website" WHERE tableoid = o0 AND ctid = c0;'),
    );
  });

  it("gives values from the types (NOT NULL without a default only) and locks an unlinked table alone", () => {
    expect(sql).toContain(
      'INSERT INTO "umami"."website" ("website_id", "name") VALUES (pg_catalog.gen_random_uuid(), pg_catalog.gen_random_uuid()::text::character varying(100))',
    );
    expect(sql).toContain(
      `VALUES ('page''view'::event_kind, pg_catalog.floor(pg_catalog.random() * 99)::integer::numeric(5,2))`,
    );
    expect(sql).toContain('LOCK TABLE "umami"."event_data" IN ROW EXCLUSIVE MODE NOWAIT;');
    expect(sql.match(/RAISE SQLSTATE 'UMDB0'/g)).toHaveLength(2);
  });
});
