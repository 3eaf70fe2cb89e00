/**
 * `umami-db preflight --stage <stage>` (or `--admin-url`): checks the shared database before `sst deploy`
 * and prints one line per check; exit 1 when any check is blocking. `--out-dir` saves `preflight.json` there,
 * next to whatever the deploy orchestration captures before the deploy (fingerprint, baseline).
 */
import { join } from "node:path";
import { Command } from "commander";
import { isLocalHost } from "../kernel/db.js";
import { runPreflight, type PreflightResult } from "../flows/preflight.js";
import type { SecretInspection } from "../stage/secrets-manager.js";
import { cloudWatchFlags, cloudWatchOptions, type CloudWatchFlags } from "./cloudwatch-options.js";
import { action, ensureWritableDir, EXIT, writeOutputFile } from "./run.js";
import { stageContext, stageOptions, type StageContext, type StageFlags } from "./context.js";

interface PreflightFlags extends StageFlags, CloudWatchFlags {
  json: boolean;
  outDir?: string;
  snapshot: boolean;
  beforeDir?: string;
}

const LABEL = { ok: "ok     ", info: "info   ", warning: "WARNING", error: "ERROR  " } as const;

/** Renders the findings as plain lines (terminal and CI logs alike). */
function renderPreflight(result: PreflightResult): string {
  const lines = [`preflight ${result.stage}: ${result.host}:${result.port}/${result.database}`];
  for (const f of result.findings) {
    lines.push(`${LABEL[f.severity]} ${f.check.padEnd(20)} ${f.detail}`);
    if (f.remedy && f.severity !== "ok") lines.push(`${" ".repeat(29)}→ ${f.remedy}`);
  }
  const blocking = result.findings.filter((f) => f.severity === "error").length;
  lines.push(
    result.ok ? "preflight: ready to deploy" : `preflight: ${blocking} blocking problem(s); fix them before sst deploy`,
  );
  return `${lines.join("\n")}\n`;
}

/** The stage's secret name in Secrets Manager; not asked for a local database (umami-db local has none). */
async function inspectSecret(context: StageContext<"admin">): Promise<SecretInspection | Error | undefined> {
  if (isLocalHost(context.admin.host)) return undefined;
  const { SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
  const { inspectStageSecret } = await import("../stage/secrets-manager.js");
  const client = new SecretsManagerClient({ region: context.region, maxAttempts: 5 });
  return inspectStageSecret(client, context.spec.secretName, context.spec.stage).catch((error: unknown) =>
    error instanceof Error ? error : new Error(String(error)),
  );
}

/** Captures the application's fingerprint and the baseline before the deploy; returns the files written. */
async function saveSnapshot(context: StageContext<"admin">, flags: PreflightFlags): Promise<string[]> {
  const { captureBefore } = await import("../flows/checks.js");
  const { saveBefore } = await import("../flows/snapshots.js");
  const { StepRunner } = await import("../flows/steps.js");
  const { progressObserver } = await import("./progress.js");
  const cloudwatch = await cloudWatchOptions(context, flags);
  const before = await captureBefore(new StepRunner(progressObserver()), context.admin, context.spec, cloudwatch);
  const { admin, spec } = context;
  return saveBefore(context.files.beforeDir, before, {
    stage: spec.stage,
    host: admin.host,
    port: admin.port,
    database: admin.database,
  });
}

/** The `preflight` command. */
export function preflightCommand(): Command {
  const command = new Command("preflight").description(
    "Before `sst deploy`: reachability, TLS, PostgreSQL 15, the administrator's rights, conflicting role/schema, " +
      "PUBLIC CREATE, pgcrypto and connection headroom. Exit 1 on a blocking problem.",
  );
  cloudWatchFlags(stageOptions(command, ["admin"]))
    .option("--json", "print the findings as JSON", false)
    .option("--out-dir <dir>", "also write preflight.json into this directory")
    .option("--no-snapshot", "do not save the application's fingerprint and the baseline for post-deploy")
    .option("--before-dir <dir>", "where the snapshot goes (default .umami-db/<stage>/before, read by post-deploy)")
    .action(
      action(async (flags: PreflightFlags) => {
        const context = await stageContext(flags, ["admin"]);
        if (flags.outDir) ensureWritableDir(flags.outDir, "--out-dir");
        if (flags.snapshot) ensureWritableDir(context.files.beforeDir, "--before-dir");
        const result = await runPreflight(context.admin, context.spec, { secret: await inspectSecret(context) });
        if (flags.outDir) writeOutputFile(join(flags.outDir, "preflight.json"), `${JSON.stringify(result, null, 2)}\n`);
        // The "before" of the deploy: only when the database is ready, so post-deploy compares against a real state.
        const snapshot = result.ok && flags.snapshot ? await saveSnapshot(context, flags) : [];
        process.stdout.write(
          flags.json ? `${JSON.stringify({ ...result, snapshot }, null, 2)}\n` : renderPreflight(result),
        );
        if (!flags.json && snapshot.length) process.stdout.write(`snapshot for post-deploy: ${snapshot.join(", ")}\n`);
        return result.ok ? EXIT.ok : EXIT.checkFailed;
      }),
    );
  return command;
}
