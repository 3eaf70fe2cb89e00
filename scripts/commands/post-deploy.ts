/**
 * `umami-db post-deploy --stage <stage>`: migrate as umami_user → verify → baseline → compare → report
 * directory `reports/<stage>/<timestamp>/` with `report.md` and `report.json`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command, Option } from "commander";
import { isLocalHost } from "../lib/db.js";
import { DEFAULT_MIGRATIONS_SOURCE } from "../lib/migration-source.js";
import { beforeDir, loadBefore } from "../lib/snapshots.js";
import { progressObserver } from "./progress.js";
import { action, EXIT, positiveInt } from "./run.js";
import { stageOptions, resolveFromFlags, type StageFlags } from "./stage-options.js";

interface PostDeployFlags extends StageFlags {
  migrations: string;
  beforeDir?: string;
  reportsDir: string;
  cloudwatch: boolean;
  clusterId?: string;
  instanceId?: string;
  windowHours: number;
  json: boolean;
}

/** The `post-deploy` command. */
export function postDeployCommand(): Command {
  const command = new Command("post-deploy").description(
    "After `sst deploy`: apply Umami's migrations as umami_user, audit isolation and the application's fingerprint, " +
      "capture and compare the performance baseline, and write reports/<stage>/<timestamp>/report.{md,json}.",
  );
  stageOptions(command)
    .option("--migrations <source>", "migrations: a directory in Prisma's layout or npm:umami@<version>", DEFAULT_MIGRATIONS_SOURCE)
    .option("--before-dir <dir>", "the snapshot saved by preflight (default .umami-db/<stage>/before)")
    .option("--reports-dir <dir>", "where report directories are created", "reports")
    .option("--no-cloudwatch", "skip CloudWatch metrics (default: read them unless the database is local)")
    .option("--cluster-id <id>", "Aurora cluster for CloudWatch (default: the stage's clusterIdentifier)")
    .option("--instance-id <id>", "writer instance for CloudWatch (default: the stage's instanceIdentifier)")
    .addOption(new Option("--window-hours <n>", "CloudWatch window before now").default(24).argParser(positiveInt("--window-hours")))
    .option("--json", "print the report's JSON instead of a summary", false)
    .action(
      action(async (flags: PostDeployFlags) => {
        const resolved = await resolveFromFlags(flags, ["admin", "umami"]);
        const before = loadBefore(flags.beforeDir ?? beforeDir(resolved.spec.stage));
        const cloudwatch = flags.cloudwatch && !isLocalHost(resolved.admin.host) ? await cloudWatchOptions(resolved, flags) : undefined;
        const { runPostDeploy } = await import("../lib/post-deploy.js");
        const result = await runPostDeploy({
          spec: resolved.spec,
          admin: resolved.admin,
          umami: resolved.umami,
          secretArn: resolved.secretArn,
          migrations: flags.migrations,
          before,
          cloudwatch,
          observer: progressObserver(),
        });
        const { renderPostDeployMarkdown } = await import("../lib/report.js");
        const dir = resolve(flags.reportsDir, resolved.spec.stage, result.startedAt.replace(/[:.]/g, "-"));
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, "report.md"), renderPostDeployMarkdown(result));
        writeFileSync(join(dir, "report.json"), `${JSON.stringify(result, null, 2)}\n`);
        if (flags.json) process.stdout.write(`${JSON.stringify({ ...result, reportDir: dir }, null, 2)}\n`);
        else {
          process.stdout.write(`\npost-deploy ${result.stage}: ${result.ok ? "PASS" : `FAIL${result.failedStep ? ` at step "${result.failedStep}"` : ""}`}\n`);
          if (result.error) process.stdout.write(`  error:  ${result.error}\n`);
          for (const line of result.checks?.summary ?? []) process.stdout.write(`  ${line}\n`);
          process.stdout.write(`  report: ${join(dir, "report.md")}\n`);
        }
        if (result.ok) return EXIT.ok;
        return result.error ? EXIT.couldNotRun : EXIT.checkFailed;
      }),
    );
  return command;
}

async function cloudWatchOptions(
  resolved: Awaited<ReturnType<typeof resolveFromFlags>>,
  flags: PostDeployFlags,
) {
  const { CloudWatchClient } = await import("@aws-sdk/client-cloudwatch");
  const settings = resolved.spec.settings;
  const end = new Date();
  return {
    client: new CloudWatchClient({ region: resolved.region, maxAttempts: 5 }),
    region: resolved.region,
    clusterId: flags.clusterId ?? settings.clusterIdentifier,
    instanceId: flags.instanceId ?? settings.instanceIdentifier ?? `${settings.clusterIdentifier}-instance-1`,
    start: new Date(end.getTime() - flags.windowHours * 3600_000),
    end,
    periodSeconds: 300,
  };
}
