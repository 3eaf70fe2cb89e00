/**
 * The charts' specifications hold the data they draw (pure: no rendering here; the integration test renders and
 * looks at them in Chromium): thresholds from the story's rules, the deploy, the audit counted by class.
 */
import { describe, expect, it } from "vitest";
import { auditChart, migrationTimelineChart, sparkline } from "../../../scripts/flows/charts.js";
import type { AuditClass } from "../../../scripts/audit/classes.js";

describe("sparkline", () => {
  it("puts before and after on one scale, the deploy as ┃", () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7], [7, 0])).toBe("▁▂▃▄▅▆▇█┃█▁");
    expect(sparkline([5, 5], [])).toBe("▄▄┃");
  });

  it("averages a day into 24 buckets", () => {
    const day = Array.from({ length: 288 }, (_, i) => (i < 144 ? 0 : 1));
    expect(sparkline(day, [1])).toBe(`${"▁".repeat(12)}${"█".repeat(12)}┃█`);
  });
});

describe("auditChart", () => {
  const finding = (check: string, severity: "pass" | "warn" | "fail", cls: AuditClass) => ({
    check,
    severity,
    objects: [],
    remedy: "",
    class: cls,
  });

  it("counts findings by class and result", () => {
    const chart = auditChart([
      finding("outward: tables", "warn", "outward-privileges"),
      finding("outward: sequences", "pass", "outward-privileges"),
      finding("outward: functions", "pass", "outward-privileges"),
      finding("live probes", "fail", "probes"),
    ])!;
    expect((chart.spec.data as { values: unknown[] }).values).toEqual([
      { class: "outward-privileges", result: "warn", count: 1 },
      { class: "outward-privileges", result: "pass", count: 2 },
      { class: "probes", result: "fail", count: 1 },
    ]);
    expect(chart.caption).toBe("Isolation audit: 2 passed, 1 warning(s), 1 failed, over 2 classes");
  });
});

describe("migrationTimelineChart", () => {
  it("draws each migration from its start for its duration, naming its locks; a failed one says so", () => {
    const chart = migrationTimelineChart([
      { name: "01_init", startedAt: "2026-12-04T10:00:00.000Z", ms: 20, ok: true, locks: [] },
      {
        name: "02_add",
        startedAt: "2026-12-04T10:00:00.030Z",
        ms: 5,
        ok: false,
        locks: ["ACCESS EXCLUSIVE on website_event"],
      },
    ])!;
    expect((chart.spec.data as { values: unknown[] }).values).toEqual([
      { name: "01_init", start: 0, end: 20, label: "20 ms · no lock on an existing table", result: "applied" },
      {
        name: "02_add",
        start: 30,
        end: 35,
        label: "5 ms FAILED · ACCESS EXCLUSIVE on website_event",
        result: "failed",
      },
    ]);
    expect(chart.caption).toBe("2 migration(s) in 35 ms; failed: 02_add");
    expect(migrationTimelineChart([])).toBeNull();
  });
});
