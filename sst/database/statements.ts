/**
 * Pure builders for every SQL statement shown to a person: the audit's remedies, rollback's blockers,
 * preflight's advice and the plan. Names arrive as the catalogs store them (unquoted, name parts apart, as
 * `pg_identify_object_as_address` splits them) and leave through `quoteIdent`; a value leaves through
 * `quoteLiteral` — so a name with a capital, a hyphen, a quote, a space or a reserved word gives a statement
 * that runs as printed. Argument and type names are type expressions the server formatted (`format_type`:
 * `integer`, `pg_catalog.text`, `"My Type"[]`) and are used as given. Statements carry no semicolon;
 * `script` ends each with one for a remedy's prose. Nothing here touches a database.
 */
import { quoteIdent, quoteLiteral } from "./quote.js";

/** PUBLIC, the group every role belongs to; a catalog query gives NULL for it (a role named "PUBLIC" is a name). */
export const PUBLIC = null;

/** A role a privilege is granted to or revoked from: its name, or `PUBLIC`. */
export type Grantee = string | typeof PUBLIC;

/**
 * An object, by the keyword its statements take (`TABLE`, `FUNCTION`, `FOREIGN DATA WRAPPER`…) and its name in
 * parts: `[schema, name]`; `[schema, table, name]` for a trigger, rule or policy; `[method, schema, name]` for an
 * operator class or family; `[oid]` for a large object; `[type]` (formatted) for a type or domain. `args` are a
 * routine's or operator's argument types, or a cast's target type.
 */
interface ObjectRef {
  kind: string;
  name: readonly string[];
  args?: readonly string[];
}

/** The keyword an object's statements take, from its type as `pg_identify_object` names it. */
const KEYWORDS: Record<string, string> = {
  "composite type": "TYPE",
  "foreign-data wrapper": "FOREIGN DATA WRAPPER",
  "statistics object": "STATISTICS",
  "table column": "TABLE",
};

/** An object as `pg_identify_object_as_address` gives it (type, name parts, argument types). */
export function addressed(type: string, names: readonly string[], args: readonly string[] = []): ObjectRef {
  return { kind: KEYWORDS[type] ?? type.toUpperCase(), name: names, args };
}

/** A privilege list: `ALL`, or the privileges by name (on `columns`, when given, each of them). */
type Privileges = "ALL" | readonly string[];

/** A name in parts, each quoted: `"public"."orders"`. */
export function qualified(names: readonly string[]): string {
  return names.map(quoteIdent).join(".");
}

/** A role as GRANT and REVOKE take it: quoted, or the keyword PUBLIC. */
export function grantee(role: Grantee): string {
  return role === PUBLIC ? "PUBLIC" : quoteIdent(role);
}

const ON_TABLE = new Set(["VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE", "PARTITIONED TABLE"]);

/** The keyword GRANT and REVOKE take for `kind`: views and foreign tables are TABLE there, aggregates FUNCTION. */
function privilegeKind(kind: string): string {
  if (ON_TABLE.has(kind)) return "TABLE";
  if (kind === "AGGREGATE") return "FUNCTION";
  if (kind === "SERVER") return "FOREIGN SERVER";
  return kind;
}

/** The object's name as its statements write it after the keyword. */
export function objectName(ref: ObjectRef): string {
  const { kind, name } = ref;
  const args = ref.args ?? [];
  switch (kind) {
    case "FUNCTION":
    case "PROCEDURE":
    case "AGGREGATE":
    case "ROUTINE":
      return `${qualified(name)}(${args.join(", ")})`;
    case "OPERATOR":
      // An operator's name is a symbol, not an identifier: only its schema is quoted.
      return `${qualified(name.slice(0, -1))}.${operatorSymbol(name[name.length - 1])} (${args.map((a) => a ?? "NONE").join(", ")})`;
    case "OPERATOR CLASS":
    case "OPERATOR FAMILY":
      return `${qualified(name.slice(1))} USING ${quoteIdent(name[0])}`;
    case "USER MAPPING":
      // Its user (as pg_identify_object_as_address names it: public for PUBLIC) and its server.
      return `FOR ${name[0] === "public" ? "PUBLIC" : quoteIdent(name[0])} SERVER ${quoteIdent(args[0])}`;
    case "TRIGGER":
    case "RULE":
    case "POLICY":
      return `${quoteIdent(name[2])} ON ${qualified(name.slice(0, 2))}`;
    case "CAST":
      return `(${name[0]} AS ${args[0]})`;
    case "TYPE":
    case "DOMAIN":
      return name.length === 1 ? name[0] : qualified(name);
    case "LARGE OBJECT":
      return largeObject(name[0]);
    default:
      return qualified(name);
  }
}

function operatorSymbol(symbol: string): string {
  if (!/^[-+*/<>=~!@#%^&|`?]+$/.test(symbol)) throw new Error(`Not an operator: ${symbol}`);
  return symbol;
}

function largeObject(oid: string): string {
  if (!/^\d+$/.test(oid)) throw new Error(`Not a large object's OID: ${oid}`);
  return oid;
}

function privilegeList(privileges: Privileges, columns?: readonly string[]): string {
  const list = privileges === "ALL" ? ["ALL"] : privileges;
  if (!columns || columns.length === 0) return list.join(", ");
  const cols = ` (${columns.map(quoteIdent).join(", ")})`;
  return list.map((p) => `${p}${cols}`).join(", ");
}

/** `GRANT privileges ON kind name TO role` (`columns`: each privilege on those columns only). */
export function grant(g: {
  privileges: Privileges;
  on: ObjectRef;
  to: Grantee;
  columns?: readonly string[];
  withGrantOption?: boolean;
}): string {
  const option = g.withGrantOption ? " WITH GRANT OPTION" : "";
  return `GRANT ${privilegeList(g.privileges, g.columns)} ON ${privilegeKind(g.on.kind)} ${objectName(g.on)} TO ${grantee(g.to)}${option}`;
}

/** `REVOKE privileges ON kind name FROM role` (`columns`: each privilege on those columns only). */
export function revoke(r: {
  privileges: Privileges;
  on: ObjectRef;
  from: Grantee;
  columns?: readonly string[];
}): string {
  return `REVOKE ${privilegeList(r.privileges, r.columns)} ON ${privilegeKind(r.on.kind)} ${objectName(r.on)} FROM ${grantee(r.from)}`;
}

/** `GRANT role TO member`. */
export function grantRole(role: string, member: string): string {
  return `GRANT ${quoteIdent(role)} TO ${quoteIdent(member)}`;
}

/** `REVOKE role FROM member`. */
export function revokeRole(role: string, member: Grantee): string {
  return `REVOKE ${quoteIdent(role)} FROM ${grantee(member)}`;
}

/** `ALTER kind name OWNER TO role`. */
export function alterOwner(on: ObjectRef, to: string): string {
  return `ALTER ${on.kind} ${objectName(on)} OWNER TO ${quoteIdent(to)}`;
}

/** `DROP kind name`, with CASCADE when asked (it takes what depends on the object along). */
export function drop(on: ObjectRef, options: { cascade?: boolean } = {}): string {
  return `DROP ${on.kind} ${objectName(on)}${options.cascade ? " CASCADE" : ""}`;
}

/**
 * `ALTER TABLE table …`: `ALTER COLUMN column DROP DEFAULT`, `DROP CONSTRAINT name`, `NO INHERIT parent` or
 * `DETACH PARTITION partition` (the parent and the partition as `[schema, table]`).
 */
export function alterTable(
  table: readonly string[],
  change:
    | { dropDefault: string }
    | { dropConstraint: string }
    | { noInherit: readonly string[] }
    | { detachPartition: readonly string[] },
): string {
  const action =
    "dropDefault" in change
      ? `ALTER COLUMN ${quoteIdent(change.dropDefault)} DROP DEFAULT`
      : "dropConstraint" in change
        ? `DROP CONSTRAINT ${quoteIdent(change.dropConstraint)}`
        : "noInherit" in change
          ? `NO INHERIT ${qualified(change.noInherit)}`
          : `DETACH PARTITION ${qualified(change.detachPartition)}`;
  return `ALTER TABLE ${qualified(table)} ${action}`;
}

/** `ALTER DOMAIN domain DROP CONSTRAINT name`. */
export function dropDomainConstraint(domain: readonly string[], constraint: string): string {
  return `ALTER DOMAIN ${qualified(domain)} DROP CONSTRAINT ${quoteIdent(constraint)}`;
}

/** The object types ALTER DEFAULT PRIVILEGES takes. */
export type DefaultObjects = "TABLES" | "SEQUENCES" | "FUNCTIONS" | "TYPES" | "SCHEMAS";

/** `ALTER DEFAULT PRIVILEGES FOR ROLE owner [IN SCHEMA schema] REVOKE privileges ON objects FROM role`. */
export function revokeDefault(d: {
  forRole: string;
  inSchema?: string | null;
  privileges: Privileges;
  on: DefaultObjects;
  from: Grantee;
}): string {
  const schema = d.inSchema ? ` IN SCHEMA ${quoteIdent(d.inSchema)}` : "";
  return `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(d.forRole)}${schema} REVOKE ${privilegeList(d.privileges)} ON ${d.on} FROM ${grantee(d.from)}`;
}

/** `ALTER DEFAULT PRIVILEGES FOR ROLE owner [IN SCHEMA schema] GRANT privileges ON objects TO role`. */
export function grantDefault(d: {
  forRole: string;
  inSchema?: string | null;
  privileges: Privileges;
  on: DefaultObjects;
  to: Grantee;
}): string {
  const schema = d.inSchema ? ` IN SCHEMA ${quoteIdent(d.inSchema)}` : "";
  return `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(d.forRole)}${schema} GRANT ${privilegeList(d.privileges)} ON ${d.on} TO ${grantee(d.to)}`;
}

/** A setting's value: a number as written, identifiers (a search_path) quoted each, anything else a literal. */
type SettingValue = number | string | { identifiers: readonly string[] };

function settingValue(value: SettingValue): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return quoteLiteral(value).trim();
  return value.identifiers.map(quoteIdent).join(", ");
}

/** A setting's name: `search_path`, or a custom one in parts (`app.secret`), each part quoted. */
function settingName(name: string): string {
  return name.split(".").map(quoteIdent).join(".");
}

/** `ALTER ROLE role [IN DATABASE db] …`: a change to a role's attributes or settings. */
export function alterRole(
  role: string,
  change:
    | { attributes: readonly string[] }
    | { set: string; to: SettingValue; inDatabase?: string }
    | { reset: string; inDatabase?: string }
    | { connectionLimit: number },
): string {
  const head = `ALTER ROLE ${quoteIdent(role)}`;
  if ("attributes" in change) {
    for (const a of change.attributes) if (!/^[A-Z ]+$/.test(a)) throw new Error(`Not a role attribute: ${a}`);
    return `${head} ${change.attributes.join(" ")}`;
  }
  if ("connectionLimit" in change) return `${head} CONNECTION LIMIT ${Math.trunc(change.connectionLimit)}`;
  const where = change.inDatabase ? ` IN DATABASE ${quoteIdent(change.inDatabase)}` : "";
  if ("reset" in change) return `${head}${where} RESET ${settingName(change.reset)}`;
  return `${head}${where} SET ${settingName(change.set)} TO ${settingValue(change.to)}`;
}

/**
 * A setting stored for a role in a database, a role, a database, or every role: `ALTER ROLE role IN DATABASE
 * db`, `ALTER ROLE role`, `ALTER DATABASE db` or `ALTER ROLE ALL`, then `SET name TO value` or `RESET name`.
 */
export function alterSetting(
  scope: { role?: string | null; database?: string | null },
  change: { set: string; to: SettingValue } | { reset: string },
): string {
  const { role, database } = scope;
  const head = role
    ? `ALTER ROLE ${quoteIdent(role)}${database ? ` IN DATABASE ${quoteIdent(database)}` : ""}`
    : database
      ? `ALTER DATABASE ${quoteIdent(database)}`
      : "ALTER ROLE ALL";
  if ("reset" in change) return `${head} RESET ${settingName(change.reset)}`;
  return `${head} SET ${settingName(change.set)} TO ${settingValue(change.to)}`;
}

/** `ALTER FUNCTION name(args) SET search_path TO …`: pins where a routine looks names up. */
export function pinSearchPath(routine: ObjectRef, schemas: readonly string[]): string {
  return `ALTER ${routine.kind} ${objectName(routine)} SET ${settingName("search_path")} TO ${schemas.map(quoteIdent).join(", ")}`;
}

/** `REVOKE privileges ON PARAMETER name FROM role` (`SET`, `ALTER SYSTEM`; a custom name's parts quoted each). */
export function revokeParameter(privileges: readonly string[], parameter: string, from: Grantee): string {
  for (const p of privileges)
    if (p !== "SET" && p !== "ALTER SYSTEM") throw new Error(`Not a parameter privilege: ${p}`);
  return `REVOKE ${privileges.join(", ")} ON PARAMETER ${settingName(parameter)} FROM ${grantee(from)}`;
}

/** `DROP USER MAPPING FOR role SERVER server`. */
export function dropUserMapping(role: Grantee, server: string): string {
  return `DROP USER MAPPING FOR ${grantee(role)} SERVER ${quoteIdent(server)}`;
}

/** `ALTER PUBLICATION name DROP …`: a schema (`[schema]`) or a table (`[schema, table]`) out of a publication. */
export function alterPublicationDrop(publication: string, item: readonly string[]): string {
  const what = item.length === 1 ? `TABLES IN SCHEMA ${quoteIdent(item[0])}` : `TABLE ${qualified(item)}`;
  return `ALTER PUBLICATION ${quoteIdent(publication)} DROP ${what}`;
}

/** `CREATE PUBLICATION name FOR TABLES IN SCHEMA …`. */
export function createPublication(publication: string, schemas: readonly string[]): string {
  return `CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLES IN SCHEMA ${schemas.map(quoteIdent).join(", ")}`;
}

/** Statements as a remedy's prose writes them: each ended with a semicolon, one after the other. */
export function script(statements: readonly string[]): string {
  return statements.map((s) => `${s};`).join(" ");
}
