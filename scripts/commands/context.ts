/**
 * The command context: a command's flags and the process environment, turned once into what the command acts
 * on — the stage's spec, the connections it needs, the AWS region, the CloudWatch target and the files it reads
 * or writes. Every input follows one precedence, for every command, strongest first: the flag, the environment
 * (the table in stage/stage-inputs.ts), the stack's outputs, the stage's settings, the default (resolveStage and
 * the spec). Commands take this context and read none of these sources themselves; the environment is read
 * here, at the edge.
 */
import type { Command } from "commander";
import { baselineInstance, validateStage, type UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { defaultStage } from "../../sst/stages.js";
import { beforeDir } from "../flows/snapshots.js";
import { parseDatabaseUrl, type ConnectionSettings } from "../kernel/db.js";
import { LINKED_ENV } from "../stage/outputs.js";
import {
  localSecretPath,
  resolveStage,
  type Need,
  type ResolvedStage,
  type ResolveStageOptions,
} from "../stage/stage.js";
import { readStageInputs, STAGE_ENV, type StageInputName, type StageInputs } from "../stage/stage-inputs.js";
import type { Environment } from "./inputs.js";
import { positiveInt } from "./run.js";

/** The parsed shared options: the stage, the inputs of the one table as flags, the timeout in seconds. */
export type StageFlags = Partial<Record<Exclude<StageInputName, "port">, string>> & {
  stage?: string;
  port?: number;
  connectTimeout?: number;
};

/** Flags some commands add that the context also reads: where preflight's snapshot goes, the CloudWatch target. */
interface ContextFlags extends StageFlags {
  beforeDir?: string;
  clusterId?: string;
  instanceId?: string;
}

/** What a command was given, by flag or variable (the table's values). */
export type Given = StageInputs["values"];

/** The files a command reads or writes: given by flag or variable, else under `.umami-db/<stage>/`. */
export interface StageFiles {
  /** The credentials file (`local` writes it, `rollback --delete-secret` deletes it). */
  secretFile: string;
  /** The "before" snapshot preflight saves and post-deploy compares against. */
  beforeDir: string;
}

/** The CloudWatch metrics a baseline reads for the stage: where, which cluster, which writer instance. */
export interface CloudWatchTarget {
  region: string;
  clusterId: string;
  instanceId: string;
}

/** Everything a command acts on, resolved and validated; `N` lists the connections it asked for. */
export type StageContext<N extends Need = never> = ResolvedStage & { [K in N]: ConnectionSettings } & {
  given: Given;
  files: StageFiles;
  cloudwatch: CloudWatchTarget;
};

/** Adds the shared stage options to `command`; `needs` leaves out the options a command never uses. */
export function stageOptions(command: Command, needs: readonly Need[] = ["admin", "umami"]): Command {
  command
    .option(
      "--stage <stage>",
      `SST stage to act on (names, secret and settings come from it; ${defaultStage} when only a URL is given)`,
    )
    .option("--outputs-file <path>", `SST outputs JSON (default .sst/outputs.json; env ${STAGE_ENV.outputsFile})`)
    .option(
      "--region <region>",
      "AWS region of the secrets (default AWS_REGION, then AWS_DEFAULT_REGION, the deployed outputs, the stage settings)",
    )
    .option(
      "--ca-file <path>",
      `CA bundle for sslmode=verify-full, e.g. the RDS global bundle (env ${STAGE_ENV.caFile})`,
    )
    .option(
      "--connect-timeout <seconds>",
      "seconds to wait for a connection (default 10)",
      positiveInt("--connect-timeout"),
    );
  if (needs.includes("admin")) {
    command
      .option(
        "--admin-url <url>",
        `administrator connection URL (env ${STAGE_ENV.adminUrl}); default: the cluster's master secret`,
      )
      .option("--master-secret-arn <arn>", `ARN of the cluster's master user secret (env ${STAGE_ENV.masterSecretArn})`)
      .option("--host <host>", `cluster endpoint, when there are no SST outputs yet (env ${STAGE_ENV.host})`)
      .option("--port <port>", `cluster port (env ${STAGE_ENV.port}; default 5432)`, positiveInt("--port"));
  }
  if (needs.includes("umami")) {
    command
      .option("--umami-url <url>", `umami_user connection URL (env ${STAGE_ENV.umamiUrl}); default: the stage's secret`)
      .option("--secret-file <path>", `local credentials file instead of Secrets Manager (env ${STAGE_ENV.secretFile})`)
      .option("--secret-id <id>", `credentials secret name or ARN (env ${STAGE_ENV.secretId})`);
  }
  return command;
}

/** The variables `sst shell` sets: the stack's outputs, linked (below the flags and variables, above the file). */
function linkedResource(env: Environment): ResolveStageOptions["linked"] {
  return { resource: env[LINKED_ENV.resource], app: env[LINKED_ENV.app] };
}

function stageFiles(stage: string, given: Given, flags: { beforeDir?: string }, root?: string): StageFiles {
  return {
    secretFile: given.secretFile ?? localSecretPath(stage, root),
    beforeDir: flags.beforeDir ?? beforeDir(stage, root),
  };
}

/** The CloudWatch target: the flags' cluster and instance, else the stage's, the instance decided by the spec. */
function cloudWatchTarget(spec: UmamiDatabaseSpec, region: string, flags: ContextFlags): CloudWatchTarget {
  const clusterId = flags.clusterId ?? spec.cluster.clusterIdentifier;
  return { region, clusterId, instanceId: flags.instanceId ?? baselineInstance(spec.cluster, clusterId) };
}

/**
 * The context of a command that reaches a stage: its flags over the environment, then the stack's outputs, the
 * stage's settings and the defaults. `needs` (or a rule on what was given) lists the connections to resolve.
 */
export async function stageContext<N extends Need>(
  flags: ContextFlags,
  needs: readonly N[] | ((given: Given) => readonly N[]),
  env: Environment = process.env,
  options: Pick<ResolveStageOptions, "root" | "clients"> = {},
): Promise<StageContext<N>> {
  const given = readStageInputs(flags, env);
  const resolved = await resolveStage({
    stage: flags.stage,
    given,
    linked: linkedResource(env),
    connectTimeoutMs: flags.connectTimeout === undefined ? undefined : flags.connectTimeout * 1000,
    needs: typeof needs === "function" ? needs(given.values) : needs,
    ...options,
  });
  return {
    ...resolved,
    given: given.values,
    files: stageFiles(resolved.spec.stage, given.values, flags, options.root),
    cloudwatch: cloudWatchTarget(resolved.spec, resolved.region, flags),
  };
}

/** `local`'s context: nothing to resolve, only the stage, what was given (the administrator's URL) and the files. */
interface LocalContext {
  stage: string;
  given: Given;
  files: StageFiles;
}

/** The context of `local`, by the same table: a bad stage or URL is refused before anything starts. */
export function localContext(
  flags: { stage: string; adminUrl?: string; secretFile?: string },
  env: Environment = process.env,
  root?: string,
): LocalContext {
  const stage = validateStage(flags.stage);
  const given = readStageInputs({ adminUrl: flags.adminUrl, secretFile: flags.secretFile }, env).values;
  if (given.adminUrl) parseDatabaseUrl(given.adminUrl);
  return { stage, given, files: stageFiles(stage, given, {}, root) };
}
