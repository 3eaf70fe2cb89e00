/**
 * The rules a stage name must meet before anything is named after it, checked where a user gives one (every
 * `umami-db` command's `--stage`, and `sst deploy` through sst.config.ts):
 * - SST's own rule (sst 4.17's "The stage name is invalid. It must start with a letter and can only contain
 *   alphanumeric characters and hyphens."), at most 40 characters (validateStage);
 * - lower case only: SST deploys `Dev`, but PostgreSQL folds unquoted names to lower case, so `umami_Dev` would
 *   be a quoted identifier that `\dn umami_dev` and every hand-written `SET search_path` miss;
 * - not a look-alike of a protected stage (`prod`, `prd`, `production-1`): such a stage is *not* the protected
 *   one, it gets derived names on the default stage's cluster. Refused with a "did you mean", unless the user says
 *   the stage is meant (`--new-stage`, or `UMAMI_NEW_STAGE=<stage>` for `sst deploy`).
 */
import { InvalidNameError } from "./errors.js";
import { validateStage } from "./database/spec.js";
import { configuredStages, defaultStage, isConfiguredStage, stageSettings } from "./stages.js";

/** Whether `short` is `name` abbreviated: its letters in order, starting with the same two. */
function abbreviates(short: string, name: string): boolean {
  if (short.length < 3 || short.slice(0, 2) !== name.slice(0, 2)) return false;
  let at = 0;
  for (const c of short) {
    at = name.indexOf(c, at) + 1;
    if (at === 0) return false;
  }
  return true;
}

/** Levenshtein distance (typos of a protected name: `prodution`, `porduction`). */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** The protected stage `stage` looks like without being it (`prod` → `production`), if any. */
export function protectedLookalike(stage: string): string | undefined {
  if (isConfiguredStage(stage)) return undefined;
  const first = stage.split("-")[0].replace(/\d+$/, "");
  return Object.keys(configuredStages).find(
    (name) =>
      configuredStages[name].protect &&
      (stage.startsWith(name) || abbreviates(first, name) || distance(first, name) <= 2),
  );
}

/** Whether `stage` meets SST's syntax and length (validateStage), before the rules below. */
export function meetsStageSyntax(stage: string): boolean {
  try {
    validateStage(stage);
    return true;
  } catch {
    return false;
  }
}

/** Refuses a stage name a user gave that SST, PostgreSQL or a careful DBA would not want; returns it unchanged. */
export function checkStageName(stage: string, options: { newStage?: boolean } = {}): string {
  validateStage(stage);
  if (stage !== stage.toLowerCase()) {
    throw new InvalidNameError(
      "stage",
      stage,
      `use lower case (--stage ${stage.toLowerCase()}): PostgreSQL folds unquoted names to lower case, so this stage would create the quoted identifiers "umami_${stage.replace(/-/g, "_")}" and "umami_user_${stage.replace(/-/g, "_")}" (and a .umami-db/${stage}/ beside .umami-db/${stage.toLowerCase()}/).`,
    );
  }
  const lookalike = protectedLookalike(stage);
  if (lookalike && !options.newStage) {
    const settings = stageSettings(stage);
    throw new InvalidNameError(
      "stage",
      stage,
      `did you mean ${lookalike}? Stage ${stage} is not the protected stage ${lookalike}: it would get its own names (umami_${stage.replace(/-/g, "_")}) on stage ${defaultStage}'s cluster ${settings.clusterIdentifier}, unprotected. ` +
        `Use --stage ${lookalike}, or pass --new-stage if ${stage} is meant as a new stage.`,
    );
  }
  return stage;
}
