/**
 * TLS proof for the container: a PostgreSQL that requires TLS from umami_user and presents
 * a certificate from a private CA (standing in for Aurora and the RDS CA), and Umami 3.1.0's way of
 * connecting — `pg.Pool` from the secret's DATABASE_URL through `PrismaPg` — in a fresh Node process, so
 * NODE_EXTRA_CA_CERTS is read at start exactly as in the container.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec } from "../../../sst/database/spec.js";
import {
  buildCredentialsSecret,
  NODE_PG_MISSING_CA,
  NODE_PG_WRONG_HOST,
  PRISMA_TLS_ERROR_PREFIX,
} from "../../../sst/database/secret.js";
import { stageSettings } from "../../../sst/stages.js";
import { ConnectionError, parseDatabaseUrl, withClient } from "../../../scripts/kernel/db.js";
import { buildHandoff } from "../../../scripts/flows/handoff.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";
import {
  createCertificateAuthority,
  createIntermediateAuthority,
  issueServerCertificate,
  tlsServerSettings,
  type CertificateAuthority,
  type CertificateFiles,
} from "../../support/tls.js";
import { generateUmamiClient, handoffEnvironment, runUmami, type UmamiEnv } from "../../support/umami-client.js";

const PASSWORD = "Umami-Tls-Test-Password-0123456789abcdef";

let dir: string;
let ca: CertificateAuthority;
let umamiClient: string;
const servers: TestServer[] = [];

/**
 * A TLS server presenting `certificate`, with stage dev provisioned; returns the container's environment as
 * the handoff lists it for the secret the stack would write (the private CA as the stage's CA bundle).
 */
async function tlsStage(certificate: CertificateFiles): Promise<UmamiEnv> {
  const server = await startTestServer({
    sampleApp: false,
    settings: tlsServerSettings(certificate, dir, ["postgres", TEST_ADMIN.name]),
  });
  servers.push(server);
  const spec = buildSpec("dev", { ...stageSettings("dev"), database: "app", containerCaBundle: ca.certFile });
  await withClient(server.admin, (c) => provisionStage(c, spec, { admin: TEST_ADMIN.name, password: PASSWORD }));
  // The secret names the host the container connects to; the cluster's endpoint on Aurora, `localhost` here.
  const secret = buildCredentialsSecret({
    username: spec.role.name,
    password: PASSWORD,
    host: "localhost",
    port: server.embedded.port,
    database: "app",
    schema: spec.schema,
  });
  return handoffEnvironment(spec, secret);
}

let leafOnly: UmamiEnv;
let fullChain: UmamiEnv;
let partialChain: UmamiEnv;
let wrongName: UmamiEnv;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "umami-tls-"));
  ca = createCertificateAuthority(dir);
  // Three ways a server may present its certificate: alone, with its chain up to the root, or with an
  // intermediate but without the root.
  const leaf = issueServerCertificate(ca, "leaf", ["localhost"], { chain: false });
  const chain = issueServerCertificate(ca, "chain", ["localhost"], { chain: true });
  const partial = issueServerCertificate(createIntermediateAuthority(ca, "intermediate"), "partial", ["localhost"], {
    chain: true,
  });
  const elsewhere = issueServerCertificate(ca, "elsewhere", ["db.elsewhere.internal"], { chain: false });
  [leafOnly, fullChain, partialChain, wrongName, umamiClient] = await Promise.all([
    tlsStage(leaf),
    tlsStage(chain),
    tlsStage(partial),
    tlsStage(elsewhere),
    generateUmamiClient(),
  ]);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Umami's `connect` scenario; the failure's text with Prisma's wrapping and the driver's causes. */
async function connectFailure(env: UmamiEnv): Promise<string> {
  const outcome = await runUmami(umamiClient, "connect", env);
  expect(outcome).toMatchObject({ ok: false, step: "connect" });
  return outcome.ok ? "" : [outcome.error.message, ...outcome.error.causes].join("\n");
}

/** The code of the handoff's predicted missing-CA message (as Prisma wraps it) that `failure` shows, if any. */
function predictedCode(failure: string): string | undefined {
  return NODE_PG_MISSING_CA.find((e) => failure.includes(`${PRISMA_TLS_ERROR_PREFIX}${e.message}`))?.code;
}

/** umami-db's own failure for the secret's DATABASE_URL, read as it is (verify-full), without a CA bundle. */
async function ownFailure(env: UmamiEnv): Promise<ConnectionError> {
  const error = await withClient(parseDatabaseUrl(env.DATABASE_URL), () => Promise.resolve(undefined)).catch(
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectionError);
  return error as ConnectionError;
}

function withoutCa(env: UmamiEnv): UmamiEnv {
  const { NODE_EXTRA_CA_CERTS: _ca, ...rest } = env;
  return rest as UmamiEnv;
}

describe("Umami's way of connecting over TLS with a private CA", () => {
  it("connects with the handoff's setup: encrypted, certificate and host name verified", async () => {
    // The handoff hands the stage's bundle to Node; the URLs say verify-full.
    expect(leafOnly).toMatchObject({
      NODE_EXTRA_CA_CERTS: ca.certFile,
      DATABASE_URL: expect.stringContaining("sslmode=verify-full"),
    });
    const outcomes = await Promise.all(
      [leafOnly, fullChain, partialChain].map((env) => runUmami(umamiClient, "connect", env)),
    );
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({
        ok: true,
        result: { ssl: true, user: "umami_user", version: expect.stringMatching(/^TLSv1\.[23]$/) },
      });
    }
  });

  it("refuses a certificate issued by the same CA for another host name", async () => {
    const failure = await connectFailure(wrongName);
    expect(failure).toContain(
      `${NODE_PG_WRONG_HOST.messageStart}: Host: localhost. is not in the cert's altnames: DNS:db.elsewhere.internal`,
    );
  });

  it("fails without the CA bundle, with the message the handoff predicts, when the server sends its certificate alone", async () => {
    const failure = await connectFailure(withoutCa(leafOnly));
    // Prisma wraps node-pg's error: "Raw query failed. Code: `N/A`. Message: `Error opening a TLS connection: …`".
    expect(predictedCode(failure)).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  });

  // The chain up to the root is what public reports of node-pg against RDS PostgreSQL show
  // (brianc/node-postgres#2558, NangoHQ/nango#2694).
  it("fails without the CA bundle, with the message the handoff predicts, when the server sends its whole chain", async () => {
    const failure = await connectFailure(withoutCa(fullChain));
    expect(predictedCode(failure)).toBe("SELF_SIGNED_CERT_IN_CHAIN");
    const handoff = buildHandoff(
      buildSpec("dev"),
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:observability/umami-db-credentials-AbCdEf",
    );
    expect(handoff.tls.missingCa.filter((m) => failure.includes(m.log)).map((m) => m.code)).toEqual([
      "SELF_SIGNED_CERT_IN_CHAIN",
    ]);
  });

  it("fails without the CA bundle, with the message the handoff predicts, when the server sends an intermediate but not the root", async () => {
    const failure = await connectFailure(withoutCa(partialChain));
    expect(predictedCode(failure)).toBe("UNABLE_TO_GET_ISSUER_CERT_LOCALLY");
  });

  it("umami-db's own error names the CA bundle (--ca-file, UMAMI_CA_FILE, NODE_EXTRA_CA_CERTS) for each of those servers", async () => {
    const servers = [
      [leafOnly, "UNABLE_TO_VERIFY_LEAF_SIGNATURE"],
      [fullChain, "SELF_SIGNED_CERT_IN_CHAIN"],
      [partialChain, "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"],
    ] as const;
    // Every code the handoff predicts, each measured here.
    expect(servers.map(([, code]) => code)).toEqual(NODE_PG_MISSING_CA.map((e) => e.code));
    for (const [env, code] of servers) {
      const error = await ownFailure(env);
      expect(error.code).toBe(code);
      expect(error.message).toMatch(
        /^The certificate of localhost:\d+ was not trusted \(.*\): it chains to a CA this tool was not given\. Give this tool the CA bundle/,
      );
      for (const way of ["--ca-file", "UMAMI_CA_FILE", "NODE_EXTRA_CA_CERTS"]) expect(error.message).toContain(way);
      expect(error.message).not.toContain(PASSWORD);
    }
  });
});
