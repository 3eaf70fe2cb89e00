/**
 * The `umami-db` program: every command, wired, and nothing run. `scripts/umami-db.ts` parses `process.argv` with it;
 * the workflow tests parse each `run:` step's arguments with it, so a renamed flag fails the tests, not the merge.
 */
import { createRequire } from "node:module";
import { Command } from "commander";
import { checkStageName, meetsStageSyntax } from "../../sst/stage-name.js";
import { baselineCommand } from "./baseline.js";
import { localCommand } from "./local.js";
import { migrateCommand } from "./migrate.js";
import { postDeployCommand } from "./post-deploy.js";
import { planCommand } from "./plan.js";
import { preflightCommand } from "./preflight.js";
import { rollbackCommand } from "./rollback.js";
import { verifyCommand } from "./verify.js";
import { fingerprintCommand } from "./fingerprint.js";
import { handoffCommand } from "./handoff.js";
import { releasesCommand } from "./releases.js";

const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

// `addCommand` does not pass the program's settings down: usage errors anywhere must exit 2, not 1.
function inheritSettings(command: Command): Command {
  command.exitOverride().showHelpAfterError("(run with --help for usage)");
  checkOptionsInOrder(command);
  if (command.options.some((o) => o.long === "--stage")) checkStageFlag(command);
  for (const sub of command.commands) inheritSettings(sub);
  return command;
}

/**
 * Commander checks required options before unknown ones, so `plan --stge dev` said "--stage not specified".
 * Required options are checked here instead, after commander has named an unknown option (same message).
 */
function checkOptionsInOrder(command: Command): void {
  const required = command.options.filter((o) => o.mandatory);
  for (const option of required) option.mandatory = false;
  if (required.length === 0) return;
  command.hook("preAction", (_, action) => {
    const missing = required.find((o) => action.getOptionValue(o.attributeName()) === undefined);
    if (missing)
      action.error(`error: required option '${missing.flags}' not specified`, {
        code: "commander.missingMandatoryOptionValue",
      });
  });
}

/** Every `--stage` a user types meets the stage-name rules (sst/stage-name.ts); `--new-stage` says a look-alike is meant. */
function checkStageFlag(command: Command): void {
  command.option(
    "--new-stage",
    "the stage is meant as a new one, although its name looks like a protected stage's (e.g. prod)",
  );
  command.hook("preAction", (_, action) => {
    const { stage, newStage } = action.opts<{ stage?: string; newStage?: boolean }>();
    // A stage SST itself refuses is reported by the command, as before; here only the rules on top of SST's.
    if (stage !== undefined && meetsStageSyntax(stage)) checkStageName(stage, { newStage });
  });
}

/** The `umami-db` command with all its subcommands; parsing it runs the chosen command's action. */
export function umamiDbProgram(): Command {
  const program = new Command("umami-db")
    .description("Provision, migrate and audit Umami's isolated schema in a shared Aurora PostgreSQL 15 database.")
    .version(version, "-V, --version", "print the version of umami-db")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  // One line per command, in the order a user meets them. Command modules import heavy libraries
  // (Pulumi, the AWS SDK) inside their actions, so `--help` stays fast.
  const commands: Command[] = [
    planCommand(),
    localCommand(),
    migrateCommand(),
    preflightCommand(),
    postDeployCommand(),
    handoffCommand(),
    rollbackCommand(),
    baselineCommand(),
    fingerprintCommand(),
    verifyCommand(),
    releasesCommand(),
  ];
  for (const command of commands) program.addCommand(inheritSettings(command));
  return program;
}
