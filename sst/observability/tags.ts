/**
 * The tag schema applied to every AWS resource of the stack, so a cost report (Cost Explorer grouped by
 * `Project`, `Component`, `Environment` or `CostCenter`) and a resource search find exactly this stack.
 */
import { stageSettings, type StageSettings } from "../stages.js";

/** Tag keys the stack always sets; a stage's own `tags` may add keys but never replace these. */
export const REQUIRED_TAG_KEYS = ["Project", "Component", "Environment", "Application", "ManagedBy"] as const;

/** The fixed part of the schema: what this stack is, independent of the stage. */
const BASE_TAGS = {
  Project: "UserMetrics",
  Component: "Database",
  Application: "umami",
  ManagedBy: "sst",
  Repository: "umami-aurora-schema",
} as const;

/**
 * The tags for every AWS resource of `stage`: the base schema, `Environment=<stage>`, a `CostCenter`
 * (overridable), then the stage's own `tags` from `sst/stages.ts`, which cannot override the required keys
 * (a report grouped by `Environment` must never be fooled by a stage setting).
 */
export function stackTags(
  stage: string,
  extra: Record<string, string> = {},
  settings: Pick<StageSettings, "tags"> = stageSettings(stage),
): Record<string, string> {
  const required = { ...BASE_TAGS, Environment: stage };
  return { CostCenter: "observability", ...(settings.tags ?? {}), ...extra, ...required };
}
