/**
 * The credentials secret: validated once at the edge (all problems in one line), read from Secrets Manager
 * or from a local 0600 file, and the cluster's master secret for the administrator. No message ever holds a
 * password: problems name keys, never values.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync, chmodSync } from "node:fs";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SECRET_KEYS, type CredentialsSecret } from "../../sst/database/spec.js";
import { isLocalHost } from "./db.js";
import { UserError } from "./errors.js";

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

const STRING_KEYS = ["username", "password", "host", "database", "schema", "engine", "dbname", "DATABASE_URL"] as const;

/** A port: a whole number 1–65535, or the same as a numeric string (AWS's own rotation templates write both). */
function parsePort(value: unknown): number | undefined {
  const n = typeof value === "number" ? value : typeof value === "string" && /^\d+$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

/** Compares DATABASE_URL with the parts; the password is compared, never shown. */
function urlProblems(secret: Record<string, unknown>, port: number | undefined): string[] {
  const text = secret.DATABASE_URL as string;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return ["DATABASE_URL is not a URL"];
  }
  if (url.protocol !== "postgresql:" && url.protocol !== "postgres:") return [`DATABASE_URL must start with postgresql:// (found ${url.protocol}//)`];
  const problems: string[] = [];
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const compare = (key: string, found: string, expected: unknown) => {
    if (typeof expected === "string" && found !== expected) problems.push(`DATABASE_URL's ${key} (${found || "none"}) differs from "${key}" (${expected})`);
  };
  compare("user", decode(url.username), secret.username);
  if (typeof secret.password === "string" && decode(url.password) !== secret.password) problems.push(`DATABASE_URL's password differs from "password"`);
  compare("host", host, secret.host);
  const urlPort = url.port ? Number(url.port) : 5432;
  if (port !== undefined && urlPort !== port) problems.push(`DATABASE_URL's port (${urlPort}) differs from "port" (${port})`);
  compare("database", decode(url.pathname.replace(/^\//, "")), secret.database);
  compare("schema", url.searchParams.get("schema") ?? "public", secret.schema);
  const sslmode = url.searchParams.get("sslmode");
  if (!isLocalHost(host) && (sslmode === null || sslmode === "disable" || sslmode === "allow" || sslmode === "prefer")) {
    problems.push(`DATABASE_URL must say sslmode=require (or verify-full) for ${host} (found ${sslmode ?? "no sslmode"})`);
  }
  return problems;
}

/**
 * Validates the secret's JSON text: every key of `SECRET_KEYS` present and typed, `engine` "postgres",
 * `dbname` equal to `database`, `DATABASE_URL` consistent with the parts. Throws one `SecretFormatError`
 * naming `source` and listing every problem.
 */
export function parseCredentialsSecret(text: string, source: string): CredentialsSecret {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // JSON.parse's message quotes the text around the error, which may be the password: keep only the position.
    const at = /position (\d+)/.exec(String((error as Error).message))?.[1];
    throw new SecretFormatError(source, [`it is not JSON${at ? ` (syntax error at position ${at})` : ""}`]);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SecretFormatError(source, ["it is not a JSON object"]);
  }
  const secret = value as Record<string, unknown>;
  const problems: string[] = [];
  const missing = SECRET_KEYS.filter((key) => !(key in secret));
  if (missing.length > 0) problems.push(`missing ${missing.map((k) => `"${k}"`).join(", ")}`);
  for (const key of STRING_KEYS) {
    if (key in secret && (typeof secret[key] !== "string" || secret[key] === "")) problems.push(`"${key}" must be a non-empty string`);
  }
  const port = parsePort(secret.port);
  if ("port" in secret && port === undefined) problems.push(`"port" must be a whole number from 1 to 65535`);
  if (typeof secret.engine === "string" && secret.engine !== "postgres") problems.push(`"engine" must be "postgres" (found "${secret.engine}")`);
  if (typeof secret.dbname === "string" && typeof secret.database === "string" && secret.dbname !== secret.database) {
    problems.push(`"dbname" (${secret.dbname}) differs from "database" (${secret.database})`);
  }
  if (typeof secret.DATABASE_URL === "string" && secret.DATABASE_URL !== "") problems.push(...urlProblems(secret, port));
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
  };
}

/** Writes the secret to `path` with mode 0600 (directory 0700), atomically: a temp file renamed over it. */
export function writeSecretFile(path: string, secret: CredentialsSecret): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = join(dirname(path), `.credentials.${randomBytes(6).toString("hex")}.tmp`);
  writeFileSync(temp, `${JSON.stringify(secret, null, 2)}\n`, { mode: 0o600, flag: "wx" });
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

/** An AWS error as the SDK v3 throws it (service exceptions carry `name` and `$metadata`). */
interface AwsError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

const THROTTLING = new Set(["ThrottlingException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded"]);

function isThrottling(error: unknown): boolean {
  const e = error as AwsError;
  return THROTTLING.has(e.name ?? "") || e.$retryable?.throttling === true || e.$metadata?.httpStatusCode === 429;
}

/** Region of a secret ARN (`arn:aws:secretsmanager:<region>:<account>:secret:<name>`), or undefined for a name. */
export function secretArnRegion(secretId: string): string | undefined {
  return /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):/.exec(secretId)?.[1];
}

/** Options for the Secrets Manager reads. */
export interface FetchOptions {
  /**
   * Attempts when AWS throttles. The SDK already retries inside `send` (standard mode, `maxAttempts`); this
   * outer loop waits longer for throttling that outlasts it (many CI jobs at once).
   * @default 4
   */
  attempts?: number;
  /** First back-off delay, doubled each attempt. @default 500 */
  baseDelayMs?: number;
}

/** Translates an AWS error into one line with its remedy; never includes the secret's value. */
export function describeAwsError(error: unknown, what: string, secretId: string, region: string | undefined): UserError {
  const e = error as AwsError;
  const name = e.name ?? e.code ?? "";
  const where = region ? ` in region ${region}` : "";
  let message: string;
  switch (name) {
    case "ResourceNotFoundException":
      message = `${what} ${secretId} was not found${where}. Check the stage was deployed (sst deploy --stage …), the secret name, and --region / AWS_REGION.`;
      break;
    case "AccessDeniedException":
      message = `Access to ${what} ${secretId} was denied${where}. The AWS identity needs secretsmanager:GetSecretValue on it (and kms:Decrypt on its key).`;
      break;
    case "DecryptionFailure":
      message = `${what} ${secretId} could not be decrypted${where}. The AWS identity needs kms:Decrypt on the secret's KMS key.`;
      break;
    case "InvalidRequestException":
      message = `${what} ${secretId} cannot be read${where}: ${e.message ?? name}. If it is scheduled for deletion, restore it (aws secretsmanager restore-secret) or redeploy.`;
      break;
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "ExpiredTokenException":
      message = `AWS rejected the credentials${where} (${name}). Refresh them (aws sso login / OIDC) and check the region is enabled for the account.`;
      break;
    case "CredentialsProviderError":
      message = `No AWS credentials were found to read ${what} ${secretId}. Configure them (AWS_PROFILE, aws sso login, or OIDC in CI).`;
      break;
    default:
      if (isThrottling(error)) message = `AWS kept throttling reads of ${what} ${secretId}${where}. Wait a minute and run again.`;
      else if (e.code === "ENOTFOUND" || e.code === "EAI_AGAIN" || /getaddrinfo/.test(e.message ?? "")) {
        message = `The Secrets Manager endpoint${where} could not be reached (${e.message ?? name}). Check --region / AWS_REGION (e.g. us-east-1).`;
      } else message = `Reading ${what} ${secretId}${where} failed: ${name || "error"}: ${e.message ?? String(error)}`;
  }
  return new UserError(message, { cause: error });
}

async function clientRegion(client: SecretsManagerClient): Promise<string | undefined> {
  try {
    const region = client.config.region;
    return typeof region === "function" ? await region() : region;
  } catch {
    return undefined;
  }
}

/** Reads a secret's string, retrying throttling, mapping errors to one-line `UserError`s. */
async function getSecretString(
  client: SecretsManagerClient,
  secretId: string,
  what: string,
  options: FetchOptions,
): Promise<{ text: string; arn: string }> {
  const { GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
  const region = await clientRegion(client);
  const arnRegion = secretArnRegion(secretId);
  if (arnRegion && region && arnRegion !== region) {
    throw new UserError(`${what} ${secretId} is in region ${arnRegion}, but the client uses ${region}. Pass --region ${arnRegion} (or set AWS_REGION).`);
  }
  const attempts = options.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      if (typeof out.SecretString !== "string") {
        throw new UserError(`${what} ${secretId} has no SecretString (binary secrets are not supported). Store it as JSON text.`);
      }
      return { text: out.SecretString, arn: out.ARN ?? secretId };
    } catch (error) {
      if (error instanceof UserError) throw error;
      if (isThrottling(error) && attempt < attempts) {
        await new Promise((resolve) => setTimeout(resolve, (options.baseDelayMs ?? 500) * 2 ** (attempt - 1)));
        continue;
      }
      throw describeAwsError(error, what, secretId, region);
    }
  }
}

/** Reads and validates the stage's credentials secret from Secrets Manager. */
export async function fetchCredentialsSecret(
  client: SecretsManagerClient,
  secretId: string,
  options: FetchOptions = {},
): Promise<{ secret: CredentialsSecret; arn: string }> {
  const { text, arn } = await getSecretString(client, secretId, "The credentials secret", options);
  return { secret: parseCredentialsSecret(text, arn), arn };
}

/** The administrator's credentials from the cluster's master secret (`{"username","password",…}`). */
export interface MasterCredentials {
  username: string;
  password: string;
}

/** Reads the cluster's master secret (RDS-managed or configured) and checks it has username and password. */
export async function fetchMasterCredentials(
  client: SecretsManagerClient,
  secretArn: string,
  options: FetchOptions = {},
): Promise<MasterCredentials> {
  const { text } = await getSecretString(client, secretArn, "The master secret", options);
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new UserError(`The master secret ${secretArn} is not JSON. Point --master-secret-arn at the cluster's master user secret.`);
  }
  const problems = (["username", "password"] as const).filter((k) => typeof value?.[k] !== "string" || value[k] === "");
  if (problems.length > 0) {
    throw new UserError(
      `The master secret ${secretArn} lacks ${problems.map((k) => `"${k}"`).join(" and ")}. Point --master-secret-arn at the cluster's master user secret.`,
    );
  }
  return { username: value.username as string, password: value.password as string };
}

/**
 * Deletes the credentials secret: immediately for a throw-away stage (so a redeploy can reuse the name), with a
 * recovery window when `recoveryWindowDays` is set (protected stages). Then checks: "deleted" (gone or scheduled
 * for deletion), "absent" (there was none), "remains".
 */
export async function deleteCredentialsSecret(
  client: SecretsManagerClient,
  secretId: string,
  options: { recoveryWindowDays?: number } = {},
): Promise<"deleted" | "absent" | "remains"> {
  const { DeleteSecretCommand, DescribeSecretCommand } = await import("@aws-sdk/client-secrets-manager");
  const region = await clientRegion(client);
  const describe = async () => {
    try {
      const out = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
      return out.DeletedDate ? "scheduled" : "present";
    } catch (error) {
      if ((error as AwsError).name === "ResourceNotFoundException") return "missing";
      throw describeAwsError(error, "The credentials secret", secretId, region);
    }
  };
  const before = await describe();
  if (before === "missing") return "absent";
  if (before === "present") {
    try {
      await client.send(
        new DeleteSecretCommand(
          options.recoveryWindowDays
            ? { SecretId: secretId, RecoveryWindowInDays: options.recoveryWindowDays }
            : { SecretId: secretId, ForceDeleteWithoutRecovery: true },
        ),
      );
    } catch (error) {
      throw describeAwsError(error, "The credentials secret", secretId, region);
    }
  }
  return (await describe()) === "present" ? "remains" : "deleted";
}
