/**
 * The caller's temporary schema in someone else's code (threat model class opaque-code). PostgreSQL looks a
 * relation name up in the session's temporary schema *first* unless the search_path lists `pg_temp`, and last
 * only where it is listed last. A SECURITY DEFINER function runs in its caller's session, so a relation its
 * body names without a schema (`INSERT INTO ddl_log …`, `FROM pg_stat_activity`) resolves to a table or view the
 * caller created in its own `pg_temp` — with TEMPORARY on the database, PostgreSQL's default for PUBLIC. That
 * relation's trigger or view function then runs with the definer's rights (measured on 15.18: an administrator's
 * DDL-audit event trigger pinned to `pg_catalog, public` inserted into umami_user's temporary table, whose
 * trigger granted umami_user pg_read_all_data). A pinned path without a trailing `pg_temp`, even `''`, does not
 * prevent it; `SET search_path = …, pg_temp` does. SQL-standard bodies (`BEGIN ATOMIC`) resolve their names when
 * created and are immune. Pure functions over the text and the pinned setting, unit-tested.
 */
import { searchPathEntries, stripComments } from "./opaque-text.js";

const NAME = String.raw`"(?:[^"]|"")+"|[\p{L}_][\p{L}\p{N}_$]*`;
/** Words that follow these keywords without being a relation (locking clauses, subqueries, plpgsql). */
const NOT_A_RELATION = new Set([
  "select",
  "values",
  "lateral",
  "only",
  "set",
  "of",
  "nowait",
  "skip",
  "where",
  "with",
  "table",
  "rows",
  "stdin",
  "stdout",
  "program",
]);
/** Functions whose argument list uses FROM for something else (`extract(year FROM t)`, `substring(s FROM 2)`). */
const FROM_INSIDE = /(?<![\p{L}\p{N}_$.])(extract|substring|trim|overlay|position)\s*\($/iu;

/** `code` with string literals (quoted and dollar-quoted) emptied: they hold values, or SQL run as text (judged as dynamic). */
function withoutStrings(code: string): string {
  return code.replace(/\$([\p{L}_][\p{L}\p{N}_]*)?\$[\s\S]*?\$\1\$/gu, "''").replace(/[eE]?'(?:[^']|'')*'/g, "''");
}

/** The names `WITH name AS (…)` defines: a query's own, not looked up in any schema. */
function commonTableExpressions(code: string): Set<string> {
  const names = new Set<string>();
  const cte = new RegExp(
    String.raw`(?:\bwith\s+(?:recursive\s+)?|,\s*)(${NAME})\s*(?:\([^)]*\))?\s+as\s+(?:not\s+)?(?:materialized\s+)?\(`,
    "giu",
  );
  for (const m of code.matchAll(cte)) names.add(unquote(m[1]));
  return names;
}

function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name.toLowerCase();
}

/** Whether the FROM at `at` sits inside the parentheses of extract(), substring() and the like. */
function fromInsideCall(code: string, at: number): boolean {
  let depth = 0;
  for (let i = at - 1; i >= 0; i--) {
    if (code[i] === ")") depth += 1;
    else if (code[i] === "(") {
      if (depth === 0) return FROM_INSIDE.test(code.slice(Math.max(0, i - 20), i + 1));
      depth -= 1;
    }
  }
  return false;
}

/**
 * The relation names `code` (a function's source) reads or writes without a schema: after FROM, JOIN, UPDATE,
 * INSERT INTO, MERGE INTO, DELETE FROM, TRUNCATE, COPY and LOCK, including the further items of a FROM list —
 * not functions (`FROM unnest(…)`), common table expressions, plpgsql's `SELECT … INTO var` or `FOR UPDATE`, or
 * text in strings. Conservative: a word the text uses as a relation is taken as one.
 */
export function unqualifiedRelations(code: string): string[] {
  const clean = withoutStrings(stripComments(code));
  const ctes = commonTableExpressions(clean);
  const found = new Set<string>();
  const keyword = new RegExp(
    String.raw`(?<![\p{L}\p{N}_$."])(from|join|update|into|truncate|copy|lock)\s+(?:(?:only|lateral|table)\s+)*(${NAME})`,
    "giu",
  );
  for (const m of clean.matchAll(keyword)) {
    const word = m[1].toLowerCase();
    const before = clean.slice(Math.max(0, m.index - 12), m.index).toLowerCase();
    if (word === "into" && !/(insert|merge)\s+$/.test(before)) continue;
    if (word === "update" && /(for|do|key|no|on|or|before|after)\s+$/.test(before)) continue;
    if (
      word === "from" &&
      (/(distinct|fetch|move|next|prior|absolute|relative|all)\s+$/.test(before) || fromInsideCall(clean, m.index))
    )
      continue;
    let at = m.index + m[0].length;
    let name = m[2];
    for (;;) {
      const after = clean.slice(at);
      const qualified = /^\s*\./.test(after);
      const call = /^\s*\(/.test(after) && (word === "from" || word === "join");
      const plain = unquote(name);
      if (!qualified && !call && !NOT_A_RELATION.has(plain) && !ctes.has(plain)) found.add(plain);
      if (word !== "from") break;
      // The next item of a FROM list: `FROM a, b x, c AS y`.
      const rest = new RegExp(
        String.raw`^(?:\s*\.\s*(?:${NAME}))?(?:\s*\([^()]*\))?(?:\s+(?:as\s+)?(?!where\b|join\b|on\b|group\b|order\b|limit\b|inner\b|left\b|right\b|full\b|cross\b|natural\b|union\b|except\b|intersect\b|window\b|having\b|for\b|returning\b|loop\b|into\b)(?:${NAME}))?\s*,\s*(?:(?:only|lateral)\s+)?(${NAME})`,
        "iu",
      ).exec(after);
      if (!rest) break;
      at += rest[0].length;
      name = rest[1];
    }
  }
  return [...found].sort();
}

/**
 * The relation names that SQL passed as text in `code` leaves to the search_path: each string literal that starts
 * like a statement (`EXECUTE 'INSERT INTO audit_log …'`), read as code; a `format()` placeholder is no name.
 */
export function unqualifiedInStrings(code: string): string[] {
  const found = new Set<string>();
  for (const m of stripComments(code).matchAll(/[eE]?'((?:[^']|'')*)'/g)) {
    const sql = m[1].replace(/''/g, "'");
    if (!/^\s*(select|insert|update|delete|with|truncate|copy|merge|lock)\b/i.test(sql)) continue;
    for (const name of unqualifiedRelations(sql)) if (!name.includes("%")) found.add(name);
  }
  return [...found].sort();
}

/**
 * Where the relation lookups of a function with these pinned search_path values reach the session's
 * temporary schema before the end of the path: `unpinned` (the caller's own path, pg_temp first), `first` (pinned
 * without pg_temp last), or null when pinned with pg_temp last.
 */
export function tempSchemaFirst(paths: string[] | null): "unpinned" | "first" | null {
  if (!paths || paths.length === 0) return "unpinned";
  const entries = searchPathEntries(paths[paths.length - 1]);
  const last = entries[entries.length - 1];
  return last && last.replace(/"/g, "").toLowerCase() === "pg_temp" ? null : "first";
}
