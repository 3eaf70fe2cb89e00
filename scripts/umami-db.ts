/**
 * The `umami-db` command: wires the commands, nothing else. Each command lives in `scripts/commands/`.
 */
import { Command, CommanderError } from "commander";
import { baselineCommand } from "./commands/baseline.js";
import { localCommand } from "./commands/local.js";
import { migrateCommand } from "./commands/migrate.js";
import { postDeployCommand } from "./commands/post-deploy.js";
import { planCommand } from "./commands/plan.js";
import { reportError } from "./commands/run.js";
import { verifyCommand } from "./commands/verify.js";
import { fingerprintCommand } from "./commands/fingerprint.js";

const program = new Command("umami-db")
  .description("Provision, migrate and audit Umami's isolated schema in a shared Aurora PostgreSQL 15 database.")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

// One line per command, in the order a user meets them. Command modules import heavy libraries
// (Pulumi, the AWS SDK) inside their actions, so `--help` stays fast.
const commands: Command[] = [
  planCommand(),
  localCommand(),
  migrateCommand(),
  postDeployCommand(),
  baselineCommand(),
  fingerprintCommand(),
  verifyCommand(),
];

for (const command of commands) program.addCommand(command);

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
