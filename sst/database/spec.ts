/**
 * THE declaration (`docs/design.md` § "Shape", "One declaration, three readers"): what must exist for Umami in the shared
 * database. The Pulumi component (`umami.ts`) turns it into resources, `sql.ts` into SQL for the local mode
 * and the offline plan, and the audit reads it to know what "allowed" means. Nobody else lists privileges.
 */
import { InvalidNameError } from "../errors.js";
import {
  DEFAULT_UMAMI_VERSION,
  defaultStage,
  isConfiguredStage,
  stageSettings,
  type StageSettings,
} from "../stages.js";
import { connectionBudget, type ConnectionBudget } from "./connection-budget.js";

/** The story's names, used verbatim by the configured stages. */
export const STORY_NAMES = {
  schema: "umami",
  role: "umami_user",
  secretName: "observability/umami-db-credentials",
} as const;

/** PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes. */
const MAX_IDENTIFIER_BYTES = 63;

/** Stage names: a letter, then letters, digits and hyphens (SST's own stage names), at most 40 characters. */
const STAGE_PATTERN = /^[A-Za-z][A-Za-z0-9-]{0,39}$/;

/** Identifiers we create: letters, digits and underscores, not starting with a digit (quoted when mixed-case). */
const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The privileges PostgreSQL 15 means by `ALL` per object kind (GRANT docs, "ALL PRIVILEGES"). The audit
 * compares effective privileges against these exact sets; PostgreSQL 17 adds MAINTAIN to tables.
 */
export const ALL_PRIVILEGES = {
  database: ["CREATE", "CONNECT", "TEMPORARY"],
  schema: ["USAGE", "CREATE"],
  table: ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"],
  sequence: ["USAGE", "SELECT", "UPDATE"],
} as const;

export type TablePrivilege = (typeof ALL_PRIVILEGES.table)[number];
type SequencePrivilege = (typeof ALL_PRIVILEGES.sequence)[number];
type SchemaPrivilege = (typeof ALL_PRIVILEGES.schema)[number];
type DatabasePrivilege = (typeof ALL_PRIVILEGES.database)[number];

/** What umami_user is granted — the story's list, and nothing else. */
export interface PrivilegeSpec {
  /** On the database: CONNECT only, so the role still connects where `PUBLIC` lost CONNECT. */
  database: readonly DatabasePrivilege[];
  /** On the Umami schema: USAGE and CREATE (the schema stays owned by the administrator). */
  schema: readonly SchemaPrivilege[];
  /** On every table in the Umami schema (ALL). */
  tables: readonly TablePrivilege[];
  /** On every sequence in the Umami schema (ALL). */
  sequences: readonly SequencePrivilege[];
  /** Default privileges for objects the administrator creates later in the schema. */
  defaultPrivileges: { tables: readonly TablePrivilege[]; sequences: readonly SequencePrivilege[] };
}

/** Attributes and settings of the login role. */
export interface RoleSpec {
  name: string;
  login: true;
  /** Everything a role could be given that would reach outside the schema is false. */
  superuser: false;
  createDatabase: false;
  createRole: false;
  replication: false;
  bypassRowLevelSecurity: false;
  /** Connections the role may hold at once: `connectionBudget.total`. */
  connectionLimit: number;
  /** How the limit was derived (Umami's pools × tasks × rolling deploy + post-deploy). */
  connectionBudget: ConnectionBudget;
  /** `search_path` set on the role: the Umami schema only. */
  searchPath: readonly string[];
  /** The runtime guard; DIRECT_DATABASE_URL lifts it for migrations (startup options beat role settings). */
  statementTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
}

/**
 * The settings attached to the role (`ALTER ROLE … SET name TO value`), in the order they are issued: a list
 * value is a list of identifiers (quoted as needed), a string is sent as is. The one list that provisioning
 * (`sql.ts`) issues and the audit compares `pg_db_role_setting` with.
 */
export function roleSettings(
  spec: UmamiDatabaseSpec,
): ReadonlyArray<{ name: string; value: string | readonly string[] }> {
  return [
    { name: "search_path", value: spec.role.searchPath },
    { name: "statement_timeout", value: String(spec.role.statementTimeoutMs) },
    { name: "idle_in_transaction_session_timeout", value: String(spec.role.idleInTransactionTimeoutMs) },
  ];
}

/** The extension Umami's first migration creates (`CREATE EXTENSION IF NOT EXISTS "pgcrypto"`). */
export interface ExtensionSpec {
  name: "pgcrypto";
  /** Created by the administrator in the Umami schema — umami_user cannot create it (`docs/design.md` § "Facts we measured"). */
  schema: string;
  /**
   * Whether this stage manages pgcrypto (creates it, and `sst remove` drops it). False when the database
   * already has it (`pgcryptoAlreadyInstalled`), and always for derived stages: a database holds one pgcrypto,
   * and a derived stage shares its database with the default stage — declaring the extension again would
   * adopt the existing one, try to move it into the stage's schema, and drop it with CASCADE on removal.
   */
  create: boolean;
  /** Why `create` is false, for messages; null when it is true. */
  notCreatedBecause: "already-installed" | "derived-stage" | null;
}

/**
 * What to tell the user when the stage does not create pgcrypto and the database has none (preflight,
 * provisioning): Umami's first migration would then fail as the stage's role.
 */
export function missingPgcryptoMessage(spec: UmamiDatabaseSpec): { detail: string; remedy: string } {
  if (spec.extension.notCreatedBecause === "derived-stage") {
    return {
      detail: `database ${spec.database} has no pgcrypto, and stage ${spec.stage} never creates it (derived stages share the database of stage ${defaultStage}, which manages the one pgcrypto a database holds)`,
      remedy: `Deploy stage ${defaultStage} first, or have the administrator run CREATE EXTENSION pgcrypto in database ${spec.database}.`,
    };
  }
  return {
    detail: `stage ${spec.stage} is configured with pgcryptoAlreadyInstalled, but database ${spec.database} has no pgcrypto`,
    remedy: `Set pgcryptoAlreadyInstalled: false for stage ${spec.stage} in sst/stages.ts, or have the administrator run CREATE EXTENSION pgcrypto.`,
  };
}

/** Where the Umami container's RDS CA bundle is when the stage names none (NODE_EXTRA_CA_CERTS). */
const DEFAULT_CONTAINER_CA_BUNDLE = "/etc/ssl/certs/rds-global-bundle.pem";

/** The Umami container of a stage, as the secret, the role's limit and the handoff see it. */
export interface ContainerSpec {
  /** ECS tasks running at once. */
  tasks: number;
  /** Whether the secret carries DATABASE_REPLICA_URL (the cluster's reader endpoint). */
  readReplica: boolean;
  /** Path of the RDS CA bundle inside the container, for NODE_EXTRA_CA_CERTS. */
  caBundlePath: string;
}

/** The existing Aurora cluster a stage targets: its settings in sst/stages.ts, defaults applied. */
export interface ClusterSpec {
  /** Identifier of the existing Aurora PostgreSQL cluster. */
  clusterIdentifier: string;
  /** AWS region of the cluster. */
  region: string;
  /** Secret holding the master password, when RDS does not manage it; unset: the cluster's RDS-managed secret. */
  masterSecretArn?: string;
  /** PEM CA bundle the provider verifies the cluster with (`verify-full`); unset: encrypt without verifying. */
  caBundleFile?: string;
  /** Writer instance the alarms and the dashboard watch; unset: the cluster's writer role. */
  instanceIdentifier?: string;
  /** `max_connections` of the instances, for the connections alarm; unset: derived from `instanceClass`. */
  maxConnections?: number;
  /** Instance class of the writer. */
  instanceClass?: string;
  /** E-mail address subscribed to the alarms' topic; unset: no topic. */
  alarmEmail?: string;
}

/** The credentials secret's settings (its name is `UmamiDatabaseSpec.secretName`). */
export interface SecretSpec {
  /** KMS key of the secret; unset: the account's `aws/secretsmanager` key. */
  kmsKeyId?: string;
  /** Generation of umami_user's password; raising it rotates the password. Unset: the first is kept. */
  passwordGeneration?: number;
}

/** Everything that must exist for one stage. */
export interface UmamiDatabaseSpec {
  stage: string;
  /** Whether the stage is production-like (retain on remove, rollback needs --force). */
  protect: boolean;
  /** The application's database inside the cluster. */
  database: string;
  schema: string;
  role: RoleSpec;
  secretName: string;
  privileges: PrivilegeSpec;
  extension: ExtensionSpec;
  /** The Umami container this stage serves (the handoff and the connection limit read it). */
  container: ContainerSpec;
  /** The cluster the stage targets. */
  cluster: ClusterSpec;
  /** The credentials secret's key and password generation. */
  secret: SecretSpec;
  /** The Umami release the stage migrates to and its container runs. */
  umamiVersion: string;
  /** Extra tags merged into every AWS resource. */
  tags: Readonly<Record<string, string>>;
}

/** The region of a stage whose settings name none: the one default, for the stack and every command. */
export const DEFAULT_REGION = "us-east-1";

/**
 * The writer instance whose metrics a baseline reads on cluster `clusterId` (@default the stage's cluster):
 * the stage's `instanceIdentifier` on the stage's own cluster, else `<clusterId>-instance-1`, the name Aurora
 * gives the first instance. Preflight, post-deploy and `baseline capture` all ask here, so "before" and
 * "after" measure one instance.
 */
export function baselineInstance(
  cluster: Pick<ClusterSpec, "clusterIdentifier" | "instanceIdentifier">,
  clusterId: string = cluster.clusterIdentifier,
): string {
  const own = clusterId === cluster.clusterIdentifier ? cluster.instanceIdentifier : undefined;
  return own ?? `${clusterId}-instance-1`;
}

const DEFAULT_STATEMENT_TIMEOUT_MS = 60_000;
const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;

/** Refuses a stage name that SST or PostgreSQL could not use; returns it unchanged otherwise. */
export function validateStage(stage: string): string {
  if (!STAGE_PATTERN.test(stage)) {
    throw new InvalidNameError(
      "stage",
      stage,
      "a stage starts with a letter and has only letters, digits and hyphens, at most 40 characters (e.g. dev, pr-42).",
    );
  }
  return stage;
}

/** Refuses a name that is not a plain PostgreSQL identifier of at most 63 bytes. */
export function validateIdentifier(what: string, name: string): string {
  if (!IDENTIFIER_PATTERN.test(name)) {
    throw new InvalidNameError(
      what,
      name,
      "use letters, digits and underscores, starting with a letter or underscore.",
    );
  }
  if (Buffer.byteLength(name, "utf8") > MAX_IDENTIFIER_BYTES) {
    throw new InvalidNameError(
      what,
      name,
      `it is ${Buffer.byteLength(name, "utf8")} bytes; PostgreSQL truncates identifiers at ${MAX_IDENTIFIER_BYTES}. Use a shorter stage name.`,
    );
  }
  if (/^pg_/i.test(name)) {
    throw new InvalidNameError(what, name, 'names starting with "pg_" are reserved by PostgreSQL.');
  }
  return name;
}

/** The names of one stage: the story's for configured stages, derived from the stage otherwise. */
export function stageNames(stage: string): { schema: string; role: string; secretName: string } {
  validateStage(stage);
  if (isConfiguredStage(stage)) return { ...STORY_NAMES };
  const suffix = stage.replace(/-/g, "_");
  return {
    schema: validateIdentifier("schema name", `${STORY_NAMES.schema}_${suffix}`),
    role: validateIdentifier("role name", `${STORY_NAMES.role}_${suffix}`),
    secretName: `observability/${stage}/umami-db-credentials`,
  };
}

function pgcryptoSpec(stage: string, schema: string, settings: StageSettings): ExtensionSpec {
  const notCreatedBecause = !isConfiguredStage(stage)
    ? "derived-stage"
    : settings.pgcryptoAlreadyInstalled
      ? "already-installed"
      : null;
  return { name: "pgcrypto", schema, create: notCreatedBecause === null, notCreatedBecause };
}

/**
 * Builds the full declaration for `stage`, from `sst/stages.ts` unless `settings` is given. Every default is
 * applied here, once: nothing downstream reads `StageSettings`.
 */
export function buildSpec(stage: string, settings: StageSettings = stageSettings(stage)): UmamiDatabaseSpec {
  const names = stageNames(stage);
  const extension = pgcryptoSpec(stage, names.schema, settings);
  const umamiVersion = settings.umamiVersion ?? DEFAULT_UMAMI_VERSION;
  const readReplica = settings.readReplica ?? false;
  const budget = connectionBudget({ tasks: settings.umamiTasks ?? 1, readReplica, umamiVersion });
  if (settings.containerCaBundle !== undefined && !settings.containerCaBundle.startsWith("/")) {
    throw new InvalidNameError(
      "containerCaBundle",
      settings.containerCaBundle,
      "use an absolute path inside the Umami image (NODE_EXTRA_CA_CERTS), e.g. /etc/ssl/certs/rds-global-bundle.pem.",
    );
  }
  const generation = settings.passwordGeneration;
  if (generation !== undefined && !(Number.isInteger(generation) && generation >= 0)) {
    throw new InvalidNameError(
      "passwordGeneration",
      String(generation),
      "use a whole number; raise it by one to rotate umami_user's password.",
    );
  }
  return {
    stage,
    protect: settings.protect ?? false,
    database: settings.database,
    schema: names.schema,
    secretName: names.secretName,
    role: {
      name: names.role,
      login: true,
      superuser: false,
      createDatabase: false,
      createRole: false,
      replication: false,
      bypassRowLevelSecurity: false,
      connectionLimit: budget.total,
      connectionBudget: budget,
      searchPath: [names.schema],
      statementTimeoutMs: settings.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
      idleInTransactionTimeoutMs: settings.idleInTransactionTimeoutMs ?? DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    },
    privileges: {
      database: ["CONNECT"],
      schema: ALL_PRIVILEGES.schema,
      tables: ALL_PRIVILEGES.table,
      sequences: ALL_PRIVILEGES.sequence,
      defaultPrivileges: { tables: ALL_PRIVILEGES.table, sequences: ALL_PRIVILEGES.sequence },
    },
    extension,
    container: {
      tasks: budget.tasks,
      readReplica,
      caBundlePath: settings.containerCaBundle ?? DEFAULT_CONTAINER_CA_BUNDLE,
    },
    cluster: {
      clusterIdentifier: settings.clusterIdentifier,
      region: settings.region ?? DEFAULT_REGION,
      masterSecretArn: settings.masterSecretArn,
      caBundleFile: settings.caBundleFile,
      instanceIdentifier: settings.instanceIdentifier,
      maxConnections: settings.maxConnections,
      instanceClass: settings.instanceClass,
      alarmEmail: settings.alarmEmail,
    },
    secret: { kmsKeyId: settings.kmsKeyId, passwordGeneration: generation },
    umamiVersion,
    tags: settings.tags ?? {},
  };
}

/** The Umami version `stage` migrates to: its `umamiVersion`, else DEFAULT_UMAMI_VERSION (`buildSpec`'s default). */
export function umamiVersionOf(stage: string): string {
  return buildSpec(stage).umamiVersion;
}

/**
 * The generated password: 40 characters; besides letters and digits only RFC 3986 "unreserved" `-` and `_`,
 * so it works unescaped in a Prisma or psql URL (no `@ : / ? # % +`). The stack's `random.RandomPassword`
 * and the local mode both follow it.
 */
export const PASSWORD_POLICY = { length: 40, special: "-_" } as const;
