/**
 * What `migrate deploy --online` prints: a line per finished step, phase and backfill batch (stderr), and at
 * the end what was done, the ACCESS EXCLUSIVE time spent per table, and what to do next (stdout).
 */
import { formatElapsed } from "../progress.js";
import type { OnlineEvent, OnlineResult } from "./deploy.js";

/** A progress line, or nothing for events too frequent to print (every batch: one line per 100 ms of work at most). */
export function describeOnlineEvent(event: OnlineEvent): string | undefined {
  switch (event.type) {
    case "phase":
      return `${event.migration}: ${event.phase} done in ${formatElapsed(event.ms)}`;
    case "step":
      return `${event.migration}: ${event.label} ${event.skipped ? "(already done)" : `${Math.round(event.ms)} ms`}`;
    case "batch":
      return undefined;
    case "quiet":
      return `watched ${formatElapsed(event.ms)} for rows in the old version's shape: ${event.oldWrites}`;
  }
}

/** The closing lines: done, locks spent, next steps. */
export function describeOnlineResult(result: OnlineResult): string[] {
  const lines: string[] = [];
  if (result.offline.length)
    lines.push(
      `Applied ${result.offline.length} migration(s) to ${result.schema} as usual: ${result.offline.join(", ")}`,
    );
  if (result.online.length === 0) lines.push("No pending migration has an online plan: nothing runs online.");
  for (const m of result.online)
    lines.push(`${m.name}: ${m.phase === "recorded" ? "contracted and recorded in _prisma_migrations" : m.phase}`);
  for (const l of result.locks)
    lines.push(
      `ACCESS EXCLUSIVE on ${l.table}: ${Math.round(l.ms)} ms in ${l.attempts} short transaction(s)${l.timeouts ? `, ${l.timeouts} lock_timeout(s) retried` : ""}`,
    );
  if (result.online.length > 0 && !result.finished) {
    lines.push(
      "Both Umami versions can write now. Next:",
      "  1. roll out the new image with SKIP_DB_MIGRATION=1 (its start-up `prisma migrate deploy` would re-run the unrecorded migrations);",
      "  2. drain the old version (every 2.x task stopped);",
      "  3. run `umami-db migrate deploy --online --finish`.",
    );
  }
  if (result.finished)
    lines.push(
      `Upgrade complete in ${formatElapsed(result.ms)}: Prisma's \`migrate deploy\` now finds nothing to apply.`,
    );
  return lines;
}
