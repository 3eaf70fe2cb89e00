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

/** Escapes `|` so a value cannot break a Markdown table. */
function cell(value: string): string {
  return value.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The Markdown report of a post-deploy run. */
export function renderPostDeployMarkdown(result: PostDeployResult): string {
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
  if (result.migrations.modified.length) lines.push("## Edited migrations", "", ...result.migrations.modified.map((m) => `- ${m}`), "");
  if (result.migrations.missingLocally?.length) {
    lines.push("## Migrations the source lacks", "", "Applied to the database but not in the source (a newer Umami ran?):", "", ...result.migrations.missingLocally.map((m) => `- \`${m}\``), "");
  }
  for (const note of result.migrations.notes ?? []) lines.push(`> ${cell(note)}`, "");
  lines.push("## Steps", "", "| Step | Result | Time | Detail |", "|---|---|---:|---|");
  for (const s of result.steps) {
    lines.push(`| ${cell(s.name)} | ${s.ok ? "ok" : "**FAIL**"} | ${s.ms} ms | ${cell(s.ok ? (s.detail ?? "") : (s.error ?? s.detail ?? ""))} |`);
  }
  lines.push("");
  if (result.schemaCheck) lines.push("## Schema against the release", "", renderVerifySchemaMarkdown(result.schemaCheck).trim(), "");
  if (result.checks) {
    lines.push("## Isolation audit", "", renderAuditMarkdown(result.checks.audit as AuditResult).trim(), "");
    lines.push("## Performance baseline", "");
    lines.push(result.checks.comparison ? renderComparisonMarkdown(result.checks.comparison).trim() : "No baseline from before the deploy (run `umami-db preflight` before `sst deploy`); the baseline after is in report.json.");
    lines.push("");
  }
  if (result.migrations.applied.length) lines.push("## Migrations applied", "", ...result.migrations.applied.map((m) => `- \`${m}\``), "");
  lines.push(
    result.handoff
      ? renderHandoffMarkdown(result.handoff, 2)
      : "## Handoff for Story 4.1\n\nThe secret's ARN is not known (pass --secret-id with the ARN, or deploy with SST): run `umami-db handoff --stage " + result.stage + "` once it is.\n",
  );
  return lines.join("\n");
}
