import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { buildCredentialsSecret } from "../../../sst/database/secret.js";
import { writeSecretFile } from "../../../scripts/stage/credentials.js";
import { LINKED_ENV } from "../../../scripts/stage/outputs.js";
import { localSecretPath, resolveStage, type Need } from "../../../scripts/stage/stage.js";
import { readStageInputs, type StageInputName } from "../../../scripts/stage/stage-inputs.js";
import { scratchDir } from "../../support/scratch.js";

const HOST = "app-aurora-dev.cluster-abc.us-east-1.rds.amazonaws.com";
const SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:observability/umami-db-credentials-AbCdEf";
const MASTER_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-0a1b-XyZ123";
const UMAMI_PASSWORD = "umami-Pa55word";
const MASTER_PASSWORD = "master-Pa55word";
const secret = buildCredentialsSecret({
  username: "umami_user",
  password: UMAMI_PASSWORD,
  host: HOST,
  port: 5432,
  database: "app",
  schema: "umami",
});
const outputs = {
  stage: "dev",
  secretArn: SECRET_ARN,
  secretName: "observability/umami-db-credentials",
  host: HOST,
  port: 5432,
  database: "app",
  schema: "umami",
  role: "umami_user",
  masterSecretArn: MASTER_ARN,
};

const sm = mockClient(SecretsManagerClient);
const client = new SecretsManagerClient({ region: "us-east-1" });
afterEach(() => sm.reset());

function project(files: Record<string, unknown> = {}): string {
  const root = scratchDir("umami-stage-");
  mkdirSync(join(root, ".sst"));
  for (const [name, value] of Object.entries(files)) writeFileSync(join(root, name), JSON.stringify(value));
  return root;
}

function stubSecrets() {
  sm.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({
    ARN: SECRET_ARN,
    SecretString: JSON.stringify(secret),
  });
  sm.on(GetSecretValueCommand, { SecretId: MASTER_ARN }).resolves({
    ARN: MASTER_ARN,
    SecretString: JSON.stringify({ username: "postgres", password: MASTER_PASSWORD }),
  });
}

/** A command's inputs: its flags (named as the table names them), the environment, what it connects as. */
type Inputs = Partial<Record<StageInputName, string | number>> & {
  stage?: string;
  env?: Record<string, string>;
  needs?: Need[];
  root?: string;
};

const base = (root: string, extra: Inputs = {}): Inputs => ({ stage: "dev", env: {}, root, ...extra });

/** Resolves as the command context does: flags over the environment by the table, and what `sst shell` linked. */
function resolve({ stage, env = {}, needs, root, ...flags }: Inputs) {
  return resolveStage({
    stage,
    given: readStageInputs(flags, env),
    linked: { resource: env[LINKED_ENV.resource], app: env[LINKED_ENV.app] },
    needs,
    root,
    clients: { secretsManager: client },
  });
}

async function problem(options: Inputs): Promise<string> {
  const error = await resolve(options).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error?.name).toBe("UserError");
  expect(error!.message).not.toContain(UMAMI_PASSWORD);
  expect(error!.message).not.toContain(MASTER_PASSWORD);
  return error!.message;
}

describe("resolveStage", () => {
  it("finds everything from SST's outputs and Secrets Manager", async () => {
    stubSecrets();
    const r = await resolve(base(project({ ".sst/outputs.json": outputs })));
    expect(r.spec.schema).toBe("umami");
    expect(r.umami).toMatchObject({
      host: HOST,
      port: 5432,
      user: "umami_user",
      password: UMAMI_PASSWORD,
      database: "app",
      schema: "umami",
      sslmode: "verify-full",
    });
    expect(r.admin).toMatchObject({
      host: HOST,
      port: 5432,
      user: "postgres",
      password: MASTER_PASSWORD,
      database: "app",
      sslmode: "require",
    });
    expect(r.secretArn).toBe(SECRET_ARN);
    expect(r.source).toEqual({
      outputs: expect.stringContaining("outputs.json"),
      admin: `master secret ${MASTER_ARN}`,
      umami: `Secrets Manager ${SECRET_ARN}`,
    });
  });

  it("reads the linked resource that `sst shell` exposes, and refuses another stage's shell", async () => {
    stubSecrets();
    const env = {
      SST_RESOURCE_UmamiDatabase: JSON.stringify(outputs),
      SST_RESOURCE_App: '{"name": "umami-db", "stage": "dev" }',
    };
    expect((await resolve(base(project(), { env }))).admin.user).toBe("postgres");
    const message = await problem(base(project(), { stage: "pr-42", env }));
    expect(message).toContain("sst shell runs stage dev but --stage is pr-42");
  });

  it("lets flags and environment variables override every source, without calling AWS", async () => {
    const root = project({ ".sst/outputs.json": outputs });
    const r = await resolve(
      base(root, {
        adminUrl: "postgresql://admin:a@db.internal:6432/app",
        env: { UMAMI_DATABASE_URL: "postgresql://umami_user:u@db.internal:6432/app?schema=umami&sslmode=require" },
      }),
    );
    expect(r.admin).toMatchObject({ host: "db.internal", port: 6432, user: "admin", sslmode: "require" });
    expect(r.umami).toMatchObject({ host: "db.internal", user: "umami_user", schema: "umami" });
    expect(r.source.admin).toBe("--admin-url");
    expect(r.source.umami).toBe("UMAMI_DATABASE_URL");
    expect(sm.calls()).toHaveLength(0);
  });

  it("uses a local secret file standing in for Secrets Manager", async () => {
    const root = project();
    const path = localSecretPath("dev", root);
    expect(path).toBe(join(root, ".umami-db", "dev", "credentials.json"));
    writeSecretFile(path, buildCredentialsSecret({ ...secret, host: "127.0.0.1", port: 5544, sslmode: "disable" }));
    const r = await resolve(base(root, { needs: ["umami"], env: { UMAMI_SECRET_FILE: path } }));
    expect(r.umami).toMatchObject({ host: "127.0.0.1", port: 5544, sslmode: "disable", schema: "umami" });
    expect(r.admin).toBeUndefined();
  });

  it("reaches the administrator before the first deploy from the CI's variables (host + master secret)", async () => {
    stubSecrets();
    const env = { UMAMI_DB_HOST: HOST, UMAMI_MASTER_SECRET_ARN: MASTER_ARN, AWS_REGION: "us-east-1" };
    const r = await resolve(base(project(), { needs: ["admin"], env }));
    expect(r.admin).toMatchObject({
      host: HOST,
      port: 5432,
      user: "postgres",
      password: MASTER_PASSWORD,
      database: "app",
      sslmode: "require",
    });
    expect(r.umami).toBeUndefined();
    expect(sm.calls()).toHaveLength(1);
  });

  it("ignores an outputs file written for another stage", async () => {
    const message = await problem(
      base(project({ ".sst/outputs.json": { ...outputs, stage: "pr-42" } }), { needs: ["admin"] }),
    );
    expect(message).toContain("no administrator credentials for stage dev");
    expect(message).toContain("--master-secret-arn");
    // Stage dev's cluster is still sst/stages.ts's example: named as such, never handed to aws as if real.
    expect(message).toContain(
      "sst/stages.ts still names the example cluster app-aurora-dev: set your cluster's identifier there first",
    );
    expect(message).not.toContain("--db-cluster-identifier app-aurora-dev");
    expect(sm.calls()).toHaveLength(0);
  });

  it("reports every problem together before connecting or calling AWS", async () => {
    const root = project({ "bad.json": { stage: "dev", port: "x", host: 5 } });
    const message = await problem(
      base(root, { outputsFile: join(root, "bad.json"), umamiUrl: "mysql://x@y/z", env: { UMAMI_DB_PORT: "0" } }),
    );
    expect(message).toContain('"port" must be a whole number');
    expect(message).toContain('"host" must be a non-empty string');
    expect(message).toContain("umami URL: The database URL must start with postgresql://");
    expect(message).toContain("UMAMI_DB_PORT must be a port number from 1 to 65535 (got 0)");
    expect(message).toContain("no administrator credentials");
    expect(sm.calls()).toHaveLength(0);
    // The flag, when it is the flag that is wrong, is named as the flag.
    expect(await problem(base(root, { port: 99999, env: { UMAMI_DB_PORT: "5432" } }))).toContain(
      "--port must be a port number from 1 to 65535 (got 99999)",
    );
  });

  it("reports both AWS failures together, and a secret made for another stage", async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).rejects(
      new ResourceNotFoundException({
        $metadata: { httpStatusCode: 400 },
        message: "Secrets Manager can't find the specified secret.",
      }),
    );
    sm.on(GetSecretValueCommand, { SecretId: MASTER_ARN }).rejects(
      new SecretsManagerServiceException({
        name: "AccessDeniedException",
        $fault: "client",
        $metadata: { httpStatusCode: 400 },
        message: "not authorized",
      }),
    );
    const message = await problem(base(project({ ".sst/outputs.json": outputs })));
    expect(message).toMatch(/credentials secret .* was not found.*; Access to The master secret .* was denied/);

    sm.reset();
    stubSecrets();
    const pr = { ...outputs, stage: "pr-42", schema: undefined, role: undefined };
    expect(await problem(base(project({ ".sst/outputs.json": pr }), { stage: "pr-42" }))).toContain(
      `is for role umami_user, stage pr-42 uses umami_user_pr_42`,
    );
  });

  it("verifies the server certificate when a CA file is given", async () => {
    const root = project();
    writeFileSync(join(root, "rds-ca.pem"), "-----BEGIN CERTIFICATE-----\n");
    const r = await resolve(
      base(root, { needs: ["admin"], adminUrl: `postgresql://a:b@${HOST}/app`, caFile: join(root, "rds-ca.pem") }),
    );
    expect(r.admin).toMatchObject({ sslmode: "verify-full", caFile: join(root, "rds-ca.pem") });
    expect(
      await problem(
        base(root, { needs: ["admin"], adminUrl: `postgresql://a:b@${HOST}/app`, caFile: join(root, "none.pem") }),
      ),
    ).toContain("CA file");
  });

  it("needs a stage or a URL, and refuses plaintext to a remote host", async () => {
    expect(await problem({ env: {} })).toContain("pass --stage");
    expect(
      await problem({ env: {}, needs: ["admin"], adminUrl: `postgresql://a:b@${HOST}/app?sslmode=disable` }),
    ).toContain("sslmode=disable is refused");
  });
});
