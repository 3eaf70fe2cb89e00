/**
 * The options every command that reaches a deployed stage shares (`--stage`, URL overrides, secret sources,
 * TLS), and their translation into `resolveStage`'s input. Environment variables are read here, at the edge.
 */
import type { Command } from "commander";
import { defaultStage } from "../../sst/stages.js";
import { resolveStage, STAGE_ENV, type Need, type ResolveStageOptions } from "../stage/stage.js";
import { positiveInt } from "./run.js";

/** The parsed shared options: `resolveStage`'s inputs as flags, the timeout in seconds. */
export type StageFlags = Omit<ResolveStageOptions, "connectTimeoutMs" | "needs" | "env" | "root" | "clients"> & {
  connectTimeout?: number;
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

/**
 * Resolves the stage from the shared options and the process environment: the flags go as parsed (their names
 * are resolveStage's), the variables through the one precedence table (stage/stage-inputs.ts).
 */
export function resolveFromFlags<N extends Need>(flags: StageFlags, needs: readonly N[]) {
  const { connectTimeout, ...given } = flags;
  return resolveStage({
    ...given,
    connectTimeoutMs: connectTimeout === undefined ? undefined : connectTimeout * 1000,
    needs,
    env: process.env,
  });
}
