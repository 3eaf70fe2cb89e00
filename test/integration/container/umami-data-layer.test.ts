/**
 * Acceptance with Umami's real data layer: the stage provisioned as an Aurora-like
 * administrator, Umami 3.1.0 migrated by our runner, the secret written, and then Umami's own Prisma 7
 * client — generated from its schema, built as its src/lib/prisma.ts builds it, in a process that has only
 * the container's environment — doing Umami's work over verified TLS.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec, type UmamiDatabaseSpec } from "../../../sst/database/spec.js";
import { buildCredentialsSecret } from "../../../sst/database/secret.js";
import { stageSettings, type StageSettings } from "../../../sst/stages.js";
import { parseDatabaseUrl, withClient } from "../../../scripts/kernel/db.js";
import { applyMigrations } from "../../../scripts/migrate/runner.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { readSecretFile, writeSecretFile, type CredentialsSecret } from "../../../scripts/stage/credentials.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";
import {
  createCertificateAuthority,
  issueServerCertificate,
  tlsServerSettings,
  type CertificateAuthority,
} from "../../support/tls.js";
import {
  generateUmamiClient,
  handoffEnvironment,
  npmPrereleaseThenRelease,
  runUmami,
  startUmami,
  umamiReleaseMigrations,
  type UmamiEnv,
} from "../../support/umami-client.js";

/** The runtime guard of the stage that tests it: short, so a runaway query is cut off quickly. */
const GUARD_MS = 1500;
const PASSWORD = "Umami-Data-Layer-Test-Password-0123456789";

let dir: string;
let ca: CertificateAuthority;
let server: TestServer;
let umamiClient: string;
/** A stage provisioned, migrated, and its secret written and read back. */
interface DeployedStage {
  spec: UmamiDatabaseSpec;
  secret: CredentialsSecret;
}
let dev: DeployedStage;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "umami-data-layer-"));
  ca = createCertificateAuthority(dir);
  const certificate = issueServerCertificate(ca, "localhost", ["localhost"]);
  // umami_user must come over TLS; the test's superuser and administrator keep their plain URLs.
  const settings = tlsServerSettings(certificate, dir, ["postgres", TEST_ADMIN.name]);
  [server, umamiClient] = await Promise.all([startTestServer({ settings }), generateUmamiClient()]);
  // Stage dev first: it manages the database's pgcrypto, which the derived stages below share.
  dev = await deployStage("dev", await umamiReleaseMigrations());
});
afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Provisions `stage` in database `app`, migrates `migrations` as its role, writes and reads back its secret. */
async function deployStage(
  stage: string,
  migrations: Awaited<ReturnType<typeof umamiReleaseMigrations>>,
  settings: Partial<StageSettings> = {},
): Promise<DeployedStage> {
  const spec = buildSpec(stage, {
    ...stageSettings(stage),
    database: "app",
    containerCaBundle: ca.certFile,
    ...settings,
  });
  await withClient(server.admin, (c) => provisionStage(c, spec, { admin: TEST_ADMIN.name, password: PASSWORD }));
  const file = join(dir, `${stage}.credentials.json`);
  // The host is the name on the server's certificate, as the cluster's endpoint is on Aurora's; the reader
  // endpoint is the same server here.
  const parts = {
    username: spec.role.name,
    password: PASSWORD,
    host: "localhost",
    port: server.embedded.port,
    database: "app",
    schema: spec.schema,
  };
  writeSecretFile(
    file,
    buildCredentialsSecret({ ...parts, ...(spec.container.readReplica ? { readerHost: "localhost" } : {}) }),
  );
  const secret = readSecretFile(file);
  // Our runner migrates through the secret's DIRECT_DATABASE_URL, as the post-deploy does.
  await applyMigrations(parseDatabaseUrl(secret.DIRECT_DATABASE_URL, { caFile: ca.certFile }), migrations);
  return { spec, secret };
}

/** What the ECS task gives the container: the handoff's variables, the private CA as the stage's bundle. */
function containerEnv(stage: DeployedStage): UmamiEnv {
  return handoffEnvironment(stage.spec, stage.secret);
}

/**
 * Runs `tasks` Umami tasks at once, each filling its pools with queries that wait on an advisory lock this
 * test holds; counts the role's connections until all are there (or 30 s pass), then lets them finish.
 */
async function rollingDeploy(stage: DeployedStage, tasks: number, env: UmamiEnv = containerEnv(stage)) {
  const role = stage.spec.role.name;
  const lockKey = 14_000 + tasks + (env.DATABASE_REPLICA_URL ? 100 : 0);
  const pools = tasks * (env.DATABASE_REPLICA_URL ? 2 : 1);
  return withClient(server.admin, async (admin) => {
    await admin.query("SELECT pg_catalog.pg_advisory_lock($1)", [lockKey]);
    const children = Array.from({ length: tasks }, () =>
      startUmami(umamiClient, "hold", env, { perPool: 10, lockKey, wait: true }),
    );
    await Promise.all(children.map((t) => t.ready));
    for (const child of children) child.go();
    let peak = 0;
    const until = Date.now() + 30_000;
    // Connections that the role's limit refused end at once with an error, and the count never reaches the pools'.
    while (peak < pools * 10 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      const { rows } = await admin.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_catalog.pg_stat_activity WHERE usename = $1",
        [role],
      );
      peak = Math.max(peak, rows[0].n);
    }
    await admin.query("SELECT pg_catalog.pg_advisory_unlock($1)", [lockKey]);
    return { outcomes: await Promise.all(children.map((t) => t.outcome)), peak };
  });
}

describe("Umami 3.1.0's data layer on what we provision", () => {
  let spec: UmamiDatabaseSpec;
  let secret: CredentialsSecret;
  beforeAll(() => void ({ spec, secret } = dev));

  it("creates a user, a website (createdBy), a session and events, and reads them back over verified TLS", async () => {
    const outcome = await runUmami(umamiClient, "exercise", containerEnv(dev));
    expect(outcome).toMatchObject({ ok: true });
    if (!outcome.ok) return;
    const { user, users, website, events, sessions, stats, connection } = outcome.result as Record<
      string,
      Record<string, unknown>
    >;
    expect(user).toMatchObject({ role: "admin", username: expect.stringMatching(/^admin-/) });
    // The admin's Users page: Umami's own admin (from 01_init) and the new user, every column but the password.
    expect(users.count).toBe(2);
    expect((users.data as Record<string, unknown>[]).find((u) => u.id === user.id)).toEqual({
      id: user.id,
      username: user.username,
      role: "admin",
      logoUrl: null,
      displayName: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      deletedAt: null,
      _count: { websites: 0 },
    });
    expect(website).toMatchObject({
      userId: user.id,
      createdBy: user.id,
      domain: "example.com",
      user: { username: user.username, displayName: null },
      createUser: { id: user.id },
    });
    expect((events as unknown as { urlPath: string }[]).map((e) => e.urlPath)).toEqual(["/", "/pricing", "/signup"]);
    expect(sessions).toBe(1);
    // Umami's raw query (SET search_path TO "umami", then unqualified tables) counts what its client wrote.
    expect(stats).toEqual([{ pageviews: 3, visitors: 1, visits: 1 }]);
    // The runtime guard (the stage's default, 60 000 ms) is on every runtime session.
    expect(spec.role.statementTimeoutMs).toBe(60_000);
    expect(connection).toMatchObject({
      ssl: true,
      user: spec.role.name,
      search_path: spec.schema,
      statement_timeout: "1min",
    });
  });

  it("holds two pools of 10 at once (old and new task of a rolling deploy) with zero connection errors", async () => {
    const { outcomes, peak } = await rollingDeploy({ spec, secret }, 2);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ ok: true, result: { pools: 1, queries: 10, succeeded: 10, errors: [] } });
    }
    expect(peak).toBe(20);
    expect(spec.role.connectionLimit).toBeGreaterThanOrEqual(peak);
  });
});

describe("the runtime guard (stage setting statementTimeoutMs)", () => {
  let guard: DeployedStage;
  beforeAll(async () => {
    guard = await deployStage("guard", await umamiReleaseMigrations(), { statementTimeoutMs: GUARD_MS });
  });

  it("reads the runtime guard through DATABASE_URL, and none through DIRECT_DATABASE_URL (migrations)", async () => {
    const [runtime, direct] = await Promise.all([
      runUmami(umamiClient, "connect", containerEnv(guard)),
      runUmami(umamiClient, "connect", { ...containerEnv(guard), DATABASE_URL: guard.secret.DIRECT_DATABASE_URL }),
    ]);
    expect(runtime).toMatchObject({ ok: true, result: { ssl: true, statement_timeout: `${GUARD_MS}ms` } });
    expect(direct).toMatchObject({ ok: true, result: { ssl: true, statement_timeout: "0" } });
  });

  it("cuts off a runaway query at the runtime guard", async () => {
    const outcome = await runUmami(umamiClient, "runaway", containerEnv(guard), { seconds: (GUARD_MS * 4) / 1000 });
    expect(outcome).toMatchObject({
      ok: true,
      result: { error: { message: expect.stringContaining("canceling statement due to statement timeout") } },
    });
    if (!outcome.ok) return;
    const elapsedMs = outcome.result.elapsedMs as number;
    expect(elapsedMs).toBeGreaterThanOrEqual(GUARD_MS - 100);
    // Cut off before the 6 s sleep would have ended.
    expect(elapsedMs).toBeLessThan(GUARD_MS * 4);
  });
});

describe("with a read replica (stage setting readReplica)", () => {
  let spec: UmamiDatabaseSpec;
  let secret: CredentialsSecret;
  beforeAll(async () => {
    ({ spec, secret } = await deployStage("replica", await umamiReleaseMigrations(), { readReplica: true }));
  });

  // FINDING (fixed in the handoff): Umami 3.1.0's rawQuery sends every raw query to the replica when
  // DATABASE_REPLICA_URL is set, and createSession — the first write of every visitor — is a raw INSERT. An
  // Aurora reader refuses it. A session that is read-only stands in for the reader (a hot standby answers the
  // same: "cannot execute INSERT in a read-only transaction", SQLSTATE 25006).
  it("sends createSession's INSERT to the reader, which refuses it: Umami 3.1.0 cannot record visitors with a replica", async () => {
    expect(secret.DATABASE_REPLICA_URL).toBeDefined();
    const reader = `${secret.DATABASE_REPLICA_URL}&options=${encodeURIComponent("-c default_transaction_read_only=on")}`;
    const outcome = await runUmami(umamiClient, "exercise", {
      ...containerEnv({ spec, secret }),
      DATABASE_REPLICA_URL: reader,
    });
    expect(outcome).toMatchObject({
      ok: false,
      step: "create session",
      error: { message: expect.stringContaining("cannot execute INSERT in a read-only transaction") },
    });
  });

  it("the handoff gives Umami 3.1.0 no DATABASE_REPLICA_URL: its client records the session and reads it back", async () => {
    const env = containerEnv({ spec, secret });
    // The secret keeps the key (ECS injects only the keys the task names); the task is not given it.
    expect(secret.DATABASE_REPLICA_URL).toBeDefined();
    expect(Object.keys(env)).not.toContain("DATABASE_REPLICA_URL");
    const outcome = await runUmami(umamiClient, "exercise", env);
    expect(outcome).toMatchObject({
      ok: true,
      result: { sessions: 1, stats: [{ pageviews: 3, visitors: 1, visits: 1 }] },
    });
  });

  it("counts one pool per task in the role's limit, as the task opens: a rolling deploy's two pools with zero errors", async () => {
    expect(spec.role.connectionLimit).toBe(22);
    const { outcomes, peak } = await rollingDeploy({ spec, secret }, 2);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ ok: true, result: { pools: 1, queries: 10, succeeded: 10, errors: [] } });
    }
    expect(peak).toBe(20);
  });

  it("a release that reads through the replica (umamiVersion 2.20.0) gets it, and the limit holds its four pools of 10", async () => {
    const older = await deployStage("replica-two", await umamiReleaseMigrations(), {
      readReplica: true,
      umamiVersion: "2.20.0",
    });
    const env = containerEnv(older);
    expect(env.DATABASE_REPLICA_URL).toBe(older.secret.DATABASE_REPLICA_URL);
    // Umami 3.1.0's client stands in for the pools (node-pg's max 10 each, as in 2.x): only reads, held on the lock.
    const { outcomes, peak } = await rollingDeploy(older, 2, env);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ ok: true, result: { pools: 2, queries: 20, succeeded: 20, errors: [] } });
    }
    expect(peak).toBe(40);
    expect(older.spec.role.connectionLimit).toBe(42);
  });
});

describe("the npm pre-release schema (umami@2.10.0's 04, then 05..19)", () => {
  it("breaks Umami's client as soon as the admin lists users: user.display_name does not exist", async () => {
    const outcome = await runUmami(
      umamiClient,
      "exercise",
      containerEnv(await deployStage("npm-prerelease", await npmPrereleaseThenRelease())),
    );
    // Creating the user passes (Prisma 7 returns only the columns createUser selects); the admin's Users page,
    // which reads every column, is the first to fail.
    expect(outcome).toMatchObject({
      ok: false,
      step: "list users",
      error: {
        message: expect.stringContaining("The column `user.display_name` does not exist in the current database."),
      },
    });
  });
});
