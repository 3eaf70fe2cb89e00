/**
 * Post-deploy never blocks the application and never waits behind it. The application
 * (its own session, as its owner) locks every one of its relations ACCESS EXCLUSIVE — the strongest lock,
 * which every other lock waits for:
 * - held in one open transaction for the whole run, post-deploy (migrate, verify with live probes,
 *   fingerprint, baseline) must still finish: nothing of it may touch an application relation's lock;
 * - taken and released in a loop while post-deploy runs, the application must never wait on a lock the flow
 *   holds: a sampler asks `pg_blocking_pids()` for the application's backend every few milliseconds, and the
 *   longest `LOCK TABLE` the application ran is measured and printed.
 */
import { releaseSource, testSourceOptions } from "../../support/migrations.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec } from "../../../sst/database/spec.js";
import { connect, parseDatabaseUrl, toUrl, withClient, type Client } from "../../../scripts/kernel/db.js";
import { captureBaseline } from "../../../scripts/evidence/baseline.js";
import { captureFingerprint } from "../../../scripts/evidence/fingerprint.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { runPostDeploy, type PostDeployResult } from "../../../scripts/flows/post-deploy.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";
import { applicationRelations } from "../../../bench/application-relations.js";

const PASSWORD = "never-blocks-umami-password-0123456789";
const MIGRATIONS = releaseSource("3.1.0");
const DEADLINE_MS = 30_000;
let server: TestServer;
const spec = buildSpec("dev");

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.stop());

/** A fresh stage (provisioned, nothing migrated) and the "before" snapshot post-deploy compares with. */
async function freshStage() {
  await withClient(server.superuser, async (c) => {
    await c.query(
      "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE usename = 'umami_user'",
    );
  });
  await withClient(server.admin, async (c) => {
    await c.query("DROP SCHEMA IF EXISTS umami CASCADE");
    await provisionStage(c, spec, { admin: TEST_ADMIN.name, password: PASSWORD });
  });
  const before = {
    baseline: await captureBaseline(server.admin, { label: "before", umamiSchema: spec.schema }),
    fingerprint: await captureFingerprint(server.admin, {
      excludeSchemas: [spec.schema],
      excludeRoles: [spec.role.name],
    }),
  };
  const umami = parseDatabaseUrl(
    toUrl({ ...server.admin, schema: spec.schema }, { user: spec.role.name, password: PASSWORD }),
  );
  return () =>
    runPostDeploy({ spec, admin: server.admin, umami, migrations: MIGRATIONS, sources: testSourceOptions(), before });
}

async function backendPid(c: Client): Promise<number> {
  return (await c.query<{ pid: number }>("SELECT pg_catalog.pg_backend_pid() AS pid")).rows[0].pid;
}

/** Fails naming the statements that wait on a lock, instead of hanging the test run. */
async function within<T>(ms: number, run: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    // The lookup's own failure fails the wait too, rather than going unhandled.
    timer = setTimeout(() => {
      withClient(server.superuser, (c) =>
        c.query<{ query: string }>("SELECT query FROM pg_catalog.pg_stat_activity WHERE wait_event_type = 'Lock'"),
      ).then(
        (waiting) =>
          reject(
            new Error(
              `${what} did not finish within ${ms} ms; waiting on a lock: ${waiting.rows.map((r) => r.query.replace(/\s+/g, " ").slice(0, 300)).join(" | ")}`,
            ),
          ),
        reject,
      );
    }, ms);
  });
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const passed = (r: PostDeployResult) => ({
  ok: r.ok,
  failedStep: r.failedStep,
  error: r.error,
  applied: r.migrations.applied.length,
});

describe("post-deploy and the application's locks", () => {
  it("completes while the application holds ACCESS EXCLUSIVE on all its relations in an open transaction", async () => {
    const postDeploy = await freshStage();
    const app = await connect({ ...server.admin, applicationName: "the application" });
    try {
      const appPid = await backendPid(app);
      await app.query("BEGIN");
      await app.query(
        `LOCK TABLE ${(await withClient(server.admin, applicationRelations)).names} IN ACCESS EXCLUSIVE MODE`,
      );
      const result = await within(DEADLINE_MS, postDeploy(), "post-deploy");
      expect(passed(result)).toEqual({ ok: true, failedStep: undefined, error: undefined, applied: 19 });
      // The lock was held all along: the transaction is still open, and still holds it.
      const held = await withClient(server.superuser, (c) =>
        c.query(
          "SELECT count(*)::int AS n FROM pg_catalog.pg_locks WHERE pid = $1 AND mode = 'AccessExclusiveLock' AND granted",
          [appPid],
        ),
      );
      expect(held.rows[0].n).toBeGreaterThanOrEqual(6);
    } finally {
      await app.query("ROLLBACK").catch(() => undefined);
      await app.end();
    }
  }, 120_000);

  it("never makes the application wait: no sample finds it blocked by the flow; its longest LOCK is measured", async () => {
    const postDeploy = await freshStage();
    const relations = (await withClient(server.admin, applicationRelations)).names;
    const app = await connect({ ...server.admin, applicationName: "the application" });
    const sampler = await connect(server.superuser);
    const appPid = await backendPid(app);
    let running = true;
    const waits: number[] = [];
    const blockedBy = new Set<number>();
    let samples = 0;
    // The application: take every lock, hold it 2 ms, release, again — each LOCK would queue behind any
    // lock the flow held on one of its relations.
    const appLoop = (async () => {
      while (running) {
        await app.query("BEGIN");
        const started = performance.now();
        await app.query(`LOCK TABLE ${relations} IN ACCESS EXCLUSIVE MODE`);
        waits.push(performance.now() - started);
        await new Promise((r) => setTimeout(r, 2));
        await app.query("COMMIT");
      }
    })();
    const sampleLoop = (async () => {
      while (running) {
        const { rows } = await sampler.query<{ blockers: number[] }>(
          "SELECT pg_catalog.pg_blocking_pids($1) AS blockers",
          [appPid],
        );
        for (const pid of rows[0].blockers) blockedBy.add(pid);
        samples += 1;
      }
    })();
    try {
      const result = await within(DEADLINE_MS, postDeploy(), "post-deploy");
      expect(passed(result)).toEqual({ ok: true, failedStep: undefined, error: undefined, applied: 19 });
    } finally {
      running = false;
      await Promise.all([appLoop, sampleLoop]);
      await app.end();
      await sampler.end();
    }
    const longest = Math.max(...waits);
    const sorted = [...waits].sort((a, b) => a - b);
    console.log(
      `application LOCK TABLE (${relations.split(", ").length} relations, ACCESS EXCLUSIVE) during post-deploy: ${waits.length} times, ` +
        `median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} ms, longest ${longest.toFixed(2)} ms; ${samples} pg_blocking_pids samples, blocked by: ${[...blockedBy].join(", ") || "nobody"}`,
    );
    expect(samples).toBeGreaterThan(50);
    expect(waits.length).toBeGreaterThan(50);
    // Any real wait (a statement of the flow holding one of the relations) shows as a blocker here, sampled
    // back to back; how long the LOCKs took is printed above and measured by `npm run bench:impact`, not
    // asserted (a loaded CI machine stretched a lock-free round trip past a fixed bound).
    expect([...blockedBy]).toEqual([]);
  }, 120_000);
});
