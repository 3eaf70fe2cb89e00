/**
 * The known online plans, keyed by the release file's SHA-256: a migration whose file matches runs online
 * under `migrate deploy --online`; any other (an edited copy included) runs offline, as written.
 */
import type { Migration } from "../sources/types.js";
import { ADD_TAG } from "./add-tag.js";
import { HOSTNAME_REGION } from "./hostname-region.js";
import type { OnlinePlan, Step } from "./plan.js";
import { SESSION_DATA } from "./session-data.js";
import { VISIT_ID } from "./visit-id.js";

const TEMPLATES = [VISIT_ID, SESSION_DATA, ADD_TAG, HOSTNAME_REGION];

/** The migrations that have an online plan, in Prisma's order. */
export const ONLINE_MIGRATIONS: string[] = TEMPLATES.map((t) => t.name);

/** The online plan for `migration` in `schema`, when its file is one the tool knows byte for byte. */
export function onlinePlanFor(migration: Migration, schema: string): OnlinePlan | undefined {
  const template = TEMPLATES.find((t) => t.name === migration.name && t.checksum === migration.checksum);
  return template?.build(schema);
}

/** The lock each kind of step takes on its table (the one that matters to the tracker's inserts), or none. */
export function stepLockMode(step: Step): "ACCESS EXCLUSIVE" | "SHARE UPDATE EXCLUSIVE" | undefined {
  switch (step.kind) {
    case "short":
      return "ACCESS EXCLUSIVE";
    case "validate":
    case "index":
    case "drop-index":
      return "SHARE UPDATE EXCLUSIVE";
    case "sql":
      return undefined;
  }
}

/** The lock each kind of step takes on its table, and for how long (the dry run's and the docs' words). */
function stepLock(step: Step): string {
  switch (step.kind) {
    case "short":
      return `ACCESS EXCLUSIVE on ${step.table}, one short transaction under lock_timeout (retried within the lock budget)`;
    case "validate":
      return `SHARE UPDATE EXCLUSIVE on ${step.table} for a full scan (inserts go on)`;
    case "index":
      return `SHARE UPDATE EXCLUSIVE on ${step.table} while the index builds CONCURRENTLY (inserts go on)`;
    case "drop-index":
      return `SHARE UPDATE EXCLUSIVE on ${step.table} while the index is dropped CONCURRENTLY (inserts go on)`;
    case "sql":
      return "the tool's own objects only";
  }
}

/** The dry run's lines for the pending `migrations` that have a plan (none: no lines). */
export function onlineLines(migrations: Migration[], schema: string): string[] {
  const plans = migrations.flatMap((m) => onlinePlanFor(m, schema) ?? []);
  if (plans.length === 0) return [];
  return ["With --online, these run online instead (every other one as above):", ...plans.flatMap(describeOnlinePlan)];
}

/** One plan's lines: phases, each step with its lock. */
function describeOnlinePlan(plan: OnlinePlan): string[] {
  return [
    `  ${plan.name}: runs online with --online (expand → backfill → contract → record)`,
    ...plan.expand.map((s) => `    expand    ${s.label}: ${stepLock(s)}`),
    ...plan.backfill.map(
      (b) => `    backfill  ${b.label} on ${b.table}: committed batches by ${b.key} (row locks only; resumable)`,
    ),
    ...plan.contract.map((s) => `    contract  ${s.label}: ${stepLock(s)}`),
    `    record    the _prisma_migrations row, under Prisma's advisory lock, once the end state is proven`,
  ];
}
