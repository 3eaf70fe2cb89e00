/**
 * The UmamiDatabase component under Pulumi mocks: every resource, its names per stage, secrets, tags, the
 * grant chain, deletion options and protection. `setMocks` is process-global, so the stacks are evaluated
 * one after the other in `beforeAll` and the tests read the recordings.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSpec, type UmamiDatabaseSpec } from "../../../sst/database/spec.js";
import { SECRET_KEYS } from "../../../sst/database/secret.js";
import { parseMasterSecret } from "../../../sst/database/cluster.js";
import { credentialsSecretString } from "../../../sst/database/umami.js";
import { scramVerifier } from "../../../sst/database/scram.js";
import { PASSWORD_POLICY } from "../../../sst/database/spec.js";
import { UserError } from "../../../sst/errors.js";
import { REQUIRED_TAG_KEYS, stackTags } from "../../../sst/observability/tags.js";
import { stageSettings } from "../../../sst/stages.js";
import {
  MOCK_MASTER_PASSWORD,
  MOCK_MASTER_USERNAME,
  mockCluster,
  type EvaluatedResource,
  type EvaluatedStack,
} from "../../../scripts/plan/mock-stack.js";
import { evaluateUmamiDatabase, type UmamiDatabaseOutputs } from "../../../scripts/plan/plan.js";

type Stack = EvaluatedStack<UmamiDatabaseOutputs>;

const TYPES = {
  provider: "pulumi:providers:postgresql",
  password: "random:index/randomPassword:RandomPassword",
  role: "postgresql:index/role:Role",
  schema: "postgresql:index/schema:Schema",
  extension: "postgresql:index/extension:Extension",
  grant: "postgresql:index/grant:Grant",
  defaultPrivileges: "postgresql:index/defaultPrivileges:DefaultPrivileges",
  secret: "aws:secretsmanager/secret:Secret",
  secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
};

/** AWS resources that have no tags in AWS itself (a secret's versions are tagged through the secret). */
const NOT_TAGGABLE = new Set([TYPES.secretVersion]);

const GRANT_CHAIN = [
  "UmamiGrantDatabase",
  "UmamiGrantSchema",
  "UmamiGrantTables",
  "UmamiGrantSequences",
  "UmamiDefaultTables",
  "UmamiDefaultSequences",
];

const specs: Record<string, UmamiDatabaseSpec> = {
  dev: buildSpec("dev"),
  "pr-42": buildSpec("pr-42"),
  production: buildSpec("production"),
  pgcryptoPresent: buildSpec("dev", { ...stageSettings("dev"), pgcryptoAlreadyInstalled: true }),
  verified: buildSpec("dev", { ...stageSettings("dev"), caBundleFile: "/etc/ssl/rds-global-bundle.pem" }),
  replica: buildSpec("dev", { ...stageSettings("dev"), readReplica: true, umamiTasks: 3 }),
  rotated: buildSpec("dev", { ...stageSettings("dev"), passwordGeneration: 2 }),
  ownSecret: buildSpec("dev", {
    ...stageSettings("dev"),
    masterSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/master-Xy12Zz",
    kmsKeyId: "alias/umami",
  }),
};
const stacks: Record<string, Stack> = {};

beforeAll(async () => {
  for (const [key, spec] of Object.entries(specs)) stacks[key] = await evaluateUmamiDatabase(spec);
}, 120_000);

function find(stack: Stack, name: string): EvaluatedResource {
  const resource = stack.resources.find((r) => r.name === name);
  if (!resource) throw new Error(`no resource ${name}; have ${stack.resources.map((r) => r.name).join(", ")}`);
  return resource;
}

describe("resources", () => {
  it("creates exactly the provider, password, role, schema, pgcrypto, six grants and the secret", () => {
    expect(stacks.dev.resources.filter((r) => r.custom).map((r) => [r.type, r.name])).toEqual([
      [TYPES.provider, "UmamiProvider"],
      [TYPES.password, "UmamiPassword"],
      ["random:index/randomBytes:RandomBytes", "UmamiPasswordSalt"],
      [TYPES.role, "UmamiRole"],
      [TYPES.schema, "UmamiSchema"],
      [TYPES.extension, "UmamiPgcrypto"],
      [TYPES.grant, "UmamiGrantDatabase"],
      [TYPES.grant, "UmamiGrantSchema"],
      [TYPES.grant, "UmamiGrantTables"],
      [TYPES.grant, "UmamiGrantSequences"],
      [TYPES.defaultPrivileges, "UmamiDefaultTables"],
      [TYPES.defaultPrivileges, "UmamiDefaultSequences"],
      [TYPES.secret, "UmamiSecret"],
      [TYPES.secretVersion, "UmamiSecretVersion"],
    ]);
    expect(stacks.dev.resources[0]).toMatchObject({
      type: "umami:database:UmamiDatabase",
      name: "Umami",
      custom: false,
    });
  });

  it("uses the story's names for dev", () => {
    const dev = stacks.dev;
    expect(find(dev, "UmamiRole").inputs.name).toBe("umami_user");
    expect(find(dev, "UmamiSchema").inputs.name).toBe("umami");
    expect(find(dev, "UmamiSecret").inputs.name).toBe("observability/umami-db-credentials");
    expect(dev.outputs).toEqual({
      secretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:observability/umami-db-credentials-AbCdEf",
      secretName: "observability/umami-db-credentials",
      schema: "umami",
      role: "umami_user",
      host: mockCluster(specs.dev).endpoint,
      port: 5432,
      database: "app",
    });
  });

  it("derives names from the stage for pr-42, everywhere the name appears", () => {
    const pr = stacks["pr-42"];
    expect(pr.outputs).toMatchObject({
      schema: "umami_pr_42",
      role: "umami_user_pr_42",
      secretName: "observability/pr-42/umami-db-credentials",
    });
    for (const name of GRANT_CHAIN) expect(find(pr, name).inputs.role).toBe("umami_user_pr_42");
    for (const name of GRANT_CHAIN.slice(1)) expect(find(pr, name).inputs.schema).toBe("umami_pr_42");
    expect(find(pr, "UmamiRole").inputs.searchPaths).toEqual(["umami_pr_42"]);
    // A database holds one pgcrypto (dev's): declaring it again would adopt dev's and drop it on removal.
    expect(pr.resources.filter((r) => r.type === TYPES.extension)).toEqual([]);
    expect(find(stacks.dev, "UmamiPgcrypto").inputs.schema).toBe("umami");
    // Outside the tags (Application=umami), no input may carry one of dev's names.
    const inputs = pr.resources.map((r) => ({ ...r.inputs, tags: undefined }));
    expect(JSON.stringify(inputs)).not.toMatch(/"umami_user"|"umami"|observability\/umami-db-credentials/);
  });

  it("connects to the looked-up cluster as its master user, with TLS and without superuser paths", () => {
    expect(stacks.dev.calls.find((c) => c.token === "aws:rds/getCluster:getCluster")?.inputs).toEqual({
      clusterIdentifier: "app-aurora-dev",
      region: "us-east-1",
    });
    const provider = find(stacks.dev, "UmamiProvider");
    expect(provider.inputs).toMatchObject({
      host: mockCluster(specs.dev).endpoint,
      port: "5432",
      username: MOCK_MASTER_USERNAME,
      database: "app",
      sslmode: "require",
      superuser: "false",
    });
    expect(provider.secretInputs).toEqual(["password"]);
    expect(provider.inputs.password).toBe(MOCK_MASTER_PASSWORD);
    expect(provider.inputs.sslrootcert).toBeUndefined();
    // With a CA bundle the provider verifies the cluster's certificate and host name.
    expect(find(stacks.verified, "UmamiProvider").inputs).toMatchObject({
      sslmode: "verify-full",
      sslrootcert: "/etc/ssl/rds-global-bundle.pem",
    });
  });

  it("reads the master password from the RDS-managed secret, or from masterSecretArn when set", () => {
    const secretArnRead = (stack: Stack) =>
      stack.calls
        .filter((c) => c.token === "aws:secretsmanager/getSecretVersion:getSecretVersion")
        .map((c) => c.inputs.secretId);
    expect(secretArnRead(stacks.dev)).toEqual([mockCluster(specs.dev).masterUserSecrets[0].secretArn]);
    expect(secretArnRead(stacks.ownSecret)).toEqual([specs.ownSecret.cluster.masterSecretArn]);
    expect(find(stacks.ownSecret, "UmamiSecret").inputs.kmsKeyId).toBe("alias/umami");
    expect(find(stacks.dev, "UmamiSecret").inputs.kmsKeyId).toBeUndefined();
  });

  it("gives the role the spec's attributes, limits and timeouts", () => {
    const r = specs.dev.role;
    expect(find(stacks.dev, "UmamiRole").inputs).toMatchObject({
      login: true,
      superuser: false,
      createDatabase: false,
      createRole: false,
      replication: false,
      bypassRowLevelSecurity: false,
      connectionLimit: r.connectionLimit,
      searchPaths: [...r.searchPath],
      statementTimeout: r.statementTimeoutMs,
      idleInTransactionSessionTimeout: r.idleInTransactionTimeoutMs,
    });
  });

  it("grants exactly the spec's privileges, schema owned by the administrator", () => {
    const p = specs.dev.privileges;
    const privileges = (name: string) => find(stacks.dev, name).inputs.privileges;
    expect(privileges("UmamiGrantDatabase")).toEqual(p.database);
    expect(privileges("UmamiGrantSchema")).toEqual(p.schema);
    expect(privileges("UmamiGrantTables")).toEqual(p.tables);
    expect(privileges("UmamiGrantSequences")).toEqual(p.sequences);
    expect(privileges("UmamiDefaultTables")).toEqual(p.defaultPrivileges.tables);
    expect(privileges("UmamiDefaultSequences")).toEqual(p.defaultPrivileges.sequences);
    expect(find(stacks.dev, "UmamiSchema").inputs.owner).toBe(MOCK_MASTER_USERNAME);
    expect(find(stacks.dev, "UmamiDefaultTables").inputs.owner).toBe(MOCK_MASTER_USERNAME);
  });

  it("creates pgcrypto in the Umami schema only when the database lacks it", () => {
    expect(find(stacks.dev, "UmamiPgcrypto").inputs).toMatchObject({
      name: "pgcrypto",
      schema: "umami",
      database: "app",
    });
    expect(stacks.pgcryptoPresent.resources.some((r) => r.type === TYPES.extension)).toBe(false);
    expect(find(stacks.pgcryptoPresent, "UmamiGrantDatabase").dependsOn).toEqual(["UmamiSchema"]);
  });
});

describe("secrets", () => {
  it("generates a long password from a URL-safe alphabet", () => {
    expect(PASSWORD_POLICY.length).toBeGreaterThanOrEqual(32);
    expect(find(stacks.dev, "UmamiPassword").inputs).toMatchObject({
      length: PASSWORD_POLICY.length,
      special: true,
      overrideSpecial: "-_",
    });
  });

  it("passes the passwords and the secret string as Pulumi secrets", () => {
    expect(find(stacks.dev, "UmamiRole").secretInputs).toEqual(["password"]);
    expect(find(stacks.dev, "UmamiSecretVersion").secretInputs).toEqual(["secretString"]);
    expect(find(stacks.dev, "UmamiProvider").secretInputs).toEqual(["password"]);
  });

  it("marks the secret string secret itself, even when the password was not marked", async () => {
    // Measured: under mocks RandomPassword.result is not secret; the generated SDKs of Role and
    // SecretVersion mark those inputs, but the component must not depend on that.
    const plain = pulumi.output("plain-password");
    expect(await pulumi.isSecret(plain)).toBe(false);
    expect(await pulumi.isSecret(credentialsSecretString(specs.dev, plain, "h", 5432))).toBe(true);
  });

  it("gives the role the SCRAM verifier of the secret's password, never the password itself", () => {
    const password = JSON.parse(String(find(stacks.dev, "UmamiSecretVersion").inputs.secretString)).password as string;
    const verifier = String(find(stacks.dev, "UmamiRole").inputs.password);
    expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
    const salt = Buffer.from(verifier.split("$")[1].split(":")[1], "base64");
    expect(scramVerifier(password, salt)).toBe(verifier);
    expect(verifier).not.toContain(password);
  });

  it("stores the story's keys plus engine, dbname and the URLs Umami reads, with the role's password unescaped", () => {
    const secret = JSON.parse(String(find(stacks.dev, "UmamiSecretVersion").inputs.secretString));
    const password = String(secret.password);
    expect(password).toHaveLength(40);
    expect(Object.keys(secret)).toEqual([...SECRET_KEYS]);
    expect(secret).toMatchObject({
      username: "umami_user",
      password,
      port: 5432,
      database: "app",
      schema: "umami",
      engine: "postgres",
      dbname: "app",
    });
    expect(encodeURIComponent(password)).toBe(password);
    const base = `postgresql://umami_user:${password}@${mockCluster(specs.dev).endpoint}:5432/app?schema=umami&sslmode=verify-full&sslaccept=strict`;
    expect(secret.DATABASE_URL).toBe(base);
    expect(secret.DIRECT_DATABASE_URL).toBe(`${base}&options=-c%20statement_timeout%3D0`);
    expect(secret.DATABASE_REPLICA_URL).toBeUndefined();
  });

  it("adds DATABASE_REPLICA_URL on the cluster's reader endpoint for a stage with readReplica", () => {
    const secret = JSON.parse(String(find(stacks.replica, "UmamiSecretVersion").inputs.secretString));
    expect(secret.DATABASE_REPLICA_URL).toBe(
      `postgresql://umami_user:${secret.password}@${mockCluster(specs.replica).readerEndpoint}:5432/app?schema=umami&sslmode=verify-full&sslaccept=strict`,
    );
    // The secret carries the key, but Umami 3.1.0's task never gets it (its writes would go to the reader):
    // the limit counts the one pool each task opens.
    expect(find(stacks.replica, "UmamiRole").inputs.connectionLimit).toBe(10 * 1 * 3 * 2 + 2);
  });

  it("never puts a password into the stack's outputs or any non-secret input", () => {
    const password = JSON.parse(String(find(stacks.dev, "UmamiSecretVersion").inputs.secretString)).password as string;
    expect(JSON.stringify(stacks.dev.outputs)).not.toContain(password);
    for (const resource of stacks.dev.resources) {
      const plain = Object.entries(resource.inputs).filter(([key]) => !resource.secretInputs.includes(key));
      const text = JSON.stringify(plain);
      expect(text, resource.name).not.toContain(password);
      expect(text, resource.name).not.toContain(MOCK_MASTER_PASSWORD);
    }
  });

  it("refuses a malformed master secret without echoing its content", () => {
    const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:x";
    expect(() => parseMasterSecret('{"user":"a","pass":"hunter2-secret"}', arn)).toThrow(UserError);
    expect(() => parseMasterSecret("not json hunter2-secret", arn)).toThrow(/^Master secret arn:.* is not JSON/);
    try {
      parseMasterSecret('{"password": 7, "note": "hunter2-secret"}', arn);
    } catch (error) {
      expect((error as Error).message).not.toContain("hunter2");
    }
    expect(parseMasterSecret('{"username":"admin","password":"pw"}', arn)).toEqual({
      username: "admin",
      password: "pw",
    });
  });
});

describe("tags", () => {
  it("tags every taggable AWS resource with the stack's schema", () => {
    for (const stage of ["dev", "pr-42"]) {
      const aws = stacks[stage].resources.filter((r) => r.type.startsWith("aws:") && !NOT_TAGGABLE.has(r.type));
      expect(aws.length).toBeGreaterThan(0);
      for (const resource of aws) {
        expect(resource.inputs.tags, resource.name).toMatchObject({
          Project: "UserMetrics",
          Component: "Database",
          Environment: stage,
          Application: "umami",
          ManagedBy: "sst",
        });
      }
    }
  });
});

describe("ordering and removal", () => {
  it("chains the grants so no two run on the role at once", () => {
    const grants = stacks.dev.resources.filter((r) => r.type === TYPES.grant || r.type === TYPES.defaultPrivileges);
    expect(grants.map((g) => g.name)).toEqual(GRANT_CHAIN);
    expect(find(stacks.dev, GRANT_CHAIN[0]).dependsOn).toEqual(["UmamiPgcrypto"]);
    GRANT_CHAIN.slice(1).forEach((name, i) => expect(find(stacks.dev, name).dependsOn).toEqual([GRANT_CHAIN[i]]));
    expect(find(stacks.dev, "UmamiSecretVersion").dependsOn).toEqual([GRANT_CHAIN.at(-1)]);
  });

  it("orders role → schema → pgcrypto, so removal drops the schema before the role", () => {
    expect(find(stacks.dev, "UmamiSchema").dependsOn).toEqual(["UmamiRole"]);
    expect(find(stacks.dev, "UmamiPgcrypto").dependsOn).toEqual(["UmamiSchema"]);
    for (const r of stacks.dev.resources.filter((x) => x.type.startsWith("postgresql:")))
      expect(r.provider, r.name).toBe("UmamiProvider");
  });

  it("sets the deletion options that make `sst remove` end like `umami-db rollback`", () => {
    expect(find(stacks.dev, "UmamiSchema").inputs).toMatchObject({ dropCascade: true, ifNotExists: false });
    expect(find(stacks.dev, "UmamiRole").inputs).toMatchObject({ skipReassignOwned: false, skipDropRole: false });
    expect(find(stacks.dev, "UmamiPgcrypto").inputs).toMatchObject({ dropCascade: true });
    expect(find(stacks.dev, "UmamiSecret").inputs.recoveryWindowInDays).toBe(0);
  });

  it("retains and protects everything in a protected stage but the password, nothing elsewhere", () => {
    const children = (stack: Stack) => stack.resources.filter((r) => r.custom && r.type !== TYPES.provider);
    // The password lives only in Pulumi's state; protecting it would refuse the replacement that rotates it.
    for (const r of children(stacks.production))
      expect([r.name, r.protect, r.retainOnDelete]).toEqual([r.name, r.name !== "UmamiPassword", true]);
    for (const r of children(stacks.dev)) expect([r.name, r.protect, r.retainOnDelete]).toEqual([r.name, false, false]);
    expect(find(stacks.production, "UmamiSecret").inputs.recoveryWindowInDays).toBe(30);
  });
});

describe("replacements and rotation", () => {
  it("replaces grants and default privileges delete-first, so the replacement is not revoked with the old one", () => {
    // pulumi-postgresql issue 233: create-then-delete grants the new one, then the old one's delete REVOKEs it.
    for (const stage of ["dev", "production"]) {
      for (const name of GRANT_CHAIN)
        expect([stage, name, find(stacks[stage], name).deleteBeforeReplace]).toEqual([stage, name, true]);
    }
    // Nothing else needs it: the role and the schema are renamed in place, the secret is updated in place.
    const others = stacks.dev.resources.filter((r) => r.custom && !GRANT_CHAIN.includes(r.name));
    expect(others.filter((r) => r.deleteBeforeReplace).map((r) => r.name)).toEqual([]);
  });

  it("rotates only through passwordGeneration: a keeper on the password, none until the setting is used", () => {
    // No keepers at all by default: a stack deployed before the setting existed keeps its password.
    expect(find(stacks.dev, "UmamiPassword").inputs.keepers).toBeUndefined();
    expect(find(stacks.rotated, "UmamiPassword").inputs.keepers).toEqual({ passwordGeneration: "2" });
    // The role's verifier and every URL of the secret come from that one password, so they move together.
    const secret = JSON.parse(String(find(stacks.rotated, "UmamiSecretVersion").inputs.secretString));
    const verifier = String(find(stacks.rotated, "UmamiRole").inputs.password);
    expect(scramVerifier(secret.password, Buffer.from(verifier.split("$")[1].split(":")[1], "base64"))).toBe(verifier);
    for (const key of ["DATABASE_URL", "DIRECT_DATABASE_URL"])
      expect(decodeURIComponent(new URL(secret[key]).password)).toBe(secret.password);
    // Secrets Manager's rotation is never configured by the stack (preflight refuses it when turned on).
    expect(stacks.dev.resources.some((r) => /rotation/i.test(r.type))).toBe(false);
    expect(String(find(stacks.dev, "UmamiSecret").inputs.description)).toContain("Do not turn on rotation");
  });
});

describe("stackTags", () => {
  it("sets the schema's keys and lets a stage add, but never replace, them", () => {
    const tags = stackTags(
      "pr-42",
      { Owner: "data-team" },
      { ...stageSettings("dev"), tags: { CostCenter: "analytics", Environment: "prod", Team: "web" } },
    );
    expect(tags).toEqual({
      Project: "UserMetrics",
      Component: "Database",
      Environment: "pr-42",
      Application: "umami",
      ManagedBy: "sst",
      Repository: "umami-aurora-schema",
      CostCenter: "analytics",
      Owner: "data-team",
      Team: "web",
    });
    for (const key of REQUIRED_TAG_KEYS) expect(tags[key]).toBeDefined();
    expect(stackTags("dev").CostCenter).toBe("observability");
  });
});
