/**
 * `umami-db local`: what the stack and the post-deploy do in AWS, end to end on this machine. By default an
 * embedded PostgreSQL 15 with a sample application stands in for Aurora; with `adminUrl` the same flow runs
 * against an existing PostgreSQL (no sample application is created there).
 *
 * Flow: server → sample application → baseline before → fingerprint before → provision (as an Aurora-like
 * administrator, from the spec's SQL) → credentials file → migrations (as umami_user) → audit → baseline
 * after and comparison → schema against the release (on a scratch server of its own; against an existing
 * PostgreSQL started before the first change, so that a run that could not finish changes nothing).
 */
import { existsSync } from "node:fs";
import { buildSpec, type UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { buildCredentialsSecret } from "../../sst/database/secret.js";
import { defaultStage, stageSettings } from "../../sst/stages.js";
import { formatDatabaseUrl, maskUrl } from "../../sst/database/url.js";
import { ConnectionError, isLocalHost, parseDatabaseUrl, withClient, type ConnectionSettings } from "../kernel/db.js";
import { startEmbeddedPostgres, type EmbeddedServer } from "../local/embedded.js";
import { generatePassword } from "../kernel/password.js";
import { provisionStage } from "./provision.js";
import { readStageObjects } from "../stage/catalog.js";
import { checkConflicts } from "./preflight.js";
import { UserError } from "../kernel/errors.js";
import { addDefaultStagePgcrypto, createSampleDatabase, SAMPLE_APP } from "../local/sample-app.js";
import { flowFailure, StepRunner, type StepObserver } from "./steps.js";
import { readSecretFile, type CredentialsSecret } from "../stage/credentials.js";
import {
  markServerRemoved,
  psqlUrl,
  refuseOtherTarget,
  serviceFilePath,
  writeLocalSecretFile,
  writeServiceFile,
  type PsqlService,
  type SecretTarget,
} from "../stage/local-credentials.js";
import type { LoadOptions } from "../migrate/sources.js";
import { loadMigrationsStep, migrateAndVerify, scratchFirstStep, type MigrationFlowResult } from "./migration-steps.js";
import { captureBefore, type ChecksSummary } from "./checks.js";
import type { VerifySchemaResult } from "./verify-schema.js";

/** Options of a local run (validated by the command). */
interface LocalOptions {
  stage: string;
  /** Run against this existing PostgreSQL (as its administrator) instead of an embedded one. */
  adminUrl?: string;
  /** Keep the embedded server's data directory. */
  keep: boolean;
  /** Migration source: `github:umami-software/umami@v<version>`, `docker:<image>` or a directory. */
  migrations: string;
  /** Mirror, cache and GitHub address for the source (the command reads them from the environment). */
  sources: LoadOptions;
  /** Where the credentials JSON (the Secrets Manager secret's shape) is written, mode 0600. */
  secretFile: string;
  observer?: StepObserver;
  /** Receives the credentials once written (the command's --show-secret); the result never holds them. */
  revealSecret?: (secret: CredentialsSecret) => void;
}

/** What a local run did; holds no password. */
export interface LocalResult extends MigrationFlowResult {
  server: {
    embedded: boolean;
    host: string;
    port: number;
    database: string;
    version?: string;
    dataDir?: string;
    kept: boolean;
    restartCommand?: string;
    /** A kept server: the service file (0600, beside the credentials) and its services, for `psql service=<name>`. */
    psql?: { serviceFile: string; services: { name: string; what: string }[] };
  };
  secretFile?: string;
  /** The credentials file describes a server this run removed (marked so in the file). */
  serverRemoved?: boolean;
  /** The DATABASE_URL to point a real Umami at, password masked. */
  databaseUrl?: string;
  /** The live schema against the one the applied migrations build on a scratch server (verify-schema). */
  schemaCheck?: VerifySchemaResult;
  checks?: ChecksSummary;
}

/** Runs the whole local flow. Never throws for a failed step: the result names it. */
export async function runLocal(options: LocalOptions): Promise<LocalResult> {
  const steps = new StepRunner(options.observer);
  let embedded: EmbeddedServer | undefined;
  const result: LocalResult = {
    ok: false,
    stage: options.stage,
    steps: steps.steps,
    server: { embedded: !options.adminUrl, host: "", port: 0, database: "", kept: false },
    names: { schema: "", role: "", secretName: "" },
    migrations: { source: options.migrations, applied: [], alreadyApplied: [], notes: [] },
    umamiTables: 0,
    tables: [],
  };
  let scratch: EmbeddedServer | undefined;
  try {
    // First, before a server starts or anything is changed: a credentials file that holds another role's or
    // server's is never overwritten, and a wrong --migrations source fails.
    refuseOtherTarget(options.secretFile, options.adminUrl ? adminTarget(options.stage, options.adminUrl) : undefined);
    const migrationSet = await loadMigrationsStep(steps, options.migrations, options.sources);
    result.migrations.notes = migrationSet.notes ?? [];
    const admin = options.adminUrl
      ? parseDatabaseUrl(options.adminUrl, { applicationName: "umami-db local" })
      : await steps.run(
          "start embedded PostgreSQL 15",
          async () => {
            embedded = await startEmbeddedPostgres({ keep: options.keep });
            return (await createSampleDatabase(parseDatabaseUrl(embedded.superuserUrl), "umami-db local")).admin;
          },
          () => `127.0.0.1:${embedded?.port}, sample application in database ${SAMPLE_APP.database}`,
        );
    Object.assign(result.server, {
      host: admin.host,
      port: admin.port,
      database: admin.database,
      dataDir: embedded?.dataDir,
      kept: options.keep && !!embedded,
      restartCommand: embedded?.restartCommand,
    });

    const spec = buildSpec(options.stage, { ...stageSettings(options.stage), database: admin.database });
    result.names = { schema: spec.schema, role: spec.role.name, secretName: spec.secretName };
    if (embedded && spec.extension.notCreatedBecause === "derived-stage") {
      // A derived stage never manages pgcrypto: on a real database stage dev's is already there. The fresh
      // embedded database gets one first, as part of the world before the deploy.
      await steps.run(
        `install pgcrypto (stands in for stage ${defaultStage}'s; ${spec.stage} never manages it)`,
        () => addDefaultStagePgcrypto(admin),
        () => "in schema public",
      );
    }

    // On a database of the user's, before the first change: every later step can run, the schema check's own
    // server included (the embedded run has shown it can start one already).
    if (!embedded) scratch = await scratchFirstStep(steps);

    const before = await captureBefore(steps, admin, spec);

    const password = await steps.run(
      "provision schema, role and grants",
      () => provision(admin, spec, options.secretFile, embedded !== undefined),
      (p) => p.detail,
    );
    const secret = buildCredentialsSecret({
      username: spec.role.name,
      password: password.password,
      host: admin.host,
      port: admin.port,
      database: admin.database,
      schema: spec.schema,
      // The secret's own TLS rule: verify-full for any remote host (node-pg and libpq then agree).
      sslmode: isLocalHost(admin.host) ? "disable" : "verify-full",
      // No reader here: the replica URL names the same server, as Aurora's reader endpoint does without replicas.
      readerHost: spec.container.readReplica ? admin.host : undefined,
    });
    await steps.run(
      "write credentials file",
      () => writeLocalSecretFile(options.secretFile, secret),
      () => `${options.secretFile} (mode 0600)`,
    );
    result.secretFile = options.secretFile;
    result.databaseUrl = maskUrl(secret.DATABASE_URL);
    options.revealSecret?.(secret);
    if (embedded && options.keep) {
      // A kept server: psql connects as each of its users through a service file beside the credentials (0600).
      const services = keptServices(embedded, admin, secret);
      const serviceFile = serviceFilePath(options.secretFile);
      writeServiceFile(serviceFile, services);
      result.server.psql = { serviceFile, services: services.map(({ name, what }) => ({ name, what })) };
    }

    const umami = parseDatabaseUrl(secret.DATABASE_URL, { applicationName: "umami-db migrate", caFile: admin.caFile });
    for await (const outcome of migrateAndVerify(steps, { admin, umami, spec, set: migrationSet, before, scratch })) {
      if ("migrated" in outcome) {
        result.migrations.applied = outcome.migrated.applied;
        result.migrations.alreadyApplied = outcome.migrated.alreadyApplied;
      } else Object.assign(result, outcome);
    }
    result.ok = steps.ok;
  } catch (error) {
    // A bug is rethrown (after the server is stopped, by `finally`).
    Object.assign(result, { ok: false }, flowFailure(error));
  } finally {
    await scratch?.stop();
    if (embedded) {
      const server = embedded;
      await steps
        .run(options.keep ? "stop embedded PostgreSQL (data kept)" : "stop embedded PostgreSQL", () => server.stop())
        .catch(() => undefined);
      // Its credentials now describe a server that is gone: marked so, a later run may write over them.
      if (!options.keep && result.secretFile && existsSync(result.secretFile)) {
        markServerRemoved(
          result.secretFile,
          new Date(),
          "umami-db local without --keep stopped this embedded server and removed its data",
        );
        result.serverRemoved = true;
      }
    }
  }
  return result;
}

/** The role and database a run against `adminUrl` writes credentials for. */
function adminTarget(stage: string, adminUrl: string): SecretTarget {
  const admin = parseDatabaseUrl(adminUrl);
  const spec = buildSpec(stage, { ...stageSettings(stage), database: admin.database });
  return { username: spec.role.name, host: admin.host, port: admin.port, database: admin.database };
}

/** psql's way in to a kept embedded server: its Aurora-like administrator, umami_user and the superuser. */
function keptServices(embedded: EmbeddedServer, admin: ConnectionSettings, secret: CredentialsSecret): PsqlService[] {
  const adminUrl = formatDatabaseUrl({
    user: admin.user,
    password: admin.password,
    host: admin.host,
    port: admin.port,
    database: admin.database,
    params: { sslmode: "disable" },
  });
  return [
    {
      name: "admin",
      what: `${admin.user}, the Aurora-like administrator (not a superuser), database ${admin.database}`,
      url: adminUrl,
    },
    {
      name: "umami",
      what: `${secret.username}, search_path ${secret.schema}`,
      url: psqlUrl(secret.DATABASE_URL, secret.schema),
    },
    { name: "superuser", what: `${embedded.superuser}, the embedded server's superuser`, url: embedded.superuserUrl },
  ];
}

/**
 * Provisions as the administrator. A role that already exists keeps its password when the credentials
 * file holds it for this server; otherwise a new password is generated (and the role's password rotated).
 */
async function provision(admin: ConnectionSettings, spec: UmamiDatabaseSpec, secretFile: string, embedded: boolean) {
  return withClient(admin, async (client) => {
    if (!embedded) {
      // On a server that other work shares, refuse a role or schema that is not this stage's (preflight's rule):
      // provisioning would otherwise rotate a role's password that another database's credentials still use.
      const conflicts = await checkConflicts(client, spec, admin.user);
      if (conflicts.severity === "error") throw new UserError(`${conflicts.detail}. ${conflicts.remedy}`);
    }
    const existing = await readStageObjects(client, spec);
    const filed = existing.role ? reusablePassword(secretFile, admin, spec) : undefined;
    // A file whose password the role no longer accepts (changed elsewhere) would fail every later step: rotate.
    const known = filed !== undefined && (await passwordWorks(admin, spec, filed)) ? filed : undefined;
    const password = known ?? generatePassword();
    const done = await provisionStage(client, spec, {
      admin: admin.user,
      password,
      rotatePassword: existing.role && !known,
    });
    const rotated =
      filed !== undefined && !known
        ? " (password rotated: the credentials file's was no longer valid)"
        : " (password rotated)";
    const what = [
      done.createdRole ? `role ${spec.role.name} created` : `role ${spec.role.name} kept${known ? "" : rotated}`,
      done.createdSchema ? `schema ${spec.schema} created` : `schema ${spec.schema} kept`,
      done.pgcryptoPreexisting ? "pgcrypto already present" : `pgcrypto in ${done.pgcryptoSchema}`,
    ];
    return { password, detail: `${what.join(", ")}; ${done.statements} statements` };
  });
}

/** Whether the stage's role logs in with `password` (only a wrong password counts as no). */
async function passwordWorks(admin: ConnectionSettings, spec: UmamiDatabaseSpec, password: string): Promise<boolean> {
  try {
    await withClient({ ...admin, user: spec.role.name, password, applicationName: "umami-db local" }, (c) =>
      c.query("SELECT 1"),
    );
    return true;
  } catch (error) {
    if (error instanceof ConnectionError && error.code === "28P01") return false;
    throw error;
  }
}

function reusablePassword(secretFile: string, admin: ConnectionSettings, spec: UmamiDatabaseSpec): string | undefined {
  if (!existsSync(secretFile)) return undefined;
  const secret = readSecretFile(secretFile);
  const same =
    secret.host === admin.host &&
    secret.port === admin.port &&
    secret.database === admin.database &&
    secret.username === spec.role.name;
  return same ? secret.password : undefined;
}
