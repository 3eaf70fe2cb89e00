import { describe, expect, it } from "vitest";
import type { Baseline } from "../../scripts/lib/baseline.js";
import { compareBaselines, formatValue, renderComparisonMarkdown, renderComparisonTable, THRESHOLDS, type Comparison } from "../../scripts/lib/baseline-compare.js";
import { AURORA_METRICS, type AuroraMetricName } from "../../scripts/lib/cloudwatch.js";

const MiB = 1024 * 1024;

interface Figures {
  cpu?: number;
  connections?: number;
  cwConnections?: number;
  readIops?: number;
  writeIops?: number;
  volumeRead?: number;
  volumeWrite?: number;
  dbBytes?: number;
  schemas?: Record<string, number>;
  cloudwatch?: boolean;
}

function baseline(label: string, f: Figures = {}): Baseline {
  const averages: Record<AuroraMetricName, number> = {
    CPUUtilization: f.cpu ?? 20,
    DatabaseConnections: f.cwConnections ?? 12,
    ReadIOPS: f.readIops ?? 60,
    WriteIOPS: f.writeIops ?? 40,
    FreeableMemory: 8 * 1024 * MiB,
    VolumeReadIOPs: f.volumeRead ?? 300,
    VolumeWriteIOPs: f.volumeWrite ?? 700,
    VolumeBytesUsed: 10 * 1024 * MiB,
  };
  const schemas = f.schemas ?? { public: 50 * MiB, billing: 2 * MiB };
  return {
    version: 1,
    label,
    capturedAt: "2026-11-25T10:00:00.000Z",
    target: { host: "db.example", port: 5432, database: "app", user: "admin" },
    server: { version: "15.8", versionNum: 150008 },
    sizes: { databaseBytes: f.dbBytes ?? 60 * MiB, schemas: Object.entries(schemas).map(([name, bytes]) => ({ name, bytes, tables: 1 })) },
    schemas: Object.keys(schemas),
    umamiSchema: { name: "umami", exists: "umami" in schemas, bytes: schemas.umami ?? 0 },
    connections: { maxConnections: 1600, superuserReserved: 3, total: f.connections ?? 12, byUserAndState: [] },
    stats: { xactCommit: 1, xactRollback: 0, blksRead: 1, blksHit: 99, tupReturned: 0, tupFetched: 0, tupInserted: 0, tupUpdated: 0, tupDeleted: 0, deadlocks: 0, tempBytes: 0, statsReset: null },
    cacheHitRatio: 0.99,
    statements: { available: false, schema: null, top: [] },
    cloudwatch:
      f.cloudwatch === false
        ? null
        : {
            clusterId: "c",
            instanceId: "i",
            window: { start: "2026-11-24T10:00:00.000Z", end: "2026-11-25T10:00:00.000Z", periodSeconds: 300 },
            metrics: AURORA_METRICS.map((m) => ({
              metric: m.name,
              level: m.level,
              dimension: { name: m.level === "instance" ? "DBInstanceIdentifier" : "DBClusterIdentifier", value: "x" },
              unit: m.unit,
              average: averages[m.name],
              maximum: averages[m.name],
              datapoints: 288,
            })),
          },
  };
}

const verdict = (c: Comparison, prefix: string) => c.rows.find((r) => r.metric.startsWith(prefix))!.verdict;

describe("compareBaselines thresholds", () => {
  it("keeps the thresholds in one constant", () => {
    expect(THRESHOLDS).toEqual({ cpuIncreasePoints: 5, connections: { min: 0, max: 2 }, iopsRelative: 0.1, storageUnexplainedBytes: 16 * MiB });
  });

  it.each([
    ["just under", 10.1, 15.09, "pass"],
    ["at (4.7 → 9.7: +5 points, 4.999999999999999 in floating point)", 4.7, 9.7, "fail"],
    ["just over", 10, 15.01, "fail"],
    ["a drop", 30, 12, "pass"],
  ])("CPU %s", (_, before, after, expected) => {
    expect(verdict(compareBaselines(baseline("b", { cpu: before }), baseline("a", { cpu: after })), "CPU")).toBe(expected);
  });

  it.each([
    ["the same", 12, 12, "pass"],
    ["+1", 12, 13, "pass"],
    ["at +2", 12, 14, "pass"],
    ["just over (+3)", 12, 15, "fail"],
    ["a drop (-1): load differed", 12, 11, "fail"],
  ])("connections %s", (_, before, after, expected) => {
    const c = compareBaselines(baseline("b", { connections: before, cwConnections: before }), baseline("a", { connections: after, cwConnections: after }));
    expect(verdict(c, "Client connections")).toBe(expected);
    expect(verdict(c, "Database connections")).toBe(expected);
  });

  it("judges CloudWatch's average connections at fractional edges", () => {
    const cw = (before: number, after: number) => verdict(compareBaselines(baseline("b", { cwConnections: before }), baseline("a", { cwConnections: after })), "Database connections");
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
    const c = compareBaselines(baseline("b", { readIops: r1, writeIops: w1 }), baseline("a", { readIops: r2, writeIops: w2 }));
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
    const c = compareBaselines(baseline("b", { readIops: 0, writeIops: 0 }), baseline("a", { readIops: 1, writeIops: 0 }));
    const r = c.rows.find((x) => x.metric.startsWith("Instance IOPS"))!;
    expect(r.verdict).toBe("n/a");
    expect(r.note).toMatch(/no activity before/);
    expect(verdict(compareBaselines(baseline("b", { readIops: 0, writeIops: 0 }), baseline("a", { readIops: 0, writeIops: 0 })), "Instance IOPS")).toBe("pass");
  });

  it.each([
    ["just under", 16 * MiB - 1, "pass"],
    ["at", 16 * MiB, "pass"],
    ["just over", 16 * MiB + 1, "fail"],
  ])("unexplained storage growth %s the limit", (_, unexplained, expected) => {
    const before = baseline("b", { dbBytes: 60 * MiB, schemas: { public: 50 * MiB } });
    const after = baseline("a", { dbBytes: 60 * MiB + 3 * MiB + MiB + unexplained, schemas: { public: 51 * MiB, umami: 3 * MiB } });
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

describe("rendering", () => {
  const c = compareBaselines(baseline("before-umami"), baseline("after-umami", { cpu: 26, schemas: { public: 50 * MiB, billing: 2 * MiB, umami: 3 * MiB }, dbBytes: 63 * MiB }));

  it("renders Markdown a DBA can paste: a table with every row and the storage lines", () => {
    const md = renderComparisonMarkdown(c);
    expect(md).toContain("### Performance baseline: before-umami → after-umami");
    expect(md).toContain("1 threshold(s) broken: CPU utilization, average (CloudWatch)");
    expect(md).toContain("| CPU utilization, average (CloudWatch) | 20.00 % | 26.00 % | +6.00 % | < +5 points | FAIL |");
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
