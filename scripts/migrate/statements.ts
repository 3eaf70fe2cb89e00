/**
 * Splits a migration script into statements and tokens, as PostgreSQL's lexer sees them: `--` and nested
 * `/* *\/` comments, '…' and E'…' strings, "quoted" identifiers and $tag$…$tag$ bodies never end a statement.
 * Pure; the dry run's lock plan (lock-plan.ts) reads the tokens.
 */

/** One token: words are lower-cased (as PostgreSQL folds them), quoted identifiers keep their case. */
export interface Token {
  kind: "word" | "quoted" | "string" | "number" | "punct";
  value: string;
}

/** One statement: the 1-based line it starts on, its text and its tokens. */
interface Statement {
  line: number;
  text: string;
  tokens: Token[];
}

/** The statements of `sql`, in order, without comments or empty statements. */
export function splitStatements(sql: string): Statement[] {
  const statements: Statement[] = [];
  let tokens: Token[] = [];
  let line = 1;
  let startLine = 1;
  let startOffset = -1;
  let i = 0;
  const push = (token: Token, at: number) => {
    if (tokens.length === 0) {
      startLine = line;
      startOffset = at;
    }
    tokens.push(token);
  };
  const end = (at: number) => {
    if (tokens.length > 0) statements.push({ line: startLine, text: sql.slice(startOffset, at).trim(), tokens });
    tokens = [];
  };
  const countLines = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (sql[k] === "\n") line++;
  };

  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === "\n") {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === "-" && next === "-") {
      while (i < sql.length && sql[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      let depth = 0;
      const from = i;
      do {
        if (sql[i] === "/" && sql[i + 1] === "*") {
          depth++;
          i += 2;
        } else if (sql[i] === "*" && sql[i + 1] === "/") {
          depth--;
          i += 2;
        } else i++;
      } while (depth > 0 && i < sql.length);
      countLines(from, i);
    } else if (c === "'" || ((c === "E" || c === "e") && next === "'")) {
      const from = i;
      const escapes = c !== "'";
      i += escapes ? 2 : 1;
      let value = "";
      while (i < sql.length) {
        if (escapes && sql[i] === "\\") {
          value += sql[i + 1] ?? "";
          i += 2;
        } else if (sql[i] === "'" && sql[i + 1] === "'") {
          value += "'";
          i += 2;
        } else if (sql[i] === "'") {
          i++;
          break;
        } else value += sql[i++];
      }
      push({ kind: "string", value }, from);
      countLines(from, i);
    } else if (c === '"') {
      const from = i;
      i++;
      let value = "";
      while (i < sql.length) {
        if (sql[i] === '"' && sql[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (sql[i] === '"') {
          i++;
          break;
        } else value += sql[i++];
      }
      push({ kind: "quoted", value }, from);
      countLines(from, i);
    } else if (c === "$" && /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.test(sql.slice(i, i + 64))) {
      const from = i;
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64))![0];
      const close = sql.indexOf(tag, i + tag.length);
      i = close < 0 ? sql.length : close + tag.length;
      push({ kind: "string", value: sql.slice(from + tag.length, close < 0 ? sql.length : close) }, from);
      countLines(from, i);
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      const from = i;
      while (i < sql.length && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[i])) i++;
      push({ kind: "word", value: sql.slice(from, i).toLowerCase() }, from);
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(next ?? ""))) {
      const from = i;
      while (i < sql.length && /[0-9.eE]/.test(sql[i])) i++;
      push({ kind: "number", value: sql.slice(from, i) }, from);
    } else if (c === ";") {
      end(i);
      i++;
    } else {
      push({ kind: "punct", value: c }, i);
      i++;
    }
  }
  end(sql.length);
  return statements;
}
