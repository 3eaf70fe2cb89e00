/**
 * The collector every input problem goes to (STYLE.md rule 4: validated once, every problem listed together):
 * `add` a clause as it is found, then `throwIfAny` reports them all in one UserError.
 */
import { UserError } from "./errors.js";

/** Collects input problems; a problem is a clause, its final full stop dropped so they join into one sentence. */
export class Problems {
  private readonly found: string[] = [];

  /** Records a problem. */
  add(problem: string): void {
    this.found.push(problem.replace(/\.$/, ""));
  }

  /** Records the message of a thrown error as a problem. */
  addError(error: unknown, prefix = ""): void {
    this.add(`${prefix}${error instanceof Error ? error.message : String(error)}`);
  }

  /** How many problems so far. */
  get count(): number {
    return this.found.length;
  }

  /** Throws one UserError listing every problem (`lead` before them), when there is any. */
  throwIfAny(lead = ""): void {
    if (this.found.length) throw new UserError(`${lead}${this.found.join("; ")}.`);
  }
}
