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
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { UserError } from "../kernel/errors.js";
import { interrupted } from "../kernel/interrupt.js";

export const EXIT = { ok: 0, checkFailed: 1, couldNotRun: 2 } as const;

/** Wraps a command handler: sets `process.exitCode` from its result or from the error it throws. */
export function action<A extends unknown[]>(handler: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
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
  process.stderr.write(`internal error (please report): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
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
    if (!Number.isInteger(n) || n <= 0) throw new UserError(`${option} takes a whole number greater than 0 (got ${JSON.stringify(value)}).`);
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
    throw new UserError(`Could not write ${path}: ${(error as Error).message}. Choose a path you can write to.`, { cause: error });
  }
}

/**
 * Checks, before any work, that a directory a command will write into can be created and written (a probe
 * file is written and removed), so a long flow never ends by losing its output to a bad path. What the check
 * created it removes again: a command refused after it changes nothing; the writers create the directory.
 */
export function ensureWritableDir(dir: string, option: string): void {
  let created: string | undefined;
  try {
    created = mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.umami-db-write-test-${process.pid}`);
    writeFileSync(probe, "");
    rmSync(probe);
  } catch (error) {
    throw new UserError(`Cannot write into ${dir} (${option}): ${(error as Error).message}. Choose a directory you can write to.`, { cause: error });
  } finally {
    if (created) rmSync(created, { recursive: true, force: true });
  }
}
