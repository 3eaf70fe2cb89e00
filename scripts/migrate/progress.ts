/**
 * One line of text for a running migration's progress event (elapsed time; the lock it waits for and who
 * holds it; an index build's phase and blocks or tuples done). Pure: commands and flows hand it to their
 * progress observer, which decides where it goes (stderr, never stdout).
 */
import type { MigrateEvent } from "./runner.js";

type ProgressEvent = Extract<MigrateEvent, { type: "progress" }>;

/** `running 42 s — CREATE INDEX on website_event: building index: scanning table, 1,234 of 98,765 blocks (1%)`. */
export function describeMigrationProgress(event: ProgressEvent): string {
  const elapsed = `running ${formatElapsed(event.elapsedMs)}`;
  if (event.waiting) {
    const holders = event.waiting.holders.map(
      (h) => `pid ${h.pid}${h.user ? ` ${h.user}` : ""}${h.application ? ` "${h.application}"` : ""}`,
    );
    return `${elapsed} — waiting for ${event.waiting.mode} on ${event.waiting.object}${holders.length ? `, held by ${holders.join(", ")}` : ""}`;
  }
  if (event.index) {
    const { table, phase, blocksDone, blocksTotal, tuplesDone, tuplesTotal } = event.index;
    const counts =
      blocksTotal > 0
        ? `, ${fraction(blocksDone, blocksTotal, "blocks")}`
        : tuplesTotal > 0
          ? `, ${fraction(tuplesDone, tuplesTotal, "tuples")}`
          : "";
    return `${elapsed} — CREATE INDEX on ${table}: ${phase}${counts}`;
  }
  return elapsed;
}

function fraction(done: number, total: number, unit: string): string {
  return `${done.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} ${unit} (${Math.floor((100 * done) / total)}%)`;
}

/** "2.0 s", "4 min 05 s". */
export function formatElapsed(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.floor(s);
  return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
}
