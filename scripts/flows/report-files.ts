/**
 * Every file of a post-deploy report directory, as text (the command writes them): report.md, report.json, the
 * SVG charts under charts/, and report.html — report.md rendered with each chart inline, one self-contained page
 * a DBA opens from the artifact. Plus the job summary's Markdown.
 */
import { Marked } from "marked";
import type { Baseline } from "../evidence/baseline.js";
import { renderChartSvg } from "./chart-svg.js";
import { auditChart, metricCharts, migrationTimelineChart, type Chart } from "./charts.js";
import type { PostDeployResult } from "./post-deploy.js";
import { CHARTS_DIR, renderDeploySummary, renderPostDeployMarkdown } from "./report.js";

/** The report directory's files by relative path, and the job summary. */
export interface ReportFiles {
  files: Record<string, string>;
  charts: Chart[];
  summary: string;
}

/** The charts a run has data for: the CloudWatch figures (when both baselines read CloudWatch), the migrations, the audit. */
function reportCharts(result: PostDeployResult, before?: Baseline): Chart[] {
  const charts: Chart[] = [];
  const after = result.checks?.after;
  if (after?.cloudwatch) {
    const lastMigration = result.migrations.timeline.at(-1);
    const end = lastMigration
      ? new Date(Date.parse(lastMigration.startedAt) + lastMigration.ms).toISOString()
      : result.startedAt;
    charts.push(...metricCharts(before, after, { start: before?.capturedAt ?? result.startedAt, end }));
  }
  const timeline = migrationTimelineChart(result.migrations.timeline);
  if (timeline) charts.push(timeline);
  const audit = result.checks ? auditChart(result.checks.audit.findings) : null;
  if (audit) charts.push(audit);
  return charts;
}

/** report.md as one HTML page, each chart's SVG inline in place of its image link. */
function renderReportHtml(markdown: string, title: string, svgs: Map<string, string>): string {
  const body = new Marked({ gfm: true }).parse(markdown, { async: false });
  const inlined = body.replace(/<img src="([^"]+)" alt="([^"]*)"\s*\/?>/g, (tag, src: string, alt: string) => {
    const svg = svgs.get(src);
    return svg ? `<figure role="img" aria-label="${alt}">${svg}</figure>` : tag;
  });
  const css =
    "body{font:14px/1.5 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top}figure{margin:1em 0}code{font-size:12px}";
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${title.replace(/</g, "&lt;")}</title><style>${css}</style></head><body>\n${inlined}</body></html>\n`;
}

/** Renders every file of the report directory. */
export async function buildReportFiles(
  result: PostDeployResult,
  before: Baseline | undefined,
  artifactHint: string,
): Promise<ReportFiles> {
  const charts = reportCharts(result, before);
  const svgs = new Map<string, string>();
  for (const chart of charts) svgs.set(`${CHARTS_DIR}/${chart.file}`, await renderChartSvg(chart));
  const markdown = renderPostDeployMarkdown(result, charts);
  return {
    charts,
    files: {
      "report.md": markdown,
      "report.json": `${JSON.stringify(result, null, 2)}\n`,
      "report.html": renderReportHtml(markdown, `Umami schema post-deploy report — stage ${result.stage}`, svgs),
      ...Object.fromEntries(svgs),
    },
    summary: renderDeploySummary(result, charts, artifactHint),
  };
}
