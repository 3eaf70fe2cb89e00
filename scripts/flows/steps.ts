/**
 * Named, timed steps for the long flows (`local`, `post-deploy`): each step's outcome is recorded as data
 * (name, ok, milliseconds, a one-line detail) and reported to an observer that renders progress. The first
 * failing step stops the flow; its error is kept in the record.
 */
import { UserError } from "../kernel/errors.js";

/** The outcome of one step. */
export interface StepRecord {
  name: string;
  ok: boolean;
  ms: number;
  /** A one-line summary ("4 migrations applied"); never holds a secret. */
  detail?: string;
  /** The error message when the step failed. */
  error?: string;
}

/** Receives progress as steps start and end (the command renders it; the library never prints). */
export interface StepObserver {
  start?(name: string): void;
  /** A running step's progress (e.g. a long migration's elapsed time and index build), one line of text. */
  progress?(name: string, detail: string): void;
  end?(record: StepRecord): void;
}

/** A step failed: names the step and keeps the cause. */
class StepFailedError extends UserError {
  override name = "StepFailedError";
  constructor(
    readonly step: string,
    cause: unknown,
  ) {
    super(`Step "${step}" failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
      exitCode: cause instanceof UserError ? cause.exitCode : 2,
    });
  }
}

/**
 * What a flow reports when it stopped on `error`: the failed step (when a step failed) and the message. A bug
 * — a cause that is not a `UserError` — is rethrown instead, so it keeps its stack (STYLE.md rule 2).
 */
export function flowFailure(error: unknown): { failedStep?: string; error: string } {
  const cause = error instanceof StepFailedError ? error.cause : error;
  if (!(cause instanceof UserError)) throw cause;
  return { failedStep: error instanceof StepFailedError ? error.step : undefined, error: (error as Error).message };
}

/** Runs steps in order and keeps their records. */
export class StepRunner {
  readonly steps: StepRecord[] = [];

  constructor(private readonly observer: StepObserver = {}) {}

  /**
   * Runs `fn` (synchronous or not) as step `name`; `describe` turns its result into the record's detail. Throws
   * `StepFailedError`, whether `fn` throws or rejects.
   */
  async run<T>(name: string, fn: () => T | Promise<T>, describe?: (result: T) => string | undefined): Promise<T> {
    this.observer.start?.(name);
    const started = performance.now();
    try {
      const result = await fn();
      this.record({ name, ok: true, ms: elapsed(started), detail: describe?.(result) });
      return result;
    } catch (error) {
      this.record({
        name,
        ok: false,
        ms: elapsed(started),
        error: error instanceof Error ? error.message : String(error),
      });
      throw new StepFailedError(name, error);
    }
  }

  /** Records a step whose outcome is a check (e.g. the audit): it ran, but `ok` says whether it passed. */
  async check<T>(
    name: string,
    fn: () => T | Promise<T>,
    judge: (result: T) => { ok: boolean; detail?: string },
  ): Promise<T> {
    this.observer.start?.(name);
    const started = performance.now();
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      this.record({
        name,
        ok: false,
        ms: elapsed(started),
        error: error instanceof Error ? error.message : String(error),
      });
      throw new StepFailedError(name, error);
    }
    this.record({ name, ms: elapsed(started), ...judge(result) });
    return result;
  }

  /** Reports progress of the running step `name` to the observer (nothing is recorded). */
  progress(name: string, detail: string): void {
    this.observer.progress?.(name, detail);
  }

  /** Whether every recorded step succeeded. */
  get ok(): boolean {
    return this.steps.every((s) => s.ok);
  }

  private record(record: StepRecord): void {
    this.steps.push(record);
    this.observer.end?.(record);
  }
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
