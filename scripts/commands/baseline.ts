/**
 * `umami-db baseline capture` writes a performance baseline (PostgreSQL, and CloudWatch with --cluster-id);
 * `umami-db baseline compare` judges two of them against the story's thresholds. Exit codes per run.ts:
 * compare exits 1 when a threshold is broken, 2 when a file cannot be read.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { defaultStage } from "../../sst/stages.js";
import type { Baseline } from "../evidence/baseline.js";
import { parseDatabaseUrl } from "../kernel/db.js";
import { isCloudWatchPeriod } from "../evidence/cloudwatch-period.js";
import { UserError } from "../kernel/errors.js";
import { action, EXIT, positiveInt, writeOutputFile } from "./run.js";
import { stageContext } from "./context.js";

/** Parses --period-seconds: CloudWatch takes multiples of 60 for periods this long; checked before anything runs. */
function multipleOf60(option: string): (value: string) => number {
  const parse = positiveInt(option);
  return (value: string) => {
    const n = parse(value);
    if (!isCloudWatchPeriod(n))
      throw new UserError(`${option} must be a multiple of 60 seconds for CloudWatch (got ${n}). Use e.g. 300.`);
    return n;
  };
}

interface CaptureFlags {
  adminUrl?: string;
  label: string;
  out?: string;
  stage: string;
  clusterId?: string;
  instanceId?: string;
  region?: string;
  windowHours: number;
  periodSeconds: number;
  json: boolean;
}

interface CompareFlags {
  json?: boolean;
  report?: string;
}

/** `umami-db baseline` with its `capture` and `compare` subcommands. */
export function baselineCommand(): Command {
  const baseline = new Command("baseline").description(
    "Capture a performance baseline before/after the Umami schema, and compare two of them.",
  );

  baseline
    .command("capture")
    .description(
      "Record database size, size per schema, connections, pg_stat_database counters, cache hit ratio and the top " +
        "pg_stat_statements entries; with --cluster-id also Aurora's CloudWatch metrics (average and maximum over the window).",
    )
    .option("--admin-url <url>", "PostgreSQL URL of the administrator (the master user; env ADMIN_DATABASE_URL)")
    .requiredOption("--label <name>", "(required) a name for this baseline, e.g. before-umami")
    .option("--out <file>", "write the baseline JSON here (default: print it)")
    .option("--json", "print the baseline JSON on stdout even with --out", false)
    .option("--stage <stage>", "stage whose schema name, region and instance identifier to use", defaultStage)
    .option("--cluster-id <id>", "Aurora cluster identifier: also read CloudWatch metrics")
    .option("--instance-id <id>", "writer instance identifier (default: the stage's, else <cluster-id>-instance-1)")
    .option(
      "--region <region>",
      "AWS region of the cluster (default AWS_REGION, then AWS_DEFAULT_REGION, the deployed outputs, the stage settings)",
    )
    .option("--window-hours <hours>", "CloudWatch window ending now", positiveInt("--window-hours"), 24)
    .option(
      "--period-seconds <seconds>",
      "CloudWatch seconds per data point (a multiple of 60)",
      multipleOf60("--period-seconds"),
      300,
    )
    .action(
      action(async (flags: CaptureFlags) => {
        const context = await stageContext(flags, []);
        const adminUrl = context.given.adminUrl;
        if (!adminUrl)
          throw new UserError(
            "No administrator URL. Pass --admin-url postgresql://admin:…@host:5432/db or set ADMIN_DATABASE_URL.",
          );
        const admin = parseDatabaseUrl(adminUrl, { applicationName: "umami-db baseline" });
        const schema = context.spec.schema;
        const { captureBaseline } = await import("../evidence/baseline.js");
        let cloudwatch;
        if (flags.clusterId) {
          const { region, clusterId, instanceId } = context.cloudwatch;
          const { CloudWatchClient } = await import("@aws-sdk/client-cloudwatch");
          const end = new Date();
          cloudwatch = {
            // Adaptive retries back off on throttling before an error ever reaches the user.
            client: new CloudWatchClient({ region, maxAttempts: 5, retryMode: "adaptive" }),
            region,
            clusterId,
            instanceId,
            start: new Date(end.getTime() - flags.windowHours * 3_600_000),
            end,
            periodSeconds: flags.periodSeconds,
          };
        }
        const result = await captureBaseline(admin, { label: flags.label, umamiSchema: schema, cloudwatch });
        const json = `${JSON.stringify(result, null, 2)}\n`;
        // Like post-deploy's report directory: a missing parent is created, not a crash with a stack trace.
        if (flags.out) writeOutputFile(flags.out, json);
        process.stdout.write(flags.json || !flags.out ? json : `${summarise(result)}\nWritten to ${flags.out}.\n`);
        return EXIT.ok;
      }),
    );

  baseline
    .command("compare")
    .description(
      "Compare two baselines: before, after, delta, threshold and verdict per figure. Exit 1 when a threshold is broken.",
    )
    .argument("<before>", "baseline JSON captured before the change")
    .argument("<after>", "baseline JSON captured after the change")
    .option("--json", "print the comparison as JSON")
    .option("--report <file>", "also write the Markdown for the story's completion notes here")
    .action(
      action(async (beforePath: string, afterPath: string, flags: CompareFlags) => {
        const { parseBaseline } = await import("../evidence/baseline.js");
        const { compareBaselines, renderComparisonMarkdown, renderComparisonTable } = await import(
          "../evidence/baseline-compare.js"
        );
        const comparison = compareBaselines(
          parseBaseline(readText(beforePath), beforePath),
          parseBaseline(readText(afterPath), afterPath),
        );
        if (flags.report) writeOutputFile(flags.report, renderComparisonMarkdown(comparison));
        process.stdout.write(
          flags.json ? `${JSON.stringify(comparison, null, 2)}\n` : `${renderComparisonTable(comparison)}\n`,
        );
        return comparison.ok ? EXIT.ok : EXIT.checkFailed;
      }),
    );
  return baseline;
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new UserError(
      `Cannot read baseline ${path} (${code ?? (error as Error).message}). Check the path; baselines are written by \`umami-db baseline capture --out\`.`,
      { cause: error },
    );
  }
}

/** A few lines about a captured baseline. */
function summarise(b: Baseline): string {
  const mib = (x: number) => `${(x / 1024 / 1024).toFixed(1)} MiB`;
  const missing = b.cloudwatch?.metrics.filter((m) => m.average === null).map((m) => m.metric) ?? [];
  return [
    `Baseline "${b.label}" of ${b.target.database} at ${b.target.host}:${b.target.port} (PostgreSQL ${b.server.version}), ${b.capturedAt}`,
    `  database ${mib(b.sizes.databaseBytes)}; schemas ${b.schemas.join(", ")}${b.umamiSchema ? `; ${b.umamiSchema.name}: ${b.umamiSchema.exists ? mib(b.umamiSchema.bytes) : "absent"}` : ""}`,
    `  connections ${b.connections.total} of max_connections ${b.connections.maxConnections}; cache hit ratio ${b.cacheHitRatio === null ? "—" : `${(b.cacheHitRatio * 100).toFixed(2)} %`}`,
    `  pg_stat_statements: ${b.statements.available ? `${b.statements.top.length} top statements` : (b.statements.note ?? "absent")}`,
    `  CloudWatch: ${b.cloudwatch ? `${b.cloudwatch.metrics.length} series${missing.length ? `, no data for ${missing.join(", ")}` : ""}` : "not captured (no --cluster-id)"}`,
  ].join("\n");
}
