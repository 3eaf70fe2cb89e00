/**
 * A misspelt subcommand is named as unknown, with commander's suggestion, for every command that has
 * subcommands, including `migrate`, whose bare form has an action of its own (it refuses to guess).
 */
import { CommanderError, type Command } from "commander";
import { describe, expect, it } from "vitest";
import { umamiDbProgram } from "../../../scripts/commands/program.js";

function silenced(command: Command): Command {
  command.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  for (const sub of command.commands) silenced(sub);
  return command;
}

async function refusal(argv: string[]): Promise<CommanderError> {
  try {
    await silenced(umamiDbProgram()).parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error;
    throw error;
  }
  throw new Error(`umami-db ${argv.join(" ")} was accepted`);
}

describe("a misspelt subcommand", () => {
  it.each([
    [["migrate", "deploi"], "deploy"],
    [["migrate", "stauts", "--json"], "status"],
    [["baseline", "captur"], "capture"],
    [["releases", "lst"], "list"],
  ])("umami-db %j is an unknown command, with a suggestion, exit 2", async (argv, suggestion) => {
    const error = await refusal(argv);
    expect(error.code).toBe("commander.unknownCommand");
    expect(error.message).toBe(`error: unknown command '${argv[1]}'\n(Did you mean ${suggestion}?)`);
  });

  it.each([
    ["migrate", "deploy"],
    ["baseline", "capture"],
    ["releases", "list"],
  ])("umami-db %s help %s shows that subcommand's help", async (group, sub) => {
    let out = "";
    const program = silenced(umamiDbProgram());
    for (const c of [program, ...program.commands, ...program.commands.flatMap((c) => c.commands)])
      c.configureOutput({ writeOut: (s) => (out += s), writeErr: () => {} });
    const error = await program.parseAsync([group, "help", sub], { from: "user" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ exitCode: 0 });
    expect(out).toMatch(new RegExp(`^Usage: umami-db ${group} ${sub} `));
  });

  it("a bare migrate with an unknown option is still refused as one", async () => {
    const error = await refusal(["migrate", "--jsn"]);
    expect(error.code).toBe("commander.unknownOption");
    expect(error.message).toBe("error: unknown option '--jsn'");
  });
});
