/**
 * The report's pictures, as Vega-Lite specifications (pure): each CloudWatch metric the baseline compares over the
 * window before and the window after, with the deploy and the story's thresholds drawn; the migrations as a
 * timeline; the audit's findings counted by class. `chart-svg.ts` renders them to self-contained SVG.
 */
import type { AuditResult } from "../audit/audit.js";
import type { Baseline } from "../evidence/baseline.js";
import { formatValue, THRESHOLDS } from "../evidence/baseline-compare.js";
import type { AuroraMetricName, MetricPoint } from "../evidence/cloudwatch.js";
import type { MigrationTiming } from "./migration-steps.js";

/** A Vega-Lite specification (kept loose: the library validates it when compiling). */
export type ChartSpec = Record<string, unknown>;

/** One chart of the report: its file name beside report.md, its title, and what it draws. */
export interface Chart {
  file: string;
  title: string;
  /** One line a reader sees without the picture (alt text, the summary's list). */
  caption: string;
  /** The series as one line of text (before ┃ after), for where no picture can go: GitHub's job summary. */
  sparkline?: string;
  spec: ChartSpec;
}

interface MetricChartDef {
  file: string;
  title: string;
  unit: "%" | "count" | "IOPS" | "bytes";
  metrics: AuroraMetricName[];
  /** The range the after window's average must stay in, from the before window's average; null: informational. */
  threshold: ((before: number) => { low?: number; high?: number; text: string }) | null;
}

/** The figures `compareBaselines` judges or reports from CloudWatch, one chart each (read + write summed as it sums them). */
const METRIC_CHARTS: MetricChartDef[] = [
  {
    file: "cpu.svg",
    title: "CPU utilization",
    unit: "%",
    metrics: ["CPUUtilization"],
    threshold: (b) => ({
      high: b + THRESHOLDS.cpuIncreasePoints,
      text: `< before + ${THRESHOLDS.cpuIncreasePoints} points`,
    }),
  },
  {
    file: "connections.svg",
    title: "Database connections",
    unit: "count",
    metrics: ["DatabaseConnections"],
    threshold: (b) => ({
      low: b + THRESHOLDS.connections.min,
      high: b + THRESHOLDS.connections.max,
      text: `before … before + ${THRESHOLDS.connections.max}`,
    }),
  },
  {
    file: "instance-iops.svg",
    title: "Instance IOPS, read + write",
    unit: "IOPS",
    metrics: ["ReadIOPS", "WriteIOPS"],
    threshold: iopsThreshold,
  },
  {
    file: "volume-iops.svg",
    title: "Volume IOPs, read + write (per 5 minutes)",
    unit: "count",
    metrics: ["VolumeReadIOPs", "VolumeWriteIOPs"],
    threshold: iopsThreshold,
  },
  {
    file: "freeable-memory.svg",
    title: "Freeable memory",
    unit: "bytes",
    metrics: ["FreeableMemory"],
    threshold: null,
  },
  // Aurora publishes no FreeStorageSpace for its cluster volume: the storage it reports is VolumeBytesUsed.
  {
    file: "volume-bytes-used.svg",
    title: "Cluster volume used (storage)",
    unit: "bytes",
    metrics: ["VolumeBytesUsed"],
    threshold: null,
  },
];

function iopsThreshold(before: number) {
  return {
    low: before * (1 - THRESHOLDS.iopsRelative),
    high: before * (1 + THRESHOLDS.iopsRelative),
    text: `before ± ${THRESHOLDS.iopsRelative * 100} %`,
  };
}

/** The summed series of `metrics` in a baseline (points where every metric has an average). */
function series(baseline: Baseline | undefined, metrics: AuroraMetricName[]): { t: string; value: number }[] {
  const found = metrics.map((name) => baseline?.cloudwatch?.metrics.find((m) => m.metric === name)?.points ?? []);
  if (found.some((points) => points.length === 0)) return [];
  const byTime = new Map<string, number[]>();
  found.forEach((points: MetricPoint[]) =>
    points.forEach((p) => p.average !== null && byTime.set(p.t, [...(byTime.get(p.t) ?? []), p.average])),
  );
  return [...byTime]
    .filter(([, values]) => values.length === metrics.length)
    .map(([t, values]) => ({ t, value: values.reduce((a, b) => a + b, 0) }));
}

const mean = (xs: { value: number }[]) => (xs.length ? xs.reduce((a, x) => a + x.value, 0) / xs.length : null);
const round = (x: number) => Math.round(x * 100) / 100;
/** A figure as the comparison table writes it (bytes in KiB/MiB/GiB), for captions and labels. */
const show = (def: MetricChartDef, x: number | null) =>
  x === null ? "—" : def.unit === "bytes" ? formatValue(x, "bytes") : `${round(x)}`;

/** The CloudWatch charts: one per compared figure that both baselines have a series for. */
export function metricCharts(
  before: Baseline | undefined,
  after: Baseline,
  deploy: { start: string; end: string },
): Chart[] {
  return METRIC_CHARTS.flatMap((def) => {
    const b = series(before, def.metrics);
    const a = series(after, def.metrics);
    if (!a.length && !b.length) return [];
    const [avgBefore, avgAfter] = [mean(b), mean(a)];
    const threshold = def.threshold && avgBefore !== null ? def.threshold(avgBefore) : null;
    const rules = [
      ...(avgBefore !== null
        ? [{ y: avgBefore, label: `before avg ${show(def, avgBefore)}`, kind: "before average" }]
        : []),
      ...(avgAfter !== null ? [{ y: avgAfter, label: `after avg ${show(def, avgAfter)}`, kind: "after average" }] : []),
      ...(threshold?.high !== undefined
        ? [{ y: threshold.high, label: `threshold ${show(def, threshold.high)}`, kind: "threshold" }]
        : []),
      ...(threshold?.low !== undefined
        ? [{ y: threshold.low, label: `threshold ${show(def, threshold.low)}`, kind: "threshold" }]
        : []),
    ];
    const verdict =
      threshold && avgAfter !== null
        ? (threshold.low === undefined || avgAfter >= threshold.low) &&
          (threshold.high === undefined || avgAfter <= threshold.high)
          ? "within"
          : "OUTSIDE"
        : null;
    const caption = `${def.title} (${def.unit}): before avg ${show(def, avgBefore)}, after avg ${show(def, avgAfter)}; ${
      threshold
        ? `threshold ${threshold.text}: ${verdict === "within" ? "within" : "OUTSIDE"}`
        : "informational, no threshold"
    }`;
    const points = [
      ...b.map((p) => ({ ...p, window: "before deploy" })),
      ...a.filter((p) => !b.length || p.t > b[b.length - 1].t).map((p) => ({ ...p, window: "after deploy" })),
    ];
    const spec: ChartSpec = {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: { text: `${def.title} (${def.unit})`, subtitle: caption.slice(`${def.title} (${def.unit}): `.length) },
      width: 640,
      height: 220,
      layer: [
        // The deploy lasts seconds on a day's axis: a band would be invisible, so a rule marks its start.
        {
          data: { values: [{ ...deploy, label: "deploy" }] },
          mark: { type: "rule", color: "#c77c02", strokeWidth: 2 },
          encoding: { x: { field: "start", type: "temporal" } },
        },
        {
          data: { values: [{ ...deploy, label: "deploy" }] },
          mark: { type: "text", align: "right", dx: -4, baseline: "top", color: "#c77c02", fontWeight: "bold" },
          encoding: { x: { field: "start", type: "temporal" }, y: { value: 2 }, text: { field: "label" } },
        },
        {
          data: { values: points },
          mark: { type: "line", point: points.length < 40 },
          encoding: {
            x: { field: "t", type: "temporal", title: "time (UTC)", axis: { format: "%d %H:%M" } },
            // Bytes read as the comparison table writes them (GiB), not as 8,600,000,000.
            y: {
              field: "value",
              type: "quantitative",
              title: def.unit,
              scale: { zero: false },
              ...(def.unit === "bytes" ? { axis: { labelExpr: gibLabels(points.map((p) => p.value)) } } : {}),
            },
            color: {
              field: "window",
              type: "nominal",
              title: null,
              scale: { domain: ["before deploy", "after deploy"], range: ["#4c78a8", "#e45756"] },
            },
          },
        },
        {
          data: { values: rules },
          mark: { type: "rule", strokeDash: [6, 4] },
          encoding: {
            y: { field: "y", type: "quantitative" },
            color: {
              field: "kind",
              type: "nominal",
              title: null,
              scale: {
                domain: ["before average", "after average", "threshold"],
                range: ["#7f7f7f", "#e45756", "#d62728"],
              },
            },
            size: { value: 1.5 },
          },
        },
        // Labels: the before average at the left, the after average and the thresholds at the right (they never collide).
        {
          data: { values: rules.filter((r) => r.kind === "before average") },
          mark: { type: "text", align: "left", dy: -5, x: 4, fontSize: 10 },
          encoding: { y: { field: "y", type: "quantitative" }, text: { field: "label" } },
        },
        {
          data: { values: rules.filter((r) => r.kind !== "before average") },
          mark: { type: "text", align: "right", dy: -5, x: 636, fontSize: 10 },
          encoding: { y: { field: "y", type: "quantitative" }, text: { field: "label" } },
        },
      ],
      resolve: { scale: { color: "independent" } },
    };
    const sparkPoints = points.map((p) => p.value);
    const split = points.findIndex((p) => p.window === "after deploy");
    const spark =
      split < 0 ? sparkline(sparkPoints, []) : sparkline(sparkPoints.slice(0, split), sparkPoints.slice(split));
    return [{ file: def.file, title: def.title, caption, sparkline: spark, spec }];
  });
}

const BARS = "▁▂▃▄▅▆▇█";

/** Means of `values` in `buckets` consecutive groups (fewer when there are fewer values). */
function bucketMeans(values: number[], buckets: number): number[] {
  const size = Math.max(1, Math.ceil(values.length / buckets));
  const out: number[] = [];
  for (let i = 0; i < values.length; i += size) {
    const group = values.slice(i, i + size);
    out.push(group.reduce((a, b) => a + b, 0) / group.length);
  }
  return out;
}

/** The before and after series as block characters on one shared scale, the deploy as ┃ (24 and 6 buckets at most). */
export function sparkline(before: number[], after: number[]): string {
  const [b, a] = [bucketMeans(before, 24), bucketMeans(after, 6)];
  const all = [...b, ...a];
  const [min, max] = [Math.min(...all), Math.max(...all)];
  const bar = (x: number) => BARS[max === min ? 3 : Math.round(((x - min) / (max - min)) * (BARS.length - 1))];
  return `${b.map(bar).join("")}┃${a.map(bar).join("")}`;
}

/** A Vega label expression in GiB with as many decimals as the series' range needs (50 GiB ± 3 MiB → 4). */
function gibLabels(values: number[]): string {
  const range = Math.max(...values) - Math.min(...values);
  const decimals = range > 0 ? Math.min(6, Math.max(2, Math.ceil(-Math.log10(range / 1024 ** 3)) + 1)) : 2;
  return `format(datum.value / 1073741824, '.${decimals}f') + ' GiB'`;
}

/** The migrations this run applied, as bars from their start, each labelled with its duration and locks. */
export function migrationTimelineChart(timeline: MigrationTiming[]): Chart | null {
  if (!timeline.length) return null;
  const t0 = Date.parse(timeline[0].startedAt);
  const rows = timeline.map((m) => {
    const start = Date.parse(m.startedAt) - t0;
    return {
      name: m.name,
      start,
      end: start + Math.max(m.ms, 1),
      label: `${Math.round(m.ms)} ms${m.ok ? "" : " FAILED"} · ${m.locks.length ? m.locks.join(", ") : "no lock on an existing table"}`,
      result: m.ok ? "applied" : "failed",
    };
  });
  const total = Math.max(...rows.map((r) => r.end));
  return {
    file: "migrations.svg",
    title: "Migrations applied",
    caption: `${timeline.length} migration(s) in ${Math.round(total)} ms${
      timeline.some((m) => !m.ok)
        ? `; failed: ${timeline
            .filter((m) => !m.ok)
            .map((m) => m.name)
            .join(", ")}`
        : ""
    }`,
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: {
        text: "Migrations applied this run",
        subtitle: "bar = duration; label = the locks each takes on tables that existed before it",
      },
      width: 640,
      height: { step: 22 },
      data: { values: rows },
      encoding: { y: { field: "name", type: "ordinal", sort: null, title: null } },
      layer: [
        {
          mark: { type: "bar", height: 14 },
          encoding: {
            x: {
              field: "start",
              type: "quantitative",
              title: "ms since the first migration started",
              scale: { domain: [0, total * 2.2] },
            },
            x2: { field: "end" },
            color: {
              field: "result",
              type: "nominal",
              title: null,
              scale: { domain: ["applied", "failed"], range: ["#54a24b", "#d62728"] },
            },
          },
        },
        {
          mark: { type: "text", align: "left", dx: 4, fontSize: 10 },
          encoding: { x: { field: "end", type: "quantitative" }, text: { field: "label" } },
        },
      ],
    },
  };
}

/** The audit's findings counted by class and result. */
export function auditChart(findings: AuditResult["findings"]): Chart | null {
  if (!findings.length) return null;
  const counts = new Map<string, number>();
  for (const f of findings)
    counts.set(`${f.class}\u0000${f.severity}`, (counts.get(`${f.class}\u0000${f.severity}`) ?? 0) + 1);
  const rows = [...counts].map(([key, count]) => {
    const [cls, severity] = key.split("\u0000");
    return { class: cls, result: severity, count };
  });
  const n = (s: string) => findings.filter((f) => f.severity === s).length;
  return {
    file: "audit.svg",
    title: "Isolation audit by class",
    caption: `Isolation audit: ${n("pass")} passed, ${n("warn")} warning(s), ${n("fail")} failed, over ${new Set(findings.map((f) => f.class)).size} classes`,
    spec: {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: {
        text: "Isolation audit: findings by class",
        subtitle: `${n("pass")} passed, ${n("warn")} warning(s), ${n("fail")} failed`,
      },
      width: 420,
      height: { step: 18 },
      data: { values: rows },
      mark: "bar",
      encoding: {
        y: { field: "class", type: "nominal", title: null, sort: null },
        x: { field: "count", type: "quantitative", title: "findings", axis: { tickMinStep: 1 } },
        color: {
          field: "result",
          type: "nominal",
          title: null,
          scale: { domain: ["pass", "warn", "fail"], range: ["#54a24b", "#f58518", "#d62728"] },
        },
      },
    },
  };
}
