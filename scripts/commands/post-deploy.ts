/**
 * `umami-db post-deploy --stage <stage>`: migrate as umami_user → verify → baseline → compare → report
 * directory `reports/<stage>/<timestamp>/` with `report.md` and `report.json`.
 */
import { appendFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { Command } from "commander";
import { UserError } from "../kernel/errors.js";
import {
  defaultMigrationsSource,
  MIGRATIONS_OPTION_HELP,
  migrationLoadOptions,
  migrationsDefaultHelp,
} from "./migration-source.js";
import { loadBefore, snapshotMismatch } from "../flows/snapshots.js";
import { progressObserver } from "./progress.js";
import { cloudWatchFlags, cloudWatchOptions, type CloudWatchFlags } from "./cloudwatch-options.js";
import { action, ensureWritableDir, flowExitCode, writeOutputFile } from "./run.js";
import { stageContext, stageOptions, type StageFlags } from "./context.js";
import { onlineFlags, onlineOptions, type OnlineFlags } from "./online-options.js";

/** How the online flags' messages name this command. */
const POST_DEPLOY_VERB = "umami-db post-deploy";

interface PostDeployFlags extends StageFlags, CloudWatchFlags, OnlineFlags {
  migrations?: string;
  strict?: boolean;
  beforeDir?: string;
  /** False with --no-before: run without the "before" comparison. */
  before: boolean;
  reportsDir: string;
  summaryFile?: string;
  json: boolean;
}

/** The `post-deploy` command. */
export function postDeployCommand(): Command {
  const command = new Command("post-deploy").description(
    "After `sst deploy`: apply Umami's migrations as umami_user, audit isolation and the application's fingerprint, " +
      "capture and compare the performance baseline, and write reports/<stage>/<timestamp>/report.{md,json}. " +
      "With --online, the migrations that have an online plan run without blocking the tracker, in two runs: --online, then (new image rolled, old drained) --online --finish.",
  );
  cloudWatchFlags(stageOptions(command))
    .option("--migrations <source>", `${MIGRATIONS_OPTION_HELP} ${migrationsDefaultHelp()}`)
    .option(
      "--strict",
      "fail when an applied migration was edited or the database has migrations the source lacks (Prisma only reports both)",
    )
    .option("--before-dir <dir>", "the snapshot saved by preflight (default .umami-db/<stage>/before)")
    .option(
      "--no-before",
      "run without preflight's snapshot: the application fingerprint and the baseline are then not compared",
    )
    .option("--reports-dir <dir>", "where report directories are created", "reports")
    .option(
      "--summary-file <path>",
      'also append the report, with the charts\' captions, to this Markdown file (CI: "$GITHUB_STEP_SUMMARY")',
    )
    .option("--json", "print the report's JSON instead of a summary", false);
  onlineFlags(command).action(
    action(async (flags: PostDeployFlags) => {
      // Bad online flags are refused before anything is resolved or changed.
      const online = onlineOptions(flags, POST_DEPLOY_VERB);
      const sources = migrationLoadOptions(process.env);
      const context = await stageContext(flags, ["admin", "umami"]);
      ensureWritableDir(flags.reportsDir, "--reports-dir");
      const snapshotDir = context.files.beforeDir;
      const before = flags.before ? loadBefore(snapshotDir) : {};
      if (flags.before && !before.baseline && !before.fingerprint) {
        // Without it the report could not say the application is untouched: refuse before changing anything.
        throw new UserError(
          `No "before" snapshot in ${snapshotDir}: post-deploy could not prove the application untouched. ` +
            `Run \`umami-db preflight --stage ${context.spec.stage}\` before \`sst deploy\` (it saves one), or pass --no-before to run without the comparison.`,
        );
      }
      const { admin, spec } = context;
      const mismatch = snapshotMismatch(snapshotDir, before.origin, {
        stage: spec.stage,
        host: admin.host,
        port: admin.port,
        database: admin.database,
      });
      if (flags.before && mismatch) throw new UserError(mismatch);
      // "After" starts where "before" ended: the deploy happened in between, and overlapping windows dilute a rise.
      const beforeEnd = before.baseline?.cloudwatch?.window.end ?? before.baseline?.capturedAt;
      const cloudwatch = await cloudWatchOptions(context, flags, beforeEnd ? new Date(beforeEnd) : undefined);
      const migrations = flags.migrations ?? defaultMigrationsSource(context.spec.stage);
      const { umamiReleaseVersion } = await import("../migrate/sources.js");
      const { runPostDeploy } = await import("../flows/post-deploy.js");
      const result = await runPostDeploy({
        spec: context.spec,
        admin: context.admin,
        umami: context.umami,
        secretArn: context.secretArn,
        migrations,
        // The handoff's image tag follows the release migrated; a directory or an image: the stage's version.
        umamiVersion: umamiReleaseVersion(migrations) ?? context.spec.umamiVersion,
        sources,
        strict: flags.strict === true,
        before,
        cloudwatch,
        online,
        observer: progressObserver(),
      });
      const { buildReportFiles } = await import("../flows/report-files.js");
      const { verifySchemaLine } = await import("../flows/verify-schema-report.js");
      const { describeOnlineSummary } = await import("../flows/online-report.js");
      const dir = resolve(flags.reportsDir, context.spec.stage, result.startedAt.replace(/[:.]/g, "-"));
      try {
        const report = await buildReportFiles(
          result,
          before.baseline,
          `the run's artifact, under ${relative(process.cwd(), dir) || "."}`,
        );
        for (const [name, text] of Object.entries(report.files)) writeOutputFile(join(dir, name), text);
        if (flags.summaryFile) appendFileSync(flags.summaryFile, `${report.summary}\n`);
      } catch (error) {
        // The directory was writable when the flow started: keep the result on stdout, then say what failed.
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        throw error;
      }
      if (flags.json) process.stdout.write(`${JSON.stringify({ ...result, reportDir: dir }, null, 2)}\n`);
      else {
        process.stdout.write(
          `\npost-deploy ${result.stage}: ${result.ok ? "PASS" : `FAIL${result.failedStep ? ` at step "${result.failedStep}"` : ""}`}\n`,
        );
        if (result.error) process.stdout.write(`  error:  ${result.error}\n`);
        if (result.schemaCheck)
          process.stdout.write(
            `  schema:        ${verifySchemaLine(result.schemaCheck)}${result.schemaCheck.ok ? "" : " (SQL and remedy in report.md)"}\n`,
          );
        for (const line of result.checks?.summary ?? []) process.stdout.write(`  ${line}\n`);
        for (const line of describeOnlineSummary(result.migrations.online)) process.stdout.write(`  ${line}\n`);
        process.stdout.write(`  report: ${join(dir, "report.md")}\n`);
      }
      return flowExitCode(result);
    }),
  );
  return command;
}
