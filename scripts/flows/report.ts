/**
 * The post-deploy report: `report.md` is what a DBA pastes into the story's completion notes, `report.json`
 * the same facts for machines. Pure: builds strings and objects; the command writes the files.
 */
import type { AuditResult } from "../audit/audit.js";
import { renderComparisonMarkdown } from "../evidence/baseline-compare.js";
import type { PostDeployResult } from "./post-deploy.js";
import { renderAuditMarkdown } from "../audit/report.js";
import { renderHandoffMarkdown } from "./handoff-report.js";
import { renderVerifySchemaMarkdown } from "./verify-schema-report.js";
import { renderOnlineMarkdown } from "./online-report.js";
import { stageSettings } from "../../sst/stages.js";
import type { Chart } from "./charts.js";

/** Where the charts go, relative to report.md. */
export const CHARTS_DIR = "charts";

/** Escapes `|` so a value cannot break a Markdown table. */
function cell(value: string): string {
  return value.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The Markdown report of a post-deploy run; `charts` are linked from it (files in CHARTS_DIR beside it). */
export function renderPostDeployMarkdown(result: PostDeployResult, charts: Chart[] = []): string {
  const lines = [
    `# Umami schema post-deploy report — stage \`${result.stage}\``,
    "",
    `**Result: ${result.ok ? "PASS" : `FAIL${result.failedStep ? ` at step "${result.failedStep}"` : ""}`}** — ${result.startedAt} → ${result.finishedAt}`,
    "",
    "| | |",
    "|---|---|",
    `| Secret ARN | \`${result.secretArn ?? "(not known: pass --secret-id or deploy with SST)"}\` |`,
    `| Secret name | \`${result.names.secretName}\` |`,
    `| Database | \`${result.target.host}:${result.target.port}/${result.target.database}\` |`,
    `| Schema / role | \`${result.names.schema}\` / \`${result.names.role}\` |`,
    `| Migrations | ${result.migrations.applied.length} applied this run, ${result.migrations.alreadyApplied.length} already applied (source \`${result.migrations.source}\`) |`,
    `| Umami tables | ${result.umamiTables} + \`_prisma_migrations\` |`,
    `| Before snapshot | baseline ${result.before.baseline ?? "none"}, fingerprint ${result.before.fingerprint ?? "none"} |`,
    "",
  ];
  if (result.error) lines.push(`> ${cell(result.error)}`, "");
  if (!result.ok) lines.push(...failureLines(result));
  if (charts.length) {
    lines.push("## Charts", "");
    for (const c of charts)
      lines.push(`![${c.caption.replace(/[[\]]/g, "")}](${CHARTS_DIR}/${c.file})`, "", `*${c.caption}*`, "");
  }
  if (result.migrations.modified.length)
    lines.push("## Edited migrations", "", ...result.migrations.modified.map((m) => `- ${m}`), "");
  if (result.migrations.missingLocally?.length) {
    lines.push(
      "## Migrations the source lacks",
      "",
      "Applied to the database but not in the source (a newer Umami ran?):",
      "",
      ...result.migrations.missingLocally.map((m) => `- \`${m}\``),
      "",
    );
  }
  for (const note of result.migrations.notes ?? []) lines.push(`> ${cell(note)}`, "");
  lines.push(...renderOnlineMarkdown(result.migrations.online ?? null));
  lines.push("## Steps", "", "| Step | Result | Time | Detail |", "|---|---|---:|---|");
  for (const s of result.steps) {
    lines.push(
      `| ${cell(s.name)} | ${s.ok ? "ok" : "**FAIL**"} | ${s.ms} ms | ${cell(s.ok ? (s.detail ?? "") : (s.error ?? s.detail ?? ""))} |`,
    );
  }
  lines.push("");
  if (result.schemaCheck)
    lines.push("## Schema against the release", "", renderVerifySchemaMarkdown(result.schemaCheck).trim(), "");
  if (result.checks) {
    // renderAuditMarkdown brings its own "## Isolation audit" heading.
    lines.push(renderAuditMarkdown(result.checks.audit as AuditResult).trim(), "");
    lines.push("## Performance baseline", "");
    lines.push(
      result.checks.comparison
        ? renderComparisonMarkdown(result.checks.comparison).trim()
        : "No baseline from before the deploy (run `umami-db preflight` before `sst deploy`); the baseline after is in report.json.",
    );
    lines.push("");
  }
  if (result.migrations.applied.length)
    lines.push("## Migrations applied", "", ...result.migrations.applied.map((m) => `- \`${m}\``), "");
  lines.push(
    result.handoff
      ? renderHandoffMarkdown(result.handoff, 2)
      : "## Handoff for Story 4.1\n\nThe secret's ARN is not known (pass --secret-id with the ARN, or deploy with SST): run `umami-db handoff --stage " +
          result.stage +
          "` once it is.\n",
  );
  return lines.join("\n");
}

/** The command that removes what post-deploy's stage put in the database (never run by CI: a person decides). */
function rollbackCommand(stage: string): string {
  return `npx umami-db rollback --stage ${stage} --yes${stageSettings(stage).protect ? " --force" : ""}`;
}

/** A failed run: what failed, whether anything changed, and the exact commands to undo or resume. */
function failureLines(result: PostDeployResult): string[] {
  const failed = result.migrations.timeline.filter((m) => !m.ok);
  const applied = result.migrations.applied.length
    ? result.migrations.applied
    : result.migrations.timeline.filter((m) => m.ok).map((m) => m.name);
  return [
    "## What failed, what changed, how to roll back",
    "",
    `- **Failed:** step "${result.failedStep ?? "unknown"}"${result.error ? `: ${cell(result.error)}` : ""}`,
    "- **Changed before it:** `sst deploy` had completed (the stack — role, schema, grants, secret — is as the merged commit declares).",
    applied.length
      ? `- **Migrations committed this run:** ${applied.map((m) => `\`${m}\``).join(", ")} (each in its own transaction, with its row in \`_prisma_migrations\`).`
      : "- **Migrations committed this run:** none.",
    ...failed.map(
      (m) =>
        `- **Migration \`${m.name}\` failed** and its transaction rolled back: nothing of it remains, and it is recorded as failed, so the next deploy stops until \`npx umami-db migrate resolve --rolled-back ${m.name}\` (with the Umami role's URL) after the fix.`,
    ),
    "- **Nothing was rolled back automatically.** To remove the stage's schema (with Umami's data), role and default privileges:",
    "",
    "```sh",
    rollbackCommand(result.stage),
    "```",
    "",
    "Or fix forward: correct the cause, then re-run the failed job (post-deploy is idempotent: applied migrations are skipped).",
    "",
  ];
}

/** The job summary ($GITHUB_STEP_SUMMARY) of a deploy: the report, with where to find the charts as pictures. */
export function renderDeploySummary(result: PostDeployResult, charts: Chart[], artifactHint: string): string {
  const report = renderPostDeployMarkdown(result, []);
  const chartLines = charts.length
    ? [
        "## Charts",
        "",
        `SVG charts and report.html (the report with the charts in it) are in ${artifactHint}:`,
        "",
        ...charts.map(
          (c) =>
            `- \`${CHARTS_DIR}/${c.file}\` — ${c.caption}${c.sparkline ? `<br>\`${c.sparkline}\` (before ┃ after the deploy)` : ""}`,
        ),
        "",
      ]
    : [];
  // After the run's facts and any failure, before the steps.
  const at = report.indexOf("## Steps");
  return `${report.slice(0, at)}${chartLines.join("\n")}${chartLines.length ? "\n" : ""}${report.slice(at)}`;
}
