/**
 * The online upgrade's options, declared once for `migrate deploy` and `post-deploy`: `--online`, `--finish` and
 * the tuning flags (batch size and pause, replica lag, application latency, lock budget, quiet period), parsed
 * and validated here into the engine's `OnlineOptions` (docs/upgrades.md, "Upgrading without an outage").
 */
import type { Command } from "commander";
import { UserError } from "../kernel/errors.js";
import type { OnlineOptions } from "../migrate/online/deploy.js";
import { ONLINE_MIGRATIONS } from "../migrate/online/plans.js";
import { positiveInt } from "./run.js";

/** The flags `onlineFlags` adds. */
export interface OnlineFlags {
  online?: boolean;
  finish?: boolean;
  batchSize?: number;
  batchPause?: number;
  maxReplicaLag?: number;
  maxAppLatency?: number;
  lockBudget?: number;
  quiet?: number;
}

/** `--lock-budget 1` or `0.5`: seconds, 0 or more, in milliseconds. */
function seconds(option: string): (value: string) => number {
  return (value) => {
    if (!/^\d+(\.\d+)?$/.test(value))
      throw new UserError(`${option} takes a number of seconds, e.g. 1 or 0.5 (got ${JSON.stringify(value)}).`);
    return Math.round(Number(value) * 1000);
  };
}

function nonNegativeInt(option: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value))
      throw new UserError(`${option} takes a whole number of milliseconds, 0 or more (got ${JSON.stringify(value)}).`);
    return Number(value);
  };
}

/** Adds `--online`, `--finish` and the online tuning flags to `command`. */
export function onlineFlags(command: Command): Command {
  return command
    .option(
      "--online",
      `run the migrations that have an online plan (${ONLINE_MIGRATIONS.join(", ")}) as expand + backfill, the others as usual; both Umami versions can then write (docs/upgrades.md)`,
    )
    .option(
      "--finish",
      "with --online: refuse while rows in the old version's shape arrive, else contract and record; on a database not yet expanded, every phase in one go (a stage where nothing writes)",
    )
    .option(
      "--batch-size <rows>",
      "with --online: rows per backfill batch, each its own transaction (default: 5000)",
      positiveInt("--batch-size"),
    )
    .option(
      "--batch-pause <ms>",
      "with --online: pause after each backfill batch (default: 10)",
      nonNegativeInt("--batch-pause"),
    )
    .option(
      "--max-replica-lag <seconds>",
      "with --online: pause the backfill while a replica lags more than this",
      seconds("--max-replica-lag"),
    )
    .option(
      "--max-app-latency <ms>",
      "with --online: pause the backfill while a probe of the tracker's write path (ROW EXCLUSIVE on the table, then a committed write) takes longer than this (docs/upgrades.md)",
      positiveInt("--max-app-latency"),
    )
    .option(
      "--lock-budget <seconds>",
      "with --online: ACCESS EXCLUSIVE time (waited and held) a run may spend per table on its short transactions (default: 1)",
      seconds("--lock-budget"),
    )
    .option(
      "--quiet <seconds>",
      "with --online --finish: how long to watch for rows in the old version's shape before contracting (default: 5)",
      seconds("--quiet"),
    );
}

/** The online engine's options from the flags, or undefined without `--online`; `--finish` alone is refused. */
export function onlineOptions(flags: OnlineFlags, verb: string): Omit<OnlineOptions, "onEvent"> | undefined {
  if (flags.finish && !flags.online)
    throw new UserError(`--finish completes an online upgrade: pass it with --online (\`${verb} --online --finish\`).`);
  if (!flags.online) return undefined;
  return {
    command: verb,
    finish: flags.finish,
    lock: { lockTimeoutMs: 200, budgetMs: flags.lockBudget ?? 1_000, retryPauseMs: 500 },
    backfill: {
      batchSize: flags.batchSize ?? 5_000,
      pauseMs: flags.batchPause ?? 10,
      targetBatchMs: 500,
      maxReplicaLagMs: flags.maxReplicaLag,
      maxAppLatencyMs: flags.maxAppLatency,
    },
    quietMs: flags.quiet ?? 5_000,
  };
}
