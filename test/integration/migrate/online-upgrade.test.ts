/**
 * Umami 2.10.0 → 3.1.0 online, under load, against the offline path on an identical copy. A tracker inserts in
 * 2.10's shape at a fixed rate from before `migrate deploy --online` until the old version is "drained", then
 * in 3.1's shape through `--online --finish`; a sampler watches pg_locks for ACCESS EXCLUSIVE on the tracker
 * tables every 5 ms. Asserted: no insert lost or failed, ≤ 1 s of ACCESS EXCLUSIVE per tracker table, `--finish`
 * refusing while 2.10's rows arrive, and an end state equal to the offline path's — schema (and column order),
 * `_prisma_migrations` checksums, Prisma 7's own `migrate status`, the data moved as 05 and 09 move it, nothing
 * of the tool's left behind.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient, type ConnectionSettings } from "../../../scripts/kernel/db.js";
import { readMigrationRows } from "../../../scripts/migrate/bookkeeping.js";
import { deployOnline, OldVersionWritingError, type OnlineOptions } from "../../../scripts/migrate/online/deploy.js";
import { LEFTOVERS_SQL } from "../../../scripts/migrate/online/objects.js";
import { ONLINE_MIGRATIONS } from "../../../scripts/migrate/online/plans.js";
import { applyMigrations } from "../../../scripts/migrate/runner.js";
import { compareSchemas } from "../../../scripts/migrate/schema-compare.js";
import { readSchemaSnapshot } from "../../../scripts/migrate/schema-snapshot.js";
import type { MigrationSet } from "../../../scripts/migrate/sources.js";
import { verifySchema } from "../../../scripts/flows/verify-schema.js";
import { seedUmami210, startLockSampler, startTracker, type TrackedInsert } from "../../../bench/online-load.js";
import { createPrismaProject } from "../../support/prisma-project.js";
import { loadRelease, RELEASE_DIRS } from "../../support/migrations.js";
import { devStageIn, startTestServer, type TestServer } from "../../support/server.js";
import { readEndState } from "../../support/online-end-state.js";

const PASSWORD = "Online-Upgrade-Password-0123456789abcdef";
const EVENTS = 4_000;

let server: TestServer;
let release2: MigrationSet;
let release3: MigrationSet;

const OPTIONS: OnlineOptions = {
  lock: { lockTimeoutMs: 200, budgetMs: 1_000, retryPauseMs: 200 },
  backfill: { batchSize: 500, pauseMs: 5, targetBatchMs: 200 },
  quietMs: 500,
};

/** `settings` on another database of the same server. */
const on = (settings: ConnectionSettings, database: string): ConnectionSettings => ({ ...settings, database });

beforeAll(async () => {
  server = await startTestServer({ sampleApp: false });
  release2 = await loadRelease("2.10.0");
  release3 = await loadRelease("3.1.0");
});
afterAll(async () => server?.stop());

describe("2.10.0 → 3.1.0 online, under a tracker's load", () => {
  let online: ConnectionSettings;
  let offline: ConnectionSettings;
  let onlineUrl: string;
  let log: TrackedInsert[] = [];
  let locks: Record<string, number> = {};

  beforeAll(async () => {
    const stage = await devStageIn(server, "online_up", PASSWORD);
    online = stage.umami;
    onlineUrl = stage.url;
    await applyMigrations(online, release2);
    await withClient(online, (c) => seedUmami210(c, "umami", EVENTS));
    // The identical copy, made while nothing is connected to the original.
    await withClient(server.superuser, (c) => c.query("CREATE DATABASE offline_up TEMPLATE online_up"));
    offline = on(online, "offline_up");
  });

  it("upgrades with no insert lost, ≤ 1 s of ACCESS EXCLUSIVE per tracker table, and refuses to finish while 2.10 writes", async () => {
    const sampler = await startLockSampler(online, 5);
    const tracker = await startTracker(online, { ratePerSecond: 50, shape: "2.10", data: true });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const first = await deployOnline(online, release3, OPTIONS);
      expect(first.finished).toBe(false);
      expect(first.online).toEqual([
        { name: "05_add_visit_id", phase: "backfilled" },
        { name: "06_session_data", phase: "backfilled" },
        { name: "07_add_tag", phase: "backfilled" },
        { name: "09_update_hostname_region", phase: "backfilled" },
      ]);
      expect(first.offline).toEqual(
        release3.migrations
          .slice(4)
          .map((m) => m.name)
          .filter((n) => !ONLINE_MIGRATIONS.includes(n)),
      );
      // Between the two runs an update under either name reaches the other: 3.1 updates data_key, 2.10 the old key.
      const keys = await withClient(online, async (c) => {
        const [sd, ed] = [randomUUID(), randomUUID()];
        await c.query(
          `INSERT INTO umami.session_data (session_data_id, website_id, session_id, data_key, string_value, data_type)
           SELECT $1, website_id, session_id, 'k1', 'pro', 1 FROM umami.session LIMIT 1`,
          [sd],
        );
        await c.query("UPDATE umami.session_data SET session_key = 'k2' WHERE session_data_id = $1", [sd]);
        await c.query(
          `INSERT INTO umami.event_data (event_data_id, website_id, website_event_id, event_key, string_value, data_type)
           SELECT $1, website_id, event_id, 'k1', 'signup', 1 FROM umami.website_event LIMIT 1`,
          [ed],
        );
        await c.query("UPDATE umami.event_data SET data_key = 'k3' WHERE event_data_id = $1", [ed]);
        return (
          await c.query(
            `SELECT (SELECT session_key || '/' || data_key FROM umami.session_data WHERE session_data_id = $1) AS session,
                    (SELECT event_key || '/' || data_key FROM umami.event_data WHERE event_data_id = $2) AS event`,
            [sd, ed],
          )
        ).rows[0];
      });
      expect(keys).toEqual({ session: "k2/k2", event: "k3/k3" });
      // The old version still writes: --finish refuses, changing nothing.
      await expect(deployOnline(online, release3, { ...OPTIONS, finish: true })).rejects.toThrow(
        OldVersionWritingError,
      );
      // The new image rolls out; the old one drains.
      tracker.setShape("3.1");
      await new Promise((r) => setTimeout(r, 300));
      const done = await deployOnline(online, release3, { ...OPTIONS, finish: true });
      expect(done).toMatchObject({
        finished: true,
        recorded: ONLINE_MIGRATIONS,
        offline: [],
      });
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      log = await tracker.stop();
      locks = (await sampler.stop()).ms;
    }
    const failed = log.filter((e) => !e.ok);
    expect(failed.map((e) => e.error).slice(0, 3)).toEqual([]);
    expect(log.filter((e) => e.shape === "2.10").length).toBeGreaterThan(20);
    expect(log.filter((e) => e.shape === "3.1").length).toBeGreaterThan(10);
    const found = await withClient(online, (c) =>
      c.query<{ id: string }>("SELECT event_id::text AS id FROM umami.website_event WHERE event_id = ANY($1::uuid[])", [
        log.map((e) => e.eventId),
      ]),
    );
    expect(log.length - found.rowCount!).toBe(0);
    // Each event's custom data and each new session's, in whichever version's shape it came.
    const data = await withClient(online, (c) =>
      c.query<{ events: number; sessions: number }>(
        `SELECT (SELECT count(*)::int FROM umami.event_data WHERE website_event_id = ANY($1::uuid[]) AND data_key = 'button') AS events,
                (SELECT count(DISTINCT session_id)::int FROM umami.session_data WHERE session_id = ANY($2::uuid[]) AND data_key = 'plan') AS sessions`,
        [log.map((e) => e.eventId), log.map((e) => e.sessionId)],
      ),
    );
    expect(data.rows[0]).toEqual({ events: log.length, sessions: new Set(log.map((e) => e.sessionId)).size });
    for (const [table, ms] of Object.entries(locks))
      expect(ms, `ACCESS EXCLUSIVE on ${table}`).toBeLessThanOrEqual(1_000);
    // 2.10's rows got their visit (one per session and hour) and their session's hostname, region kept.
    const tracked = await withClient(online, (c) =>
      c.query<{ missing_visit: number; missing_host: number; region: number }>(
        `SELECT count(*) FILTER (WHERE e.visit_id IS NULL)::int AS missing_visit, count(*) FILTER (WHERE e.hostname IS NULL)::int AS missing_host,
                count(*) FILTER (WHERE s.region = 'DE-BE')::int AS region
           FROM umami.website_event e JOIN umami.session s USING (session_id) WHERE e.url_path = '/tracked'`,
      ),
    );
    expect(tracked.rows[0]).toMatchObject({ missing_visit: 0, missing_host: 0 });
    expect(tracked.rows[0].region).toBe(found.rowCount);
  });

  it("ends where the offline path ends: schema and column order, checksums, Prisma's status, the data moved, nothing left", async () => {
    await applyMigrations(offline, release3);
    const [a, b] = await Promise.all(
      [online, offline].map((s) => withClient(s, (c) => readSchemaSnapshot(c, "umami"))),
    );
    expect(compareSchemas(b, a)).toEqual([]);
    const [endA, endB] = await Promise.all([online, offline].map(readEndState));
    expect(endA).toEqual(endB);
    expect(endA.moved.events).toBe(EVENTS);
    expect(endA.moved.event_data).toBe(EVENTS / 10);
    expect(endA.visits.split).toBe(0);
    const rows = await withClient(online, (c) => readMigrationRows(c, "umami"));
    expect(
      rows.map((r) => [r.migration_name, r.checksum, r.finished_at !== null, r.applied_steps_count, r.logs]),
    ).toEqual(release3.migrations.map((m) => [m.name, m.checksum, true, 1, null]));
    expect((await withClient(online, (c) => c.query(LEFTOVERS_SQL, ["umami"]))).rows).toEqual([]);
    const verified = await verifySchema(online, release3);
    expect(verified.ok, JSON.stringify(verified.differences ?? verified)).toBe(true);
    const project = createPrismaProject(RELEASE_DIRS["3.1.0"]);
    try {
      const status = await project.run(["migrate", "status"], onlineUrl);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain("Database schema is up to date!");
    } finally {
      project.remove();
    }
  });
});
