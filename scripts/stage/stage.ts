/**
 * Resolving a stage: everything a command needs to reach a deployed stage without the user typing a host or
 * a password. Sources, strongest first: flags, environment variables, SST's own outputs (`.sst/outputs.json`
 * written by `sst deploy`, or the linked resource `sst shell` exposes as `SST_RESOURCE_UmamiDatabase`), the
 * stage's credentials secret (Secrets Manager, or a local file) and the cluster's master secret. Every problem
 * is collected and reported together, before anything connects (STYLE.md rule 4).
 */
import { resolve } from "node:path";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { buildSpec, validateStage, type UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { formatDatabaseUrl } from "../../sst/database/url.js";
import { InvalidNameError } from "../../sst/errors.js";
import { defaultStage, examplesIn, stageSettings } from "../../sst/stages.js";
import { isLocalHost, parseDatabaseUrl, type ConnectionSettings } from "../kernel/db.js";
import { Problems } from "../kernel/problems.js";
import { projectRoot } from "../kernel/project-root.js";
import { readSecretFile, type CredentialsSecret } from "./credentials.js";
import { readStageSecrets } from "./secrets-manager.js";
import { loadOutputs, type LinkedResource, type StageOutputs } from "./outputs.js";
import { STAGE_ENV, type StageInputs } from "./stage-inputs.js";

/** Which connections a command needs: preflight and rollback need only the administrator. */
export type Need = "admin" | "umami";

/** Inputs of `resolveStage`: what the user gave (flags over variables), never the environment itself. */
export interface ResolveStageOptions {
  /** The stage; defaults to the default stage's names when a URL is given and no stage. */
  stage?: string;
  /** The inputs given by flag or variable, by the one table (stage-inputs.ts), and which of the two gave each. */
  given: StageInputs;
  /** What `sst shell` linked: the stack's outputs, strongest after the inputs given. */
  linked?: LinkedResource;
  connectTimeoutMs?: number;
  /** What the command will connect as. @default ["admin", "umami"] */
  needs?: readonly Need[];
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
  /** AWS region of the secrets and metrics: given, else the outputs', else the spec's. */
  region: string;
  outputs: StageOutputs;
  /** Human-readable origin of each value (for reports; never a password). */
  source: { outputs?: string; admin?: string; umami?: string };
}

/** Where `umami-db local` keeps a stage's credentials file. */
export function localSecretPath(stage: string, root: string = projectRoot()): string {
  return resolve(root, ".umami-db", validateStage(stage), "credentials.json");
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
  // `from` names the flag or variable that gave each value, for messages.
  const { values: input, from } = o.given;
  const { adminUrl, umamiUrl, caFile, secretFile } = input;
  const stage = o.stage ?? (adminUrl || umamiUrl ? defaultStage : undefined);
  if (stage === undefined) fail("pass --stage <stage> (or --admin-url / --umami-url for a database outside SST)");
  const { outputs, source: outputsSource } = loadOutputs(
    stage,
    { linked: o.linked, file: input.outputsFile, root: o.root },
    problems,
  );
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
  // A credentials file stands in for Secrets Manager (`umami-db local` writes one).
  let localSecret: CredentialsSecret | undefined;
  if (needs.has("umami") && !umamiFromUrl && secretFile) {
    try {
      localSecret = readSecretFile(secretFile);
    } catch (error) {
      problems.addError(error);
    }
  }
  // The database comes from the admin URL when given (a database outside SST), else from the stage settings.
  const settings = { ...stageSettings(stage), ...(admin ? { database: admin.database } : {}) };
  // A cluster identifier still sst/stages.ts's example is named as such, never handed to aws as if real.
  const example = examplesIn(settings).length > 0;
  let spec: UmamiDatabaseSpec;
  try {
    validateStage(stage);
    spec = buildSpec(stage, settings);
  } catch (error) {
    // Alone: every other problem would only be about the wrong stage.
    if (!(error instanceof InvalidNameError) || error.what !== "stage") throw error;
    fail(error.message);
  }
  if (outputs.schema && outputs.schema !== spec.schema)
    problems.add(`the outputs name schema ${outputs.schema}, the spec ${spec.schema} (deployed from other code?)`);
  if (outputs.database && outputs.database !== spec.database)
    problems.add(`the outputs name database ${outputs.database}, the stage settings ${spec.database}`);
  if (outputs.role && outputs.role !== spec.role.name)
    problems.add(`the outputs name role ${outputs.role}, the spec ${spec.role.name}`);
  // The spec holds the region's default: the region is always known.
  const region = input.region ?? outputs.region ?? spec.cluster.region;

  const needsSecret = needs.has("umami") && !umamiFromUrl && !secretFile;
  const masterArn = input.masterSecretArn ?? outputs.masterSecretArn ?? spec.cluster.masterSecretArn;
  const needsMaster = needs.has("admin") && !admin && !adminUrl;
  if (needsMaster && !masterArn) {
    problems.add(
      `no administrator credentials for stage ${stage}: pass --admin-url (or ${STAGE_ENV.adminUrl}), or --master-secret-arn ` +
        (example
          ? `(sst/stages.ts still names the example cluster ${spec.cluster.clusterIdentifier}: set your cluster's identifier there first; aws rds describe-db-clusters --query "DBClusters[].DBClusterIdentifier" lists yours)`
          : `(aws rds describe-db-clusters --db-cluster-identifier ${spec.cluster.clusterIdentifier} --query "DBClusters[0].MasterUserSecret.SecretArn")`),
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
  // Whichever secret the Umami connection comes from must be the stage's, checked before anything connects.
  const checkNames = (secret: CredentialsSecret, source: string) => {
    if (secret.username !== spec.role.name)
      problems.add(`${source} is for role ${secret.username}, stage ${spec.stage} uses ${spec.role.name}`);
    if (secret.schema !== spec.schema)
      problems.add(`${source} is for schema ${secret.schema}, stage ${spec.stage} uses ${spec.schema}`);
  };
  if (localSecret) checkNames(localSecret, `secret file ${secretFile}`);
  problems.throwIfAny(CANNOT_RESOLVE);

  // Local inputs are valid: now ask AWS, both reads at once, and report every failure together.
  let secretArn = input.secretId ?? outputs.secretArn ?? outputs.secretName;
  const fetched = await readStageSecrets(
    {
      credentials: needsSecret ? (secretArn ?? spec.secretName) : undefined,
      master: needsMaster ? masterArn : undefined,
    },
    { client: o.clients?.secretsManager, region },
  );
  for (const error of fetched.errors) problems.addError(error);
  const remote = fetched.credentials?.secret;
  if (fetched.credentials) secretArn = fetched.credentials.arn;
  if (remote) checkNames(remote, `secret ${secretArn}`);
  const secret = localSecret ?? remote;
  const umamiSource = umamiFromUrl
    ? from.umamiUrl
    : localSecret
      ? `file ${secretFile}`
      : remote
        ? `Secrets Manager ${secretArn}`
        : undefined;
  const umami =
    umamiFromUrl ??
    (secret && connection(secret.DATABASE_URL, localSecret ? `secret file ${secretFile}` : `secret ${secretArn}`));
  const master = fetched.master;
  let adminSettings = admin;
  let adminSource = admin ? from.adminUrl : undefined;
  if (master) {
    const endpoint = hostOverride
      ? { host: hostOverride, port: port ?? 5432 }
      : outputs.host
        ? { host: outputs.host, port: outputs.port ?? 5432 }
        : (secret ?? { host: umamiFromUrl!.host, port: umamiFromUrl!.port });
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
