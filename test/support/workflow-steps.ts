/**
 * What a workflow's `run:` steps call, checked against the repository: each command of a step's shell script must be
 * a command the runner or the repository has, with arguments its own parser accepts — `umami-db` through its
 * commander program, `sst` through its `--help` flag list, the CI scripts through their `parseArgs` options,
 * `npm` through package.json's scripts (arguments to an umami-db script through its parser). Used by
 * test/unit/workflow.test.ts, and by test/unit/readme.test.ts for the commands the documents show.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { parseArgs } from "node:util";
import { parseCommandLine } from "./cli-parser.js";
import { scratchDir } from "./scratch.js";

const run = promisify(execFile);

/** Runner tools a step may call besides the repository's own (all on GitHub's ubuntu images and docs/ci.md's runner). */
const RUNNER_TOOLS = new Set(["mkdir", "echo", "cat", "git", "aws", "jq"]);

/**
 * The simple commands of a shell script, as argument lists: pipelines, `&&`, `;` and newlines split them, `$(…)`
 * contributes its own commands, redirections and leading assignments are dropped, quotes are removed. Expressions
 * `${{ … }}` become the word GHA_EXPR. Enough for the scripts a workflow should hold; control flow is not.
 */
function shellCommands(script: string): string[][] {
  const text = script.replace(/\$\{\{[\s\S]*?\}\}/g, "GHA_EXPR");
  const commands: string[][] = [];
  let words: string[] = [];
  let word: string | null = null;
  let redirect = false;
  const endWord = () => {
    if (word === null) return;
    if (redirect) redirect = false;
    else if (!(words.length === 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(word))) words.push(word);
    word = null;
  };
  const endCommand = () => {
    endWord();
    if (words.length) commands.push(words);
    words = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "$" && text[i + 1] === "(") {
      let depth = 1;
      let j = i + 2;
      for (; j < text.length && depth > 0; j++) depth += text[j] === "(" ? 1 : text[j] === ")" ? -1 : 0;
      commands.push(...shellCommands(text.slice(i + 2, j - 1)));
      word = `${word ?? ""}$(…)`;
      i = j - 1;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let value = "";
      for (; j < text.length && text[j] !== c; j++) {
        if (c === '"' && text[j] === "$" && text[j + 1] === "(") {
          let depth = 1;
          let k = j + 2;
          for (; k < text.length && depth > 0; k++) depth += text[k] === "(" ? 1 : text[k] === ")" ? -1 : 0;
          commands.push(...shellCommands(text.slice(j + 2, k - 1)));
          value += "$(…)";
          j = k - 1;
        } else value += text[j];
      }
      word = `${word ?? ""}${value}`;
      i = j;
    } else if (c === "#" && word === null) {
      while (i < text.length && text[i] !== "\n") i++;
      endCommand();
    } else if (c === "\n" || c === ";" || c === "|" || c === "&") {
      if ((c === "|" || c === "&") && text[i + 1] === c) i++;
      endCommand();
    } else if (c === ">" || c === "<") {
      if (word !== null && /^\d$/.test(word)) word = null;
      endWord();
      if (text[i + 1] === ">") i++;
      redirect = true;
    } else if (c === " " || c === "\t") endWord();
    else if (c === "\\" && text[i + 1] === "\n") i++;
    else word = `${word ?? ""}${c}`;
  }
  endCommand();
  return commands;
}

/** Parses `args` with umami-db's own commander program, running no action; the usage error, or null. */
export async function parseUmamiDb(args: string[], options: { allowHelp?: boolean } = {}): Promise<string | null> {
  try {
    return (await parseCommandLine(args)).help && !options.allowHelp
      ? `umami-db ${args.join(" ")} only prints help`
      : null;
  } catch (error) {
    // The CLI's own message (commander's, or a flag's value checker's UserError), without the command line.
    return ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message;
  }
}

const sstFlags = new Map<string, Promise<string[] | null>>();

/** The flags `sst <command> --help` lists, or null when sst has no such command. */
function sstCommandFlags(command: string): Promise<string[] | null> {
  if (!sstFlags.has(command)) {
    sstFlags.set(
      command,
      // sst prints a command's help and exits 1 (it always does for --help): read stdout either way.
      // SST writes a log file into TMPDIR on every run: a scratch directory, removed after the test file.
      run("npx", ["sst", command, "--help"], {
        env: {
          ...process.env,
          TMPDIR: scratchDir("sst-help-"),
          SST_SKIP_DEPENDENCY_CHECK: "1",
          SST_TELEMETRY_DISABLED: "1",
          SST_NO_BUN: "1",
        },
      })
        .catch((error: unknown) => ({ stdout: (error as { stdout?: string }).stdout ?? "" }))
        .then(({ stdout }) =>
          stdout.startsWith(`Usage: sst ${command}`)
            ? [...stdout.matchAll(/^\s+(--[a-z-]+)/gm)].map((m) => m[1])
            : null,
        ),
    );
  }
  return sstFlags.get(command)!;
}

/**
 * Checks one command (a workflow step's, or one a document shows) against the repository; the problem in one
 * line, or null. `allowHelp`: a command that only prints help is fine (a document may show one; a step may not).
 */
export async function checkCommand(
  argv: string[],
  options: { root?: string; allowHelp?: boolean } = {},
): Promise<string | null> {
  const root = options.root ?? ".";
  const [tool, ...args] = argv;
  const pkg = JSON.parse(readFileSync(`${root}/package.json`, "utf8")) as {
    scripts: Record<string, string>;
    bin: Record<string, string>;
    dependencies: Record<string, string>;
  };
  const umamiDb = async (cliArgs: string[]) => {
    const error = await parseUmamiDb(cliArgs, options);
    return error ? `umami-db ${cliArgs.join(" ")}: ${error}` : null;
  };
  if (tool === "npm") {
    if (args[0] === "ci")
      return args.slice(1).every((a) => ["--no-audit", "--no-fund"].includes(a))
        ? null
        : `npm ci with unexpected flags: ${args.join(" ")}`;
    const rest = args[0] === "run" ? args.slice(1) : args;
    while (rest[0]?.startsWith("-")) rest.shift(); // npm's own flags (-s)
    const [script, ...extra] = rest;
    if (!pkg.scripts[script]) return `npm ${args.join(" ")}: package.json has no script "${script}"`;
    const passed = extra[0] === "--" ? extra.slice(1) : extra;
    const [runner, file, ...scriptArgs] = pkg.scripts[script].split(/\s+/);
    if (runner === "node" && file === "bin/umami-db.js") return umamiDb([...scriptArgs, ...passed]);
    return passed.length ? `npm ${args.join(" ")}: arguments to a script that is not umami-db` : null;
  }
  if ((tool === "npx" && args[0] === "umami-db") || (tool === "node" && args[0] === "bin/umami-db.js")) {
    if (!pkg.bin["umami-db"]) return "package.json has no bin umami-db";
    return umamiDb(args.slice(1));
  }
  if (tool === "npx" && args[0] === "sst") {
    if (!pkg.dependencies.sst) return "sst is not a dependency";
    const dash = args.indexOf("--");
    const flags = await sstCommandFlags(args[1]);
    if (!flags) return `sst has no command "${args[1]}"`;
    const own = args.slice(2, dash < 0 ? undefined : dash);
    const unknown = own.filter((a) => a.startsWith("--") && !flags.includes(a.split("=")[0]));
    if (unknown.length) return `sst ${args[1]} has no flag ${unknown.join(", ")} (it has ${flags.join(" ")})`;
    // `sst shell -- <command>`: the command it runs is checked too.
    return dash < 0 ? null : checkCommand(args.slice(dash + 1), options);
  }
  if (tool === "npx" && args[0] === "tsx") {
    const file = `${root}/${args[1]}`;
    if (!existsSync(file)) return `no script ${args[1]}`;
    const module = (await import(`${process.cwd()}/${file}`)) as Record<string, unknown>;
    const options = Object.entries(module).find(([name]) => name.endsWith("_OPTIONS"))?.[1];
    if (!options) return `${args[1]} exports no *_OPTIONS for its flags`;
    try {
      parseArgs({
        args: args.slice(2),
        options: options as NonNullable<Parameters<typeof parseArgs>[0]>["options"],
        strict: true,
        allowPositionals: false,
      });
      return null;
    } catch (error) {
      return `${args[1]}: ${(error as Error).message}`;
    }
  }
  return RUNNER_TOOLS.has(tool) ? null : `"${tool}" is neither the repository's command nor a runner tool`;
}

/** Every problem in the `run:` steps of a parsed workflow, as "job / step: problem". */
export async function checkRunSteps(
  workflow: { jobs: Record<string, { steps?: { name?: string; run?: string }[] }> },
  root = ".",
): Promise<string[]> {
  const problems: string[] = [];
  for (const [job, { steps = [] }] of Object.entries(workflow.jobs)) {
    for (const step of steps) {
      if (!step.run) continue;
      for (const argv of shellCommands(step.run)) {
        const problem = await checkCommand(argv, { root });
        if (problem) problems.push(`${job} / ${step.name ?? step.run.split("\n")[0]}: ${problem}`);
      }
    }
  }
  return problems;
}
