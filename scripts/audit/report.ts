/**
 * Renders an `AuditResult`: a terminal table (one row per check) and a Markdown section for the report.
 * Pure functions over data; the command decides where the text goes.
 */
import type { AuditResult, Finding } from "./audit.js";

const MARK = { pass: "PASS", warn: "WARN", fail: "FAIL" } as const;

/** Objects shown per finding in the terminal; the rest are counted (the Markdown lists them all). */
const TERMINAL_OBJECTS = 8;

function summary(result: AuditResult): string {
  const count = (s: Finding["severity"]) => result.findings.filter((f) => f.severity === s).length;
  const warnings = count("warn");
  return `${result.ok ? "PASS" : "FAIL"}: ${count("fail")} failed, ${warnings} warning${warnings === 1 ? "" : "s"}, ${count("pass")} passed — ${result.queries} catalog queries, ${result.ms} ms`;
}

/** Indent of a finding's objects and remedy under its row. */
const INDENT = " ".repeat(8);

/** The audit as a terminal table: result and check per row (a pass adds its sentence), then the objects and remedy of what did not pass, and a summary line. */
export function renderAuditTable(result: AuditResult, about?: string): string {
  const width = Math.min(Math.max(...result.findings.map((f) => f.check.length), 5), 40);
  const lines = [...(about ? [`Isolation audit: ${about}`, ""] : []), `${"RESULT".padEnd(6)}  CHECK`];
  for (const f of result.findings) {
    lines.push(
      `${MARK[f.severity].padEnd(6)}  ${f.check.padEnd(width)}  ${f.severity === "pass" ? f.remedy : ""}`.trimEnd(),
    );
    if (f.severity === "pass") continue;
    for (const object of f.objects.slice(0, TERMINAL_OBJECTS)) lines.push(`${INDENT}- ${object}`);
    if (f.objects.length > TERMINAL_OBJECTS) lines.push(`${INDENT}- … and ${f.objects.length - TERMINAL_OBJECTS} more`);
    lines.push(`${INDENT}→ ${f.remedy}`);
    if (f.detail) lines.push(`${INDENT}  ${f.detail}`);
  }
  lines.push("", summary(result));
  return `${lines.join("\n")}\n`;
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/**
 * The audit as Markdown: what was audited (`about`: stage, database, server, time), a summary, a table with
 * one row per check, the probes and the fingerprint changes.
 */
export function renderAuditMarkdown(result: AuditResult, about?: string): string {
  const out = [
    "## Isolation audit",
    "",
    ...(about ? [`Audited: ${about}`, ""] : []),
    `**${summary(result)}**`,
    "",
    "| Result | Check | Objects | Remedy | Class |",
    "|---|---|---|---|---|",
    ...result.findings.map(
      (f) =>
        `| ${MARK[f.severity]} | ${cell(f.check)} | ${f.objects.length ? f.objects.map((o) => `\`${cell(o)}\``).join("<br>") : "—"} | ${cell(f.remedy)}${f.detail ? ` (${cell(f.detail)})` : ""} | ${f.class} |`,
    ),
    "",
  ];
  if (result.probes.length > 0) {
    out.push("### Live probes", "", "| Probe | Expected | Outcome |", "|---|---|---|");
    for (const p of result.probes)
      out.push(
        `| ${cell(p.name)} | ${p.expected} | ${p.ok ? "" : "**"}${p.outcome}${p.ok ? "" : "**"}${p.detail ? ` — ${cell(p.detail)}` : ""} |`,
      );
    out.push("");
  }
  out.push("### Application fingerprint", "");
  if (!result.fingerprint.compared) out.push("Not compared (no usable baseline).");
  else if (result.fingerprint.changed.length === 0)
    out.push("Identical to the baseline: no application object changed.");
  else {
    out.push(`${result.fingerprint.changed.length} object(s) differ from the baseline:`, "");
    for (const c of result.fingerprint.changed) out.push(`- ${c.change} \`${cell(c.object)}\``);
  }
  out.push("");
  return out.join("\n");
}

/**
 * The `--json` shape CI and reviewers read, with each finding's path class (docs/threat-model.md):
 * `{ ok, findings: [{ class, check, severity, objects, remedy }], fingerprint: { changed } }`.
 */
export function auditJson(result: AuditResult) {
  return {
    ok: result.ok,
    findings: result.findings.map(({ class: cls, check, severity, objects, remedy }) => ({
      class: cls,
      check,
      severity,
      objects,
      remedy,
    })),
    fingerprint: { changed: result.fingerprint.changed },
  };
}
