/**
 * The `umami-db` command: wires the commands (scripts/commands/program.ts), nothing else.
 */
import { CommanderError } from "commander";
import { installInterruptHandlers } from "./kernel/interrupt.js";
import { umamiDbProgram } from "./commands/program.js";
import { reportError } from "./commands/run.js";

// Ctrl-C and kill: stop what was started, remove temporary files, exit 130/143 with one line.
installInterruptHandlers();

try {
  await umamiDbProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version exit 0; usage errors (already printed by commander) exit 2.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    process.exitCode = reportError(error);
  }
}
