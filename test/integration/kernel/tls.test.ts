import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec } from "../../../sst/database/spec.js";
import { ConnectionError, parseDatabaseUrl, withClient, type ConnectionSettings } from "../../../scripts/kernel/db.js";
import { startEmbeddedPostgres, type EmbeddedServer } from "../../../scripts/local/embedded.js";
import { runPreflight } from "../../../scripts/flows/preflight.js";

// A server that accepts only TLS (hostssl in pg_hba.conf), with a self-signed certificate made here.
let server: EmbeddedServer;
let dir: string;
let url: (sslmode: string, extra?: string) => string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "umami-tls-"));
  const cert = join(dir, "server.crt");
  const key = join(dir, "server.key");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-keyout",
      key,
      "-out",
      cert,
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
  const hba = join(dir, "pg_hba.conf");
  writeFileSync(hba, "hostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all 0.0.0.0/0 reject\n");
  // PostgreSQL runs as the `postgres` OS user when the tests run as root; it must own the key (0600).
  chmodSync(dir, 0o755);
  chmodSync(key, 0o600);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
    for (const file of [cert, key, hba]) chownSync(file, uid, gid);
  }
  server = await startEmbeddedPostgres({
    settings: { ssl: "on", ssl_cert_file: cert, ssl_key_file: key, hba_file: hba },
  });
  const base = new URL(server.superuserUrl);
  url = (sslmode, extra = "") =>
    `postgresql://${base.username}:${base.password}@127.0.0.1:${server.port}/postgres?sslmode=${sslmode}${extra}`;
});

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const tlsInUse = (settings: ConnectionSettings) =>
  withClient(
    settings,
    async (c) =>
      (
        await c.query<{ ssl: boolean }>(
          "SELECT ssl FROM pg_catalog.pg_stat_ssl WHERE pid = pg_catalog.pg_backend_pid()",
        )
      ).rows[0].ssl,
  );

describe("a TLS-only server", () => {
  it("accepts sslmode=require and encrypts the connection", async () => {
    expect(await tlsInUse(parseDatabaseUrl(url("require")))).toBe(true);
  });

  it("refuses a plain connection with a message that says to use TLS", async () => {
    const error = await tlsInUse(parseDatabaseUrl(url("disable"))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toBe(
      `The server at 127.0.0.1:${server.port} refused a connection without TLS (pg_hba.conf allows only hostssl). Use sslmode=require (or sslmode=verify-full with sslrootcert=<CA bundle> in the URL, or --ca-file where the command has it).`,
    );
  });

  it("verifies the certificate with --ca-file (verify-full), and names the fix without it", async () => {
    const ca = join(dir, "server.crt");
    expect(await tlsInUse(parseDatabaseUrl(url("verify-full"), { caFile: ca }))).toBe(true);
    expect(await tlsInUse(parseDatabaseUrl(url("verify-full", `&sslrootcert=${encodeURIComponent(ca)}`)))).toBe(true);
    const error = await tlsInUse(parseDatabaseUrl(url("verify-full"))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/certificate of 127\.0\.0\.1:\d+ was not trusted .*--ca-file/);
  });

  it("shows TLS as ok in preflight", async () => {
    const r = await runPreflight(
      parseDatabaseUrl(url("require")),
      buildSpec("dev", { clusterIdentifier: "x", database: "postgres" }),
    );
    expect(r.findings.find((f) => f.check === "tls")).toMatchObject({
      severity: "ok",
      detail: expect.stringMatching(/^connection encrypted \(TLSv1\.[23]\)$/),
    });
  });
});

describe("connect timeout", () => {
  let silent: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // Accepts TCP connections and never answers, like a database behind a proxy that cannot reach it.
    silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it("names host, port and the usual causes", async () => {
    const port = (silent.address() as { port: number }).port;
    const settings = parseDatabaseUrl(`postgresql://u:secret-pw@127.0.0.1:${port}/app`, { connectTimeoutMs: 300 });
    const error = await withClient(settings, () => Promise.resolve(undefined)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    const message = (error as Error).message;
    expect(message).toContain(`Connecting to 127.0.0.1:${port} timed out after 0.3 s`);
    expect(message).toContain("security group");
    expect(message).toContain("sst tunnel");
    expect(message).not.toContain("secret-pw");
  });
});
