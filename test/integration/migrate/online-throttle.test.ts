/**
 * The backfill's throttle on the application's latency (`--max-app-latency`): while another session holds SHARE
 * on website_event (a plain CREATE INDEX would), the tracker's inserts wait; the probe of the tracker's write
 * path waits with them, past the limit, so the backfill pauses — no batch runs — and resumes once the lock is
 * gone. The tracker loses nothing, and the run reports the pause.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../../scripts/kernel/db.js";
import { deployOnline, type OnlineEvent } from "../../../scripts/migrate/online/deploy.js";
import { applyMigrations } from "../../../scripts/migrate/runner.js";
import { seedUmami210, startTracker } from "../../../bench/online-load.js";
import { loadRelease } from "../../support/migrations.js";
import { devStageIn, startTestServer, type TestServer } from "../../support/server.js";

const PASSWORD = "Online-Throttle-Password-0123456789abc";
const HOLD_MS = 1_500;
const LIMIT_MS = 300;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ sampleApp: false });
});
afterAll(async () => server?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("--max-app-latency", () => {
  it("pauses the backfill while the tracker's inserts wait, and resumes when they stop waiting", async () => {
    const { umami } = await devStageIn(server, "throttle", PASSWORD);
    await applyMigrations(umami, await loadRelease("2.10.0"));
    await withClient(umami, (c) => seedUmami210(c, "umami", 3_000));
    const release3 = await loadRelease("3.1.0");

    // The session that slows the application: SHARE on website_event for HOLD_MS, from the first batch on.
    let go!: () => void;
    const started = new Promise<void>((r) => (go = r));
    const window = { locked: 0, released: 0 };
    const blocker = withClient({ ...server.superuser, database: "throttle" }, async (c) => {
      await started;
      await c.query("BEGIN");
      await c.query("LOCK TABLE umami.website_event IN SHARE MODE");
      window.locked = performance.now();
      await sleep(HOLD_MS);
      window.released = performance.now();
      await c.query("COMMIT");
    });
    const events: (OnlineEvent & { at: number })[] = [];
    const tracker = await startTracker(umami, { ratePerSecond: 40, shape: "2.10", connections: 2 });
    let result;
    try {
      result = await deployOnline(umami, release3, {
        lock: { lockTimeoutMs: 200, budgetMs: 1_000, retryPauseMs: 200 },
        backfill: { batchSize: 100, pauseMs: 5, targetBatchMs: 500, maxAppLatencyMs: LIMIT_MS },
        quietMs: 0,
        onEvent: (e) => {
          events.push({ ...e, at: performance.now() });
          if (e.type === "batch" && e.migration === "05_add_visit_id") go();
        },
      });
      await blocker;
    } finally {
      go();
      await blocker.catch(() => undefined);
    }
    const log = await tracker.stop();

    // Pauses come in pairs; a busy machine may add short ones, the lock's is the one that spans its release.
    const throttle = events.filter((e) => e.type === "throttle");
    expect(throttle.every((e) => e.reason === "application latency")).toBe(true);
    expect(throttle.map((e) => e.state)).toEqual(throttle.flatMap((_, i) => (i % 2 ? [] : ["paused", "resumed"])));
    const pauses = throttle.flatMap((e, i) => (i % 2 ? [] : [{ paused: e, resumed: throttle[i + 1] }]));
    const held = pauses.find((p) => p.paused.at >= window.locked && p.paused.at < window.released);
    expect(held, "a pause that began while the lock was held").toBeDefined();
    expect(held!.paused.migration).toBe("05_add_visit_id");
    // Resumed only after the lock was released (the probe's lock_timeout is the limit).
    expect(held!.resumed.at).toBeGreaterThanOrEqual(window.released);
    // No batch ran during a pause; the backfill went on after it and finished.
    for (const p of pauses)
      expect(events.filter((e) => e.type === "batch" && e.at > p.paused.at && e.at < p.resumed.at)).toEqual([]);
    expect(events.some((e) => e.type === "batch" && e.migration === "05_add_visit_id" && e.at > held!.resumed.at)).toBe(
      true,
    );
    expect(result.paused).toEqual([{ reason: "application latency", pauses: pauses.length, ms: expect.any(Number) }]);
    expect(result.paused[0].ms).toBeGreaterThan(HOLD_MS / 2);
    expect(result.online.every((m) => m.phase === "backfilled")).toBe(true);
    expect(result.paused).toEqual([{ reason: "application latency", pauses: 1, ms: expect.any(Number) }]);
    // The application really was slowed, and lost nothing.
    expect(Math.max(...log.map((e) => e.latencyMs))).toBeGreaterThan(HOLD_MS / 2);
    expect(log.filter((e) => !e.ok).map((e) => e.error)).toEqual([]);
    const missing = await withClient(umami, (c) =>
      c.query("SELECT count(*)::int AS n FROM umami.website_event WHERE visit_id IS NULL"),
    );
    expect(missing.rows[0].n).toBe(0);
  }, 180_000);
});
