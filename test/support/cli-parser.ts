/**
 * `umami-db`'s own commander program (scripts/commands/program.ts), to check a command line without running it:
 * every leaf's action replaced by one that records what was parsed. Unknown commands and options, missing
 * required options and option parsers' refusals fail exactly as they do in the CLI.
 */
import { Command, CommanderError } from "commander";
import { umamiDbProgram } from "../../scripts/commands/program.js";

/** What a command line parsed to: the command path (`["migrate", "deploy"]`) and its options. */
type ParsedCommandLine =
  | { help: true }
  | { help: false; path: string[]; options: Record<string, unknown>; args: string[] };

function silence(command: Command, onLeaf: (command: Command) => void): Command {
  command.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  if (command.commands.length === 0) command.action((...args: unknown[]) => onLeaf(args.at(-1) as Command));
  for (const sub of command.commands) silence(sub, onLeaf);
  return command;
}

function pathOf(command: Command): string[] {
  const path: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) path.unshift(c.name());
  return path;
}

/** The program as the CLI builds it, with actions that record instead of run. */
function recordingProgram(onLeaf: (command: Command) => void): Command {
  return silence(umamiDbProgram(), onLeaf);
}

/**
 * Parses `argv` (the words after `umami-db`) with the CLI's own commands. Returns what it parsed, or
 * `{ help: true }` for --help/--version; throws the CLI's own message for a line it would refuse.
 */
export async function parseCommandLine(argv: string[]): Promise<ParsedCommandLine> {
  let parsed: ParsedCommandLine | undefined;
  const program = recordingProgram((leaf) => {
    parsed = { help: false, path: pathOf(leaf), options: leaf.opts(), args: leaf.args };
  });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return { help: true };
    throw new Error(`umami-db ${argv.join(" ")}: ${(error as Error).message}`, { cause: error });
  }
  if (!parsed) throw new Error(`umami-db ${argv.join(" ")}: names no command that runs`);
  return parsed;
}
