import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureBaseline, maskStatement, TOP_STATEMENTS } from "../../../scripts/evidence/baseline.js";
import { compareBaselines } from "../../../scripts/evidence/baseline-compare.js";
import { AURORA_METRICS } from "../../../scripts/evidence/cloudwatch.js";
import { quoteIdent } from "../../../sst/database/quote.js";
import { connect, withClient } from "../../../scripts/kernel/db.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";
import { scratchDir } from "../../support/scratch.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

describe("captureBaseline against PostgreSQL 15", () => {
  it("records every field with sane values, as the Aurora-like admin", async () => {
    const now = new Date("2026-11-25T12:00:00Z");
    // Application sizes come from pg_class.relpages (lock-free), which VACUUM and ANALYZE keep current.
    await withClient(server.admin, (c) => c.query("ANALYZE"));
    const b = await captureBaseline(server.admin, { label: "before-umami", umamiSchema: "umami", now });
    expect(b.version).toBe(1);
    expect(b.label).toBe("before-umami");
    expect(b.capturedAt).toBe("2026-11-25T12:00:00.000Z");
    expect(b.target).toEqual({ host: "127.0.0.1", port: server.embedded.port, database: "app", user: TEST_ADMIN.name });
    expect(b.server.version).toMatch(/^15\.\d+/);
    expect(b.server.versionNum).toBeGreaterThanOrEqual(150000);
    expect(b.server.versionNum).toBeLessThan(160000);
    expect(b.schemas).toEqual(["billing", "drizzle", "public"]);
    const publicSchema = b.sizes.schemas.find((s) => s.name === "public")!;
    expect(publicSchema.tables).toBe(3);
    expect(publicSchema.bytes).toBeGreaterThan(100_000);
    expect(b.sizes.databaseBytes).toBeGreaterThan(b.sizes.schemas.reduce((sum, s) => sum + s.bytes, 0));
    expect(b.umamiSchema).toEqual({ name: "umami", exists: false, bytes: 0 });
    expect(b.connections.maxConnections).toBe(100);
    expect(b.connections.superuserReserved).toBeGreaterThanOrEqual(0);
    for (const [key, v] of Object.entries(b.stats)) {
      if (key === "statsReset") continue;
      expect(Number.isSafeInteger(v), key).toBe(true);
      expect(v as number, key).toBeGreaterThanOrEqual(0);
    }
    expect(b.stats.tupInserted).toBeGreaterThanOrEqual(200 + 1000 + 1000 + 500); // the sample application's rows
    expect(b.stats.xactCommit).toBeGreaterThan(0);
    expect(b.stats.blksHit).toBeGreaterThan(0);
    expect(b.cacheHitRatio).toBeGreaterThan(0);
    expect(b.cacheHitRatio).toBeLessThanOrEqual(1);
    // Aurora's default, as on the test server: pg_stat_statements in public.
    expect(b.statements).toMatchObject({ available: true, schema: "public" });
    expect(b.cloudwatch).toBeNull();
    // Serialisable as is: the JSON round trip changes nothing.
    expect(JSON.parse(JSON.stringify(b))).toEqual(b);
  });

  it("counts other client connections by user and state, and leaves out its own session", async () => {
    const before = await captureBaseline(server.admin, { label: "b" });
    const extra = [await connect(server.admin), await connect(server.admin)];
    try {
      await extra[0].query("BEGIN");
      await extra[0].query("SELECT 1");
      const during = await captureBaseline(server.admin, { label: "a" });
      expect(during.connections.total).toBe(before.connections.total + 2);
      const admins = during.connections.byUserAndState.filter(
        (g) => g.user === TEST_ADMIN.name && g.database === "app",
      );
      expect(admins.find((g) => g.state === "idle in transaction")?.count).toBe(1);
      expect(admins.reduce((n, g) => n + g.count, 0)).toBe(2);
      expect(
        compareBaselines(before, during).rows.find((r) => r.metric.startsWith("Client connections")),
      ).toMatchObject({ delta: 2, verdict: "pass" });
    } finally {
      for (const c of extra) await c.end();
    }
  });

  it("reports the Umami schema's size once it exists, and the comparison explains the growth", async () => {
    const db = await server.createDatabase("growth");
    const before = await captureBaseline(db, { label: "before", umamiSchema: "umami" });
    await withClient(db, async (c) => {
      await c.query("CREATE SCHEMA umami");
      await c.query("CREATE TABLE umami.website_event (id bigint PRIMARY KEY, url text NOT NULL)");
      await c.query("INSERT INTO umami.website_event SELECT i, repeat('x', 200) FROM generate_series(1, 5000) i");
    });
    const after = await captureBaseline(db, { label: "after", umamiSchema: "umami" });
    expect(after.umamiSchema?.exists).toBe(true);
    expect(after.umamiSchema!.bytes).toBeGreaterThan(1_000_000);
    const c = compareBaselines(before, after);
    expect(c.storage.umamiSchemaBytes).toBe(after.umamiSchema!.bytes);
    expect(c.storage.growthBytes).toBeGreaterThanOrEqual(c.storage.umamiSchemaBytes);
    expect(c.rows.find((r) => r.metric.startsWith("Storage growth"))?.verdict).toBe("pass");
  });

  it("says so when pg_stat_statements is not installed, and never creates it", async () => {
    await withClient({ ...server.superuser, database: "app" }, (c) => c.query("DROP EXTENSION pg_stat_statements"));
    try {
      const b = await captureBaseline(server.admin, { label: "without-statements" });
      expect(b.statements).toMatchObject({ available: false, schema: null, top: [] });
      expect(b.statements.note).toMatch(/not installed/);
    } finally {
      await withClient({ ...server.superuser, database: "app" }, (c) =>
        c.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"),
      );
    }
  });

  it("reads the top statements when pg_stat_statements is installed, with passwords masked", async () => {
    // The embedded server preloads the library; installing the extension needs a superuser (Aurora: rds_superuser).
    await withClient({ ...server.superuser, database: "app" }, (c) =>
      c.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()"),
    );
    await withClient({ ...server.superuser, database: "app" }, (c) =>
      c.query("GRANT pg_read_all_stats TO " + quoteIdent(TEST_ADMIN.name)),
    );
    await withClient(server.admin, async (c) => {
      await c.query("CREATE ROLE baseline_probe LOGIN PASSWORD 'never-in-a-baseline'");
      for (let i = 0; i < 5; i++) await c.query("SELECT count(*) FROM public.orders WHERE customer_id = $1", [i]);
    });
    const b = await captureBaseline(server.admin, { label: "with-statements" });
    expect(b.statements.available).toBe(true);
    expect(b.statements.schema).toBe("public");
    expect(b.statements.top.length).toBeGreaterThan(0);
    expect(b.statements.top.length).toBeLessThanOrEqual(TOP_STATEMENTS);
    for (const s of b.statements.top) {
      expect(s.calls).toBeGreaterThan(0);
      expect(s.totalMs).toBeGreaterThanOrEqual(0);
    }
    const totals = b.statements.top.map((s) => s.totalMs);
    expect([...totals].sort((x, y) => y - x)).toEqual(totals);
    // pg_stat_statements keeps utility statements verbatim (checked: the raw view shows the password).
    expect(b.statements.top.map((s) => s.query)).toContain("CREATE ROLE baseline_probe LOGIN PASSWORD '****'");
    expect(JSON.stringify(b)).not.toContain("never-in-a-baseline");
  });

  it("adds CloudWatch figures when asked, through one GetMetricData call", async () => {
    const cw = mockClient(CloudWatchClient);
    try {
      cw.on(GetMetricDataCommand).resolves({
        MetricDataResults: AURORA_METRICS.flatMap((m) =>
          ["avg", "max"].map((s) => ({
            Id: `${s}_${m.name.toLowerCase()}`,
            Label: m.name,
            StatusCode: "Complete" as const,
            Timestamps: [new Date("2026-11-25T11:55:00Z")],
            Values: [s === "avg" ? 10 : 20],
          })),
        ),
        $metadata: {},
      });
      const client = new CloudWatchClient({
        region: "us-east-1",
        credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "example" },
      });
      const b = await captureBaseline(server.admin, {
        label: "cw",
        now: new Date("2026-11-25T12:00:00Z"),
        cloudwatch: {
          client,
          region: "us-east-1",
          clusterId: "app-aurora-dev",
          instanceId: "app-aurora-dev-instance-1",
        },
      });
      expect(b.cloudwatch?.window).toEqual({
        start: "2026-11-24T12:00:00.000Z",
        end: "2026-11-25T12:00:00.000Z",
        periodSeconds: 300,
      });
      expect(b.cloudwatch?.metrics).toHaveLength(AURORA_METRICS.length);
      expect(b.cloudwatch?.metrics.find((m) => m.metric === "CPUUtilization")).toMatchObject({
        average: 10,
        maximum: 20,
      });
      expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(1);
    } finally {
      cw.restore();
    }
  });
});

describe("maskStatement", () => {
  it("masks quoted, dollar-quoted and bare passwords and keeps one line", () => {
    expect(maskStatement("ALTER ROLE umami_user WITH LOGIN PASSWORD 'it''s secret' VALID UNTIL 'infinity'")).toBe(
      "ALTER ROLE umami_user WITH LOGIN PASSWORD '****' VALID UNTIL 'infinity'",
    );
    expect(maskStatement("CREATE ROLE x ENCRYPTED PASSWORD $pw$s3cr3t$pw$")).toBe(
      "CREATE ROLE x ENCRYPTED PASSWORD '****'",
    );
    expect(maskStatement("ALTER USER x PASSWORD $1")).toBe("ALTER USER x PASSWORD '****'");
    expect(maskStatement("SELECT\n  1")).toBe("SELECT 1");
    expect(maskStatement("x".repeat(400))).toHaveLength(300);
  });
});

describe("umami-db baseline capture (CLI)", () => {
  it("with --out and --json writes the file and prints the same document", async () => {
    const out = join(scratchDir("baseline-cli-"), "before.json");
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["bin/umami-db.js", "baseline", "capture", "--label", "cli", "--out", out, "--json"],
      {
        env: { ...process.env, ADMIN_DATABASE_URL: server.adminUrl() },
      },
    );
    expect(JSON.parse(stdout)).toEqual(JSON.parse(readFileSync(out, "utf8")));
    expect(JSON.parse(stdout)).toMatchObject({ label: "cli", target: { database: "app" } });
  });
});
