/**
 * Opaque code (threat model class opaque-code): code whose effect the catalogs cannot show — function bodies in
 * any language, SQL passed as text (crosstab, dblink, query_to_xml, EXECUTE), the constants of views,
 * materialized views and rules, trigger arguments — that runs with rights other than umami_user's: a function
 * another role owns (its definer's rights, or its caller's: an administrator, the application's triggers and
 * event triggers), a materialized view refreshed by its owner, a rule run as its table's owner. One written rule
 * (opaque-text.ts reads the text):
 * - fail when its text, its recorded dependencies or its pinned search_path name Umami's schema or any schema
 *   umami_user can create in, or a schema that does not exist while umami_user may create schemas: umami_user
 *   decides what is there (a relation swapped for a view, an overload that matches better), and it runs with
 *   the other role's rights;
 * - warn, named with the reason, when a trigger, an event trigger or a SECURITY DEFINER function runs SQL it
 *   builds at run time (the audit cannot read what it reaches).
 * NOTIFY payloads are the notifications check's. One query, batched with the other checks.
 */
import { drop, pinSearchPath, script } from "../../sst/database/statements.js";
import {
  DYNAMIC_FUNCTION,
  DYNAMIC_PATTERN,
  dynamicSql,
  entrySchema,
  referencedSchemas,
  searchPathEntries,
  stripComments,
  treeConstants,
  triggerArguments,
} from "./opaque-text.js";
import { CREATABLE_SQL, OPAQUE_SQL } from "./opaque-code-sql.js";
import { tempSchemaFirst, unqualifiedInStrings, unqualifiedRelations } from "./temp-lookup.js";
import { finding, type AuditContext, type Finding } from "./types.js";

interface OpaqueRow {
  kind: "function" | "tree" | "rule" | "trigger arguments";
  object: string;
  otype: string;
  owner: string;
  definer: boolean | null;
  /** A function's source and SQL-standard body; a rule's node tree; a trigger's arguments in hex. */
  texts: (string | null)[];
  /** A function's pinned search_path values. */
  paths: string[] | null;
  /** What runs a function: triggers, event triggers, views and materialized views. */
  uses: string[] | null;
  /** Schemas where umami_user creates that the object's recorded dependencies reach, comma-separated. */
  recorded: string | null;
  /** A stored query's functions, by name: those that run SQL passed as text make its bare constants suspect. */
  calls: string[] | null;
  /** The objects that run a function (as `uses`), by keyword and name parts, for the remedy's DROPs. */
  drops: { kind: string; name: string[] }[] | null;
  /** The object's name parts as the catalogs store them ([schema, name]; [schema, table, name]). */
  name: string[];
  /** A function's identity arguments, as the server formats them. */
  args: string | null;
  /** Whether a role outside the administrators may set the function off in its own session. */
  reached: boolean | null;
}

/** Who may put things where: the schemas umami_user creates in, and the names it may still create. */
interface Creatable {
  creatable: string[];
  create_schemas: boolean;
  schemas: string[];
  /** Login roles outside the administrators (the Umami role included) with TEMPORARY on the database. */
  temp_roles: string[];
  /** Schema → the login roles outside the administrators and the Umami role granted CREATE there; null when none. */
  granted_create: Record<string, string[]> | null;
}

/** One judged object: fail with the reasons, or warn with one; `temp`: the path a caller's pg_temp fault is closed with; `secret`: it holds a password. */
interface Verdict {
  row: OpaqueRow;
  fail: string[];
  warn: string | null;
  temp?: string[];
  secret?: boolean;
}

/**
 * Whether `literals` (a body's string constants, a stored query's constants) hold a connection's password, in code
 * every role can read (`pg_proc.prosrc`, `pg_views`): a libpq connection string with `password=` and another of
 * its keywords, or a URI with a password. `SET password = crypt(…)` is a column, not a string: not counted.
 */
function holdsPassword(literals: string[]): boolean {
  return literals.some(
    (l) =>
      (/\bpassword\s*=\s*\S/i.test(l) && /\b(host|hostaddr|user|dbname|port|service)\s*=/i.test(l)) ||
      /\bpostgres(?:ql)?:\/\/[^:/@\s]+:[^@\s]+@/i.test(l),
  );
}
const HOLDS_PASSWORD =
  "holds a password in its text (password=…), which every role reads in the catalogs (pg_proc, pg_views), umami_user included: it logs in with it";

/**
 * What a search_path entry opens to umami_user, or null; for an administrator's code, also to a login role outside
 * the administrators granted CREATE there (its overload runs with the administrator's rights, CVE-2018-1058).
 */
function squattable(raw: string, user: string, where: Creatable, admin: boolean): string | null {
  const schema = entrySchema(raw, user);
  if (schema === "pg_temp" || schema === "pg_catalog") return null;
  if (where.creatable.includes(schema)) return `schema ${schema}, where it creates objects`;
  if (where.create_schemas && !where.schemas.includes(schema))
    return `schema ${schema}, which does not exist and which it may create (CREATE on the database)`;
  const others = admin ? where.granted_create?.[schema] : undefined;
  if (others) return `schema ${schema}, where ${others.join(", ")} (granted CREATE) create objects`;
  return null;
}

function judge(row: OpaqueRow, where: Creatable, role: string, administrators: string[]): Verdict {
  const fail: string[] = [];
  const named = new Set<string>(row.recorded ? row.recorded.split(",") : []);
  let warn: string | null = null;
  let tempPath: string[] | undefined;
  if (row.kind === "function") {
    const [source, body] = row.texts;
    for (const s of referencedSchemas(
      `${stripComments(source ?? "")}\n${body ? treeConstants(body).join("\n") : ""}`,
      where.creatable,
    ))
      named.add(s);
    for (const value of row.paths ?? []) {
      for (const raw of searchPathEntries(value)) {
        const opens = squattable(raw, row.owner, where, administrators.includes(row.owner));
        if (opens) fail.push(`its pinned search_path (${value}) reaches ${opens}`);
      }
    }
    const dynamic = dynamicSql(source ?? "");
    const runs =
      row.definer || (row.uses ?? []).some((u) => u.startsWith("trigger ") || u.startsWith("event trigger "));
    if (dynamic.length > 0 && runs)
      warn = `runs SQL it builds at run time (${dynamic.join(", ")}): the audit cannot read what it reaches`;
    const temp = body ? null : callersTemp(row, where);
    if (temp) {
      fail.push(temp.why);
      tempPath = temp.path;
    }
  } else if (row.kind === "trigger arguments") {
    for (const s of referencedSchemas(triggerArguments(row.texts[0] ?? "").join("\n"), where.creatable)) named.add(s);
  } else {
    const constants = treeConstants(row.texts[0] ?? "");
    for (const s of referencedSchemas(constants.join("\n"), where.creatable)) named.add(s);
    // SQL built at run time from a schema's name (`format('… %I.website', 'umami')`): the name alone counts.
    if (dynamicSql((row.calls ?? []).join(" ")).length > 0)
      for (const c of constants) {
        const bare = c.trim();
        const schema = where.creatable.find((s) => s === bare || (s === s.toLowerCase() && s === bare.toLowerCase()));
        if (schema) named.add(schema);
      }
  }
  if (named.size > 0) fail.unshift(`names schema ${[...named].join(", ")}, where ${role} creates objects`);
  const literals =
    row.kind === "function"
      ? [...(row.texts[0] ?? "").matchAll(/'((?:[^']|'')*)'/g)].map((m) => m[1])
      : row.kind === "trigger arguments"
        ? triggerArguments(row.texts[0] ?? "")
        : treeConstants(row.texts[0] ?? "");
  const secret = holdsPassword(literals);
  if (secret) fail.push(HOLDS_PASSWORD);
  return { row, fail, warn, temp: tempPath, secret };
}

/**
 * A SECURITY DEFINER function a role outside the administrators sets off in its own session, whose body names
 * relations without a schema while its path looks in the session's temporary schema first: why it fails, and
 * the path that closes it (its own entries, then pg_temp; an unpinned one gets its schema's and public's).
 */
function callersTemp(row: OpaqueRow, where: Creatable): { why: string; path: string[] } | null {
  if (!row.definer || !row.reached || where.temp_roles.length === 0) return null;
  const first = tempSchemaFirst(row.paths);
  const source = row.texts[0] ?? "";
  const names = first ? [...new Set([...unqualifiedRelations(source), ...unqualifiedInStrings(source)])].sort() : [];
  if (!first || names.length === 0) return null;
  const pinned = row.paths?.[row.paths.length - 1];
  const how =
    first === "unpinned" ? "it pins no search_path" : `its pinned search_path (${pinned}) does not end with pg_temp`;
  const kept = pinned
    ? searchPathEntries(pinned)
        .map((e) => entrySchema(e, row.owner))
        .filter((s) => s !== "pg_temp")
    : ["pg_catalog", row.name[0], "public"];
  return {
    why: `${how}, so the relations it names without a schema (${names.join(", ")}) are looked up first in the temporary schema of the session that runs it, where ${where.temp_roles.join(", ")} (TEMPORARY on the database) create a table or view whose trigger or function then runs with its owner's rights`,
    path: [...new Set([...kept, "pg_temp"])],
  };
}

function describe(v: Verdict): string {
  const { row } = v;
  const runs = [row.definer ? "SECURITY DEFINER" : null, ...(row.uses ?? []).map((u) => `run by ${u}`)]
    .filter(Boolean)
    .join(", ");
  const what =
    row.kind === "trigger arguments"
      ? `trigger ${row.object}: its arguments`
      : `${row.otype.toLowerCase()} ${row.object} (owner ${row.owner}${runs ? `, ${runs}` : ""})`;
  return `${what} — ${v.fail.length > 0 ? v.fail.join("; ") : v.warn}`;
}

/** The statements that take the code out, as its owner: a pinned path reset, or the object dropped (its triggers first). */
function remedy(v: Verdict): string[] {
  const { row } = v;
  if (v.secret && v.fail.length === 1) return [];
  if (row.kind !== "function") return [drop({ kind: row.otype, name: row.name })];
  const routine = { kind: row.otype, name: row.name, args: [row.args ?? ""] };
  if (v.temp && v.fail.length === 1) return [pinSearchPath(routine, v.temp)];
  if (v.fail.every((f) => f.startsWith("its pinned search_path")))
    return [pinSearchPath(routine, ["pg_catalog", "pg_temp"])];
  return [...(row.drops ?? []).map((u) => drop({ kind: u.kind, name: u.name })), drop(routine)];
}

/** Functions, views, materialized views, rules and trigger arguments outside Umami's schema that run with others' rights. */
export async function auditOpaqueCode(ctx: AuditContext): Promise<Finding[]> {
  const { spec } = ctx;
  const role = spec.role.name;
  if (!ctx.roleOid) return [];
  // In another database no schema is Umami's: oid 0 matches none.
  const schemaOid = ctx.schemaOid ?? "0";
  const [[where], rows] = await Promise.all([
    ctx.query<Creatable>(CREATABLE_SQL, [ctx.roleOid, ctx.allowedOids]),
    ctx.query<OpaqueRow>(OPAQUE_SQL, [schemaOid, ctx.roleOid, DYNAMIC_PATTERN, ctx.allowedOids, DYNAMIC_FUNCTION]),
  ]);
  const judged = rows.map((r) => judge(r, where, role, ctx.administrators));
  const failing = judged.filter((v) => v.fail.length > 0);
  const warning = judged.filter((v) => v.fail.length === 0 && v.warn);
  return [
    finding(
      "opaque-code",
      "inward: opaque code that runs with other roles' rights",
      failing.length > 0 ? "fail" : "warn",
      [...failing, ...warning].map(describe),
      failing.length > 0
        ? `This code runs with the rights of its owner or of whoever sets it off (an administrator, the application's writes, a REFRESH), and what it names is ${role}'s (or the login roles named) to change — a relation swapped for a view, an overload that matches better, a schema it creates first${failing.some((v) => v.temp) ? ", or a table or view in the temporary schema of the session that runs it" : ""} — so ${role} decides what runs with those rights, and whoever may use the code reads what it reads.${failing.some((v) => remedy(v).length > 0) ? ` As the owner: ${script(failing.flatMap(remedy))}` : ""} (Tooling of Umami's own belongs to ${role}: recreated as ${role}'s, it runs with ${role}'s rights alone. A function whose only fault is its pinned path keeps working where its body names its objects with their schema; pg_temp placed last changes nothing but where a session's temporary objects are looked up.)${failing.some((v) => v.secret) ? " Where code holds a password: keep it in a user mapping instead (CREATE SERVER … FOREIGN DATA WRAPPER dblink_fdw or postgres_fdw, CREATE USER MAPPING … OPTIONS (user …, password …), dblink(server, …)), which PostgreSQL shows only to that mapping's own user, then change that role's password: every role has read it." : ""}`
        : `Each runs SQL it builds at run time with other roles' rights: review that it leaves ${spec.schema} out (an auto-grant event trigger that skips it, say) and pins its search_path.`,
      `No function, view, materialized view, rule or trigger argument outside ${spec.schema} that runs with other roles' rights names a schema ${role} can create in, or pins a search_path into one.`,
    ),
  ];
}
