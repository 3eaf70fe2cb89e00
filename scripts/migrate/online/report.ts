/**
 * What `migrate deploy --online` prints: a line per finished step, phase and backfill batch (stderr), and at
 * the end what was done, the ACCESS EXCLUSIVE time spent per table, and what to do next (stdout).
 */
import { formatElapsed } from "../progress.js";
import type { PhaseHold } from "./account.js";
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
    case "throttle":
      return event.state === "paused"
        ? `${event.migration}: backfill paused: ${event.reason} ${Math.round(event.valueMs)} ms over ${event.limitMs} ms`
        : `${event.migration}: backfill resumed after ${formatMs(event.pausedMs)} (${event.reason} ${Math.round(event.valueMs)} ms)`;
    case "quiet":
      return `watched ${formatElapsed(event.ms)} for rows in the old version's shape: ${event.oldWrites}`;
  }
}

/**
 * How SKIP_DB_MIGRATION must be set during an online upgrade: the one sentence the next steps, the handoff's
 * variable and docs/upgrades.md share.
 */
export const SKIP_DURING_ONLINE =
  "SKIP_DB_MIGRATION=1 on the new image from its roll until the finish has run (the handoff sets it for good): its start-up `prisma migrate deploy` (scripts/check-db.js) would find the online migrations unrecorded and re-run them offline, failing at the first column the expand already added";

/**
 * What to do between `--online` and `--online --finish`, in order: the one text the command's closing lines,
 * post-deploy's report, the handoff and docs/upgrades.md's "The sequence" show (a test holds the doc to it).
 */
export function onlineNextSteps(verb: string): string[] {
  return [
    `roll out the new image (Umami 3.x) once the first run has exited 0, with ${SKIP_DURING_ONLINE};`,
    "drain the old image (every 2.x task stopped);",
    `run \`${verb} --online --finish\`: it refuses while rows in the old version's shape still arrive, else contracts and records; afterwards \`prisma migrate deploy\` finds nothing to apply.`,
  ];
}

/** Per phase of `migration`, each table's lock and the time it was held (measured), e.g. `expand: ACCESS EXCLUSIVE on website_event 12 ms`. */
export function describeHeld(held: PhaseHold[], migration: string): string[] {
  return held
    .filter((h) => h.migration === migration)
    .map((h) => `${h.phase}: ${h.lock} on ${h.table} ${formatMs(h.ms)}`);
}

/** 12 ms, 1.4 s, 2 min 05 s. */
function formatMs(ms: number): string {
  return ms < 1_000 ? `${Math.round(ms)} ms` : formatElapsed(ms);
}

/** The closing lines: done, locks spent, next steps; `verb` is the command to finish with. */
export function describeOnlineResult(result: OnlineResult, verb = "umami-db migrate deploy"): string[] {
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
  for (const p of result.paused)
    lines.push(`Backfill paused ${p.pauses} time(s) for ${p.reason}, ${formatMs(p.ms)} in all.`);
  for (const m of result.online) {
    const held = describeHeld(result.held, m.name);
    if (held.length) lines.push(`  ${m.name} held: ${held.join("; ")}`);
  }
  if (result.online.length > 0 && !result.finished)
    lines.push("Both Umami versions can write now. Next:", ...onlineNextSteps(verb).map((s, i) => `  ${i + 1}. ${s}`));
  if (result.finished)
    lines.push(
      `Upgrade complete in ${formatElapsed(result.ms)}: Prisma's \`migrate deploy\` now finds nothing to apply.`,
    );
  return lines;
}
