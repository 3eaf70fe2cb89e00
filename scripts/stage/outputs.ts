/**
 * The stack's outputs, read back: the linked resource `sst shell` exposes (`SST_RESOURCE_UmamiDatabase`), else
 * the outputs file `sst deploy` writes (`.sst/outputs.json`), trusted only when it says it is this stage's. The
 * shape is the stack's own (sst/outputs.ts); every value is checked, and every problem is added to `problems`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LINKED_RESOURCE, STACK_OUTPUTS, type StackOutputs } from "../../sst/outputs.js";
import type { Problems } from "../kernel/problems.js";
import { projectRoot } from "../kernel/project-root.js";

/** The stack's outputs as read: each may be missing (an older deploy, a hand-written file). */
export type StageOutputs = Partial<StackOutputs>;

/** What `sst shell` exposes to a command, as text: the linked resource and SST's app (which names the stage). */
export interface LinkedResource {
  resource?: string;
  app?: string;
}

/** The variables `sst shell` sets, which the command context reads into a `LinkedResource`. */
export const LINKED_ENV = { resource: `SST_RESOURCE_${LINKED_RESOURCE}`, app: "SST_RESOURCE_App" } as const;

/** Where the outputs may come from: `sst shell`'s linked resource, a file the user named, the project's. */
interface OutputsSources {
  linked?: LinkedResource;
  /** The outputs file given by flag or variable; unset: `.sst/outputs.json` under `root`. */
  file?: string;
  /** @default projectRoot() */
  root?: string;
}

function parseOutputs(value: unknown, source: string, problems: Problems): StageOutputs {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.add(`${source} is not a JSON object`);
    return {};
  }
  const raw = value as Record<string, unknown>;
  const out: Record<string, string | number> = {};
  for (const [key, kind] of Object.entries(STACK_OUTPUTS)) {
    const given = raw[key];
    if (given === undefined) continue;
    if (kind === "text") {
      if (typeof given === "string" && given !== "") out[key] = given;
      else problems.add(`${source}: "${key}" must be a non-empty string`);
      continue;
    }
    const port = typeof given === "string" ? Number(given) : given;
    if (typeof port === "number" && Number.isInteger(port) && port > 0 && port < 65536) out[key] = port;
    else problems.add(`${source}: "${key}" must be a whole number`);
  }
  return out as StageOutputs;
}

function readJson(path: string, what: string, problems: Problems): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    problems.add(`${what} ${path} cannot be read as JSON (${(error as { code?: string }).code ?? "syntax error"})`);
    return undefined;
  }
}

/** The stack's outputs: linked resource from `sst shell`, else the outputs file — only when it is this stage's. */
export function loadOutputs(
  stage: string,
  sources: OutputsSources,
  problems: Problems,
): { outputs: StageOutputs; source?: string } {
  const linked = sources.linked?.resource;
  if (linked) {
    let app: { stage?: string } = {};
    try {
      app = JSON.parse(sources.linked?.app ?? "{}") as { stage?: string };
    } catch {
      // SST always writes valid JSON here; a hand-set value that is not JSON simply carries no stage.
    }
    if (app.stage && app.stage !== stage) {
      problems.add(
        `sst shell runs stage ${app.stage} but --stage is ${stage}; run \`sst shell --stage ${stage} -- …\``,
      );
      return { outputs: {} };
    }
    let value: unknown;
    try {
      value = JSON.parse(linked);
    } catch {
      problems.add(`${LINKED_ENV.resource} is not JSON`);
      return { outputs: {} };
    }
    return {
      outputs: parseOutputs(value, LINKED_ENV.resource, problems),
      source: `sst shell (${LINKED_ENV.resource})`,
    };
  }
  const explicit = sources.file;
  const path = explicit ?? join(sources.root ?? projectRoot(), ".sst", "outputs.json");
  if (!existsSync(path)) {
    if (explicit)
      problems.add(`outputs file ${path} does not exist (run sst deploy --stage ${stage}, or fix --outputs-file)`);
    return { outputs: {} };
  }
  const value = readJson(path, "outputs file", problems);
  if (value === undefined) return { outputs: {} };
  const outputs = parseOutputs(value, path, problems);
  // SST rewrites .sst/outputs.json after every deploy, diff or remove, whatever the stage: trust it only
  // when it says which stage it describes (or when the user named the file).
  if (outputs.stage !== stage) {
    if (explicit && outputs.stage === undefined) return { outputs, source: path };
    if (explicit) problems.add(`outputs file ${path} is for stage ${outputs.stage}, not ${stage}`);
    return { outputs: {}, source: `${path} ignored (stage ${outputs.stage ?? "unknown"})` };
  }
  return { outputs, source: path };
}
