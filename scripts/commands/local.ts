/**
 * `umami-db local`: the whole flow on an embedded PostgreSQL 15 (or `--admin-url`), with a summary.
 */
import { Command } from "commander";
import { defaultStage } from "../../sst/stages.js";
import type { LocalResult } from "../flows/local.js";
import {
  defaultMigrationsSource,
  MIGRATIONS_OPTION_HELP,
  migrationLoadOptions,
  migrationsDefaultHelp,
} from "./migration-source.js";
import { verifySchemaLine } from "../flows/verify-schema-report.js";
import { progressObserver, formatMs } from "./progress.js";

/** Where a kept server's user is told how to connect and stop it (a test holds the heading to the document). */
export const KEPT_SERVER_DOC = { path: "docs/cli.md", heading: "Running locally, to look around afterwards" };
import { action, flowExitCode } from "./run.js";
import { localContext } from "./context.js";

interface LocalFlags {
  stage: string;
  adminUrl?: string;
  keep: boolean;
  migrations?: string;
  secretFile?: string;
  showSecret: boolean;
  json: boolean;
}

/** The `local` command. */
export function localCommand(): Command {
  return new Command("local")
    .description(
      "Run the whole flow on this machine: an embedded PostgreSQL 15 with a sample application, provisioning as an " +
        "Aurora-like admin, the credentials file, Umami's migrations as umami_user, the audit and the baseline.",
    )
    .option("--stage <stage>", "stage whose names to use", defaultStage)
    .option(
      "--admin-url <url>",
      "run against this existing PostgreSQL as its administrator (no sample application; env ADMIN_DATABASE_URL)",
    )
    .option("--keep", "keep the embedded server's data directory", false)
    .option("--migrations <source>", `${MIGRATIONS_OPTION_HELP} ${migrationsDefaultHelp()}`)
    .option(
      "--secret-file <path>",
      "where to write the credentials JSON (env UMAMI_SECRET_FILE; default .umami-db/<stage>/credentials.json)",
    )
    .option("--show-secret", "print the DATABASE_URL with its password", false)
    .option("--json", "print one JSON object instead of the summary", false)
    .action(
      action(async (flags: LocalFlags) => {
        // A bad stage or URL is refused here, before anything starts.
        const context = localContext(flags);
        const migrations = flags.migrations ?? defaultMigrationsSource(context.stage);
        const sources = migrationLoadOptions(process.env);
        const { runLocal } = await import("../flows/local.js");
        let revealed: string | undefined;
        const result = await runLocal({
          stage: context.stage,
          adminUrl: context.given.adminUrl,
          keep: flags.keep,
          migrations,
          sources,
          secretFile: context.files.secretFile,
          observer: progressObserver({ quiet: false }),
          revealSecret: flags.showSecret ? (secret) => (revealed = secret.DATABASE_URL) : undefined,
        });
        const url = revealed ?? result.databaseUrl;
        if (flags.json) process.stdout.write(`${JSON.stringify({ ...result, databaseUrl: url }, null, 2)}\n`);
        else process.stdout.write(renderSummary(result, url));
        return flowExitCode(result);
      }),
    );
}

/** The human summary printed after the steps. */
function renderSummary(result: LocalResult, databaseUrl: string | undefined): string {
  const total = result.steps.reduce((sum, s) => sum + s.ms, 0);
  const where = result.server.host
    ? ` (${result.server.host}:${result.server.port}/${result.server.database})`
    : " (not reached)";
  const lines = [
    "",
    `Umami schema, stage ${result.stage}, on ${result.server.embedded ? "an embedded" : "an existing"} PostgreSQL${where}: ` +
      (result.ok ? "OK" : `FAILED at "${result.failedStep ?? "setup"}"`),
  ];
  if (result.error) lines.push(`  error:         ${result.error}`);
  // Only what was reached: a run that failed before the server says nothing about names or tables.
  if (result.names.schema)
    lines.push(
      `  names:         schema ${result.names.schema}, role ${result.names.role}, secret ${result.names.secretName}`,
    );
  if (result.server.host) {
    lines.push(
      `  migrations:    ${result.migrations.applied.length} applied${result.migrations.applied.length ? ` (${result.migrations.applied.join(", ")})` : ""}, ${result.migrations.alreadyApplied.length} already applied`,
      `  Umami tables:  ${result.umamiTables} + _prisma_migrations`,
    );
  }
  for (const note of result.migrations.notes) lines.push(`  source:        ${note}`);
  if (result.schemaCheck) {
    lines.push(`  schema:        ${verifySchemaLine(result.schemaCheck)}`);
    // The server is gone afterwards: every difference, its SQL and the remedy, here.
    for (const d of result.schemaCheck.differences) lines.push(`    ${d.change} ${d.message}`);
    lines.push(...result.schemaCheck.sql.map((sql) => sql.replace(/^/gm, "      ")));
    if (result.schemaCheck.remedy) lines.push(`    → ${result.schemaCheck.remedy}`);
  }
  if (result.checks) lines.push(...result.checks.summary.map((l) => `  ${l}`));
  if (result.secretFile)
    lines.push(
      `  credentials:   ${result.secretFile} (mode 0600${result.serverRemoved ? "; marked: its server was removed" : ", with PSQL_URL for psql"})`,
    );
  if (databaseUrl)
    lines.push(
      `  DATABASE_URL:  ${databaseUrl}${result.server.embedded && !result.server.kept ? "  (server stopped and removed)" : ""}`,
    );
  if (result.server.kept && result.server.dataDir) {
    lines.push(`  data kept in:  ${result.server.dataDir}`);
    if (result.server.restartCommand) lines.push(`  restart with:  ${result.server.restartCommand}`);
    const psql = result.server.psql;
    if (psql) {
      // Connection strings psql accepts; the passwords stay in the 0600 service file.
      const width = Math.max(...psql.services.map((s) => s.name.length));
      lines.push(
        `  then connect:  export PGSERVICEFILE=${psql.serviceFile}`,
        ...psql.services.map((s) => `                 psql service=${s.name.padEnd(width)}   # ${s.what}`),
        `                 (${KEPT_SERVER_DOC.path}, "${KEPT_SERVER_DOC.heading}")`,
      );
    }
  }
  lines.push(`  total:         ${formatMs(total)}`, "");
  return lines.join("\n");
}
