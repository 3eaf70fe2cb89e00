/**
 * How verify-schema's result reads: one line for progress and summaries, the text `migrate verify-schema`
 * prints, and the section of report.md. Pure, and free of the scratch server's imports, so commands can load
 * it at start.
 */
import type { VerifySchemaResult } from "./verify-schema.js";

/** The one-line summary used by progress lines and the reports. */
export function verifySchemaLine(result: VerifySchemaResult): string {
  // No time here: the step records its own, and the line stays the same from one run to the next.
  const compared = `${result.compared.length} applied migration(s) rebuilt on a scratch server`;
  const pending = result.pending.length ? `; ${result.pending.length} pending, not compared` : "";
  return result.ok
    ? `matches the release (${compared}${pending})`
    : `${result.differences.length} difference(s) from the release (${compared}${pending})`;
}

/** The text `migrate verify-schema` prints: every difference, then the SQL and the remedy. */
export function renderVerifySchemaText(result: VerifySchemaResult): string {
  const lines = [`schema ${result.schema} vs ${result.source}: ${verifySchemaLine(result)}`];
  for (const d of result.differences) lines.push(`  ${d.change.padEnd(8)} ${d.message}`);
  if (result.sql.length)
    lines.push(
      "",
      `SQL that brings ${result.schema} to the release:`,
      ...result.sql.map((s) => s.replace(/^/gm, "  ")),
    );
  if (result.remedy) lines.push("", `remedy: ${result.remedy}`);
  lines.push(costLine(result));
  return `${lines.join("\n")}\n`;
}

/** The report.md section for post-deploy and local. */
export function renderVerifySchemaMarkdown(result: VerifySchemaResult): string {
  const lines = [
    `Live schema \`${result.schema}\` against \`${result.source}\`: ${verifySchemaLine(result)}. ${costLine(result)}.`,
    "",
  ];
  if (result.differences.length) {
    lines.push("| Change | Object | Difference |", "|---|---|---|");
    for (const d of result.differences)
      lines.push(`| ${d.change} | ${d.kind} \`${d.object}\` | ${d.message.replace(/\|/g, "\\|")} |`);
    lines.push("");
    if (result.sql.length) lines.push("```sql", ...result.sql, "```", "");
    lines.push(`**Remedy:** ${result.remedy}`, "");
  }
  return lines.join("\n");
}

/** What the scratch server cost: its start, and the migrations on it. */
function costLine(result: VerifySchemaResult): string {
  const ms = (n: number) => `${Math.round(n)} ms`;
  return `Scratch PostgreSQL started in ${ms(result.ms.scratchServer)}, ${result.compared.length} migration(s) applied to it in ${ms(result.ms.scratchMigrations)}, ${ms(result.ms.total)} in all`;
}
