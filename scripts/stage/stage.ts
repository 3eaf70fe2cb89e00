/**
 * Resolving a stage: everything a command needs to reach a deployed stage without the user typing a host or
 * a password. Sources, strongest first: flags, environment variables, SST's own outputs (`.sst/outputs.json`
 * written by `sst deploy`, or the linked resource `sst shell` exposes as `SST_RESOURCE_UmamiDatabase`), the
 * stage's credentials secret (Secrets Manager, or a local file) and the cluster's master secret. Every problem
 * is collected and reported together, before anything connects (STYLE.md rule 4).
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { buildSpec, validateStage, type UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { formatDatabaseUrl } from "../../sst/database/url.js";
import { defaultStage, examplesIn, stageSettings } from "../../sst/stages.js";
import { isLocalHost, parseDatabaseUrl, type ConnectionSettings } from "../kernel/db.js";
import { UserError } from "../kernel/errors.js";
import { Problems } from "../kernel/problems.js";
import { projectRoot } from "../kernel/project-root.js";
import { readSecretFile, type CredentialsSecret } from "./credentials.js";
import { fetchCredentialsSecret, fetchMasterCredentials } from "./secrets-manager.js";
import { readStageInputs, STAGE_INPUTS } from "./stage-inputs.js";

/** Environment variables that override the stage's values (for users outside SST), named by the one table. */
export const STAGE_ENV = {
  adminUrl: STAGE_INPUTS.adminUrl.env[0],
  umamiUrl: STAGE_INPUTS.umamiUrl.env[0],
  secretFile: STAGE_INPUTS.secretFile.env[0],
  secretId: STAGE_INPUTS.secretId.env[0],
  masterSecretArn: STAGE_INPUTS.masterSecretArn.env[0],
  outputsFile: STAGE_INPUTS.outputsFile.env[0],
  caFile: STAGE_INPUTS.caFile.env[0],
  /** Cluster endpoint and port, for a preflight before the first deploy (no outputs yet). */
  host: STAGE_INPUTS.host.env[0],
  port: STAGE_INPUTS.port.env[0],
} as const;

/** Name of the linked resource whose properties `sst shell` exposes as `SST_RESOURCE_<name>`. */
export const LINKED_RESOURCE = "UmamiDatabase";

/** The stack's outputs this tool reads (sst.config.ts `run()` returns them; all optional here). */
export interface StageOutputs {
  stage?: string;
  secretArn?: string;
  secretName?: string;
  host?: string;
  port?: number;
  database?: string;
  schema?: string;
  role?: string;
  masterSecretArn?: string;
  region?: string;
}

const OUTPUT_STRINGS = [
  "stage",
  "secretArn",
  "secretName",
  "host",
  "database",
  "schema",
  "role",
  "masterSecretArn",
  "region",
] as const;

/** Which connections a command needs: preflight and rollback need only the administrator. */
export type Need = "admin" | "umami";

/** Inputs of `resolveStage`: flags as parsed by the command, and the environment. */
export interface ResolveStageOptions {
  /** The stage; defaults to the default stage's names when a URL is given and no stage. */
  stage?: string;
  adminUrl?: string;
  umamiUrl?: string;
  secretFile?: string;
  /** Secret name or ARN of the credentials secret. @default the outputs' ARN, else the spec's name */
  secretId?: string;
  /** ARN of the cluster's master secret (`aws rds describe-db-clusters … MasterUserSecret.SecretArn`). */
  masterSecretArn?: string;
  outputsFile?: string;
  /** Cluster endpoint for the administrator (before the first deploy there are no outputs). */
  host?: string;
  port?: number;
  region?: string;
  /** PEM bundle (RDS CA); turns `sslmode=require` into `verify-full` for remote hosts. */
  caFile?: string;
  connectTimeoutMs?: number;
  /** What the command will connect as. @default ["admin", "umami"] */
  needs?: readonly Need[];
  env: Record<string, string | undefined>;
  /** Project root holding `.sst/`. @default projectRoot(): the nearest directory holding sst.config.ts */
  root?: string;
  clients?: { secretsManager?: SecretsManagerClient };
}

/** A stage, resolved: the spec, the connections asked for, and where each value came from. */
export interface ResolvedStage {
  spec: UmamiDatabaseSpec;
  admin?: ConnectionSettings;
  umami?: ConnectionSettings;
  /** ARN (or name) of the credentials secret, when known. */
  secretArn?: string;
  region?: string;
  outputs: StageOutputs;
  /** Human-readable origin of each value (for reports; never a password). */
  source: { outputs?: string; admin?: string; umami?: string };
}

/** Where `umami-db local` keeps a stage's credentials file. */
export function localSecretPath(stage: string, root: string = projectRoot()): string {
  return resolve(root, ".umami-db", validateStage(stage), "credentials.json");
}

function parseOutputs(value: unknown, source: string, problems: Problems): StageOutputs {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.add(`${source} is not a JSON object`);
    return {};
  }
  const raw = value as Record<string, unknown>;
  const out: StageOutputs = {};
  for (const key of OUTPUT_STRINGS) {
    if (raw[key] === undefined) continue;
    if (typeof raw[key] === "string" && raw[key] !== "") out[key] = raw[key] as string;
    else problems.add(`${source}: "${key}" must be a non-empty string`);
  }
  if (raw.port !== undefined) {
    const port = typeof raw.port === "string" ? Number(raw.port) : raw.port;
    if (typeof port === "number" && Number.isInteger(port) && port > 0 && port < 65536) out.port = port;
    else problems.add(`${source}: "port" must be a whole number`);
  }
  return out;
}

function readJson(path: string, what: string, problems: Problems): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    problems.add(`${what} ${path} cannot be read as JSON (${(error as { code?: string }).code ?? "syntax error"})`);
    return undefined;
  }
}

/** The stack's outputs: linked resource from `sst shell`, else the outputs file — only when it is this stage's. */
function loadOutputs(
  stage: string,
  o: ResolveStageOptions,
  outputsFile: string | undefined,
  problems: Problems,
): { outputs: StageOutputs; source?: string } {
  const linked = o.env[`SST_RESOURCE_${LINKED_RESOURCE}`];
  if (linked) {
    let app: { stage?: string } = {};
    try {
      app = JSON.parse(o.env.SST_RESOURCE_App ?? "{}");
    } catch {
      // SST always writes valid JSON here; a hand-set value that is not JSON simply carries no stage.
    }
    if (app.stage && app.stage !== stage) {
      problems.add(
        `sst shell runs stage ${app.stage} but --stage is ${stage}; run \`sst shell --stage ${stage} -- …\``,
      );
      return { outputs: {} };
    }
    let value: unknown;
    try {
      value = JSON.parse(linked);
    } catch {
      problems.add(`SST_RESOURCE_${LINKED_RESOURCE} is not JSON`);
      return { outputs: {} };
    }
    return {
      outputs: parseOutputs(value, `SST_RESOURCE_${LINKED_RESOURCE}`, problems),
      source: `sst shell (SST_RESOURCE_${LINKED_RESOURCE})`,
    };
  }
  const explicit = outputsFile;
  const path = explicit ?? join(o.root ?? projectRoot(), ".sst", "outputs.json");
  if (!existsSync(path)) {
    if (explicit)
      problems.add(`outputs file ${path} does not exist (run sst deploy --stage ${stage}, or fix --outputs-file)`);
    return { outputs: {} };
  }
  const value = readJson(path, "outputs file", problems);
  if (value === undefined) return { outputs: {} };
  const outputs = parseOutputs(value, path, problems);
  // SST rewrites .sst/outputs.json after every deploy, diff or remove, whatever the stage: trust it only
  // when it says which stage it describes (or when the user named the file).
  if (outputs.stage !== stage) {
    if (explicit && outputs.stage === undefined) return { outputs, source: path };
    if (explicit) problems.add(`outputs file ${path} is for stage ${outputs.stage}, not ${stage}`);
    return { outputs: {}, source: `${path} ignored (stage ${outputs.stage ?? "unknown"})` };
  }
  return { outputs, source: path };
}

async function secretsManager(o: ResolveStageOptions, region: string | undefined): Promise<SecretsManagerClient> {
  if (o.clients?.secretsManager) return o.clients.secretsManager;
  const { SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
  return new SecretsManagerClient({ region, maxAttempts: 5 });
}

function checkSecretNames(
  secret: CredentialsSecret,
  spec: UmamiDatabaseSpec,
  source: string,
  problems: Problems,
): void {
  if (secret.username !== spec.role.name)
    problems.add(`${source} is for role ${secret.username}, stage ${spec.stage} uses ${spec.role.name}`);
  if (secret.schema !== spec.schema)
    problems.add(`${source} is for schema ${secret.schema}, stage ${spec.stage} uses ${spec.schema}`);
}

/**
 * The AWS region every command uses, in one order: the flag, the SDK's own variables (AWS_REGION, then
 * AWS_DEFAULT_REGION), the deployed outputs, the stage settings.
 */
export function awsRegion(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  outputsRegion?: string,
  settingsRegion?: string,
): string | undefined {
  return readStageInputs({ region: flag }, env).values.region ?? outputsRegion ?? settingsRegion;
}

const CANNOT_RESOLVE = "Cannot resolve the stage: ";

function fail(problem: string): never {
  const problems = new Problems();
  problems.add(problem);
  problems.throwIfAny(CANNOT_RESOLVE);
  throw new Error("unreachable: a problem was added");
}

/**
 * Resolves `options.stage` into connection settings for what `needs` lists. Throws one `UserError` listing
 * every problem; AWS is asked only once the local inputs are valid.
 */
export async function resolveStage<N extends Need = Need>(
  options: ResolveStageOptions & { needs?: readonly N[] },
): Promise<ResolvedStage & { [K in N]: ConnectionSettings }> {
  const o = options;
  const needs = new Set<Need>(o.needs ?? ["admin", "umami"]);
  const problems = new Problems();
  // Flags over variables, by the one table (stage-inputs.ts); `from` names which one gave each value.
  const { values: input, from } = readStageInputs(o, o.env);
  const { adminUrl, umamiUrl, caFile } = input;
  const stage = o.stage ?? (adminUrl || umamiUrl ? defaultStage : undefined);
  if (stage === undefined) fail("pass --stage <stage> (or --admin-url / --umami-url for a database outside SST)");
  try {
    validateStage(stage);
  } catch (error) {
    fail((error as Error).message);
  }
  const { outputs, source: outputsSource } = loadOutputs(stage, o, input.outputsFile, problems);
  const connection = (url: string, what: string): ConnectionSettings | undefined => {
    try {
      const host = parseDatabaseUrl(url).host;
      const upgrade = caFile && !isLocalHost(host) ? { sslmode: "verify-full" as const } : {};
      return parseDatabaseUrl(url, { caFile, connectTimeoutMs: o.connectTimeoutMs, ...upgrade });
    } catch (error) {
      problems.addError(error, `${what}: `);
      return undefined;
    }
  };
  const admin = needs.has("admin") && adminUrl ? connection(adminUrl, "admin URL") : undefined;
  const umamiFromUrl = needs.has("umami") && umamiUrl ? connection(umamiUrl, "umami URL") : undefined;
  // The database comes from the admin URL when given (a database outside SST), else from the stage settings.
  const settings = { ...stageSettings(stage), ...(admin ? { database: admin.database } : {}) };
  const spec = buildSpec(stage, settings);
  if (outputs.schema && outputs.schema !== spec.schema)
    problems.add(`the outputs name schema ${outputs.schema}, the spec ${spec.schema} (deployed from other code?)`);
  if (outputs.database && outputs.database !== spec.database)
    problems.add(`the outputs name database ${outputs.database}, the stage settings ${spec.database}`);
  if (outputs.role && outputs.role !== spec.role.name)
    problems.add(`the outputs name role ${outputs.role}, the spec ${spec.role.name}`);
  const region = input.region ?? outputs.region ?? settings.region;

  let umami = umamiFromUrl;
  let umamiSource = umamiFromUrl ? from.umamiUrl : undefined;
  let secretArn = input.secretId ?? outputs.secretArn ?? outputs.secretName;
  let localSecret: CredentialsSecret | undefined;
  const secretFile = input.secretFile;
  if (needs.has("umami") && !umami && secretFile) {
    try {
      localSecret = readSecretFile(secretFile);
      checkSecretNames(localSecret, spec, `secret file ${secretFile}`, problems);
      umami = connection(localSecret.DATABASE_URL, `secret file ${secretFile}`);
      umamiSource = `file ${secretFile}`;
    } catch (error) {
      problems.addError(error);
    }
  }
  const needsSecret = needs.has("umami") && !umami && !secretFile;
  const masterArn = input.masterSecretArn ?? outputs.masterSecretArn ?? settings.masterSecretArn;
  const needsMaster = needs.has("admin") && !admin && !adminUrl;
  if (needsMaster && !masterArn) {
    // A cluster identifier still sst/stages.ts's example is named as such, never handed to aws as if real.
    const example = examplesIn(settings).length > 0;
    problems.add(
      `no administrator credentials for stage ${stage}: pass --admin-url (or ${STAGE_ENV.adminUrl}), or --master-secret-arn ` +
        (example
          ? `(sst/stages.ts still names the example cluster ${settings.clusterIdentifier}: set your cluster's identifier there first; aws rds describe-db-clusters --query "DBClusters[].DBClusterIdentifier" lists yours)`
          : `(aws rds describe-db-clusters --db-cluster-identifier ${settings.clusterIdentifier} --query "DBClusters[0].MasterUserSecret.SecretArn")`),
    );
  }
  const hostOverride = input.host;
  const portText = input.port;
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    problems.add(`${from.port} must be a port number from 1 to 65535 (got ${portText})`);
  const knownEndpoint = hostOverride ?? outputs.host ?? localSecret?.host ?? umamiFromUrl?.host;
  if (needsMaster && !knownEndpoint && !needsSecret) {
    problems.add(
      `no host for stage ${stage}: pass --host (or ${STAGE_ENV.host}) with the cluster endpoint, run after sst deploy (it writes .sst/outputs.json), or pass --admin-url`,
    );
  }
  problems.throwIfAny(CANNOT_RESOLVE);

  // Local inputs are valid: now ask AWS, both reads at once, and report every failure together.
  let remote: CredentialsSecret | undefined;
  const reads: Promise<void>[] = [];
  const client = needsSecret || needsMaster ? await secretsManager(o, region) : undefined;
  let master: { username: string; password: string } | undefined;
  if (needsSecret && client) {
    const id = secretArn ?? spec.secretName;
    reads.push(
      fetchCredentialsSecret(client, id).then((r) => {
        remote = r.secret;
        secretArn = r.arn;
      }),
    );
  }
  if (needsMaster && client && masterArn)
    reads.push(fetchMasterCredentials(client, masterArn).then((m) => void (master = m)));
  for (const result of await Promise.allSettled(reads)) {
    if (result.status === "rejected") {
      if (!(result.reason instanceof UserError)) throw result.reason;
      problems.addError(result.reason);
    }
  }
  if (remote) {
    checkSecretNames(remote, spec, `secret ${secretArn}`, problems);
    umami = connection(remote.DATABASE_URL, `secret ${secretArn}`);
    umamiSource = `Secrets Manager ${secretArn}`;
  }
  let adminSettings = admin;
  let adminSource = admin ? from.adminUrl : undefined;
  if (master) {
    const endpoint = hostOverride
      ? { host: hostOverride, port: port ?? 5432 }
      : outputs.host
        ? { host: outputs.host, port: outputs.port ?? 5432 }
        : (remote ?? localSecret ?? { host: umamiFromUrl!.host, port: umamiFromUrl!.port });
    // The credentials never go through a URL: the endpoint is parsed alone, then user and password are set.
    const sslmode = isLocalHost(endpoint.host) ? "disable" : "require";
    const endpointUrl = formatDatabaseUrl({
      user: "",
      password: "",
      host: endpoint.host,
      port: endpoint.port,
      database: spec.database,
      params: { sslmode },
    });
    const base = connection(endpointUrl, "cluster endpoint");
    adminSettings = base && { ...base, user: master.username, password: master.password };
    adminSource = `master secret ${masterArn}`;
  }
  if (umami && (umami.user !== spec.role.name || umami.schema !== spec.schema)) {
    // Checked before anything connects: post-deploy would otherwise migrate as whoever the URL names.
    problems.add(
      `the Umami connection (${umamiSource}) is ${umami.user} on schema ${umami.schema}, but stage ${spec.stage} is ${spec.role.name} on schema ${spec.schema}; pass the stage's own credentials or the right --stage`,
    );
  }
  problems.throwIfAny(CANNOT_RESOLVE);
  return {
    spec,
    admin: adminSettings,
    umami,
    secretArn,
    region,
    outputs,
    source: { outputs: outputsSource, admin: adminSource, umami: umamiSource },
  } as ResolvedStage & { [K in N]: ConnectionSettings };
}
