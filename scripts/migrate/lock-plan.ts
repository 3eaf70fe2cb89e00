/**
 * What pending migrations will do to tables that already exist, for `migrate deploy --dry-run`: each
 * statement's lock (PostgreSQL 15 docs, "Explicit Locking", table 13.2, and the ALTER TABLE / CREATE INDEX
 * pages) and its work (rewrite, row updates, index build, full scan, or a catalog change only), per migration
 * and table. A migration is one transaction, so every lock it takes is held until it commits: an instant
 * ADD COLUMN followed by an UPDATE of every row keeps ACCESS EXCLUSIVE for the whole UPDATE.
 * Pure: the estimates come from table-estimates.ts.
 */
import { splitStatements, type Token } from "./statements.js";

/** PostgreSQL's table lock modes, weakest first. */
export const LOCK_MODES = [
  "ACCESS SHARE",
  "ROW SHARE",
  "ROW EXCLUSIVE",
  "SHARE UPDATE EXCLUSIVE",
  "SHARE",
  "SHARE ROW EXCLUSIVE",
  "EXCLUSIVE",
  "ACCESS EXCLUSIVE",
] as const;
export type LockMode = (typeof LOCK_MODES)[number];

/** What a statement does to the table's data, heaviest first in `WORK_ORDER`. */
export type Work = "rewrite" | "update" | "index" | "scan" | "delete" | "insert" | "catalog";
const WORK_ORDER: Work[] = ["rewrite", "update", "index", "scan", "delete", "insert", "catalog"];

/** What a statement destroys: the words the plan uses, so a DBA can search for them. */
export type Destruction = "deletes rows" | "updates rows" | "drops data";

/** One statement's effect on one table. */
export interface TableOperation {
  table: string;
  line: number;
  lock: LockMode;
  work: Work;
  /** e.g. `ADD COLUMN visit_id`, `UPDATE (every row)`, `CREATE INDEX website_event_visit_id_idx`. */
  what: string;
  /** Set when the statement deletes, updates or truncates rows, or drops a table or column. */
  destroys?: Destruction;
}

/** What Umami's sessions cannot do on a table while `lock` is held. */
export function blockedBy(lock: LockMode): "reads and writes" | "writes" | "nothing" {
  if (lock === "ACCESS EXCLUSIVE") return "reads and writes";
  return LOCK_MODES.indexOf(lock) >= LOCK_MODES.indexOf("SHARE") ? "writes" : "nothing";
}

/** The stronger of two locks, and the heavier of two kinds of work. */
export const strongerLock = (a: LockMode, b: LockMode): LockMode =>
  LOCK_MODES.indexOf(a) >= LOCK_MODES.indexOf(b) ? a : b;
export const heavierWork = (a: Work, b: Work): Work => (WORK_ORDER.indexOf(a) <= WORK_ORDER.indexOf(b) ? a : b);

// Functions whose value differs per row: as a new column's default they make PostgreSQL rewrite the table.
const VOLATILE_FUNCTIONS = new Set([
  "gen_random_uuid",
  "uuid_generate_v1",
  "uuid_generate_v4",
  "random",
  "clock_timestamp",
  "timeofday",
  "nextval",
  "gen_random_bytes",
  "txid_current",
]);
const SERIAL_TYPES = new Set(["serial", "bigserial", "smallserial", "serial4", "serial8", "serial2"]);

/**
 * The operations of `sql` on tables. `indexes` (index → table, from the catalog) resolves DROP INDEX and
 * learns the indexes the script creates; `created` learns the tables it creates, which are left out (empty).
 */
export function planStatements(
  sql: string,
  indexes: Map<string, string>,
  created: Set<string> = new Set(),
): TableOperation[] {
  const operations: TableOperation[] = [];
  for (const statement of splitStatements(sql)) {
    const add = (table: string | undefined, lock: LockMode, work: Work, what: string, destroys?: Destruction) => {
      // A table the script created is empty for its locks; what destroys data is named even there.
      if (table && (destroys || !created.has(table)))
        operations.push({ table, line: statement.line, lock, work, what, ...(destroys ? { destroys } : {}) });
    };
    // `WITH a AS (…), b AS (…) <statement>`: each CTE body may itself delete or update (a data-modifying CTE).
    const { bodies, main } = splitWith(statement.tokens);
    for (const tokens of [...bodies, main, ...doBlockStatements(main)]) planTokens(tokens, indexes, created, add);
  }
  return operations;
}

type Add = (table: string | undefined, lock: LockMode, work: Work, what: string, destroys?: Destruction) => void;

/** One statement's (or one CTE body's) operations, through `add`. */
function planTokens(t: Token[], indexes: Map<string, string>, created: Set<string>, add: Add): void {
  const w = (i: number) => (t[i]?.kind === "word" ? t[i].value : undefined);
  const matches = (word: string) => (hasWord(t, "where") ? `the rows its WHERE matches` : word);
  if (
    w(0) === "create" &&
    (w(1) === "table" || (w(2) === "table" && ["unlogged", "temp", "temporary"].includes(w(1) ?? "")))
  ) {
    const at = skipWords(t, t.findIndex((x) => x.value === "table") + 1, ["if", "not", "exists"]);
    const name = readName(t, at);
    if (name) created.add(name.name);
  } else if (w(0) === "create" && (w(1) === "index" || (w(1) === "unique" && w(2) === "index"))) {
    const concurrently = t.some((x) => x.kind === "word" && x.value === "concurrently");
    const on = t.findIndex((x) => x.kind === "word" && x.value === "on");
    const table = readName(t, skipWords(t, on + 1, ["only"]))?.name;
    const nameAt = skipWords(t, t.findIndex((x) => x.value === "index") + 1, ["concurrently", "if", "not", "exists"]);
    const name = nameAt < on ? readName(t, nameAt)?.name : undefined;
    if (name && table) indexes.set(name, table);
    add(
      table,
      concurrently ? "SHARE UPDATE EXCLUSIVE" : "SHARE",
      "index",
      `CREATE ${w(1) === "unique" ? "UNIQUE " : ""}INDEX${concurrently ? " CONCURRENTLY (fails inside a migration's transaction)" : ""}${name ? ` ${name}` : ""}`,
    );
  } else if (w(0) === "drop" && w(1) === "index") {
    for (const name of namesAfter(t, skipWords(t, 2, ["concurrently", "if", "exists"])))
      add(indexes.get(name), "ACCESS EXCLUSIVE", "catalog", `DROP INDEX ${name}`);
  } else if (w(0) === "drop" && w(1) === "table") {
    for (const name of namesAfter(t, skipWords(t, 2, ["if", "exists"])))
      add(name, "ACCESS EXCLUSIVE", "catalog", "DROP TABLE (its data is deleted)", "drops data");
  } else if (w(0) === "truncate") {
    for (const name of namesAfter(t, skipWords(t, 1, ["table", "only"])))
      add(name, "ACCESS EXCLUSIVE", "catalog", "TRUNCATE (every row is deleted)", "deletes rows");
  } else if (w(0) === "update") {
    const table = readName(t, skipWords(t, 1, ["only"]))?.name;
    add(table, "ROW EXCLUSIVE", "update", `UPDATE (${matches("every row")})`, "updates rows");
  } else if (w(0) === "delete" && w(1) === "from") {
    add(
      readName(t, skipWords(t, 2, ["only"]))?.name,
      "ROW EXCLUSIVE",
      "delete",
      `DELETE (${matches("every row")})`,
      "deletes rows",
    );
  } else if (w(0) === "merge" && w(1) === "into") {
    // MERGE … WHEN MATCHED THEN UPDATE / DELETE (PostgreSQL 15).
    const table = readName(t, skipWords(t, 2, ["only"]))?.name;
    const deletes = t.some((x, i) => x.kind === "word" && x.value === "then" && w(i + 1) === "delete");
    const updates = t.some((x, i) => x.kind === "word" && x.value === "then" && w(i + 1) === "update");
    add(
      table,
      "ROW EXCLUSIVE",
      deletes ? "delete" : updates ? "update" : "insert",
      "MERGE",
      deletes ? "deletes rows" : updates ? "updates rows" : undefined,
    );
  } else if (w(0) === "insert" && w(1) === "into") {
    const upsert = t.some((x, i) => x.kind === "word" && x.value === "do" && w(i + 1) === "update");
    const what = `${hasWord(t, "select") ? "INSERT … SELECT" : "INSERT … VALUES"}${upsert ? " ON CONFLICT DO UPDATE" : ""}`;
    add(
      readName(t, 2)?.name,
      "ROW EXCLUSIVE",
      upsert ? "update" : hasWord(t, "select") ? "insert" : "catalog",
      what,
      upsert ? "updates rows" : undefined,
    );
  } else if (w(0) === "alter" && w(1) === "table") {
    const at = skipWords(t, 2, ["if", "exists", "only"]);
    const name = readName(t, at);
    if (!name) return;
    for (const action of splitTopLevel(t.slice(name.next).filter((x) => x.value !== "*"))) {
      const op = alterAction(action);
      add(name.name, op.lock, op.work, op.what, op.destroys);
    }
  }
}

/**
 * `WITH [RECURSIVE] a [(cols)] AS [NOT] [MATERIALIZED] (…), … <main>`: the CTE bodies and the main statement.
 * A statement without WITH is its own main statement.
 */
function splitWith(tokens: Token[]): { bodies: Token[][]; main: Token[] } {
  if (!(tokens[0]?.kind === "word" && tokens[0].value === "with")) return { bodies: [], main: tokens };
  const bodies: Token[][] = [];
  let i = skipWords(tokens, 1, ["recursive"]);
  for (;;) {
    i++; // the CTE's name
    if (tokens[i]?.value === "(") i = closing(tokens, i) + 1; // its column list
    i = skipWords(tokens, i, ["as", "not", "materialized"]);
    if (tokens[i]?.value !== "(") return { bodies, main: tokens.slice(i) };
    const end = closing(tokens, i);
    const inner = splitWith(tokens.slice(i + 1, end));
    bodies.push(...inner.bodies, inner.main);
    i = end + 1;
    if (tokens[i]?.value !== ",") return { bodies, main: tokens.slice(i) };
    i++;
  }
}

/** `DO $$ BEGIN DELETE FROM …; END $$`: the block's statements (BEGIN stripped), as far as plain SQL shows them. */
function doBlockStatements(tokens: Token[]): Token[][] {
  if (!(tokens[0]?.kind === "word" && tokens[0].value === "do")) return [];
  const body = tokens.find((x) => x.kind === "string");
  if (!body) return [];
  return splitStatements(body.value).map(
    (s) => splitWith(s.tokens[0]?.value === "begin" ? s.tokens.slice(1) : s.tokens).main,
  );
}

/** The index of the `)` that closes the `(` at `open` (the end when unbalanced). */
function closing(tokens: Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i].kind !== "punct") continue;
    if (tokens[i].value === "(") depth++;
    if (tokens[i].value === ")" && --depth === 0) return i;
  }
  return tokens.length;
}

/** One ALTER TABLE action's lock and work. */
function alterAction(a: Token[]): { lock: LockMode; work: Work; what: string; destroys?: Destruction } {
  const w = (i: number) => (a[i]?.kind === "word" ? a[i].value : undefined);
  const ident = (i: number) => (a[i] && (a[i].kind === "word" || a[i].kind === "quoted") ? a[i].value : "?");
  const X: LockMode = "ACCESS EXCLUSIVE";
  const constraintAt = w(0) === "add" ? (w(1) === "constraint" ? 3 : 1) : -1;
  if (constraintAt > 0 && ["check", "foreign", "primary", "unique", "exclude"].includes(w(constraintAt) ?? "")) {
    const kind = w(constraintAt)!;
    const label = `ADD ${kind === "foreign" ? "FOREIGN KEY" : kind === "primary" ? "PRIMARY KEY" : kind.toUpperCase()}`;
    if (hasWord(a, "valid") && hasWord(a, "not"))
      return { lock: kind === "foreign" ? "SHARE ROW EXCLUSIVE" : X, work: "catalog", what: `${label} NOT VALID` };
    if (kind === "foreign") return { lock: "SHARE ROW EXCLUSIVE", work: "scan", what: `${label} (checks every row)` };
    if (kind === "check") return { lock: X, work: "scan", what: `${label} (checks every row)` };
    return { lock: X, work: "index", what: `${label} (builds an index)` };
  }
  if (w(0) === "add") {
    const col = skipWords(a, w(1) === "column" ? 2 : 1, ["if", "not", "exists"]);
    const column = ident(col);
    const type = w(col + 1);
    const def = a.findIndex((x) => x.kind === "word" && x.value === "default");
    const volatile =
      def >= 0 &&
      a
        .slice(def + 1)
        .some((x, i, rest) => x.kind === "word" && VOLATILE_FUNCTIONS.has(x.value) && rest[i + 1]?.value === "(");
    if (volatile || SERIAL_TYPES.has(type ?? "") || hasWord(a, "generated"))
      return { lock: X, work: "rewrite", what: `ADD COLUMN ${column} (a per-row default: rewrites the table)` };
    return {
      lock: X,
      work: "catalog",
      what: `ADD COLUMN ${column}${hasWord(a, "not") && hasWord(a, "null") && def < 0 ? " NOT NULL without a default (fails on a non-empty table)" : ""}`,
    };
  }
  if (w(0) === "alter") {
    const col = w(1) === "column" ? 2 : 1;
    const column = ident(col);
    const rest = a
      .slice(col + 1)
      .map((x) => x.value)
      .join(" ");
    if (/^(set data )?type /.test(rest))
      return {
        lock: X,
        work: "rewrite",
        what: `ALTER COLUMN ${column} TYPE (rewrites the table unless the new type is binary-compatible)`,
      };
    if (rest === "set not null")
      return { lock: X, work: "scan", what: `ALTER COLUMN ${column} SET NOT NULL (checks every row)` };
    return { lock: X, work: "catalog", what: `ALTER COLUMN ${column} ${rest.toUpperCase()}` };
  }
  if (w(0) === "rename" && w(1) === "to") return { lock: X, work: "catalog", what: `RENAME TO ${ident(2)}` };
  if (w(0) === "rename") {
    const col = w(1) === "column" ? 2 : w(1) === "constraint" ? 2 : 1;
    return {
      lock: X,
      work: "catalog",
      what: `RENAME ${w(1) === "constraint" ? "CONSTRAINT" : "COLUMN"} ${ident(col)} TO ${ident(col + 2)}`,
    };
  }
  if (w(0) === "drop") {
    const at = skipWords(a, w(1) === "column" || w(1) === "constraint" ? 2 : 1, ["if", "exists"]);
    if (w(1) === "constraint") return { lock: X, work: "catalog", what: `DROP CONSTRAINT ${ident(at)}` };
    return { lock: X, work: "catalog", what: `DROP COLUMN ${ident(at)} (its data is deleted)`, destroys: "drops data" };
  }
  if (w(0) === "validate")
    return { lock: "SHARE UPDATE EXCLUSIVE", work: "scan", what: `VALIDATE CONSTRAINT ${ident(2)} (checks every row)` };
  if (w(0) === "set" && (w(1) === "logged" || w(1) === "unlogged" || w(1) === "tablespace"))
    return { lock: X, work: "rewrite", what: `SET ${w(1)!.toUpperCase()} (rewrites the table)` };
  return {
    lock: X,
    work: "catalog",
    what: a
      .slice(0, 3)
      .map((x) => x.value.toUpperCase())
      .join(" "),
  };
}

function hasWord(tokens: Token[], word: string): boolean {
  return tokens.some((x) => x.kind === "word" && x.value === word);
}

function skipWords(tokens: Token[], at: number, words: string[]): number {
  while (tokens[at]?.kind === "word" && words.includes(tokens[at].value)) at++;
  return at;
}

/** `name` or `schema.name` at `at`: the unqualified name (Umami's migrations name tables unqualified). */
function readName(tokens: Token[], at: number): { name: string; next: number } | undefined {
  const part = (i: number) =>
    tokens[i] && (tokens[i].kind === "word" || tokens[i].kind === "quoted") ? tokens[i].value : undefined;
  const first = part(at);
  if (first === undefined) return undefined;
  if (tokens[at + 1]?.value === "." && part(at + 2) !== undefined) return { name: part(at + 2)!, next: at + 3 };
  return { name: first, next: at + 1 };
}

/** A comma-separated list of names from `at` (DROP INDEX a, b), up to CASCADE/RESTRICT. */
function namesAfter(tokens: Token[], at: number): string[] {
  const names: string[] = [];
  for (let i = at; i < tokens.length; ) {
    const name = readName(tokens, i);
    if (!name || (tokens[i].kind === "word" && ["cascade", "restrict"].includes(tokens[i].value))) break;
    names.push(name.name);
    i = name.next;
    if (tokens[i]?.value !== ",") break;
    i++;
  }
  return names;
}

/** ALTER TABLE's actions: the tokens split at commas outside parentheses. */
function splitTopLevel(tokens: Token[]): Token[][] {
  const parts: Token[][] = [[]];
  let depth = 0;
  for (const token of tokens) {
    if (token.kind === "punct" && token.value === "(") depth++;
    if (token.kind === "punct" && token.value === ")") depth--;
    if (depth === 0 && token.kind === "punct" && token.value === ",") parts.push([]);
    else parts[parts.length - 1].push(token);
  }
  return parts.filter((p) => p.length > 0);
}

/**
 * The lock each existing table is held under while `sql` runs as one migration. A lock is held to commit, so
 * this is the strongest lock any statement takes on the table, not the last one: 05_add_visit_id's final
 * CREATE INDEX takes SHARE, yet website_event stays ACCESS EXCLUSIVE from its first ALTER TABLE to commit.
 */
export function heldLocks(sql: string): { table: string; lock: LockMode }[] {
  const byTable = new Map<string, LockMode>();
  for (const op of planStatements(sql, new Map()))
    byTable.set(op.table, strongerLock(byTable.get(op.table) ?? op.lock, op.lock));
  return [...byTable].map(([table, lock]) => ({ table, lock }));
}
