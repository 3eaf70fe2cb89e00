/**
 * The stage's secrets in AWS Secrets Manager (SDK v3, imported lazily): reading the credentials secret and
 * the cluster's master secret with throttling retried, inspecting the secret name before a deploy, deleting
 * it on rollback. Every AWS error becomes one line with its remedy; no message holds a secret value.
 */
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { UserError } from "../kernel/errors.js";
import { parseCredentialsSecret, type CredentialsSecret } from "./credentials.js";
import { sdkClientRegion } from "../kernel/aws-region.js";

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
  /** The region the client was made for (the command context's): named in messages, checked against an ARN's. */
  region: string;
  /**
   * Attempts when AWS throttles. The SDK already retries inside `send` (standard mode, `maxAttempts`); this
   * outer loop waits longer for throttling that outlasts it (many CI jobs at once).
   * @default 4
   */
  attempts?: number;
  /** First back-off delay, doubled each attempt. @default 500 */
  baseDelayMs?: number;
}

/** What works without AWS, by the secret a command could not read. */
const WITHOUT_AWS: Record<string, string> = {
  "The credentials secret":
    "work without AWS: --secret-file <credentials JSON> or --umami-url (env UMAMI_SECRET_FILE, UMAMI_DATABASE_URL)",
  "The master secret": "work without AWS: --admin-url (env ADMIN_DATABASE_URL)",
};

/** Translates an AWS error into one line with its remedy; never includes the secret's value. */

export function describeAwsError(
  error: unknown,
  what: string,
  secretId: string,
  region: string | undefined,
): UserError {
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
      message = `No AWS credentials were found to read ${what} ${secretId}. Configure them (AWS_PROFILE, aws sso login, or OIDC in CI)${WITHOUT_AWS[what] ? `, or ${WITHOUT_AWS[what]}` : ""}.`;
      break;
    default:
      if (isThrottling(error))
        message = `AWS kept throttling reads of ${what} ${secretId}${where}. Wait a minute and run again.`;
      else if (e.code === "ENOTFOUND" || e.code === "EAI_AGAIN" || /getaddrinfo/.test(e.message ?? "")) {
        message = `The Secrets Manager endpoint${where} could not be reached (${e.message ?? name}). Check --region / AWS_REGION (e.g. us-east-1).`;
      } else message = `Reading ${what} ${secretId}${where} failed: ${name || "error"}: ${e.message ?? String(error)}`;
  }
  return new UserError(message, { cause: error });
}

/** Reads a secret's string, retrying throttling, mapping errors to one-line `UserError`s. */
async function getSecretString(
  client: SecretsManagerClient,
  secretId: string,
  what: string,
  options: FetchOptions,
): Promise<{ text: string; arn: string }> {
  const { GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
  const region = options.region;
  const arnRegion = secretArnRegion(secretId);
  if (arnRegion && arnRegion !== region) {
    throw new UserError(
      `${what} ${secretId} is in region ${arnRegion}, but the client uses ${region}. Pass --region ${arnRegion} (or set AWS_REGION).`,
    );
  }
  const attempts = options.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      if (typeof out.SecretString !== "string") {
        throw new UserError(
          `${what} ${secretId} has no SecretString (binary secrets are not supported). Store it as JSON text.`,
        );
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
  options: FetchOptions,
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
  options: FetchOptions,
): Promise<MasterCredentials> {
  const { text } = await getSecretString(client, secretArn, "The master secret", options);
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new UserError(
      `The master secret ${secretArn} is not JSON. Point --master-secret-arn at the cluster's master user secret.`,
    );
  }
  const problems = (["username", "password"] as const).filter((k) => typeof value?.[k] !== "string" || value[k] === "");
  if (problems.length > 0) {
    throw new UserError(
      `The master secret ${secretArn} lacks ${problems.map((k) => `"${k}"`).join(" and ")}. Point --master-secret-arn at the cluster's master user secret.`,
    );
  }
  return { username: value.username as string, password: value.password as string };
}

/** What `readStageSecrets` read: each secret asked for, unless its read failed (then its error is listed). */
interface StageSecrets {
  credentials?: { secret: CredentialsSecret; arn: string };
  master?: MasterCredentials;
  errors: UserError[];
}

/**
 * Reads the secrets a stage's connections need, both at once: the credentials secret (name or ARN) and the
 * cluster's master secret, each only when asked. Every failure is returned, not thrown, so the caller reports
 * them together; a bug is rethrown. Without `client`, one is made for `region` (the SDK is loaded only then).
 */
export async function readStageSecrets(
  ids: { credentials?: string; master?: string },
  where: { client?: SecretsManagerClient; region: string },
): Promise<StageSecrets> {
  const found: StageSecrets = { errors: [] };
  if (ids.credentials === undefined && ids.master === undefined) return found;
  let client = where.client;
  if (!client) {
    const { SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
    client = new SecretsManagerClient({ region: where.region, maxAttempts: 5 });
  }
  const reads: Promise<void>[] = [];
  if (ids.credentials)
    reads.push(fetchCredentialsSecret(client, ids.credentials, where).then((c) => void (found.credentials = c)));
  if (ids.master) reads.push(fetchMasterCredentials(client, ids.master, where).then((m) => void (found.master = m)));
  for (const result of await Promise.allSettled(reads)) {
    if (result.status === "fulfilled") continue;
    if (!(result.reason instanceof UserError)) throw result.reason;
    found.errors.push(result.reason);
  }
  return found;
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
  const region = await sdkClientRegion(client);
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

/** Whether the stage's secret name is free, already this stage's, someone else's, or blocked by a pending deletion. */
export interface SecretInspection {
  state: "absent" | "ours" | "foreign" | "scheduled-for-deletion";
  secretId: string;
  arn?: string;
  /** The `Environment` tag found, when any. */
  environment?: string;
  /** Whether Secrets Manager rotation is turned on (the stack refuses it: the URLs would go stale). */
  rotationEnabled?: boolean;
}

/**
 * Looks at the stage's secret name before a deploy (DescribeSecret: metadata and tags, never the value). A
 * secret is this stage's when it carries the stack's tags `Project=UserMetrics` and `Environment=<stage>`.
 */
export async function inspectStageSecret(
  client: SecretsManagerClient,
  secretId: string,
  stage: string,
): Promise<SecretInspection> {
  const { DescribeSecretCommand } = await import("@aws-sdk/client-secrets-manager");
  try {
    const out = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
    const tags = Object.fromEntries((out.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
    const base = {
      secretId,
      arn: out.ARN,
      environment: tags.Environment,
      rotationEnabled: out.RotationEnabled === true,
    };
    if (out.DeletedDate) return { ...base, state: "scheduled-for-deletion" };
    return { ...base, state: tags.Project === "UserMetrics" && tags.Environment === stage ? "ours" : "foreign" };
  } catch (error) {
    if ((error as AwsError).name === "ResourceNotFoundException") return { state: "absent", secretId };
    throw describeAwsError(error, "The credentials secret", secretId, await sdkClientRegion(client));
  }
}
