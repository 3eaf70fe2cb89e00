/**
 * The handoff: what the Umami ECS task needs to use this stage's database as it is — which
 * variables, from which JSON keys of the secret, which image, which CA bundle, and what one migration per
 * deploy means. `buildHandoff` is pure; `findSecretArn` asks Secrets Manager only when the outputs do not hold
 * the ARN. `umami-db handoff` prints it, post-deploy's report.md embeds it.
 */
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import {
  NODE_PG_MISSING_CA,
  NODE_PG_WRONG_HOST,
  PRISMA_TLS_ERROR_PREFIX,
  RDS_CA_BUNDLE_URL,
  type UrlKey,
} from "../../sst/database/secret.js";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { replicaWithheldReason } from "../../sst/database/umami-replica.js";

import { UserError } from "../kernel/errors.js";
import { PRISMA_ADVISORY_LOCK_KEY, PRISMA_LOCK_TIMEOUT_MS } from "../migrate/bookkeeping.js";
import { officialImage } from "../migrate/docker-engine.js";
import { onlineNextSteps, SKIP_DURING_ONLINE } from "../migrate/online/report.js";
import { inspectStageSecret } from "../stage/secrets-manager.js";

/** The newest Umami release whose scripts/check-db.js migrates with DATABASE_URL only (DIRECT_DATABASE_URL came after it). */
const LAST_RELEASE_WITHOUT_DIRECT_URL = "3.1.0";

/** One variable of the container and why it is there. */
export interface HandoffVariable {
  name: string;
  /** `secret`: ECS injects the JSON key `key` of the secret; `value`: a plain value. */
  from: "secret" | "value";
  key?: UrlKey;
  value?: string;
  why: string;
}

/** The whole handoff (no password: the secret is referenced, never read). */
export interface Handoff {
  stage: string;
  secretArn: string;
  secretName: string;
  region: string;
  umamiVersion: string;
  image: { official: string; build: string; dockerfile: string; why: string };
  variables: HandoffVariable[];
  /** The ECS container-definition fragment (register-task-definition's `containerDefinitions[]`). */
  containerDefinition: Record<string, unknown>;
  /** The equivalent `sst.aws.Service` snippet (SST 3, `.sst/platform/src/components/aws/service.ts`). */
  sstService: string;
  /** `missingCa`: what the task logs without the bundle, one line per server behaviour (NODE_PG_MISSING_CA), as Prisma wraps it. */
  tls: { caBundlePath: string; missingCa: Array<{ log: string; code: string; when: string }>; wrongHost: string };
  connections: {
    limit: number;
    formula: string;
    desiredCount: number;
    deployment: { minimumHealthyPercent: number; maximumPercent: number };
  };
  migrations: string[];
  /** What the task's execution role needs beyond SST's defaults. */
  permissions: string[];
  notes: string[];
}

/** `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6>` → region and account; undefined for a name. */
export function parseSecretArn(arn: string): { region: string; account: string } | undefined {
  const m = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):(\d{12}):secret:.+$/.exec(arn);
  return m ? { region: m[1], account: m[2] } : undefined;
}

/** Builds the handoff for `spec` and its secret's ARN. */
export function buildHandoff(
  spec: UmamiDatabaseSpec,
  secretArn: string,
  options: { umamiVersion?: string } = {},
): Handoff {
  const arn = parseSecretArn(secretArn);
  if (!arn) throw new Error(`buildHandoff needs the secret's full ARN (got ${secretArn})`);
  const version = options.umamiVersion ?? spec.umamiVersion;
  const ca = spec.container.caBundlePath;
  const official = officialImage(version);
  const build = `${arn.account}.dkr.ecr.${arn.region}.amazonaws.com/umami:${version}-rds-ca`;
  const dockerfile = [
    `FROM ${official}`,
    "USER root",
    "# node-pg checks sslmode=verify-full against Node's own CA store, which lacks the RDS CAs: NODE_EXTRA_CA_CERTS.",
    `ADD --chmod=644 ${RDS_CA_BUNDLE_URL} ${ca}`,
    "# Prisma's native engine (prisma migrate deploy, if the task ever migrates) checks sslaccept=strict against OpenSSL's store.",
    `RUN cat ${ca} >> /etc/ssl/certs/ca-certificates.crt`,
    "USER nextjs",
    `ENV NODE_EXTRA_CA_CERTS=${ca}`,
  ].join("\n");
  const lifted = `${spec.role.statementTimeoutMs / 1000} s`;
  // The replica pool only where Umami reads through it and the role's limit counted it (the stage's release).
  const withheld = replicaWithheldReason(spec.container.readReplica, version);
  const replicaPool = spec.container.readReplica && !withheld && spec.role.connectionBudget.poolsPerTask > 1;
  const variables: HandoffVariable[] = [
    {
      name: "DATABASE_URL",
      from: "secret",
      key: "DATABASE_URL",
      why: `Umami's runtime pools (node-pg through PrismaPg) and, in ${version}, check-db.js. sslmode=verify-full checks the certificate and host name; the role's statement_timeout (${lifted}) bounds every query.`,
    },
    {
      name: "DIRECT_DATABASE_URL",
      from: "secret",
      key: "DIRECT_DATABASE_URL",
      why: `For migrations: the same URL with options=-c statement_timeout=0, so a long migration on a grown database is not cut off at ${lifted}. Umami's check-db.js reads it only after ${LAST_RELEASE_WITHOUT_DIRECT_URL} (its dev branch); ${version === LAST_RELEASE_WITHOUT_DIRECT_URL ? `${version} ignores it` : "check your release"}.`,
    },
    ...(replicaPool
      ? [
          {
            name: "DATABASE_REPLICA_URL",
            from: "secret" as const,
            key: "DATABASE_REPLICA_URL" as const,
            why: "Umami's read pool on the cluster's reader endpoint (a second pool of 10 per task, counted in the role's limit).",
          },
        ]
      : []),
    {
      name: "SKIP_DB_MIGRATION",
      from: "value",
      value: "1",
      why: `Every start of the image runs \`prisma migrate deploy\` with DATABASE_URL (${version}), inside the role's ${lifted} guard: on a grown database a migration is cancelled (05_add_visit_id after 60.4 s on 3,000,000 events). \`umami-db post-deploy\` migrates instead, without the guard; leave this unset only on a release that migrates with DIRECT_DATABASE_URL, and never during an online upgrade: ${SKIP_DURING_ONLINE}.`,
    },
    {
      name: "NODE_EXTRA_CA_CERTS",
      from: "value",
      value: ca,
      why: `node-pg verifies against Node's CA store, which has no RDS CA: without the bundle every connection fails with ${NODE_PG_MISSING_CA.map((e) => `"${e.message}"`).join(" or ")} (TLS section). The image must hold the bundle at ${ca} (Dockerfile below).`,
    },
  ];
  const secretRef = (key: UrlKey) => `${secretArn}:${key}::`;
  const containerDefinition = {
    name: "umami",
    image: build,
    essential: true,
    portMappings: [{ containerPort: 3000, protocol: "tcp" }],
    environment: variables.filter((v) => v.from === "value").map((v) => ({ name: v.name, value: v.value })),
    secrets: variables.filter((v) => v.from === "secret").map((v) => ({ name: v.name, valueFrom: secretRef(v.key!) })),
    healthCheck: {
      command: ["CMD-SHELL", "curl -fsS http://localhost:3000/api/heartbeat || exit 1"],
      interval: 30,
      timeout: 5,
      retries: 3,
      startPeriod: 60,
    },
  };
  const tasks = spec.container.tasks;
  const sstService = [
    `// Umami ${version} for stage ${spec.stage}: secret ${spec.secretName}`,
    `const umamiSecretArn = "${secretArn}";`,
    `new sst.aws.Service("Umami", {`,
    `  cluster, // an sst.aws.Cluster in the cluster's VPC, with a security group the database admits`,
    `  image: { context: "umami-image" }, // umami-image/Dockerfile: see below (official image + RDS CA bundle)`,
    `  environment: { ${variables
      .filter((v) => v.from === "value")
      .map((v) => `${v.name}: "${v.value}"`)
      .join(", ")} },`,
    `  ssm: {`,
    ...variables.filter((v) => v.from === "secret").map((v) => `    ${v.name}: \`\${umamiSecretArn}:${v.key}::\`,`),
    `  },`,
    `  // umamiTasks is ${tasks}: the role's CONNECTION LIMIT counts exactly that many tasks (× 2 while a deploy rolls).`,
    `  scaling: { min: ${tasks}, max: ${tasks} },`,
    `  health: { command: ["CMD-SHELL", "curl -fsS http://localhost:3000/api/heartbeat || exit 1"], startPeriod: "60 seconds" },`,
    `});`,
  ].join("\n");
  return {
    stage: spec.stage,
    secretArn,
    secretName: spec.secretName,
    region: arn.region,
    umamiVersion: version,
    image: {
      official,
      build,
      dockerfile,
      why: `The release whose migrations \`umami-db post-deploy\` applied (Umami's release workflow tags 3.x releases with the bare version; \`postgresql-v<version>\` was the 2.x naming). The moving tag postgresql-latest would run newer code, and its migrations, against this schema at the next task start.`,
    },
    variables,
    containerDefinition,
    sstService,
    tls: {
      caBundlePath: ca,
      missingCa: NODE_PG_MISSING_CA.map((e) => ({
        log: `${PRISMA_TLS_ERROR_PREFIX}${e.message}`,
        code: e.code,
        when: e.when,
      })),
      wrongHost: `${NODE_PG_WRONG_HOST.messageStart}… (${NODE_PG_WRONG_HOST.code}) — point the URL at the cluster endpoint, never at an IP or a CNAME`,
    },
    connections: {
      limit: spec.role.connectionLimit,
      formula: spec.role.connectionBudget.formula,
      desiredCount: tasks,
      deployment: { minimumHealthyPercent: 100, maximumPercent: 200 },
    },
    migrations: [
      `One migration run per deploy: \`umami-db post-deploy\` (before the new tasks start), never the tasks themselves (SKIP_DB_MIGRATION=1).`,
      `Every task of every revision that does migrate takes the same advisory lock, pg_advisory_lock(${PRISMA_ADVISORY_LOCK_KEY}), shared with every Prisma app in database ${spec.database}: during a rolling deploy they queue behind one another, and each gives up after Prisma's ${PRISMA_LOCK_TIMEOUT_MS / 1000} s — the task then exits and ECS restarts it.`,
      `A task whose image is newer than the migrated release would apply that release's migrations at start; pin ${official} and raise it only together with the migrations.`,
      `An upgrade run online (\`umami-db post-deploy --online\`, docs/upgrades.md) is two runs, and the image rolls between them, not before the first: ${onlineNextSteps(
        "umami-db post-deploy",
      )
        .map((step, i) => `(${i + 1}) ${step}`)
        .join(" ")}`,
    ],
    permissions: [
      `secretsmanager:GetSecretValue on ${secretArn} (SST's execution role grants it on *).`,
      ...(spec.secret.kmsKeyId
        ? [`kms:Decrypt on ${spec.secret.kmsKeyId}, the secret's key (SST's execution role does not grant it).`]
        : []),
    ],
    notes: [
      ...(withheld
        ? [`DATABASE_REPLICA_URL is not given to the task although stage ${spec.stage} has readReplica: ${withheld}`]
        : []),
      ...(spec.container.readReplica && !withheld && !replicaPool
        ? [
            `DATABASE_REPLICA_URL is not given to the task: the role's limit counts no replica pool for stage ${spec.stage}'s umamiVersion; set umamiVersion to ${version} and deploy the stack first.`,
          ]
        : []),
      "ECS reads the secret when a task starts: after a password rotation (passwordGeneration), force a new deployment.",
      "Set APP_SECRET (its own secret): without it Umami derives its signing secret from DATABASE_URL, so a password rotation would log every user out and change visitor session ids.",
      `The image's rolling deploy runs old and new tasks side by side: keep the service's deployment at maximumPercent 200 (ECS's default) or lower; the role's limit (${spec.role.connectionLimit}) assumes at most twice umamiTasks.`,
    ],
  };
}

/**
 * The secret's full ARN — ECS's `valueFrom` with a JSON key needs it: `known` when it is one (SST's outputs),
 * else Secrets Manager's DescribeSecret of `known` or the spec's secret name (metadata only, never the value).
 */
export async function findSecretArn(
  client: () => Promise<SecretsManagerClient>,
  spec: UmamiDatabaseSpec,
  known?: string,
): Promise<string> {
  if (known && parseSecretArn(known)) return known;
  const id = known ?? spec.secretName;
  const found = await inspectStageSecret(await client(), id, spec.stage).catch((error: unknown) => {
    if ((error as { cause?: { name?: string } }).cause?.name !== "CredentialsProviderError") throw error;
    // Only the ARN is needed: name what gives it without AWS.
    throw new UserError(
      `No AWS credentials were found to look up the ARN of secret ${id}. Without AWS, pass --secret-id with the secret's full ARN (arn:aws:secretsmanager:…), ` +
        `or --outputs-file with the outputs of sst deploy --stage ${spec.stage} (they hold secretArn); or configure AWS (AWS_PROFILE, aws sso login, or OIDC in CI).`,
      { cause: error },
    );
  });
  switch (found.state) {
    case "ours":
      if (found.arn) return found.arn;
      break;
    case "absent":
      throw new UserError(
        `Secret ${id} does not exist: deploy stage ${spec.stage} first (sst deploy --stage ${spec.stage}), then run the handoff again.`,
      );
    case "scheduled-for-deletion":
      throw new UserError(
        `Secret ${id} is scheduled for deletion: restore it (aws secretsmanager restore-secret --secret-id ${id}) or redeploy stage ${spec.stage}.`,
      );
    case "foreign":
      throw new UserError(
        `Secret ${id} is not stage ${spec.stage}'s (Environment tag: ${found.environment ?? "none"}): pass --secret-id with this stage's secret, or the right --stage.`,
      );
  }
  throw new UserError(
    `Secrets Manager did not return the ARN of ${id}. Pass --secret-id with the full ARN (sst deploy writes it to .sst/outputs.json).`,
  );
}
