/**
 * How every command ends (STYLE.md rule 1): the handler returns an exit code from the table below; a
 * `UserError` prints its message only, on one line; anything else is a bug and keeps its stack.
 *
 * | code | meaning                                              |
 * |------|------------------------------------------------------|
 * | 0    | ok                                                   |
 * | 1    | a check failed (audit finding, threshold, conflict)  |
 * | 2    | could not run (usage, connection, bad input)         |
 */
import { mkdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { UserError } from "../kernel/errors.js";
import { interrupted } from "../kernel/interrupt.js";

export const EXIT = { ok: 0, checkFailed: 1, couldNotRun: 2 } as const;

/** Wraps a command handler: sets `process.exitCode` from its result or from the error it throws. */
export function action<A extends unknown[]>(
  handler: (...args: A) => Promise<number | undefined>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      process.exitCode = (await handler(...args)) ?? EXIT.ok;
    } catch (error) {
      process.exitCode = reportError(error);
    }
  };
}

/** Prints an error as the user should see it and returns its exit code. */
export function reportError(error: unknown): number {
  if (error instanceof UserError) {
    // One line, always: messages that quote a parser's excerpt (JSON.parse's, for one) may carry newlines.
    process.stderr.write(`error: ${error.message.replace(/\s*\n\s*/g, " ")}\n`);
    return error.exitCode;
  }
  process.stderr.write(
    `internal error (please report): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return EXIT.couldNotRun;
}

/** A flow's exit code: 0 ok; 2 when a step could not run (`error` set); 1 when every step ran but a check failed. */
export function flowExitCode(result: { ok: boolean; error?: string }): number {
  if (result.ok) return EXIT.ok;
  return result.error ? EXIT.couldNotRun : EXIT.checkFailed;
}

/** Parses a positive integer option, or throws a one-line UserError naming the option. */
export function positiveInt(option: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0)
      throw new UserError(`${option} takes a whole number greater than 0 (got ${JSON.stringify(value)}).`);
    return n;
  };
}

/** Writes a file a command was asked to produce, creating its directory; a failure is one line, not a stack. */
export function writeOutputFile(path: string, text: string): void {
  // An interrupted run writes no report: it would describe a run that did not finish.
  if (interrupted()) throw new UserError(`Interrupted: ${path} not written.`);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  } catch (error) {
    throw new UserError(`Could not write ${path}: ${(error as Error).message}. Choose a path you can write to.`, {
      cause: error,
    });
  }
}

/**
 * Checks, before any work, that a directory a command will write into can be created and written (a probe
 * file is written and removed), so a long flow never ends by losing its output to a bad path. What the check
 * created it removes again, empty directories only (another run's files are never touched): a command refused
 * afterwards changes nothing, and the writers create the directory when they write.
 */
export function ensureWritableDir(dir: string, option: string): void {
  let created: string | undefined;
  try {
    // A concurrent run's check may remove a directory it created between this mkdir and this probe: again.
    for (let attempt = 1; ; attempt++) {
      try {
        const made = mkdirSync(dir, { recursive: true });
        created ??= made;
        const probe = join(dir, `.umami-db-write-test-${process.pid}`);
        writeFileSync(probe, "");
        rmSync(probe);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT" || attempt === 3) throw error;
      }
    }
  } catch (error) {
    throw new UserError(
      `Cannot write into ${dir} (${option}): ${(error as Error).message}. Choose a directory you can write to.`,
      { cause: error },
    );
  } finally {
    if (created) removeEmptyDirs(resolve(dir), resolve(created));
  }
}

/** Removes `dir` and its parents up to `top`, while each is empty. */
function removeEmptyDirs(dir: string, top: string): void {
  for (let d = dir; d.startsWith(top); d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return;
    }
  }
}
