/**
 * The two kinds of error (STYLE.md rule 2): a `UserError` is the user's to fix and prints its message
 * only; anything else is a bug and keeps its stack. Subclasses carry the fields a caller may inspect.
 */

/** An error the user can fix; its message names the object, what was found and expected, and the next step. */
export class UserError extends Error {
  override name = "UserError";
  /** Exit code a command should use for this error (2: could not run; 1: a check failed). */
  readonly exitCode: number;
  constructor(message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options);
    this.exitCode = options?.exitCode ?? 2;
  }
}

/** A stage name or a configured name that cannot become a PostgreSQL identifier or a secret name. */
export class InvalidNameError extends UserError {
  override name = "InvalidNameError";
  constructor(
    readonly what: string,
    readonly value: string,
    reason: string,
  ) {
    super(`Invalid ${what} ${JSON.stringify(value)}: ${reason}`);
  }
}
