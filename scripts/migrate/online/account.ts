/**
 * What one online run spent, as it happens: the phases it ran (when, how long), the lock each phase held on each
 * table (measured, summed over its steps), and the backfill's pauses. The run's result carries these figures;
 * post-deploy's report and `migrate deploy --online`'s closing lines show them.
 */
import type { ThrottleEvent } from "./backfill.js";

/** A phase of an online migration this run ran: when, how long. */
export interface PhaseTiming {
  migration: string;
  phase: "expand" | "backfill" | "contract";
  startedAt: string;
  ms: number;
}

/**
 * A lock a phase held on an Umami table, measured: ACCESS EXCLUSIVE from BEGIN to COMMIT of its short
 * transactions (waits included), SHARE UPDATE EXCLUSIVE for a VALIDATE or a concurrent index build or drop,
 * ROW EXCLUSIVE (row locks) for the backfill's batches.
 */
export interface PhaseHold {
  migration: string;
  phase: PhaseTiming["phase"];
  table: string;
  lock: "ACCESS EXCLUSIVE" | "SHARE UPDATE EXCLUSIVE" | "ROW EXCLUSIVE";
  ms: number;
}

/** The backfill's pauses for one reason: how many, and how long in all, ms. */
export interface Pause {
  reason: ThrottleEvent["reason"];
  pauses: number;
  ms: number;
}

/** The figures of one run, filled in as it goes. */
export class RunAccount {
  readonly phases: PhaseTiming[] = [];
  readonly held: PhaseHold[] = [];
  readonly paused: Pause[] = [];

  /** Adds `entry`'s time to the same migration, phase, table and lock, or records it. */
  hold(entry: PhaseHold): void {
    const same = this.held.find(
      (h) =>
        h.migration === entry.migration && h.phase === entry.phase && h.table === entry.table && h.lock === entry.lock,
    );
    if (same) same.ms += entry.ms;
    else this.held.push(entry);
  }

  /** Counts a pause once it ends. */
  throttled(event: ThrottleEvent): void {
    if (event.state !== "resumed") return;
    const same = this.paused.find((p) => p.reason === event.reason);
    if (same) {
      same.pauses++;
      same.ms += event.pausedMs;
    } else this.paused.push({ reason: event.reason, pauses: 1, ms: event.pausedMs });
  }
}
