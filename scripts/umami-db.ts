/**
 * The `umami-db` command: wires the commands, nothing else. Each command lives in `scripts/commands/`.
 */
import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
import { baselineCommand } from "./commands/baseline.js";
import { localCommand } from "./commands/local.js";
import { migrateCommand } from "./commands/migrate.js";
import { postDeployCommand } from "./commands/post-deploy.js";
import { planCommand } from "./commands/plan.js";
import { preflightCommand } from "./commands/preflight.js";
import { reportError } from "./commands/run.js";
import { rollbackCommand } from "./commands/rollback.js";
import { verifyCommand } from "./commands/verify.js";
import { fingerprintCommand } from "./commands/fingerprint.js";
import { handoffCommand } from "./commands/handoff.js";
import { releasesCommand } from "./commands/releases.js";

const { version } = createRequire(import.meta.url)("../package.json") as { version: string };

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

// `addCommand` does not pass the program's settings down: usage errors anywhere must exit 2, not 1.
function inheritSettings(command: Command): Command {
  command.exitOverride().showHelpAfterError("(run with --help for usage)");
  for (const sub of command.commands) inheritSettings(sub);
  return command;
}
for (const command of commands) program.addCommand(inheritSettings(command));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version exit 0; usage errors (already printed by commander) exit 2.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    process.exitCode = reportError(error);
  }
}
