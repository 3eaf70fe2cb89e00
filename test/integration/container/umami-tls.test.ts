/**
 * TLS proof for the container (issue 14 part 3): a PostgreSQL that requires TLS from umami_user and presents
 * a certificate from a private CA (standing in for Aurora and the RDS CA), and Umami 3.1.0's way of
 * connecting — `pg.Pool` from the secret's DATABASE_URL through `PrismaPg` — in a fresh Node process, so
 * NODE_EXTRA_CA_CERTS is read at start exactly as in the container.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCredentialsSecret, buildSpec } from "../../../sst/database/spec.js";
import { stageSettings } from "../../../sst/stages.js";
import { withClient } from "../../../scripts/kernel/db.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import type { CredentialsSecret } from "../../../scripts/stage/credentials.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";
import { createCertificateAuthority, issueServerCertificate, tlsServerSettings, type CertificateAuthority, type CertificateFiles } from "../../support/tls.js";
import { generateUmamiClient, runUmami, type UmamiEnv } from "../../support/umami-client.js";

const PASSWORD = "Umami-Tls-Test-Password-0123456789abcdef";

/** What the handoff tells the container to do with the CA bundle (until the handoff lands: NODE_EXTRA_CA_CERTS). */
function handoffEnv(secret: CredentialsSecret, caBundle: string): UmamiEnv {
  return { DATABASE_URL: secret.DATABASE_URL, NODE_EXTRA_CA_CERTS: caBundle };
}
/** The node-pg error the handoff predicts when the container lacks the CA bundle. */
const MISSING_CA_MESSAGE = "self-signed certificate in certificate chain";

let dir: string;
let ca: CertificateAuthority;
let umamiClient: string;
const servers: TestServer[] = [];

/** A TLS server presenting `certificate`, with stage dev provisioned; returns the secret the stack would write. */
async function tlsStage(certificate: CertificateFiles): Promise<CredentialsSecret> {
  const server = await startTestServer({ sampleApp: false, settings: tlsServerSettings(certificate, dir, ["postgres", TEST_ADMIN.name]) });
  servers.push(server);
  const spec = buildSpec("dev", { ...stageSettings("dev"), database: "app" });
  await withClient(server.admin, (c) => provisionStage(c, spec, { admin: TEST_ADMIN.name, password: PASSWORD }));
  // The secret names the host the container connects to; the cluster's endpoint on Aurora, `localhost` here.
  return buildCredentialsSecret({ username: spec.role.name, password: PASSWORD, host: "localhost", port: server.embedded.port, database: "app", schema: spec.schema });
}

let rightName: CredentialsSecret;
let wrongName: CredentialsSecret;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "umami-tls-"));
  ca = createCertificateAuthority(dir);
  const localhost = issueServerCertificate(ca, "localhost", ["localhost"]);
  const elsewhere = issueServerCertificate(ca, "elsewhere", ["db.elsewhere.internal"]);
  [rightName, wrongName, umamiClient] = await Promise.all([tlsStage(localhost), tlsStage(elsewhere), generateUmamiClient()]);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("Umami's way of connecting over TLS with a private CA", () => {
  it("connects with the handoff's setup: encrypted, certificate and host name verified", async () => {
    const outcome = await runUmami(umamiClient, "connect", handoffEnv(rightName, ca.certFile));
    expect(outcome).toMatchObject({ ok: true, result: { ssl: true, user: "umami_user", version: expect.stringMatching(/^TLSv1\.[23]$/) } });
  });

  it("refuses a certificate issued by the same CA for another host name", async () => {
    const outcome = await runUmami(umamiClient, "connect", handoffEnv(wrongName, ca.certFile));
    expect(outcome).toMatchObject({ ok: false, step: "connect" });
    if (outcome.ok) return;
    expect([outcome.error.message, ...outcome.error.causes].join("\n")).toContain(
      "Hostname/IP does not match certificate's altnames: Host: localhost. is not in the cert's altnames: DNS:db.elsewhere.internal",
    );
  });

  it("fails without the CA bundle, with the message the handoff predicts", async () => {
    const { NODE_EXTRA_CA_CERTS: _withoutCa, ...env } = handoffEnv(rightName, ca.certFile);
    const outcome = await runUmami(umamiClient, "connect", env as UmamiEnv);
    expect(outcome).toMatchObject({ ok: false, step: "connect" });
    if (outcome.ok) return;
    expect([outcome.error.message, ...outcome.error.causes].join("\n")).toContain(MISSING_CA_MESSAGE);
  });
});
