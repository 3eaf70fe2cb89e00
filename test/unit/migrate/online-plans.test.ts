/**
 * The online plans are keyed by the release file's checksum (an edited file runs offline, as written), name
 * their schema only through quoteIdent, and the dry run lists their phases with the lock each step takes.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { onlineLines, onlinePlanFor } from "../../../scripts/migrate/online/plans.js";
import { onlineNextSteps } from "../../../scripts/migrate/online/report.js";
import { prismaChecksum } from "../../../scripts/migrate/bookkeeping.js";
import { readMigrationsDirectory } from "../../../scripts/migrate/sources.js";
import { UMAMI_RELEASES } from "../../support/migrations.js";

const release = readMigrationsDirectory(resolve(UMAMI_RELEASES, "v3.1.0", "prisma", "migrations"));
const named = (name: string) => release.migrations.find((m) => m.name === name)!;

describe("onlinePlanFor", () => {
  it("has a plan for 05_add_visit_id, 06_session_data, 07_add_tag and 09_update_hostname_region as released, and for nothing else", () => {
    expect(release.migrations.filter((m) => onlinePlanFor(m, "umami")).map((m) => m.name)).toEqual([
      "05_add_visit_id",
      "06_session_data",
      "07_add_tag",
      "09_update_hostname_region",
    ]);
  });

  it("has none for an edited file: it runs offline, as written", () => {
    const edited = `${named("05_add_visit_id").sql}\n-- local change\n`;
    expect(
      onlinePlanFor({ name: "05_add_visit_id", sql: edited, checksum: prismaChecksum(edited) }, "umami"),
    ).toBeUndefined();
  });

  it("quotes the schema it is built for", () => {
    const plan = onlinePlanFor(named("09_update_hostname_region"), 'we"ird')!;
    const sql = [...plan.expand, ...plan.contract].flatMap((s) => ("sql" in s ? s.sql : []));
    expect(sql.some((s) => s.includes('"we""ird"."session"'))).toBe(true);
    expect(sql.some((s) => /[^"]we"ird/.test(s))).toBe(false);
  });
});

describe("onlineLines (the dry run)", () => {
  it("lists each plan's phases with the lock of each step, and nothing when no pending migration has a plan", () => {
    const lines = onlineLines(release.migrations.slice(4), "umami");
    expect(lines[0]).toBe("With --online, these run online instead (every other one as above):");
    expect(lines).toContain("  05_add_visit_id: runs online with --online (expand → backfill → contract → record)");
    expect(lines).toContain(
      "    expand    ADD COLUMN visit_id + trigger: ACCESS EXCLUSIVE on website_event, one short transaction under lock_timeout (retried within the lock budget)",
    );
    expect(lines).toContain(
      "    contract  VALIDATE the CHECK: SHARE UPDATE EXCLUSIVE on website_event for a full scan (inserts go on)",
    );
    expect(lines.filter((l) => l.includes("record "))).toHaveLength(4);
    expect(onlineLines(release.migrations.slice(9), "umami")).toEqual([]);
  });
});

describe("onlineNextSteps (the command, the report, the docs)", () => {
  it("is the list docs/upgrades.md's sequence gives after its first step", () => {
    const doc = readFileSync(resolve(import.meta.dirname, "../../../docs/upgrades.md"), "utf8");
    const steps = onlineNextSteps("umami-db migrate deploy").map((step, i) => `${i + 2}. ${step}`);
    expect(doc).toContain(`\n${steps.join("\n")}\n`);
  });
});
