/**
 * Per-stage settings: which existing Aurora cluster and database a stage targets, and how carefully it is
 * treated. Stages listed in `configuredStages` use the story's names exactly (`umami`, `umami_user`,
 * `observability/umami-db-credentials`); every other stage (personal, PR) inherits `defaultStage`'s
 * settings and gets names derived from the stage, so two stages on one cluster never collide.
 */

/** Settings for one stage. */
export interface StageSettings {
  /** Identifier of the *existing* Aurora PostgreSQL cluster (`aws rds describe-db-clusters`). */
  clusterIdentifier: string;
  /** Database inside the cluster that the application already uses. */
  database: string;
  /** AWS region of the cluster. @default "us-east-1" */
  region?: string;
  /**
   * Production-like: `sst remove` retains every resource and Pulumi refuses to delete them; the secret
   * keeps its 30-day recovery window; `umami-db rollback` needs `--force`.
   * @default false
   */
  protect?: boolean;
  /**
   * ARN of a Secrets Manager secret with the master password (`{"username","password"}`), for clusters
   * whose master password is not managed by RDS. When unset the cluster's RDS-managed master secret is used.
   */
  masterSecretArn?: string;
  /** KMS key for the credentials secret. @default the account's `aws/secretsmanager` key */
  kmsKeyId?: string;
  /**
   * PEM CA bundle on the deploying machine (e.g. RDS's global-bundle.pem). When set, the PostgreSQL provider
   * verifies the cluster's certificate and host name (`sslmode=verify-full`); when unset it encrypts without
   * verifying (`require`).
   * @default unset
   */
  caBundleFile?: string;
  /**
   * `statement_timeout` for umami_user, in milliseconds: the guard against runaway runtime queries (Umami sets
   * none). The secret's DIRECT_DATABASE_URL lifts it for migrations, and `umami-db migrate` runs without it.
   * @default 60000
   */
  statementTimeoutMs?: number;
  /** `idle_in_transaction_session_timeout` for umami_user, in milliseconds. @default 60000 */
  idleInTransactionTimeoutMs?: number;
  /**
   * The database already has `pgcrypto` (in any schema): the stack then neither creates nor ever drops it
   * (`docs/design.md` § "Facts we measured"). `umami-db preflight` tells you when to set this.
   * @default false
   */
  pgcryptoAlreadyInstalled?: boolean;
  /** `max_connections` of the cluster's instances, for the connections alarm. @default derived from `instanceClass` */
  maxConnections?: number;
  /** Instance class of the cluster's writer, used to derive `max_connections` when it is not given. */
  instanceClass?: string;
  /**
   * Writer instance identifier. The alarms and the dashboard watch it when set, else the cluster's writer role
   * (follows failovers); `umami-db baseline capture` reads its instance-level metrics.
   * @default alarms: the writer role; baseline: `${clusterIdentifier}-instance-1`
   */
  instanceIdentifier?: string;
  /** E-mail address subscribed to the alarms' SNS topic. No topic is created when unset. */
  alarmEmail?: string;
  /** Extra tags merged into every AWS resource (cost centre, owner, …). */
  tags?: Record<string, string>;
  /**
   * The Umami release whose migrations `umami-db local` and `post-deploy` apply, from its GitHub tag
   * (`github:umami-software/umami@v<version>`); `--migrations` overrides it. Pin the version the stage's
   * container runs: `ghcr.io/umami-software/umami:postgresql-latest` moves with every release.
   * @default "3.1.0" (DEFAULT_UMAMI_VERSION)
   * @example "2.10.0"
   */
  umamiVersion?: string;

  // --- The Umami container: what the role's connection limit and the handoff are derived from ---
  /**
   * Umami ECS tasks running at once (the service's desired count). umami_user's CONNECTION LIMIT is derived
   * from it (`connectionBudget` in spec.ts): 10 per pool × pools per task (2 only when the task gets
   * DATABASE_REPLICA_URL) × tasks × 2 for a rolling deploy, plus the post-deploy's 2. `umami-db preflight`
   * checks the total against `max_connections`.
   * @default 1
   */
  umamiTasks?: number;
  /**
   * Umami also reads through the cluster's reader endpoint: the secret then carries DATABASE_REPLICA_URL. Only
   * Umami 2.18–2.x tasks get it (a second pool of 10 each): Umami 3.x (3.1.0 included) sends its raw INSERT
   * of every new session to the replica, which the reader refuses, so the handoff leaves the URL out of the
   * task and `umami-db preflight` warns (sst/database/umami-replica.ts).
   * @default false
   */
  readReplica?: boolean;
  /**
   * Path of the RDS CA bundle inside the Umami container, handed to Node as NODE_EXTRA_CA_CERTS (`umami-db
   * handoff`): the secret's URLs say `sslmode=verify-full`, which node-pg checks against Node's CA store.
   * @default "/etc/ssl/certs/rds-global-bundle.pem"
   */
  containerCaBundle?: string;
  /**
   * Generation of umami_user's password. Raising it makes the next `sst deploy` generate a new password, set it
   * on the role and rewrite the secret with every URL (the supported rotation; Secrets Manager's own rotation
   * would leave the URLs stale, so `umami-db preflight` refuses it). Unset: the first password is kept.
   * @default unset
   */
  passwordGeneration?: number;
  // --- end of the Umami container's settings ---
}

/** The Umami release a stage migrates to when it names none (`postgresql-latest` is Umami 3.1.0 today). */
export const DEFAULT_UMAMI_VERSION = "3.1.0";

/** Stages that use the story's names exactly. Edit these for your account. */
export const configuredStages: Readonly<Record<string, StageSettings>> = {
  dev: {
    clusterIdentifier: "app-aurora-dev",
    database: "app",
    region: "us-east-1",
    protect: false,
    instanceClass: "db.r6g.large",
  },
  production: {
    clusterIdentifier: "app-aurora-production",
    database: "app",
    region: "us-east-1",
    protect: true,
    instanceClass: "db.r6g.xlarge",
  },
};

/**
 * The values `configuredStages` ships with as examples: no real account has them. A stage whose settings still
 * hold one has not been set for a real cluster yet; `umami-db plan` marks it, and no hint repeats it as if it
 * were real. Set your clusters above.
 */
export const EXAMPLE_SETTINGS: Readonly<{ clusterIdentifier: readonly string[] }> = {
  clusterIdentifier: ["app-aurora-dev", "app-aurora-production"],
};

/** The settings of `settings` that are still this file's examples, e.g. `clusterIdentifier app-aurora-dev`. */
export function examplesIn(settings: Pick<StageSettings, "clusterIdentifier">): string[] {
  return EXAMPLE_SETTINGS.clusterIdentifier.includes(settings.clusterIdentifier)
    ? [`clusterIdentifier ${settings.clusterIdentifier}`]
    : [];
}

/** The stage whose settings any other stage (personal, PR) inherits. */
export const defaultStage = "dev";

/** Whether `stage` is one of the configured stages (and so uses the story's names). */
export function isConfiguredStage(stage: string): boolean {
  return Object.prototype.hasOwnProperty.call(configuredStages, stage);
}

/** The settings for `stage`: its own when configured, otherwise the default stage's (never protected). */
export function stageSettings(stage: string): StageSettings {
  if (isConfiguredStage(stage)) return configuredStages[stage];
  return { ...configuredStages[defaultStage], protect: false };
}
