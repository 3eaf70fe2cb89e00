/**
 * Compares two baselines against the story's "no degradation" thresholds and renders the result for a
 * terminal and for the story's completion notes. Pure: baselines in, data and strings out.
 */
import type { Baseline } from "./baseline.js";
import type { AuroraMetricName } from "./cloudwatch.js";

/**
 * The thresholds, in one place. Each says whether its boundary passes:
 *
 * - `cpuIncreasePoints` — CPU may rise by *less than* 5 percentage points (at 5.0 it fails; the story says
 *   "< 5 %"). Points, not a relative change: CPUUtilization is already a percentage, the alert rule (70 %) is
 *   absolute, and a relative rule is noise at low load (8 % → 9 % would be a "12.5 % increase").
 * - `connections` — the same or at most +2 (both ends pass). A drop also fails: it means the application's
 *   load differed between the two captures, so the pair proves nothing; capture again under comparable load.
 * - `iopsRelative` — within ±10 % of before (exactly 10 % passes: "within"). Same reasoning for a drop.
 * - `storageUnexplainedBytes` — database growth not accounted for by the Umami schema or the other schemas'
 *   own growth (catalog rows, free-space maps) may be at most 16 MiB (at passes).
 *
 * Deltas are rounded to 6 decimals first, so 10.1 → 15.1 counts as exactly +5 points.
 */
export const THRESHOLDS = {
  cpuIncreasePoints: 5,
  connections: { min: 0, max: 2 },
  iopsRelative: 0.1,
  storageUnexplainedBytes: 16 * 1024 * 1024,
} as const;

/** A row's verdict; `n/a` when a figure is missing on either side or the row is informational. */
type Verdict = "pass" | "fail" | "n/a";

/** One compared figure. */
export interface ComparisonRow {
  metric: string;
  unit: "percent" | "count" | "bytes" | "iops" | "ratio";
  before: number | null;
  after: number | null;
  delta: number | null;
  /** Human-readable threshold, `null` for informational rows. */
  threshold: string | null;
  verdict: Verdict;
  note?: string;
}

/** The result of `compareBaselines`. */
export interface Comparison {
  ok: boolean;
  before: { label: string; capturedAt: string };
  after: { label: string; capturedAt: string };
  rows: ComparisonRow[];
  /** Reasons the pair may not be comparable (another database, counters reset, reversed order). */
  warnings: string[];
  storage: {
    growthBytes: number;
    umamiSchema: string | null;
    umamiSchemaBytes: number;
    otherSchemasGrowthBytes: number;
    unexplainedBytes: number;
    volumeBytesUsedDelta: number | null;
  };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

function row(
  metric: string,
  unit: ComparisonRow["unit"],
  before: number | null,
  after: number | null,
  judge?: { threshold: string; pass: (delta: number) => boolean | null; note?: (delta: number) => string | undefined },
): ComparisonRow {
  const delta = before === null || after === null ? null : round(after - before);
  if (!judge) return { metric, unit, before, after, delta, threshold: null, verdict: "n/a" };
  if (delta === null)
    return {
      metric,
      unit,
      before,
      after,
      delta,
      threshold: judge.threshold,
      verdict: "n/a",
      note: before === null && after === null ? "not captured" : "missing in one of the baselines",
    };
  const pass = judge.pass(delta);
  const note = pass === null ? "no activity before: a relative change is undefined" : judge.note?.(delta);
  return {
    metric,
    unit,
    before,
    after,
    delta,
    threshold: judge.threshold,
    verdict: pass === null ? "n/a" : pass ? "pass" : "fail",
    ...(note ? { note } : {}),
  };
}

function metric(b: Baseline, name: AuroraMetricName): number | null {
  return b.cloudwatch?.metrics.find((m) => m.metric === name)?.average ?? null;
}
function sum(...xs: (number | null)[]): number | null {
  return xs.some((x) => x === null) ? null : xs.reduce<number>((a, x) => a + (x as number), 0);
}

const cpuJudge = {
  threshold: `< +${THRESHOLDS.cpuIncreasePoints} points`,
  pass: (d: number) => d < THRESHOLDS.cpuIncreasePoints,
};
const connectionsJudge = {
  threshold: `${THRESHOLDS.connections.min} … +${THRESHOLDS.connections.max}`,
  pass: (d: number) => d >= THRESHOLDS.connections.min && d <= THRESHOLDS.connections.max,
  note: (d: number) =>
    d < THRESHOLDS.connections.min
      ? "fewer connections than before: the load differed, capture again under comparable load"
      : undefined,
};
function iopsJudge(before: number | null) {
  return {
    threshold: `±${THRESHOLDS.iopsRelative * 100} %`,
    pass: (d: number) =>
      before === 0 ? (d === 0 ? true : null) : Math.abs(d) <= round(THRESHOLDS.iopsRelative * (before as number)),
    note: (d: number) => (before ? `${d >= 0 ? "+" : ""}${((d / before) * 100).toFixed(1)} %` : undefined),
  };
}

/** Compares `before` with `after`; `ok` is false when any threshold is broken. */
export function compareBaselines(before: Baseline, after: Baseline): Comparison {
  const schemaName = after.umamiSchema?.name ?? before.umamiSchema?.name ?? null;
  const sizeOf = (b: Baseline) => new Map(b.sizes.schemas.map((s) => [s.name, s.bytes]));
  const [sb, sa] = [sizeOf(before), sizeOf(after)];
  const umamiSchemaBytes = schemaName ? (sa.get(schemaName) ?? 0) - (sb.get(schemaName) ?? 0) : 0;
  let otherSchemasGrowthBytes = 0;
  for (const [name, bytes] of sa) if (name !== schemaName) otherSchemasGrowthBytes += bytes - (sb.get(name) ?? 0);
  const growthBytes = after.sizes.databaseBytes - before.sizes.databaseBytes;
  const unexplainedBytes = growthBytes - umamiSchemaBytes - otherSchemasGrowthBytes;
  const volumeBefore = before.cloudwatch?.metrics.find((m) => m.metric === "VolumeBytesUsed")?.maximum ?? null;
  const volumeAfter = after.cloudwatch?.metrics.find((m) => m.metric === "VolumeBytesUsed")?.maximum ?? null;

  const instanceIops = [
    sum(metric(before, "ReadIOPS"), metric(before, "WriteIOPS")),
    sum(metric(after, "ReadIOPS"), metric(after, "WriteIOPS")),
  ] as const;
  const volumeIops = [
    sum(metric(before, "VolumeReadIOPs"), metric(before, "VolumeWriteIOPs")),
    sum(metric(after, "VolumeReadIOPs"), metric(after, "VolumeWriteIOPs")),
  ] as const;

  const rows: ComparisonRow[] = [
    row(
      "CPU utilization, average (CloudWatch)",
      "percent",
      metric(before, "CPUUtilization"),
      metric(after, "CPUUtilization"),
      cpuJudge,
    ),
    row(
      "Client connections (pg_stat_activity)",
      "count",
      before.connections.total,
      after.connections.total,
      connectionsJudge,
    ),
    row(
      "Database connections, average (CloudWatch)",
      "count",
      metric(before, "DatabaseConnections"),
      metric(after, "DatabaseConnections"),
      connectionsJudge,
    ),
    row("Instance IOPS, read + write (CloudWatch)", "iops", ...instanceIops, iopsJudge(instanceIops[0])),
    row("Volume IOPs, read + write (CloudWatch)", "iops", ...volumeIops, iopsJudge(volumeIops[0])),
    row("Storage growth not explained by schemas", "bytes", 0, unexplainedBytes, {
      threshold: `≤ ${formatValue(THRESHOLDS.storageUnexplainedBytes, "bytes")}`,
      pass: (d) => d <= THRESHOLDS.storageUnexplainedBytes,
    }),
    row("Database size", "bytes", before.sizes.databaseBytes, after.sizes.databaseBytes),
    row(
      `Schema ${schemaName ?? "(umami not given)"} size`,
      "bytes",
      schemaName ? (sb.get(schemaName) ?? 0) : null,
      schemaName ? (sa.get(schemaName) ?? 0) : null,
    ),
    row("Volume bytes used, max (CloudWatch)", "bytes", volumeBefore, volumeAfter),
    row("Cache hit ratio", "ratio", before.cacheHitRatio, after.cacheHitRatio),
    row("max_connections", "count", before.connections.maxConnections, after.connections.maxConnections),
    row(
      "Freeable memory, average (CloudWatch)",
      "bytes",
      metric(before, "FreeableMemory"),
      metric(after, "FreeableMemory"),
    ),
  ];
  return {
    ok: rows.every((r) => r.verdict !== "fail"),
    warnings: comparabilityWarnings(before, after),
    before: { label: before.label, capturedAt: before.capturedAt },
    after: { label: after.label, capturedAt: after.capturedAt },
    rows,
    storage: {
      growthBytes,
      umamiSchema: schemaName,
      umamiSchemaBytes,
      otherSchemasGrowthBytes,
      unexplainedBytes,
      volumeBytesUsedDelta: volumeBefore === null || volumeAfter === null ? null : volumeAfter - volumeBefore,
    },
  };
}

function comparabilityWarnings(before: Baseline, after: Baseline): string[] {
  const warnings: string[] = [];
  const where = (b: Baseline) => `${b.target.host}:${b.target.port}/${b.target.database}`;
  if (where(before) !== where(after))
    warnings.push(`the baselines are of different databases (${where(before)} and ${where(after)})`);
  if (Date.parse(after.capturedAt) < Date.parse(before.capturedAt))
    warnings.push(`"${after.label}" was captured before "${before.label}": are the arguments swapped?`);
  if (before.server.version !== after.server.version)
    warnings.push(`the server version changed (${before.server.version} → ${after.server.version})`);
  if (before.stats.statsReset !== after.stats.statsReset)
    warnings.push("pg_stat_database counters were reset between the captures");
  const [wb, wa] = [before.cloudwatch?.window, after.cloudwatch?.window];
  const overlapMs =
    wb && wa
      ? Math.min(Date.parse(wb.end), Date.parse(wa.end)) - Math.max(Date.parse(wb.start), Date.parse(wa.start))
      : 0;
  if (overlapMs > 0) {
    const share = overlapMs / (Date.parse(wa!.end) - Date.parse(wa!.start));
    warnings.push(
      `the CloudWatch windows overlap by ${formatDuration(overlapMs)} (${Math.round(share * 100)} % of "${after.label}"'s): its averages are partly the time before the change, and a rise shows diluted. Capture "${after.label}" over a window that starts where "${before.label}"'s ends`,
    );
  }
  return warnings;
}

function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  return minutes < 120 ? `${minutes} min` : `${(minutes / 60).toFixed(1)} h`;
}

/** A figure with its unit, for tables and Markdown. */
export function formatValue(value: number | null, unit: ComparisonRow["unit"], signed = false): string {
  if (value === null) return "—";
  const sign = signed && value > 0 ? "+" : "";
  switch (unit) {
    case "percent":
      return `${sign}${value.toFixed(2)} %`;
    case "ratio":
      return `${sign}${(value * 100).toFixed(2)} %`;
    case "iops":
      return `${sign}${value.toFixed(1)}`;
    case "count":
      return `${sign}${Number.isInteger(value) ? value : value.toFixed(2)}`;
    case "bytes": {
      const abs = Math.abs(value);
      const [div, suffix] =
        abs >= 1024 ** 3
          ? [1024 ** 3, "GiB"]
          : abs >= 1024 ** 2
            ? [1024 ** 2, "MiB"]
            : abs >= 1024
              ? [1024, "KiB"]
              : [1, "B"];
      return `${sign}${div === 1 ? value : (value / div).toFixed(2)} ${suffix}`;
    }
  }
}

function cells(r: ComparisonRow): string[] {
  const verdict = r.verdict === "pass" ? "pass" : r.verdict === "fail" ? "FAIL" : "n/a";
  return [
    r.metric,
    formatValue(r.before, r.unit),
    formatValue(r.after, r.unit),
    formatValue(r.delta, r.unit, true),
    r.threshold ?? "—",
    verdict,
    r.note ?? "",
  ];
}
const HEADER = ["Metric", "Before", "After", "Delta", "Threshold", "Verdict", "Note"];

/** A fixed-width table for the terminal. */
export function renderComparisonTable(comparison: Comparison): string {
  const lines = [HEADER, ...comparison.rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const fmt = (l: string[]) =>
    l
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [
    `Baseline ${comparison.before.label} (${comparison.before.capturedAt}) → ${comparison.after.label} (${comparison.after.capturedAt})`,
    fmt(lines[0]),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...lines.slice(1).map(fmt),
    ...comparison.warnings.map((w) => `warning: ${w}`),
    "",
    comparison.ok
      ? "Result: no threshold broken."
      : `Result: ${comparison.rows.filter((r) => r.verdict === "fail").length} threshold(s) broken.`,
  ].join("\n");
}

/** The Markdown a DBA pastes into the story's completion notes. */
export function renderComparisonMarkdown(comparison: Comparison): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const s = comparison.storage;
  const failed = comparison.rows.filter((r) => r.verdict === "fail");
  return [
    `### Performance baseline: ${esc(comparison.before.label)} → ${esc(comparison.after.label)}`,
    "",
    `Captured ${comparison.before.capturedAt} and ${comparison.after.capturedAt}. Result: **${comparison.ok ? "no degradation (every threshold met)" : `${failed.length} threshold(s) broken: ${failed.map((r) => r.metric).join(", ")}`}**.`,
    "",
    `| ${HEADER.join(" | ")} |`,
    `|${HEADER.map(() => "---").join("|")}|`,
    ...comparison.rows.map((r) => `| ${cells(r).map(esc).join(" | ")} |`),
    "",
    ...(comparison.warnings.length ? ["**Warnings**", "", ...comparison.warnings.map((w) => `- ${w}`), ""] : []),
    "**Storage**",
    "",
    `- Database growth: ${formatValue(s.growthBytes, "bytes", true)}`,
    `- Umami schema${s.umamiSchema ? ` \`${s.umamiSchema}\`` : ""}: ${formatValue(s.umamiSchemaBytes, "bytes", true)}`,
    `- Other schemas' own growth: ${formatValue(s.otherSchemasGrowthBytes, "bytes", true)}`,
    `- Not explained by schemas (catalogs, free-space maps): ${formatValue(s.unexplainedBytes, "bytes", true)}`,
    `- Cluster volume (VolumeBytesUsed): ${s.volumeBytesUsedDelta === null ? "not captured" : formatValue(s.volumeBytesUsedDelta, "bytes", true)}`,
    "",
    `Thresholds: CPU < +${THRESHOLDS.cpuIncreasePoints} percentage points; connections ${THRESHOLDS.connections.min} … +${THRESHOLDS.connections.max}; IOPS within ±${THRESHOLDS.iopsRelative * 100} %; unexplained storage growth ≤ ${formatValue(THRESHOLDS.storageUnexplainedBytes, "bytes")}. "n/a": figure not captured on both sides, or informational.`,
    "",
  ].join("\n");
}
