/**
 * What post-deploy's report and summary say of an online run: which migrations ran online and where each
 * stands, the locks each phase held per table (measured), and what is left to do, in order.
 */
import { describeHeld } from "../migrate/online/report.js";
import type { OnlineSummary } from "./post-deploy.js";

/** Where an online migration stands, in words. */
function standing(phase: OnlineSummary["migrations"][number]["phase"]): string {
  switch (phase) {
    case "recorded":
      return "contracted and recorded in _prisma_migrations";
    case "backfilled":
      return "expanded and backfilled: both Umami versions can write; contract and record at --finish";
    default:
      return `${phase} (the same command resumes it)`;
  }
}

/** The console summary's lines (none without --online). */
export function describeOnlineSummary(online: OnlineSummary | null): string[] {
  if (!online) return [];
  return [
    ...online.migrations.map((m) => `online:        ${m.name} ${standing(m.phase)}`),
    ...online.next.map((step, i) => `${i === 0 ? "next:          " : "               "}${i + 1}. ${step}`),
  ];
}

/** The report's "Online migrations" section (empty without --online). */
export function renderOnlineMarkdown(online: OnlineSummary | null): string[] {
  if (!online) return [];
  const lines = ["## Online migrations", ""];
  if (online.migrations.length === 0)
    lines.push("No pending migration has an online plan: every one ran as usual.", "");
  else {
    lines.push("| Migration | Where it stands | Held this run (measured, per phase and table) |", "|---|---|---|");
    for (const m of online.migrations) {
      const held = describeHeld(online.held, m.name);
      lines.push(
        `| \`${m.name}\` | ${standing(m.phase)} | ${held.length ? held.join("<br>") : "nothing (already done)"} |`,
      );
    }
    lines.push("");
  }
  for (const l of online.locks)
    lines.push(
      `- ACCESS EXCLUSIVE on \`${l.table}\`: ${Math.round(l.ms)} ms in all, in ${l.attempts} short transaction(s)${l.timeouts ? `, ${l.timeouts} lock_timeout(s) retried` : ""}`,
    );
  for (const p of online.paused)
    lines.push(`- The backfill paused ${p.pauses} time(s) for ${p.reason}, ${Math.round(p.ms)} ms in all.`);
  if (online.locks.length || online.paused.length) lines.push("");
  if (online.next.length)
    lines.push("**Not finished.** Next, in order:", "", ...online.next.map((step, i) => `${i + 1}. ${step}`), "");
  return lines;
}
