/**
 * `umami-db migrate`: applies Umami's Prisma migrations like `prisma migrate deploy` (builtin engine) or runs
 * Prisma itself in Umami's image (`--engine docker`); `migrate status`, `migrate resolve --rolled-back` and
 * `migrate verify-schema` (the live schema against the release's, rebuilt on a scratch server).
 * Progress goes to stderr, results to stdout; exit codes per run.ts.
 */
import { Command, Option } from "commander";
import { maskUrl } from "../../sst/database/url.js";
import { parseDatabaseUrl, type ConnectionSettings } from "../kernel/db.js";
import { UserError } from "../kernel/errors.js";
import type { StepObserver } from "../flows/steps.js";
import { DEFAULT_UMAMI_IMAGE } from "../migrate/docker-engine.js";
import { describeMigrationProgress } from "../migrate/progress.js";
import type { MigrateEvent } from "../migrate/runner.js";
import { defaultStage } from "../../sst/stages.js";
import {
  defaultMigrationsSource,
  MIGRATIONS_OPTION_HELP,
  migrationLoadOptions,
  noteLines,
} from "./migration-source.js";
import { flagOrEnvironment } from "./inputs.js";
import { progressObserver } from "./progress.js";
import { onlineFlags, onlineOptions, type OnlineFlags } from "./online-options.js";
import type { OnlineOptions } from "../migrate/online/deploy.js";
import { action, EXIT } from "./run.js";

/** How the online flags' messages name this command. */
const DEPLOY_VERB = "umami-db migrate deploy";

interface CommonOptions {
  databaseUrl?: string;
  migrations: string;
  json?: boolean;
}

/** The URL from --database-url or DATABASE_URL, validated once here. */
function connectionSettings(options: CommonOptions): { url: string; settings: ConnectionSettings } {
  const url = flagOrEnvironment(options.databaseUrl, process.env, "DATABASE_URL");
  if (!url)
    throw new UserError(
      "No database URL. Pass --database-url postgresql://umami_user:…@host:5432/db?schema=umami or set DATABASE_URL.",
    );
  return { url, settings: parseDatabaseUrl(url, { applicationName: "umami-db migrate" }) };
}

/**
 * Renders the runner's events through the steps' progress observer (stderr; stdout stays for the result): one
 * step per migration, and while one runs long, its elapsed time, lock wait or index build.
 */
function migrationProgress(observer: StepObserver): (event: MigrateEvent) => void {
  return (event) => {
    switch (event.type) {
      case "lock-wait":
        process.stderr.write("waiting for Prisma's migration lock (another migration is running)…\n");
        return;
      case "start":
        return observer.start?.(event.name);
      case "progress":
        return observer.progress?.(event.name, describeMigrationProgress(event));
      case "applied":
        return observer.end?.({ name: event.name, ok: true, ms: Math.round(event.ms), detail: "applied" });
      case "failed":
        return observer.end?.({
          name: event.name,
          ok: false,
          ms: Math.round(event.ms),
          error: "not applied (see the error below)",
        });
    }
  };
}

/** `--lock-timeout 10` or `2.5`: seconds, greater than 0, in milliseconds. */
function lockTimeoutMs(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0 || !/^\d+(\.\d+)?$/.test(value)) {
    throw new UserError(
      `--lock-timeout takes a number of seconds greater than 0, e.g. 10 or 2.5 (got ${JSON.stringify(value)}).`,
    );
  }
  return Math.round(seconds * 1000);
}

function withCommonOptions(command: Command): Command {
  return command
    .option("--database-url <url>", "PostgreSQL URL of the Umami role, with ?schema=<schema> (default: $DATABASE_URL)")
    .option(
      "--migrations <source>",
      `${MIGRATIONS_OPTION_HELP}; the default is stage ${defaultStage}'s umamiVersion`,
      defaultMigrationsSource(),
    )
    .option("--json", "print the result as JSON");
}

/** `umami-db migrate` and its subcommands. */
export function migrateCommand(): Command {
  const migrate = new Command("migrate")
    .description(
      "Apply Umami's Prisma migrations (deploy), show their status, resolve a failed one, verify the schema against the release. Name the subcommand: a bare `migrate` changes nothing.",
    )
    .exitOverride()
    // A misspelt subcommand (`migrate deploi --json`) reaches the bare command with its options: commander then
    // said "too many arguments for 'migrate'" (or "unknown option '--json'"). Named here as commander names an
    // unknown command, with its suggestion; an unknown option alone is still one.
    .allowExcessArguments()
    .allowUnknownOption()
    // Commander adds `help [command]` only to commands without an action: `migrate help deploy` was refused.
    .helpCommand(true)
    .hook("preAction", (self, actionCommand) => {
      if (actionCommand !== self || self.args.length === 0) return;
      if (!self.args[0].startsWith("-")) (self as Command & { unknownCommand(): never }).unknownCommand();
      self.error(`error: unknown option '${self.args[0]}'`, { code: "commander.unknownOption" });
    })
    // No default subcommand, as Prisma has none: typing `umami-db migrate` to look around must not migrate.
    .action(
      action(() =>
        Promise.reject(
          new UserError(
            "Name what to do: `umami-db migrate deploy` applies pending migrations, `migrate status` lists them, `migrate resolve --rolled-back <name>` clears a failed one.",
          ),
        ),
      ),
    );
  // The options live on the subcommands only, so `migrate status --database-url …` reaches `status` whatever
  // the program's parsing mode.
  migrate.addCommand(deployCommand());
  migrate.addCommand(statusCommand());
  migrate.addCommand(verifySchemaCommand());
  migrate.addCommand(resolveCommand());
  return migrate;
}

/** `migrate deploy`: applies pending migrations (builtin runner or Prisma in Docker), or lists them with --dry-run. */
function deployCommand(): Command {
  const deploy = withCommonOptions(new Command("deploy"))
    .description("Apply pending migrations as prisma migrate deploy would, recording them in _prisma_migrations.")
    .exitOverride()
    .option(
      "--dry-run",
      "list the pending migrations and the existing tables each would lock or rewrite (lock, what it blocks, estimated rows and size), and for a migration with an online plan its phases and their locks; change nothing, lock no table",
    )
    .addOption(
      new Option("--engine <engine>", "builtin runner, or Prisma itself in Umami's Docker image")
        .choices(["builtin", "docker"])
        .default("builtin"),
    )
    .option(
      "--image <image>",
      `image for --engine docker (default: ${DEFAULT_UMAMI_IMAGE}, the pinned release; never the moving postgresql-latest unless asked)`,
    )
    .option(
      "--lock-timeout <seconds>",
      "how long one migration statement waits for a lock held by Umami's live sessions before giving up, nothing applied (lock_timeout; statements themselves never time out) (default: 10)",
      lockTimeoutMs,
    );
  return onlineFlags(deploy).action(
    action(
      async (
        options: CommonOptions &
          OnlineFlags & {
            dryRun?: boolean;
            engine: "builtin" | "docker";
            image?: string;
            lockTimeout?: number;
          },
      ) => {
        const { url, settings } = connectionSettings(options);
        const online = onlineOptions(options, DEPLOY_VERB);
        if (online && options.engine === "docker")
          throw new UserError(
            "--online runs with the builtin engine only (Prisma's deploy has no online mode); drop --engine docker.",
          );
        if (online && !options.dryRun) return deployOnlineAction(settings, url, options, online);
        if (options.engine === "docker") {
          const { buildDockerMigrateCommand, runDockerCommand } = await import("../migrate/docker-engine.js");
          if (options.dryRun)
            throw new UserError(
              "--dry-run is not available with --engine docker (prisma migrate deploy has none). Use `umami-db migrate status`.",
            );
          const built = buildDockerMigrateCommand(url, { image: options.image });
          process.stderr.write(`running: ${built.command} ${built.args.join(" ")} (DATABASE_URL=${maskUrl(url)})\n`);
          const code = await runDockerCommand(built, process.env);
          return code === 0 ? EXIT.ok : EXIT.couldNotRun;
        }
        const { loadMigrations } = await import("../migrate/sources.js");
        const { applyMigrations } = await import("../migrate/runner.js");
        const set = await loadMigrations(options.migrations, migrationLoadOptions(process.env));
        process.stderr.write(
          `${set.migrations.length} migrations in ${options.migrations}${set.origin ? ` (from ${set.origin})` : ""}; target ${maskUrl(url)}\n${noteLines(set.notes)}`,
        );
        const result = await applyMigrations(settings, set, {
          dryRun: options.dryRun,
          statementLockTimeoutMs: options.lockTimeout,
          onProgress: migrationProgress(progressObserver()),
        });
        for (const m of result.modified) process.stderr.write(`warning: ${m.message}\n`);
        if (options.json) {
          process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        } else if (result.dryRun) {
          if (result.pending.length === 0) process.stdout.write(`No pending migrations for ${result.schema}.\n`);
          else {
            const { describeImpact } = await import("../migrate/deploy-impact.js");
            const { onlineLines } = await import("../migrate/online/plans.js");
            process.stdout.write(
              [
                `Would apply to ${result.schema}: ${result.pending.join(", ")}`,
                ...describeImpact(result.impact ?? []),
                ...onlineLines(
                  set.migrations.filter((m) => result.pending.includes(m.name)),
                  result.schema,
                ),
              ].join("\n") + "\n",
            );
          }
        } else {
          process.stdout.write(
            result.applied.length
              ? `Applied ${result.applied.length} migration(s) to ${result.schema} in ${Math.round(result.ms)} ms: ${result.applied.join(", ")}\n`
              : `No pending migrations to apply (${result.alreadyApplied.length} already applied in ${result.schema}).\n`,
          );
        }
        return EXIT.ok;
      },
    ),
  );
}

/** `migrate deploy --online [--finish]`: the online engine, its progress on stderr, what to do next on stdout. */
async function deployOnlineAction(
  settings: ConnectionSettings,
  url: string,
  options: CommonOptions & { finish?: boolean; lockTimeout?: number },
  online: Omit<OnlineOptions, "onEvent">,
): Promise<number> {
  const { loadMigrations } = await import("../migrate/sources.js");
  const { deployOnline } = await import("../migrate/online/deploy.js");
  const { describeOnlineResult, describeOnlineEvent } = await import("../migrate/online/report.js");
  const set = await loadMigrations(options.migrations, migrationLoadOptions(process.env));
  process.stderr.write(
    `${set.migrations.length} migrations in ${options.migrations}${set.origin ? ` (from ${set.origin})` : ""}; target ${maskUrl(url)}; online${options.finish ? " --finish" : ""}\n${noteLines(set.notes)}`,
  );
  const result = await deployOnline(settings, set, {
    ...online,
    statementLockTimeoutMs: options.lockTimeout,
    onProgress: migrationProgress(progressObserver()),
    onEvent: (event) => {
      const line = describeOnlineEvent(event);
      if (line) process.stderr.write(`${line}\n`);
    },
  });
  process.stdout.write(
    options.json ? `${JSON.stringify(result, null, 2)}\n` : `${describeOnlineResult(result).join("\n")}\n`,
  );
  return EXIT.ok;
}

/** `migrate status`: applied, pending, failed and edited migrations, with Prisma's verdict as the exit code. */
function statusCommand(): Command {
  return withCommonOptions(new Command("status"))
    .exitOverride()
    .description(
      "Show applied, pending, failed and edited migrations as prisma migrate status does: exit 1 when migrations are pending or failed, " +
        "or the histories diverge; an edited applied migration and a database ahead of the folder are reported with exit 0 (Prisma 7), or exit 1 with --strict.",
    )
    .option(
      "--strict",
      "also exit 1 when an applied migration was edited or the database has migrations the folder lacks",
    )
    .action(
      action(async (options: CommonOptions & { strict?: boolean }) => {
        const { settings } = connectionSettings(options);
        const { loadMigrations } = await import("../migrate/sources.js");
        const { migrationStatus } = await import("../migrate/runner.js");
        const { statusVerdict } = await import("../migrate/status.js");
        const set = await loadMigrations(options.migrations, migrationLoadOptions(process.env));
        process.stderr.write(noteLines(set.notes));
        const status = await migrationStatus(settings, set);
        const verdict = statusVerdict(status, { strict: options.strict });
        if (options.json) {
          process.stdout.write(
            `${JSON.stringify({ ...status, strict: options.strict === true, exitCode: verdict.exitCode }, null, 2)}\n`,
          );
        } else {
          const head = `schema ${status.schema}: ${status.applied.length} applied, ${status.pending.length} pending, ${status.failed.length} failed, ${set.migrations.length} in ${options.migrations}`;
          process.stdout.write(`${[head, ...verdict.lines].join("\n")}\n`);
        }
        return verdict.exitCode === 0 ? EXIT.ok : EXIT.checkFailed;
      }),
    );
}

/** `migrate verify-schema`: the live schema against the one the applied migrations build on a scratch server. */
function verifySchemaCommand(): Command {
  return withCommonOptions(new Command("verify-schema"))
    .exitOverride()
    .description(
      "Rebuild the schema the applied migrations produce on a scratch embedded PostgreSQL 15 and compare it with the live one " +
        "(tables, columns, indexes, constraints, sequences); exit 1 and print the SQL that brings it to the release when they differ.",
    )
    .action(
      action(async (options: CommonOptions) => {
        const { settings } = connectionSettings(options);
        const { loadMigrations } = await import("../migrate/sources.js");
        const { verifySchema } = await import("../flows/verify-schema.js");
        const { renderVerifySchemaText } = await import("../flows/verify-schema-report.js");
        const result = await verifySchema(
          settings,
          await loadMigrations(options.migrations, migrationLoadOptions(process.env)),
          (line) => process.stderr.write(`${line}\n`),
        );
        process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : renderVerifySchemaText(result));
        return result.ok ? EXIT.ok : EXIT.checkFailed;
      }),
    );
}

/** `migrate resolve --rolled-back <name>`: marks a failed migration as rolled back. */
function resolveCommand(): Command {
  return new Command("resolve")
    .exitOverride()
    .description(
      "Mark a failed migration as rolled back (prisma migrate resolve --rolled-back), so migrations can resume.",
    )
    .requiredOption("--rolled-back <name>", "the failed migration's directory name, e.g. 05_add_index")
    .option("--database-url <url>", "PostgreSQL URL of the Umami role, with ?schema=<schema> (default: $DATABASE_URL)")
    .option("--json", "print the result as JSON")
    .action(
      action(async (options: { rolledBack: string; databaseUrl?: string; json?: boolean }) => {
        const { settings } = connectionSettings({ ...options, migrations: "" });
        const { resolveRolledBack } = await import("../migrate/runner.js");
        const result = await resolveRolledBack(settings, options.rolledBack);
        process.stdout.write(
          options.json
            ? `${JSON.stringify(result)}\n`
            : `Marked ${result.name} as rolled back in ${result.schema}._prisma_migrations.\n`,
        );
        return EXIT.ok;
      }),
    );
}
