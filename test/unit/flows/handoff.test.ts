/**
 * The handoff: the container's secrets by JSON key, the variables and why, the image Umami's
 * release workflow really publishes, figures from the one declaration, and the secret's ARN from the outputs
 * or from Secrets Manager (aws-sdk-client-mock). Its `sst.aws.Service` snippet is type-checked against SST's
 * Service types in test/unit/sst/sst-typecheck.test.ts; the CLI is run in handoff-command.test.ts.
 */
import {
  DescribeSecretCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { buildSpec } from "../../../sst/database/spec.js";
import { NODE_PG_MISSING_CA, SECRET_KEYS } from "../../../sst/database/secret.js";
import { stageSettings } from "../../../sst/stages.js";
import { buildHandoff, findSecretArn, parseSecretArn } from "../../../scripts/flows/handoff.js";
import { officialImage } from "../../../scripts/migrate/docker-engine.js";
import { renderHandoffMarkdown } from "../../../scripts/flows/handoff-report.js";
import { UserError } from "../../../scripts/kernel/errors.js";
import { onlineNextSteps, SKIP_DURING_ONLINE } from "../../../scripts/migrate/online/report.js";

const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:observability/umami-db-credentials-AbCdEf";
const dev = buildSpec("dev");
const sm = mockClient(SecretsManagerClient);
const client = () => Promise.resolve(new SecretsManagerClient({ region: "eu-west-1" }));
afterEach(() => sm.reset());

describe("buildHandoff", () => {
  it("injects the runtime and migration URLs by JSON key of the secret's full ARN", () => {
    const h = buildHandoff(dev, ARN);
    expect(h.containerDefinition.secrets).toEqual([
      { name: "DATABASE_URL", valueFrom: `${ARN}:DATABASE_URL::` },
      { name: "DIRECT_DATABASE_URL", valueFrom: `${ARN}:DIRECT_DATABASE_URL::` },
    ]);
    // Every key a task reads is one the secret really has.
    for (const v of h.variables.filter((x) => x.from === "secret"))
      expect(SECRET_KEYS as readonly string[]).toContain(v.key);
    expect(h.containerDefinition.environment).toEqual([
      { name: "SKIP_DB_MIGRATION", value: "1" },
      { name: "NODE_EXTRA_CA_CERTS", value: "/etc/ssl/certs/rds-global-bundle.pem" },
    ]);
    expect(h.region).toBe("eu-west-1");
  });

  it("says why each variable is there, with the failure it prevents", () => {
    const why = Object.fromEntries(buildHandoff(dev, ARN).variables.map((v) => [v.name, v.why]));
    expect(why.SKIP_DB_MIGRATION).toContain("05_add_visit_id after 60.4 s");
    for (const e of NODE_PG_MISSING_CA) expect(why.NODE_EXTRA_CA_CERTS).toContain(e.message);
    expect(why.DIRECT_DATABASE_URL).toContain("statement_timeout=0");
    expect(why.DATABASE_URL).toContain("60 s");
  });

  it("predicts what the task logs without the CA bundle, for each way a server sends its certificate", () => {
    const h = buildHandoff(dev, ARN);
    expect(h.tls.missingCa.map((m) => [m.code, m.log])).toEqual([
      ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "Error opening a TLS connection: unable to verify the first certificate"],
      ["SELF_SIGNED_CERT_IN_CHAIN", "Error opening a TLS connection: self-signed certificate in certificate chain"],
      ["UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "Error opening a TLS connection: unable to get local issuer certificate"],
    ]);
    const md = renderHandoffMarkdown(h);
    expect(md).toContain(
      "  - `Error opening a TLS connection: self-signed certificate in certificate chain` (SELF_SIGNED_CERT_IN_CHAIN): the server sends its chain up to the root (RDS, as reported)",
    );
  });

  it("gives Umami 3.x no DATABASE_REPLICA_URL on a readReplica stage, says why in one line, and counts one pool", () => {
    const spec = buildSpec("dev", { ...stageSettings("dev"), readReplica: true, umamiTasks: 3 });
    const h = buildHandoff(spec, ARN);
    expect(h.variables.map((v) => v.name)).not.toContain("DATABASE_REPLICA_URL");
    expect(h.containerDefinition.secrets).toEqual([
      { name: "DATABASE_URL", valueFrom: `${ARN}:DATABASE_URL::` },
      { name: "DIRECT_DATABASE_URL", valueFrom: `${ARN}:DIRECT_DATABASE_URL::` },
    ]);
    expect(h.sstService).not.toContain("DATABASE_REPLICA_URL");
    const why = h.notes.filter((n) => n.includes("DATABASE_REPLICA_URL"));
    expect(why).toHaveLength(1);
    expect(why[0]).not.toContain("\n");
    expect(why[0]).toMatch(
      /^DATABASE_REPLICA_URL is not given to the task although stage dev has readReplica: Umami 3\.1\.0 would send its writes to the reader \(src\/lib\/prisma\.ts's rawQuery .*createSession\.ts.* raw INSERT; the reader answers "cannot execute INSERT in a read-only transaction"\)/,
    );
    expect(renderHandoffMarkdown(h)).toContain(`- ${why[0]}`);
    expect(h.connections).toMatchObject({
      limit: 62,
      formula:
        "10 per pool × 1 pool per task (no replica pool: Umami 3.1.0 gets no DATABASE_REPLICA_URL) × 3 tasks × 2 (rolling deploy) + 2 (post-deploy) = 62",
    });
    // No line about the replica for a stage without one.
    expect(buildHandoff(dev, ARN).notes.some((n) => n.includes("DATABASE_REPLICA_URL"))).toBe(false);
  });

  it("adds the replica pool, the task count and the KMS permission when the stage has them", () => {
    // Umami 2.18–2.x reads through the replica and writes to the primary.
    const spec = buildSpec("dev", {
      ...stageSettings("dev"),
      readReplica: true,
      umamiTasks: 3,
      kmsKeyId: "alias/umami",
      umamiVersion: "2.20.0",
    });
    const h = buildHandoff(spec, ARN, { umamiVersion: "2.20.0" });
    expect(h.containerDefinition.secrets).toContainEqual({
      name: "DATABASE_REPLICA_URL",
      valueFrom: `${ARN}:DATABASE_REPLICA_URL::`,
    });
    expect(h.connections).toEqual({
      limit: 122,
      formula: "10 per pool × 2 pools per task × 3 tasks × 2 (rolling deploy) + 2 (post-deploy) = 122",
      desiredCount: 3,
      deployment: { minimumHealthyPercent: 100, maximumPercent: 200 },
    });
    expect(h.sstService).toContain("scaling: { min: 3, max: 3 }");
    expect(h.permissions).toContain(
      "kms:Decrypt on alias/umami, the secret's key (SST's execution role does not grant it).",
    );
    expect(buildHandoff(dev, ARN).permissions.some((p) => p.startsWith("kms:"))).toBe(false);
  });

  it("pins the image Umami's release workflow publishes for the migrated release, with the CA bundle built in", () => {
    // cd.yml from v3.0.3 on: the bare version (plus 3.1, 3, postgresql-latest); v2.x: postgresql-v<version>.
    expect(officialImage("3.1.0")).toBe("ghcr.io/umami-software/umami:3.1.0");
    expect(officialImage("2.10.0")).toBe("ghcr.io/umami-software/umami:postgresql-v2.10.0");
    const h = buildHandoff(dev, ARN);
    expect(h.image.dockerfile.split("\n")[0]).toBe("FROM ghcr.io/umami-software/umami:3.1.0");
    expect(h.image.dockerfile).toContain(
      "ADD --chmod=644 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem /etc/ssl/certs/rds-global-bundle.pem",
    );
    expect(h.containerDefinition.image).toBe("123456789012.dkr.ecr.eu-west-1.amazonaws.com/umami:3.1.0-rds-ca");
    expect(buildHandoff(dev, ARN, { umamiVersion: "3.2.0" }).image.official).toBe("ghcr.io/umami-software/umami:3.2.0");
  });

  it("explains the one migration run per deploy and Prisma's shared lock", () => {
    const text = buildHandoff(dev, ARN).migrations.join(" ");
    expect(text).toContain("pg_advisory_lock(72707369)");
    expect(text).toContain("SKIP_DB_MIGRATION=1");
    expect(text).toContain("10 s");
  });

  it("renders Markdown with every part, and as report.md's section at level 2", () => {
    const md = renderHandoffMarkdown(buildHandoff(dev, ARN));
    for (const heading of [
      "# Handoff for Story 4.1",
      "## Environment variables",
      "## Image",
      "## ECS container definition (fragment)",
      "## The same with `sst.aws.Service`",
      "## TLS",
      "## Connections",
      "## Migrations",
    ]) {
      expect(md.split("\n")).toContain(
        heading.startsWith("# ") ? `${heading} — Umami 3.1.0 on ECS, stage \`dev\`` : heading,
      );
    }
    expect(md).toContain(`"valueFrom": "${ARN}:DATABASE_URL::"`);
    expect(renderHandoffMarkdown(buildHandoff(dev, ARN), 2).startsWith("## Handoff for Story 4.1")).toBe(true);
  });

  it("refuses a secret name where ECS needs the full ARN", () => {
    expect(parseSecretArn("observability/umami-db-credentials")).toBeUndefined();
    expect(() => buildHandoff(dev, "observability/umami-db-credentials")).toThrow(/full ARN/);
  });
});

describe("findSecretArn", () => {
  const tags = (stage: string) => [
    { Key: "Project", Value: "UserMetrics" },
    { Key: "Environment", Value: stage },
  ];

  it("takes the ARN SST's outputs hold without asking AWS", async () => {
    expect(await findSecretArn(client, dev, ARN)).toBe(ARN);
    expect(sm.commandCalls(DescribeSecretCommand)).toHaveLength(0);
  });

  it("asks Secrets Manager (DescribeSecret, never the value) for the stage's secret name", async () => {
    sm.on(DescribeSecretCommand).resolves({ ARN, Name: dev.secretName, Tags: tags("dev") });
    expect(await findSecretArn(client, dev)).toBe(ARN);
    expect(sm.commandCalls(DescribeSecretCommand)[0].args[0].input).toEqual({
      SecretId: "observability/umami-db-credentials",
    });
  });

  it("says what to do when the secret is missing or another stage's", async () => {
    sm.on(DescribeSecretCommand).rejects(new ResourceNotFoundException({ $metadata: {}, message: "not found" }));
    await expect(findSecretArn(client, dev)).rejects.toThrow(
      new UserError(
        "Secret observability/umami-db-credentials does not exist: deploy stage dev first (sst deploy --stage dev), then run the handoff again.",
      ),
    );
    sm.reset();
    sm.on(DescribeSecretCommand).resolves({ ARN, Name: dev.secretName, Tags: tags("production") });
    await expect(findSecretArn(client, dev)).rejects.toThrow(/not stage dev's \(Environment tag: production\)/);
  });
});

describe("buildHandoff during an online upgrade", () => {
  it("says when to roll the new image and how SKIP_DB_MIGRATION is set, in the words the command prints", () => {
    const handoff = buildHandoff(buildSpec("dev"), ARN);
    const online = handoff.migrations.find((m) => m.includes("--online"));
    expect(online).toContain("the image rolls between them, not before the first");
    for (const step of onlineNextSteps("umami-db post-deploy")) expect(online).toContain(step);
    expect(handoff.variables.find((v) => v.name === "SKIP_DB_MIGRATION")?.why).toContain(
      `never during an online upgrade: ${SKIP_DURING_ONLINE}`,
    );
  });
});
