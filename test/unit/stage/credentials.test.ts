import { readFileSync, statSync, writeFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  DecryptionFailure,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { buildCredentialsSecret } from "../../../sst/database/secret.js";
import { UserError } from "../../../scripts/kernel/errors.js";
import { buildSpec } from "../../../sst/database/spec.js";
import { secretFinding } from "../../../scripts/flows/preflight.js";
import {
  parseCredentialsSecret,
  readSecretFile,
  SecretFormatError,
  writeSecretFile,
} from "../../../scripts/stage/credentials.js";
import {
  deleteCredentialsSecret,
  fetchCredentialsSecret,
  fetchMasterCredentials,
  inspectStageSecret,
} from "../../../scripts/stage/secrets-manager.js";
import { scratchDir } from "../../support/scratch.js";

const PASSWORD = "p@ss:w/rd?#Sekr3t";
const ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:observability/umami-db-credentials-AbCdEf";
const MASTER_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-0a1b2c3d-XyZ123";
const valid = buildCredentialsSecret({
  username: "umami_user",
  password: PASSWORD,
  host: "app-aurora-dev.cluster-abc.us-east-1.rds.amazonaws.com",
  port: 5432,
  database: "app",
  schema: "umami",
});
const text = (o: unknown) => JSON.stringify(o);
// One stub per client class and file: a second mockClient() would replace the first one's stub.
const sm = mockClient(SecretsManagerClient);

/** Runs `fn`, expects a UserError, checks the password never leaks, and returns the message. */
async function failure(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    const message = (error as Error).message;
    expect(message).not.toContain(PASSWORD);
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected a UserError");
}

// AWS's documented error shapes (GetSecretValue "Errors"; common errors for the unmodelled ones).
const awsError = (name: string, message: string, status = 400) =>
  new SecretsManagerServiceException({ name, $fault: "client", $metadata: { httpStatusCode: status }, message });
const notFound = () =>
  new ResourceNotFoundException({
    $metadata: { httpStatusCode: 400 },
    message: "Secrets Manager can't find the specified secret.",
  });

describe("parseCredentialsSecret", () => {
  it("accepts the stack's own secret and a numeric-string port", () => {
    expect(parseCredentialsSecret(text(valid), "test")).toEqual(valid);
    expect(parseCredentialsSecret(text({ ...valid, port: "5432" }), "test").port).toBe(5432);
  });

  it("refuses text that is not JSON without quoting it", async () => {
    const message = await failure(() => parseCredentialsSecret(`{"password": "${PASSWORD}", oops}`, "arn:x"));
    expect(message).toMatch(/The credentials secret arn:x is not valid: it is not JSON/);
  });

  it("lists every problem at once: missing keys, wrong types, engine, dbname", async () => {
    const { host: _host, schema: _schema, ...rest } = valid;
    const message = await failure(() =>
      parseCredentialsSecret(
        text({ ...rest, port: "fifty", engine: "mysql", dbname: "other", username: 7 }),
        "file x.json",
      ),
    );
    expect(message).toContain('missing "host", "schema"');
    expect(message).toContain('"username" must be a non-empty string');
    expect(message).toContain('"port" must be a whole number from 1 to 65535');
    expect(message).toContain('"engine" must be "postgres"');
    expect(message).toContain('"dbname" (other) differs from "database" (app)');
    expect(message).toContain("file x.json");
  });

  it("finds a DATABASE_URL inconsistent with the parts, the password included, without printing it", async () => {
    const other = buildCredentialsSecret({
      ...valid,
      password: "different",
      port: 5433,
      schema: "public",
      username: "someone",
    });
    const message = await failure(() =>
      parseCredentialsSecret(text({ ...valid, DATABASE_URL: other.DATABASE_URL }), "s"),
    );
    expect(message).toContain("DATABASE_URL's user (someone) differs");
    expect(message).toContain(`DATABASE_URL's password differs from "password"`);
    expect(message).toContain("DATABASE_URL's port (5433) differs");
    expect(message).toContain("DATABASE_URL's schema (public) differs");
    expect(message).not.toContain("different");
  });

  it("a URL written by hand with the password unencoded: no piece of the password is quoted as its host or user", async () => {
    // "a@Sekr3tTail" unencoded: every parser reads user admin, password "a", host "Sekr3tTail".
    for (const url of [
      "postgresql://admin:a@Sekr3tTail/app?schema=umami",
      "postgresql://a:b@Sekr3tTail:5432/app?schema=umami&sslmode=verify-full",
    ]) {
      const secret = { ...valid, password: "a@Sekr3tTail", DATABASE_URL: url };
      const message = await failure(() => parseCredentialsSecret(text(secret), "s"));
      expect(message).toContain(`DATABASE_URL's host (****) differs from "host"`);
      expect(message).not.toContain("Sekr3tTail");
    }
  });

  it("requires sslmode=verify-full in every URL for a remote host: node-pg and libpq read anything else differently", async () => {
    for (const mode of ["disable", "require", "prefer", "verify-ca"]) {
      const url = valid.DATABASE_URL.replace("sslmode=verify-full", `sslmode=${mode}`);
      expect(await failure(() => parseCredentialsSecret(text({ ...valid, DATABASE_URL: url }), "s"))).toContain(
        `DATABASE_URL must say sslmode=verify-full for app-aurora-dev.cluster-abc.us-east-1.rds.amazonaws.com (found ${mode})`,
      );
    }
    const direct = valid.DIRECT_DATABASE_URL.replace("sslmode=verify-full", "sslmode=require");
    expect(await failure(() => parseCredentialsSecret(text({ ...valid, DIRECT_DATABASE_URL: direct }), "s"))).toContain(
      "DIRECT_DATABASE_URL must say sslmode=verify-full",
    );
  });

  it("requires DIRECT_DATABASE_URL, and that it lifts the statement timeout for migrations", async () => {
    const { DIRECT_DATABASE_URL: _direct, ...old } = valid;
    expect(await failure(() => parseCredentialsSecret(text(old), "s"))).toContain('missing "DIRECT_DATABASE_URL"');
    const message = await failure(() =>
      parseCredentialsSecret(text({ ...valid, DIRECT_DATABASE_URL: valid.DATABASE_URL }), "s"),
    );
    expect(message).toContain("DIRECT_DATABASE_URL must carry options=-c%20statement_timeout%3D0");
  });

  it("names every URL a Secrets Manager rotation left with the old password", async () => {
    const withReplica = buildCredentialsSecret({
      ...valid,
      readerHost: "app-aurora-dev.cluster-ro-abc.us-east-1.rds.amazonaws.com",
    });
    expect(parseCredentialsSecret(text(withReplica), "s")).toEqual(withReplica);
    // What AWS's rotation function writes: a new "password", every other key copied unchanged.
    const message = await failure(() =>
      parseCredentialsSecret(text({ ...withReplica, password: "rotated-by-aws-0123456789" }), "s"),
    );
    for (const key of ["DATABASE_URL", "DIRECT_DATABASE_URL", "DATABASE_REPLICA_URL"])
      expect(message).toContain(`${key}'s password differs from "password"`);
    expect(message).not.toContain("rotated-by-aws");
  });
});

describe("secret files", () => {
  it("writes 0600 in a 0700 directory, atomically, and reads back", () => {
    const dir = join(scratchDir("umami-secret-"), ".umami-db", "dev");
    const path = join(dir, "credentials.json");
    writeSecretFile(path, valid);
    writeSecretFile(path, valid);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir)).toEqual(["credentials.json"]);
    expect(readSecretFile(path)).toEqual(valid);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual(valid);
  });

  it("names a missing or broken file", async () => {
    const dir = scratchDir("umami-secret-");
    expect(await failure(() => readSecretFile(join(dir, "nope.json")))).toMatch(/does not exist.*umami-db local/);
    writeFileSync(join(dir, "bad.json"), text({ ...valid, engine: undefined }));
    expect(() => readSecretFile(join(dir, "bad.json"))).toThrow(SecretFormatError);
  });
});

describe("Secrets Manager", () => {
  const client = new SecretsManagerClient({ region: "us-east-1" });
  const US = { region: "us-east-1" };
  afterEach(() => sm.reset());

  it("returns the validated secret and its ARN", async () => {
    sm.on(GetSecretValueCommand, { SecretId: "observability/umami-db-credentials" }).resolves({
      ARN,
      SecretString: text(valid),
    });
    expect(await fetchCredentialsSecret(client, "observability/umami-db-credentials", US)).toEqual({
      secret: valid,
      arn: ARN,
    });
  });

  it.each([
    ["secret not found", notFound(), /was not found in region us-east-1.*sst deploy/],
    [
      "access denied",
      awsError(
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/ci/gh is not authorized to perform: secretsmanager:GetSecretValue",
      ),
      /denied.*secretsmanager:GetSecretValue/,
    ],
    [
      "KMS decryption failure",
      new DecryptionFailure({
        $metadata: { httpStatusCode: 400 },
        message: "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
      }),
      /kms:Decrypt/,
    ],
    [
      "invalid credentials / region not enabled",
      awsError("UnrecognizedClientException", "The security token included in the request is invalid."),
      /rejected the credentials in region us-east-1/,
    ],
  ])("maps %s to one line with a remedy", async (_label, error, pattern) => {
    sm.on(GetSecretValueCommand).rejects(error);
    expect(await failure(() => fetchCredentialsSecret(client, ARN, { ...US, baseDelayMs: 0 }))).toMatch(pattern);
  });

  it("refuses malformed secret JSON without echoing it", async () => {
    sm.on(GetSecretValueCommand).resolves({ ARN, SecretString: `{"password":"${PASSWORD}"` });
    expect(await failure(() => fetchCredentialsSecret(client, ARN, US))).toContain(
      `${ARN} is not valid: it is not JSON`,
    );
  });

  it("retries throttling, then succeeds", async () => {
    sm.on(GetSecretValueCommand)
      .rejectsOnce(awsError("ThrottlingException", "Rate exceeded"))
      .rejectsOnce(awsError("ThrottlingException", "Rate exceeded"))
      .resolves({ ARN, SecretString: text(valid) });
    expect((await fetchCredentialsSecret(client, ARN, { ...US, baseDelayMs: 0 })).secret).toEqual(valid);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  it("gives up after the attempts when throttling lasts", async () => {
    sm.on(GetSecretValueCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
    expect(await failure(() => fetchCredentialsSecret(client, ARN, { ...US, baseDelayMs: 0, attempts: 3 }))).toMatch(
      /kept throttling/,
    );
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  it("detects a wrong region before calling AWS, and an unreachable regional endpoint", async () => {
    const eu = new SecretsManagerClient({ region: "eu-west-1" });
    const EU = { region: "eu-west-1" };
    expect(await failure(() => fetchCredentialsSecret(eu, ARN, EU))).toMatch(
      /is in region us-east-1, but the client uses eu-west-1.*--region us-east-1/,
    );
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error("getaddrinfo ENOTFOUND secretsmanager.us-east-9.amazonaws.com"), { code: "ENOTFOUND" }),
    );
    expect(await failure(() => fetchCredentialsSecret(client, "observability/umami-db-credentials", US))).toMatch(
      /endpoint in region us-east-1 could not be reached.*--region/,
    );
  });

  it("reads the master secret and names missing keys", async () => {
    sm.on(GetSecretValueCommand, { SecretId: MASTER_ARN }).resolves({
      ARN: MASTER_ARN,
      SecretString: text({ username: "postgres", password: PASSWORD }),
    });
    expect(await fetchMasterCredentials(client, MASTER_ARN, US)).toEqual({ username: "postgres", password: PASSWORD });
    sm.on(GetSecretValueCommand, { SecretId: MASTER_ARN }).resolves({
      ARN: MASTER_ARN,
      SecretString: text({ username: "postgres" }),
    });
    expect(await failure(() => fetchMasterCredentials(client, MASTER_ARN, US))).toContain('lacks "password"');
  });
});

describe("the stage's secret before a deploy and on rollback", () => {
  const client = new SecretsManagerClient({ region: "us-east-1" });
  const NAME = "observability/umami-db-credentials";
  const tags = (environment: string) => [
    { Key: "Project", Value: "UserMetrics" },
    { Key: "Environment", Value: environment },
  ];
  afterEach(() => sm.reset());

  it("tells absent, ours, someone else's and scheduled for deletion apart, with a finding for each", async () => {
    const dev = buildSpec("dev");
    const inspect = async (stub: (m: typeof sm) => void) => {
      sm.reset();
      stub(sm);
      return inspectStageSecret(client, NAME, "dev").catch((e: unknown) => e as Error);
    };
    expect(secretFinding(dev, await inspect((m) => m.on(DescribeSecretCommand).rejects(notFound()))).severity).toBe(
      "ok",
    );
    expect(
      secretFinding(
        dev,
        await inspect((m) => m.on(DescribeSecretCommand).resolves({ ARN, Name: NAME, Tags: tags("dev") })),
      ).severity,
    ).toBe("info");
    // Rotation turned on: refused, the URLs would go stale at the first rotation.
    const rotating = await inspect((m) =>
      m.on(DescribeSecretCommand).resolves({ ARN, Name: NAME, Tags: tags("dev"), RotationEnabled: true }),
    );
    expect(secretFinding(dev, rotating)).toMatchObject({
      severity: "error",
      detail: expect.stringContaining("Secrets Manager rotation turned on"),
      remedy: expect.stringContaining("cancel-rotate-secret"),
    });
    expect(secretFinding(dev, rotating).remedy).toContain("passwordGeneration for stage dev");
    expect(
      secretFinding(
        dev,
        await inspect((m) => m.on(DescribeSecretCommand).resolves({ ARN, Name: NAME, Tags: tags("production") })),
      ),
    ).toMatchObject({
      severity: "error",
      detail: expect.stringContaining("Environment tag: production"),
    });
    const scheduled = await inspect((m) =>
      m
        .on(DescribeSecretCommand)
        .resolves({ ARN, Name: NAME, Tags: tags("dev"), DeletedDate: new Date("2026-11-20T00:00:00Z") }),
    );
    expect(secretFinding(dev, scheduled)).toMatchObject({
      severity: "error",
      remedy: expect.stringContaining("restore-secret"),
    });
    const denied = await inspect((m) =>
      m.on(DescribeSecretCommand).rejects(awsError("AccessDeniedException", "not authorized")),
    );
    expect(denied).toBeInstanceOf(UserError);
    expect(secretFinding(dev, denied).severity).toBe("warning");
  });

  it("deletes without recovery for a throw-away stage, with a window for a protected one, and is idempotent", async () => {
    sm.on(DescribeSecretCommand)
      .resolvesOnce({ ARN, Name: NAME })
      .resolvesOnce({ ARN, Name: NAME, DeletedDate: new Date() });
    sm.on(DeleteSecretCommand).resolves({ ARN, Name: NAME });
    expect(await deleteCredentialsSecret(client, NAME)).toBe("deleted");
    expect(sm.commandCalls(DeleteSecretCommand)[0].args[0].input).toEqual({
      SecretId: NAME,
      ForceDeleteWithoutRecovery: true,
    });

    sm.reset();
    sm.on(DescribeSecretCommand)
      .resolvesOnce({ ARN, Name: NAME })
      .resolvesOnce({ ARN, Name: NAME, DeletedDate: new Date() });
    sm.on(DeleteSecretCommand).resolves({ ARN, Name: NAME });
    expect(await deleteCredentialsSecret(client, NAME, { recoveryWindowDays: 30 })).toBe("deleted");
    expect(sm.commandCalls(DeleteSecretCommand)[0].args[0].input).toEqual({ SecretId: NAME, RecoveryWindowInDays: 30 });

    sm.reset();
    sm.on(DescribeSecretCommand).rejects(notFound());
    expect(await deleteCredentialsSecret(client, NAME)).toBe("absent");
    expect(sm.commandCalls(DeleteSecretCommand)).toHaveLength(0);
  });
});
