/**
 * The one quoting function for identifiers and the one for literals (STYLE.md rule 5). They follow
 * PostgreSQL's rules exactly as `pg`'s `escapeIdentifier`/`escapeLiteral` do (a unit test compares them);
 * they live here so the pure SQL builders need no database driver, and every module, builder or executor,
 * quotes through them (kernel/db.ts exports no second one).
 */

/** Quotes an identifier: always double-quoted, inner quotes doubled. Refuses NUL, which PostgreSQL cannot store. */
export function quoteIdent(name: string): string {
  if (name.includes("\0")) throw new Error("An identifier cannot contain a NUL character.");
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a string literal: quotes doubled; with backslashes, an E'' literal with backslashes doubled. */
export function quoteLiteral(value: string): string {
  if (value.includes("\0")) throw new Error("A literal cannot contain a NUL character.");
  const quoted = value.replace(/'/g, "''");
  if (!value.includes("\\")) return `'${quoted}'`;
  return ` E'${quoted.replace(/\\/g, "\\\\")}'`;
}
