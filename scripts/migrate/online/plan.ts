/**
 * The shape of an online plan: what one heavy Umami migration becomes when it must not block the tracker —
 * expand (new columns in one short ACCESS EXCLUSIVE transaction per table, plus the triggers that fill them
 * for rows the old version inserts), backfill (committed, resumable batches by key range), contract (NOT NULL
 * through a validated CHECK, indexes built CONCURRENTLY under the release's names, renames and drops in short
 * transactions), then the proof of the end state before the row is recorded. Pure data; online/steps.ts runs it.
 */

/** One step of expand or contract, as online/steps.ts runs it. */
export type Step =
  /** Statements on the tool's own objects (functions, scratch tables): no lock on an Umami table. */
  | { kind: "sql"; label: string; sql: string[] }
  /**
   * One short transaction under `lock_timeout`, retried within the run's lock budget for `table`; skipped when
   * `doneWhen` (a query returning one boolean column `done`) says it already ran.
   */
  | { kind: "short"; label: string; table: string; sql: string[]; doneWhen: string }
  /** `ALTER TABLE … VALIDATE CONSTRAINT` (SHARE UPDATE EXCLUSIVE: inserts go on); on a violation, the catch-up first. */
  | { kind: "validate"; label: string; table: string; constraint: string; catchUp: Backfill }
  /** `CREATE INDEX CONCURRENTLY` under the release's name; an invalid leftover of that name is dropped first. */
  | { kind: "index"; label: string; table: string; name: string; columns: string[] }
  /** `DROP INDEX CONCURRENTLY IF EXISTS` on an index of `table`. */
  | { kind: "drop-index"; label: string; table: string; name: string };

/** A backfill: committed batches over `table` in `key` order, each running `sql` with $1 = after (or NULL), $2 = up to. */
export interface Backfill {
  label: string;
  table: string;
  /** A uuid column with a unique index (the batches' key range). */
  key: string;
  sql: string[];
}

/** What the plan's end state must satisfy before its row is recorded: each query returns rows `{ problem: text }`. */
export interface Proof {
  sql: string;
  params?: unknown[];
}

/** One migration's online plan, for one schema. */
export interface OnlinePlan {
  /** The migration's directory name, e.g. `05_add_visit_id`. */
  name: string;
  /** The release file's SHA-256: an edited file has no plan and runs offline, as written. */
  checksum: string;
  /** The Umami tables the plan changes. */
  tables: string[];
  /** How a row in the old version's shape is told apart (for `--finish`'s refusal and the docs). */
  oldShape: string;
  expand: Step[];
  backfill: Backfill[];
  contract: Step[];
  proof: Proof[];
}

/** A plan builder: the schema in, the plan out. */
export interface PlanTemplate {
  name: string;
  checksum: string;
  build(schema: string): OnlinePlan;
}
