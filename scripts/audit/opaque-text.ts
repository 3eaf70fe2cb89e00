/**
 * Reading opaque code (threat model class opaque-code): what PostgreSQL stores as text and runs without the
 * catalogs showing its effect — a function's body, the constants of a stored query (a view's, a rule's, an
 * SQL-standard body's node tree: the SQL handed to crosstab or dblink lives there as bytes), a trigger's
 * arguments, a pinned search_path, a NOTIFY payload — judged by small pure functions, each tested against
 * exact cases. Conservative: a schema the text spells is taken as used; what the text builds at run time is
 * not read, it is reported as dynamic.
 */

const IDENT = String.raw`[\p{L}\p{N}_$]`;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The schemas of `schemas` that `text` uses as a qualifier (`umami.website`, `"umami" . "website"`), in code or
 * inside a string — SQL passed as text names its tables the same way. `'umami'` alone or `'umami.%'` do not
 * count: no object follows the dot.
 */
export function referencedSchemas(text: string, schemas: string[]): string[] {
  const object = String.raw`\s*\.\s*["\p{L}_]`;
  return schemas.filter((schema) => {
    const quoted = new RegExp(`"${escape(schema.replace(/"/g, '""'))}"${object}`, "u");
    // An unquoted name is folded to lower case, so it can only name a schema whose name is lower case.
    const unquoted =
      schema === schema.toLowerCase()
        ? new RegExp(`(?<![\\p{L}\\p{N}_$".])${escape(schema)}(?!${IDENT})${object}`, "iu")
        : null;
    return quoted.test(text) || Boolean(unquoted?.test(text));
  });
}

/**
 * The text constants of a stored node tree (`pg_rewrite.ev_action::text`, `pg_proc.prosqlbody::text`), decoded:
 * PostgreSQL prints a constant's datum as its bytes (`:constvalue 9 [ 36 0 0 0 …]`), a varlena with its header.
 */
export function treeConstants(tree: string): string[] {
  const found: string[] = [];
  const decoder = new TextDecoder();
  for (const m of tree.matchAll(
    /:constlen (-?\d+) :constbyval false :constisnull false :location -?\d+ :constvalue \d+ \[ ([-\d ]*)\]/g,
  )) {
    const bytes = Uint8Array.from(
      m[2]
        .trim()
        .split(/\s+/)
        .map((b) => Number(b) & 0xff),
    );
    const len = Number(m[1]);
    let body: Uint8Array;
    if (len === -1)
      body = bytes.subarray((bytes[0] & 1) === 1 ? 1 : 4); // 1-byte or 4-byte varlena header (little-endian)
    else {
      const end = bytes.indexOf(0);
      body = end >= 0 ? bytes.subarray(0, end) : bytes; // name (64 bytes) and cstring end with NULs
    }
    found.push(decoder.decode(body));
  }
  return found;
}

/** A trigger's arguments from `pg_trigger.tgargs` as hex (each argument ends with a NUL byte). */
export function triggerArguments(hex: string): string[] {
  const bytes = Uint8Array.from((hex.match(/../g) ?? []).map((h) => parseInt(h, 16)));
  const args: string[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) {
      args.push(new TextDecoder().decode(bytes.subarray(start, i)));
      start = i + 1;
    }
  }
  return args;
}

/** The entries of a search_path value as written (`"$user"`, `"My Schema"`, `public`). */
export function searchPathEntries(value: string): string[] {
  return value.match(/"(?:[^"]|"")*"|[^\s,]+/g) ?? [];
}

/** The schema name an entry stands for: `"$user"` → `user`, a quoted name as written, any other folded to lower case. */
export function entrySchema(raw: string, user: string): string {
  if (raw === '"$user"' || raw === "$user") return user;
  if (raw.startsWith('"')) return raw.slice(1, -1).replace(/""/g, '"');
  return raw.toLowerCase();
}

/** Built-ins and common extensions' functions that run SQL passed as text, and PL/pgSQL's EXECUTE. */
const DYNAMIC_NAMES = String.raw`execute|crosstab\d*|crosstab_hash|connectby|dblink\w*|query_to_xml\w*|cursor_to_xml\w*|table_to_xml\w*|schema_to_xml\w*|database_to_xml\w*|ts_stat|ts_rewrite`;
const DYNAMIC = new RegExp(String.raw`(?<![\p{L}\p{N}_$.])(${DYNAMIC_NAMES})(?![\p{L}\p{N}_$])`, "giu");

/** A function name that is one of those entry points, as a POSIX pattern (a stored query records built-ins by oid only). */
export const DYNAMIC_FUNCTION = String.raw`^(${DYNAMIC_NAMES})$`;

/** The same entry points as a POSIX pattern for `~*` (SQL's coarse filter; `dynamicSql` decides). */
export const DYNAMIC_PATTERN = String.raw`(^|[^[:alnum:]_$.])(${DYNAMIC_NAMES})([^[:alnum:]_$]|$)`;

/** The dynamic-SQL entry points `code` uses (lower case, each once): the statement they run is built at run time. */
export function dynamicSql(code: string): string[] {
  return [...new Set([...stripComments(code).matchAll(DYNAMIC)].map((m) => m[1].toLowerCase()))];
}

/** `code` without comments; string literals and quoted identifiers kept. */
export function stripComments(code: string): string {
  let out = "";
  let i = 0;
  while (i < code.length) {
    const c = code[i];
    const two = code.slice(i, i + 2);
    if (two === "--") {
      const end = code.indexOf("\n", i);
      i = end < 0 ? code.length : end;
    } else if (two === "/*") {
      const end = code.indexOf("*/", i + 2);
      i = end < 0 ? code.length : end + 2;
      out += " ";
    } else if (c === "'" || c === '"') {
      const end = closing(code, i, c);
      out += code.slice(i, end);
      i = end;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}

/** The index after the literal or quoted identifier opening at `start` (doubled quotes stay inside). */
function closing(code: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < code.length) {
    if (code[i] === quote) {
      if (code[i + 1] === quote) i += 2;
      else return i + 1;
    } else i += 1;
  }
  return code.length;
}

/** Top-level arguments of the call whose `(` is at `open`, and the index after its `)`. */
function callArguments(code: string, open: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  let i = open;
  while (i < code.length) {
    const c = code[i];
    if (c === "'" || c === '"') {
      i = closing(code, i, c);
      continue;
    }
    if (c === "(") depth += 1;
    else if (c === ")") {
      depth -= 1;
      if (depth === 0) {
        args.push(code.slice(start, i).trim());
        return args;
      }
    } else if (c === "," && depth === 1) {
      args.push(code.slice(start, i).trim());
      start = i + 1;
    }
    i += 1;
  }
  args.push(code.slice(start).trim());
  return args;
}

/** A column of a table's key, as the audit read it. */
export interface KeyColumn {
  name: string;
  /** Its type, as format_type prints it (`bigint`, `uuid`, `text`). */
  type: string;
  /** Whether the Umami role can already read it (a column privilege). */
  readable: boolean;
}

const INTEGER_TYPES = new Set(["smallint", "integer", "bigint"]);
/** Column names that say a value is a credential, even in a uuid. */
const SECRET_COLUMN = /secret|passw|token|key|credential|salt|private|auth|session|api/i;

/**
 * Why publishing a key column hands data to a listener, or null when it is a surrogate key: an integer key is
 * a counter; a uuid is a random label unless its name says it is a credential; anything else (an email, a
 * token, a name) is data. A column the Umami role may read anyway reveals nothing new.
 */
export function keyIsData(column: KeyColumn): string | null {
  if (column.readable || INTEGER_TYPES.has(column.type)) return null;
  if (column.type === "uuid" && !SECRET_COLUMN.test(column.name)) return null;
  return `key column ${column.name} (${column.type}) is data, not a surrogate key`;
}

/** What a NOTIFY payload hands to every listener. */
export type PayloadVerdict =
  | { kind: "row"; why: string }
  | { kind: "data"; why: string }
  | { kind: "key" }
  | { kind: "unknown"; why: string };

const SERIALISER =
  /(?<![\p{L}\p{N}_$.])(row_to_json|to_jsonb?|hstore|record_out|json_populate_record|array_to_json|json_agg|jsonb_agg|row)\s*\(/iu;
/** NEW or OLD used as a whole (not `NEW.col`): `NEW::text`, `NEW.*`, `json_build_object('data', NEW)`, `format('%s', NEW)`. */
const WHOLE_ROW = /(?<![\p{L}\p{N}_$."])(new|old)(?![\p{L}\p{N}_$])(?!\s*\.\s*["\p{L}_])/iu;
const COLUMN = /(?<![\p{L}\p{N}_$."])(?:new|old)\s*\.\s*("(?:[^"]|"")+"|[\p{L}_][\p{L}\p{N}_$]*)/giu;
const LITERAL = /^(?:[eE]?'(?:[^']|'')*'|null|\d+)$/i;
/** Functions that only shape their arguments (judged above) into a payload: building JSON, concatenating, casing. */
const CONSTRUCTOR =
  /^(json_build_object|jsonb_build_object|json_build_array|jsonb_build_array|format|concat|concat_ws|coalesce|lower|upper|trim|text|varchar|null)$/i;
const TG_VARIABLE = /^tg_(op|name|table_name|table_schema|relname|level|when|nargs)$/i;

/** The payload expressions of every pg_notify(…) call and NOTIFY statement in `code` (comments removed); `dynamic` when NOTIFY is in a string. */
function notifyPayloads(code: string): { payloads: string[]; dynamic: boolean } {
  const clean = stripComments(code);
  const payloads: string[] = [];
  let dynamic = false;
  let i = 0;
  while (i < clean.length) {
    const c = clean[i];
    if (c === "'" || c === '"') {
      const end = closing(clean, i, c);
      if (c === "'" && /(?<![\p{L}\p{N}_$])(pg_notify|notify)(?![\p{L}\p{N}_$])/iu.test(clean.slice(i, end)))
        dynamic = true;
      i = end;
      continue;
    }
    const rest = clean.slice(i);
    const before = i > 0 ? clean[i - 1] : " ";
    if (!/[\p{L}\p{N}_$.]/u.test(before)) {
      const call = /^pg_notify\s*\(/i.exec(rest);
      if (call) {
        const args = callArguments(clean, i + call[0].length - 1);
        payloads.push(args[1] ?? "''");
        i += call[0].length;
        continue;
      }
      const statement = /^notify\s+("(?:[^"]|"")*"|[\p{L}_][\p{L}\p{N}_$]*)\s*(,\s*('(?:[^']|'')*'))?/iu.exec(rest);
      if (statement) {
        payloads.push(statement[3] ?? "''");
        i += statement[0].length;
        continue;
      }
    }
    i += 1;
  }
  return { payloads, dynamic };
}

/**
 * What `payload` (an expression of `code`) sends, given the key columns of the tables whose triggers run the
 * function (null: no trigger runs it, so no column is known to be a key): a whole row, a non-key column or a key that is itself data fail; literals, trigger variables and
 * surrogate keys are a key; a variable is followed to its assignments; anything else is unknown.
 */
function judgePayload(payload: string, code: string, keys: KeyColumn[] | null, depth = 0): PayloadVerdict {
  const expr = payload.trim();
  if (SERIALISER.test(expr) || WHOLE_ROW.test(expr))
    return { kind: "row", why: `publishes whole rows (${short(expr)})` };
  const columns = [...expr.matchAll(COLUMN)].map((m) =>
    m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1].toLowerCase(),
  );
  for (const name of columns) {
    if (!keys) return { kind: "unknown", why: `sends column ${name} of a row no trigger supplies (${short(expr)})` };
    const key = keys.find((k) => k.name === name);
    if (!key) return { kind: "data", why: `publishes column ${name}, which is not a key (${short(expr)})` };
    const why = keyIsData(key);
    if (why) return { kind: "data", why: `publishes ${why} (${short(expr)})` };
  }
  // What is left once the columns, literals, casts and concatenations are taken out must be nothing, or names to follow.
  const rest = expr
    .replace(/[eE]?'(?:[^']|'')*'/g, " ")
    .replace(COLUMN, " ")
    .replace(/::\s*("(?:[^"]|"")+"|[\p{L}_][\p{L}\p{N}_$]*)(\s*\([^)]*\))?(\s*\[\])?/gu, " ")
    .replace(/\|\||[(),+]/g, " ")
    .split(/\s+/)
    .filter((t) => t && !LITERAL.test(t) && !TG_VARIABLE.test(t) && !CONSTRUCTOR.test(t));
  if (rest.length === 0) return { kind: "key" };
  const variables = rest.filter((t) => /^[\p{L}_][\p{L}\p{N}_$]*$/u.test(t));
  if (variables.length !== rest.length || depth > 2)
    return { kind: "unknown", why: `sends ${short(expr)}, which the audit cannot read` };
  const verdicts = variables.map((v) => {
    const assigned = [
      ...stripComments(code).matchAll(new RegExp(`(?<![\\p{L}\\p{N}_$.])${escape(v)}\\s*:?=\\s*([^;]+);`, "giu")),
    ].map((m) => m[1]);
    if (assigned.length === 0)
      return { kind: "unknown", why: `sends ${v}, whose value the audit cannot follow` } as PayloadVerdict;
    return worst(assigned.map((a) => judgePayload(a, code, keys, depth + 1)));
  });
  return worst(verdicts);
}

const RANK = { row: 3, data: 2, unknown: 1, key: 0 } as const;

/** The most revealing of `verdicts` (a key when there are none). */
export function worst(verdicts: PayloadVerdict[]): PayloadVerdict {
  return verdicts.reduce<PayloadVerdict>((a, b) => (RANK[b.kind] > RANK[a.kind] ? b : a), { kind: "key" });
}

function short(expr: string): string {
  const one = expr.replace(/\s+/g, " ");
  return one.length > 60 ? `${one.slice(0, 57)}...` : one;
}

/**
 * What the NOTIFY calls of `code` send, given the key columns of the tables whose triggers run it: each
 * payload judged; NOTIFY built in a string (EXECUTE) is judged by the body as a whole (a serialised row
 * anywhere fails it, as does a whole-row serialiser elsewhere when a payload is a variable the audit cannot follow).
 */
export function judgeNotify(code: string, keys: KeyColumn[] | null): PayloadVerdict {
  const { payloads, dynamic } = notifyPayloads(code);
  const verdict = worst(payloads.map((p) => judgePayload(p, code, keys)));
  const serialises = SERIALISER.test(stripComments(code).replace(/[eE]?'(?:[^']|'')*'/g, "''"));
  if (verdict.kind === "unknown" && serialises)
    return { kind: "row", why: `${verdict.why}, and the body serialises whole rows` };
  if (dynamic && verdict.kind !== "row") {
    return serialises
      ? { kind: "row", why: "builds a NOTIFY in a string, and the body serialises whole rows" }
      : worst([verdict, { kind: "unknown", why: "builds a NOTIFY in a string, which the audit cannot read" }]);
  }
  return verdict;
}
