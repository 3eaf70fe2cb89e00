/**
 * `umami-db`'s own commander tree, to check a command line without running it: the command factories that
 * `scripts/umami-db.ts` wires (read from its imports and its `commands` list, so a new command is picked up),
 * with every leaf's action replaced by one that records what was parsed. Unknown commands and options, missing
 * required options and option parsers' refusals fail exactly as they do in the CLI.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";

const ENTRY = new URL("../../scripts/umami-db.ts", import.meta.url);

/** What a command line parsed to: the command path (`["migrate", "deploy"]`) and its options. */
export type ParsedCommandLine = { help: true } | { help: false; path: string[]; options: Record<string, unknown>; args: string[] };

/** The factories `scripts/umami-db.ts` adds to the program, in its order: `[exportName, module URL]`. */
function wiredFactories(): [string, URL][] {
  const source = readFileSync(ENTRY, "utf8");
  const modules = new Map([...source.matchAll(/^import \{ (\w+Command) \} from "(\.\/commands\/[\w-]+)\.js";$/gm)].map((m) => [m[1], m[2]]));
  const list = source.match(/const commands: Command\[\] = \[([^\]]*)\]/)?.[1] ?? "";
  const names = [...list.matchAll(/(\w+Command)\(\)/g)].map((m) => m[1]);
  if (names.length === 0) throw new Error("scripts/umami-db.ts: no `const commands: Command[] = [...]` list found");
  return names.map((name) => {
    const path = modules.get(name);
    if (!path) throw new Error(`scripts/umami-db.ts: ${name} is not imported from ./commands/`);
    return [name, new URL(`../../scripts/${path.slice(2)}.ts`, import.meta.url)];
  });
}

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
async function recordingProgram(onLeaf: (command: Command) => void): Promise<Command> {
  const program = new Command("umami-db").version("0.0.0", "-V, --version");
  for (const [name, url] of wiredFactories()) {
    const factory = (await import(url.href))[name] as () => Command;
    program.addCommand(factory());
  }
  return silence(program, onLeaf);
}

/**
 * Parses `argv` (the words after `umami-db`) with the CLI's own commands. Returns what it parsed, or
 * `{ help: true }` for --help/--version; throws the CLI's own message for a line it would refuse.
 */
export async function parseCommandLine(argv: string[]): Promise<ParsedCommandLine> {
  let parsed: ParsedCommandLine | undefined;
  const program = await recordingProgram((leaf) => {
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

/** Whether `path` (e.g. `["migrate", "deploy"]`) names a command of the CLI, without parsing any options. */
export async function commandExists(path: string[]): Promise<boolean> {
  let command: Command | undefined = await recordingProgram(() => {});
  for (const name of path) command = command?.commands.find((c) => c.name() === name);
  return command !== undefined;
}
