/**
 * CloudWatch options shared by `preflight` (baseline before) and `post-deploy` (baseline after): read the
 * cluster's metrics unless the database is local or `--no-cloudwatch` is given.
 */
import { Command, Option } from "commander";
import type { CloudWatchOptions } from "../evidence/baseline.js";
import { baselineWindow } from "../evidence/cloudwatch-period.js";
import { isLocalHost } from "../kernel/db.js";
import type { CloudWatchTarget } from "./context.js";
import { positiveInt } from "./run.js";

/** The flags `cloudWatchFlags` adds. */
export interface CloudWatchFlags {
  cloudwatch: boolean;
  clusterId?: string;
  instanceId?: string;
  windowHours: number;
}

/** Adds the CloudWatch options to `command`. */
export function cloudWatchFlags(command: Command): Command {
  return command
    .option("--no-cloudwatch", "skip CloudWatch metrics (default: read them unless the database is local)")
    .option("--cluster-id <id>", "Aurora cluster for CloudWatch (default: the stage's clusterIdentifier)")
    .option("--instance-id <id>", "writer instance for CloudWatch (default: the stage's, else <cluster-id>-instance-1)")
    .addOption(
      new Option(
        "--window-hours <n>",
        'CloudWatch window before now (post-deploy: from where the "before" window ended, at most this far back)',
      )
        .default(24)
        .argParser(positiveInt("--window-hours")),
    );
}

/**
 * CloudWatch options for the context's target, or undefined when CloudWatch is not to be read. `since`: the end
 * of the "before" baseline's window, for post-deploy's "after" (so the two windows do not overlap).
 */
export async function cloudWatchOptions(
  context: { admin: { host: string }; cloudwatch: CloudWatchTarget },
  flags: CloudWatchFlags,
  since?: Date,
): Promise<CloudWatchOptions | undefined> {
  if (!flags.cloudwatch || isLocalHost(context.admin.host)) return undefined;
  const { CloudWatchClient } = await import("@aws-sdk/client-cloudwatch");
  const { region, clusterId, instanceId } = context.cloudwatch;
  return {
    client: new CloudWatchClient({ region, maxAttempts: 5 }),
    region,
    clusterId,
    instanceId,
    ...baselineWindow(new Date(), flags.windowHours, since),
  };
}
