import { describe, expect, it } from "vitest";
import {
  compareBaselines,
  formatValue,
  renderComparisonMarkdown,
  renderComparisonTable,
  THRESHOLDS,
  type Comparison,
} from "../../../scripts/evidence/baseline-compare.js";
import { baseline, MiB } from "../../support/baselines.js";

const verdict = (c: Comparison, prefix: string) => c.rows.find((r) => r.metric.startsWith(prefix))!.verdict;

describe("compareBaselines thresholds", () => {
  it("keeps the thresholds in one constant", () => {
    expect(THRESHOLDS).toEqual({
      cpuIncreasePoints: 5,
      connections: { min: 0, max: 2 },
      iopsRelative: 0.1,
      storageUnexplainedBytes: 16 * MiB,
    });
  });

  it.each([
    ["just under", 10.1, 15.09, "pass"],
    ["at (4.7 → 9.7: +5 points, 4.999999999999999 in floating point)", 4.7, 9.7, "fail"],
    ["just over", 10, 15.01, "fail"],
    ["a drop", 30, 12, "pass"],
  ])("CPU %s", (_, before, after, expected) => {
    expect(verdict(compareBaselines(baseline("b", { cpu: before }), baseline("a", { cpu: after })), "CPU")).toBe(
      expected,
    );
  });

  it.each([
    ["the same", 12, 12, "pass"],
    ["+1", 12, 13, "pass"],
    ["at +2", 12, 14, "pass"],
    ["just over (+3)", 12, 15, "fail"],
    ["a drop (-1): load differed", 12, 11, "fail"],
  ])("connections %s", (_, before, after, expected) => {
    const c = compareBaselines(
      baseline("b", { connections: before, cwConnections: before }),
      baseline("a", { connections: after, cwConnections: after }),
    );
    expect(verdict(c, "Client connections")).toBe(expected);
    expect(verdict(c, "Database connections")).toBe(expected);
  });

  it("judges CloudWatch's average connections at fractional edges", () => {
    const cw = (before: number, after: number) =>
      verdict(
        compareBaselines(baseline("b", { cwConnections: before }), baseline("a", { cwConnections: after })),
        "Database connections",
      );
    expect(cw(12.3, 14.3)).toBe("pass");
    expect(cw(12.3, 14.31)).toBe("fail");
    expect(cw(12.3, 12.29)).toBe("fail");
  });

  it.each([
    ["just under +10 %", 60, 40, 69.9, 40, "pass"],
    ["at +10 %", 60, 40, 70, 40, "pass"],
    ["just over +10 %", 60, 40, 70.01, 40, "fail"],
    ["at -10 %", 60, 40, 50, 40, "pass"],
    ["just over -10 %", 60, 40, 49.99, 40, "fail"],
  ])("instance IOPS %s", (_, r1, w1, r2, w2, expected) => {
    const c = compareBaselines(
      baseline("b", { readIops: r1, writeIops: w1 }),
      baseline("a", { readIops: r2, writeIops: w2 }),
    );
    expect(verdict(c, "Instance IOPS")).toBe(expected);
  });

  it.each([
    ["just under", 1099.9, "pass"],
    ["at +10 %", 1100, "pass"],
    ["just over", 1100.1, "fail"],
  ])("volume IOPs %s", (_, afterWrite, expected) => {
    const c = compareBaselines(baseline("b"), baseline("a", { volumeRead: 300, volumeWrite: afterWrite - 300 }));
    expect(verdict(c, "Volume IOPs")).toBe(expected);
  });

  it("calls IOPS n/a (not pass, not a division by zero) when there was no activity before", () => {
    const c = compareBaselines(
      baseline("b", { readIops: 0, writeIops: 0 }),
      baseline("a", { readIops: 1, writeIops: 0 }),
    );
    const r = c.rows.find((x) => x.metric.startsWith("Instance IOPS"))!;
    expect(r.verdict).toBe("n/a");
    expect(r.note).toMatch(/no activity before/);
    expect(
      verdict(
        compareBaselines(baseline("b", { readIops: 0, writeIops: 0 }), baseline("a", { readIops: 0, writeIops: 0 })),
        "Instance IOPS",
      ),
    ).toBe("pass");
  });

  it.each([
    ["just under", 16 * MiB - 1, "pass"],
    ["at", 16 * MiB, "pass"],
    ["just over", 16 * MiB + 1, "fail"],
  ])("unexplained storage growth %s the limit", (_, unexplained, expected) => {
    const before = baseline("b", { dbBytes: 60 * MiB, schemas: { public: 50 * MiB } });
    const after = baseline("a", {
      dbBytes: 60 * MiB + 3 * MiB + MiB + unexplained,
      schemas: { public: 51 * MiB, umami: 3 * MiB },
    });
    const c = compareBaselines(before, after);
    expect(c.storage).toEqual({
      growthBytes: 4 * MiB + unexplained,
      umamiSchema: "umami",
      umamiSchemaBytes: 3 * MiB,
      otherSchemasGrowthBytes: MiB,
      unexplainedBytes: unexplained,
      volumeBytesUsedDelta: 0,
    });
    expect(verdict(c, "Storage growth")).toBe(expected);
    expect(c.ok).toBe(expected === "pass");
  });
});

describe("compareBaselines overall", () => {
  it("is ok when nothing moved, and every CloudWatch row is n/a without CloudWatch", () => {
    expect(compareBaselines(baseline("b"), baseline("a")).ok).toBe(true);
    const c = compareBaselines(baseline("b", { cloudwatch: false }), baseline("a", { cloudwatch: false }));
    expect(c.ok).toBe(true);
    for (const r of c.rows.filter((x) => x.metric.includes("CloudWatch"))) expect(r.verdict).toBe("n/a");
    expect(verdict(c, "Client connections")).toBe("pass");
  });

  it("fails when any one threshold breaks", () => {
    expect(compareBaselines(baseline("b"), baseline("a", { cpu: 26 })).ok).toBe(false);
  });
});

describe("comparability warnings", () => {
  const afterDeploy = { window: { start: "2026-11-25T10:00:00.000Z", end: "2026-11-25T10:12:00.000Z" } };
  it('has none for a pair of the same database in order, the "after" window starting where "before"\'s ended', () => {
    expect(compareBaselines(baseline("b"), baseline("a", afterDeploy)).warnings).toEqual([]);
  });
  it("warns when the CloudWatch windows overlap (post-deploy's 24 hours used to cover preflight's)", () => {
    const overlapping = compareBaselines(
      baseline("before"),
      baseline("after", { window: { start: "2026-11-24T10:12:00.000Z", end: "2026-11-25T10:12:00.000Z" } }),
    );
    expect(overlapping.warnings).toEqual([
      'the CloudWatch windows overlap by 23.8 h (99 % of "after"\'s): its averages are partly the time before the change, and a rise shows diluted. Capture "after" over a window that starts where "before"\'s ends',
    ]);
  });
  it("warns about another database, swapped arguments, a new server version and reset counters", () => {
    const before = baseline("b");
    const after = {
      ...baseline("a", afterDeploy),
      capturedAt: "2026-11-25T09:00:00.000Z",
      target: { ...before.target, database: "other" },
      server: { version: "15.10", versionNum: 150010 },
      stats: { ...before.stats, statsReset: "2026-11-25T08:00:00.000Z" },
    };
    const c = compareBaselines(before, after);
    expect(c.warnings).toEqual([
      "the baselines are of different databases (db.example:5432/app and db.example:5432/other)",
      '"a" was captured before "b": are the arguments swapped?',
      "the server version changed (15.8 → 15.10)",
      "pg_stat_database counters were reset between the captures",
    ]);
    expect(renderComparisonMarkdown(c)).toContain("**Warnings**\n\n- the baselines are of different databases");
    expect(renderComparisonTable(c)).toContain("warning: pg_stat_database counters were reset");
  });
});

describe("rendering", () => {
  const c = compareBaselines(
    baseline("before-umami"),
    baseline("after-umami", {
      cpu: 26,
      schemas: { public: 50 * MiB, billing: 2 * MiB, umami: 3 * MiB },
      dbBytes: 63 * MiB,
    }),
  );

  it("renders Markdown a DBA can paste: a table with every row and the storage lines", () => {
    const md = renderComparisonMarkdown(c);
    expect(md).toContain("### Performance baseline: before-umami → after-umami");
    expect(md).toContain("1 threshold(s) broken: CPU utilization, average (CloudWatch)");
    expect(md).toContain(
      "| CPU utilization, average (CloudWatch) | 20.00 % | 26.00 % | +6.00 % | < +5 points | FAIL |",
    );
    expect(md).toContain("- Umami schema `umami`: +3.00 MiB");
    expect(md.split("\n").filter((l) => l.startsWith("| ")).length).toBe(c.rows.length + 1);
  });

  it("renders an aligned table for the terminal", () => {
    const table = renderComparisonTable(c);
    const lines = table.split("\n");
    expect(lines[1].startsWith("Metric")).toBe(true);
    expect(table).toContain("FAIL");
    expect(table).toMatch(/Result: 1 threshold\(s\) broken\./);
  });

  it("formats units", () => {
    expect(formatValue(3 * MiB, "bytes", true)).toBe("+3.00 MiB");
    expect(formatValue(-512, "bytes", true)).toBe("-512 B");
    expect(formatValue(0.995, "ratio")).toBe("99.50 %");
    expect(formatValue(null, "count")).toBe("—");
  });
});
