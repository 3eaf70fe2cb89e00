import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareImpact, percentile, runWorkload, type WorkloadResult } from "../../../bench/workload.js";
import { connect, parseDatabaseUrl, withClient } from "../../../scripts/kernel/db.js";
import { SAMPLE_APP } from "../../../scripts/local/sample-app.js";
import { startTestServer, TEST_APP_PASSWORD, type TestServer } from "../../support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const appUser = () =>
  parseDatabaseUrl(
    `postgresql://${SAMPLE_APP.appRole}:${TEST_APP_PASSWORD}@127.0.0.1:${server.embedded.port}/${SAMPLE_APP.database}?sslmode=disable`,
  );

describe("runWorkload", () => {
  it("runs short read/write transactions as the application role and commits them", async () => {
    const before = await withClient(server.admin, (c) =>
      c.query<{ n: string }>("SELECT coalesce(sum(quantity), 0) AS n FROM public.order_items"),
    );
    const result = await runWorkload(appUser(), { clients: 3, durationMs: 400 });
    expect(result.clients).toBe(3);
    expect(result.errors).toBe(0);
    expect(result.errorMessages).toEqual([]);
    expect(result.transactions).toBeGreaterThan(0);
    expect(result.tps).toBeGreaterThan(0);
    expect(result.p50Ms).toBeGreaterThan(0);
    expect(result.p99Ms).toBeGreaterThanOrEqual(result.p50Ms);
    // Every committed transaction added exactly one item quantity.
    const after = await withClient(server.admin, (c) =>
      c.query<{ n: string }>("SELECT coalesce(sum(quantity), 0) AS n FROM public.order_items"),
    );
    expect(Number(after.rows[0].n) - Number(before.rows[0].n)).toBe(result.transactions);
  });

  it("sees the lock wait when another session holds the orders table", async () => {
    const blocker = await connect(server.admin);
    try {
      await blocker.query("BEGIN");
      await blocker.query("LOCK TABLE public.orders IN EXCLUSIVE MODE");
      const running = runWorkload(appUser(), { clients: 2, durationMs: 600 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await blocker.query("COMMIT");
      const result = await running;
      expect(result.maxLockWaitMs).toBeGreaterThan(0);
      expect(result.errors).toBe(0);
    } finally {
      await blocker.end();
    }
  });

  it("counts failed transactions as errors instead of stopping", async () => {
    await withClient(server.admin, (c) => c.query("REVOKE UPDATE ON public.orders FROM app_user"));
    try {
      const result = await runWorkload(appUser(), { clients: 1, durationMs: 200 });
      expect(result.errors).toBeGreaterThan(0);
      expect(result.transactions).toBe(0);
      expect(result.errorMessages).toEqual(["permission denied for table orders"]);
    } finally {
      await withClient(server.admin, (c) => c.query("GRANT UPDATE ON public.orders TO app_user"));
    }
  });
});

describe("percentile", () => {
  it("uses the nearest rank", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 0.5)).toBe(50);
    expect(percentile(xs, 0.99)).toBe(99);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBe(0);
  });
});

describe("compareImpact", () => {
  const result = (tps: number, p99Ms: number, errors = 0): WorkloadResult => ({
    clients: 4,
    elapsedMs: 1000,
    transactions: tps,
    tps,
    p50Ms: 1,
    p99Ms,
    errors,
    errorMessages: [],
    maxLockWaitMs: 3,
  });
  it("passes at the goals' edges and fails just beyond them", () => {
    expect(compareImpact(result(100, 10), result(95, 11)).pass).toEqual({ tps: true, p99: true, errors: true });
    expect(compareImpact(result(100, 10), result(94.9, 11.01, 1)).pass).toEqual({
      tps: false,
      p99: false,
      errors: false,
    });
    expect(compareImpact(result(100, 10), result(95, 11))).toMatchObject({
      tpsRatio: 0.95,
      p99Ratio: 1.1,
      maxLockWaitMs: 3,
    });
  });
});
