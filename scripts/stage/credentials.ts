/**
 * The credentials secret: validated once at the edge (all problems in one line), read from Secrets Manager
 * or from a local 0600 file, and the cluster's master secret for the administrator. No message ever holds a
 * password: problems name keys, never values.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, chmodSync } from "node:fs";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import {
  MIGRATION_SESSION_OPTIONS,
  OPTIONAL_SECRET_KEYS,
  SECRET_KEYS,
  URL_KEYS,
  type CredentialsSecret,
  type UrlKey,
} from "../../sst/database/secret.js";
import { parseDatabaseUrlParts, type ParsedDatabaseUrl } from "../../sst/database/url.js";
import { isLocalHost } from "../kernel/db.js";
import { UserError } from "../kernel/errors.js";

export type { CredentialsSecret };

/** The secret's content is not what the stack writes; `problems` lists every finding (keys, never values). */
export class SecretFormatError extends UserError {
  override name = "SecretFormatError";
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(
      `The credentials secret ${source} is not valid: ${problems.join("; ")}. ` +
        "Redeploy the stack (sst deploy) or rewrite the secret with all keys of the stack's format.",
    );
  }
}

const STRING_KEYS = [
  "username",
  "password",
  "host",
  "database",
  "schema",
  "engine",
  "dbname",
  "DATABASE_URL",
  "DIRECT_DATABASE_URL",
] as const;

/** A port: a whole number 1–65535, or the same as a numeric string (AWS's own rotation templates write both). */
function parsePort(value: unknown): number | undefined {
  const n = typeof value === "number" ? value : typeof value === "string" && /^\d+$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * Compares one of the secret's URLs with the parts; the password is compared, never shown. The replica URL
 * may name another host (the reader endpoint); DIRECT_DATABASE_URL must lift the statement timeout.
 */
function urlProblems(secret: Record<string, unknown>, key: UrlKey, port: number | undefined): string[] {
  let url: ParsedDatabaseUrl;
  try {
    url = parseDatabaseUrlParts(secret[key] as string);
  } catch (error) {
    // The one parser's message never quotes the password.
    return [`${key}: ${(error as Error).message.replace(/\.$/, "")}`];
  }
  const problems: string[] = [];
  const host = url.host;
  // A URL written with an unencoded @ or : in the password parses with a piece of it as its host or user:
  // a part found inside the secret's password is not quoted.
  const password = typeof secret.password === "string" ? secret.password : "";
  const shown = (found: string) => (found && password.includes(found) ? "****" : found || "none");
  const compare = (part: string, found: string, expected: unknown) => {
    if (typeof expected === "string" && found !== expected)
      problems.push(`${key}'s ${part} (${shown(found)}) differs from "${part}" (${expected})`);
  };
  compare("user", url.user, secret.username);
  // A password that differs is what a Secrets Manager rotation leaves behind (it copies the URLs unchanged).
  if (typeof secret.password === "string" && url.password !== secret.password)
    problems.push(`${key}'s password differs from "password" (rotated outside the stack?)`);
  if (key !== "DATABASE_REPLICA_URL") compare("host", host, secret.host);
  if (port !== undefined && url.port !== port)
    problems.push(`${key}'s port (${url.port}) differs from "port" (${port})`);
  compare("database", url.database, secret.database);
  compare("schema", url.params.schema ?? "public", secret.schema);
  const sslmode = url.params.sslmode;
  // node-pg reads require/prefer/verify-ca as verify-full, libpq as "check nothing": only verify-full means
  // the same to Umami and to this tool (`docs/design.md` § "The contract with the Umami container").
  if (!isLocalHost(host) && sslmode !== "verify-full")
    problems.push(`${key} must say sslmode=verify-full for ${shown(host)} (found ${sslmode ?? "no sslmode"})`);
  if (key === "DIRECT_DATABASE_URL" && !/(^|\s)-c\s*statement_timeout\s*=\s*0(\s|$)/.test(url.params.options ?? "")) {
    problems.push(
      `DIRECT_DATABASE_URL must carry options=${encodeURIComponent(MIGRATION_SESSION_OPTIONS)} (migrations run without the role's statement timeout)`,
    );
  }
  return problems;
}

/**
 * Validates the secret's JSON text: every key of `SECRET_KEYS` present and typed, `engine` "postgres",
 * `dbname` equal to `database`, each URL consistent with the parts. Throws one `SecretFormatError` naming
 * `source` and listing every problem.
 */
export function parseCredentialsSecret(text: string, source: string): CredentialsSecret {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // JSON.parse's message quotes the text around the error, which may be the password: keep only the position.
    const at = /position (\d+)/.exec((error as SyntaxError).message)?.[1];
    throw new SecretFormatError(source, [`it is not JSON${at ? ` (syntax error at position ${at})` : ""}`]);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SecretFormatError(source, ["it is not a JSON object"]);
  }
  const secret = value as Record<string, unknown>;
  const problems: string[] = [];
  const missing = SECRET_KEYS.filter((key) => !(key in secret));
  if (missing.length > 0) problems.push(`missing ${missing.map((k) => `"${k}"`).join(", ")}`);
  const strings = [...STRING_KEYS, ...OPTIONAL_SECRET_KEYS.filter((k) => k in secret)];
  for (const key of strings) {
    if (key in secret && (typeof secret[key] !== "string" || secret[key] === ""))
      problems.push(`"${key}" must be a non-empty string`);
  }
  const port = parsePort(secret.port);
  if ("port" in secret && port === undefined) problems.push(`"port" must be a whole number from 1 to 65535`);
  if (typeof secret.engine === "string" && secret.engine !== "postgres")
    problems.push(`"engine" must be "postgres" (found "${secret.engine}")`);
  if (typeof secret.dbname === "string" && typeof secret.database === "string" && secret.dbname !== secret.database) {
    problems.push(`"dbname" (${secret.dbname}) differs from "database" (${secret.database})`);
  }
  for (const key of URL_KEYS) {
    if (typeof secret[key] === "string" && secret[key] !== "") problems.push(...urlProblems(secret, key, port));
  }
  if (problems.length > 0) throw new SecretFormatError(source, problems);
  return {
    username: secret.username as string,
    password: secret.password as string,
    host: secret.host as string,
    port: port as number,
    database: secret.database as string,
    schema: secret.schema as string,
    engine: "postgres",
    dbname: secret.dbname as string,
    DATABASE_URL: secret.DATABASE_URL as string,
    DIRECT_DATABASE_URL: secret.DIRECT_DATABASE_URL as string,
    ...(typeof secret.DATABASE_REPLICA_URL === "string" ? { DATABASE_REPLICA_URL: secret.DATABASE_REPLICA_URL } : {}),
  };
}

/** Writes the secret to `path` with mode 0600 (directory 0700), atomically: a temp file renamed over it. */
export function writeSecretFile(path: string, secret: CredentialsSecret): void {
  writePrivateFile(path, `${JSON.stringify(secret, null, 2)}\n`);
}

/** Writes `text` to `path` with mode 0600 (directory 0700), atomically: a temp file renamed over it. */
export function writePrivateFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = join(dirname(path), `.credentials.${randomBytes(6).toString("hex")}.tmp`);
  writeFileSync(temp, text, { mode: 0o600, flag: "wx" });
  // The mode given to writeFileSync is masked by the umask; set it explicitly before the file gets its name.
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

/** Reads and validates a secret file written by `writeSecretFile` (or by hand, in the same format). */
export function readSecretFile(path: string): CredentialsSecret {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new UserError(
      code === "ENOENT"
        ? `The secret file ${path} does not exist. Run \`umami-db local\` to create it, or pass the right --secret-file.`
        : `The secret file ${path} cannot be read (${code ?? String(error)}). Check its permissions.`,
      { cause: error },
    );
  }
  return parseCredentialsSecret(text, `file ${path}`);
}
