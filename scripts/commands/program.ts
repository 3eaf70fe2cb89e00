/**
 * The `umami-db` program: every command, wired, and nothing run. `scripts/umami-db.ts` parses `process.argv` with it;
 * the workflow tests parse each `run:` step's arguments with it, so a renamed flag fails the tests, not the merge.
 */
import { createRequire } from "node:module";
import { Command } from "commander";
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

const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

// `addCommand` does not pass the program's settings down: usage errors anywhere must exit 2, not 1.
function inheritSettings(command: Command): Command {
  command.exitOverride().showHelpAfterError("(run with --help for usage)");
  for (const sub of command.commands) inheritSettings(sub);
  return command;
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
  ];
  for (const command of commands) program.addCommand(inheritSettings(command));
  return program;
}
