import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec } from "../../../sst/database/spec.js";
import { stageSettings } from "../../../sst/stages.js";
import { freePort } from "../../../scripts/local/embedded.js";
import { parseDatabaseUrl, withClient } from "../../../scripts/kernel/db.js";
import { runPreflight, stageMarker, type PreflightResult } from "../../../scripts/flows/preflight.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { rollbackStage } from "../../../scripts/flows/rollback.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";

const run = promisify(execFile);
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.stop());

const spec = (stage: string, overrides: Record<string, unknown> = {}) =>
  buildSpec(stage, { ...stageSettings(stage), ...overrides });
const finding = (r: PreflightResult, check: string) => r.findings.find((f) => f.check === check)!;
const errors = (r: PreflightResult) => r.findings.filter((f) => f.severity === "error").map((f) => f.check);

describe("preflight against an Aurora-like admin", () => {
  it("passes on a clean database, one finding per check", async () => {
    const r = await runPreflight(server.admin, spec("dev"));
    expect(r.ok).toBe(true);
    expect(r.findings.map((f) => [f.check, f.severity])).toEqual([
      ["reachability", "ok"],
      ["tls", "info"],
      ["server-version", "ok"],
      ["admin-rights", "ok"],
      ["public-create", "ok"],
      ["pgcrypto", "ok"],
      ["connection-headroom", "ok"],
      ["conflicts", "ok"],
    ]);
    expect(r.serverVersion).toMatch(/^15\./);
    expect(finding(r, "connection-headroom").detail).toMatch(
      /^max_connections 100 − reserved 3 − in use \d+ − umami_user's limit 22 = \d+ left \(limit: 10 per pool × 1 pool per task × 1 task × 2 \(rolling deploy\) \+ 2 \(post-deploy\) = 22\)$/,
    );
  });

  it("recognises this stage's own objects after a deploy, and refuses another stage's marker", async () => {
    const dev = spec("dev");
    await withClient(server.admin, (c) => provisionStage(c, dev, { admin: TEST_ADMIN.name, password: "pw-preflight" }));
    try {
      const r = await runPreflight(server.admin, dev);
      expect(r.ok).toBe(true);
      expect(finding(r, "conflicts")).toMatchObject({
        severity: "info",
        detail: expect.stringContaining("the deploy updates them"),
      });
      expect(finding(r, "pgcrypto").detail).toBe("installed in schema umami");

      await withClient(server.admin, (c) => c.query(`COMMENT ON SCHEMA umami IS '${stageMarker("pr-1")}'`));
      const marked = await runPreflight(server.admin, dev);
      expect(errors(marked)).toEqual(["conflicts"]);
      expect(finding(marked, "conflicts").detail).toContain(`marked "umami-db stage=pr-1"`);
    } finally {
      await rollbackStage(server.admin, dev);
    }
  });

  it("blocks on a role and a schema that are someone else's", async () => {
    await withClient(server.admin, async (c) => {
      await c.query("CREATE ROLE umami_user_pr_5 LOGIN CREATEDB");
      await c.query("CREATE SCHEMA umami_pr_6");
    });
    try {
      const role = await runPreflight(server.admin, spec("pr-5"));
      expect(role.ok).toBe(false);
      // No stage dev on this database, so no pgcrypto either: a derived stage is told to deploy dev first.
      expect(errors(role)).toEqual(["pgcrypto", "conflicts"]);
      expect(finding(role, "pgcrypto").remedy).toBe(
        "Deploy stage dev first, or have the administrator run CREATE EXTENSION pgcrypto in database app.",
      );
      expect(finding(role, "conflicts").detail).toMatch(
        /role umami_user_pr_5 already exist.*CREATEDB.*search_path=umami_pr_5/,
      );
      expect(finding(role, "conflicts").remedy).toContain("umami-db rollback --stage pr-5");
      expect(finding(await runPreflight(server.admin, spec("pr-6")), "conflicts").detail).toContain(
        "schema umami_pr_6 exists without role umami_user_pr_6",
      );
    } finally {
      await withClient(server.admin, (c) => c.query("DROP ROLE umami_user_pr_5; DROP SCHEMA umami_pr_6"));
    }
  });

  it("blocks an administrator without CREATEROLE or CREATE on the database", async () => {
    await withClient(server.superuser, (c) => c.query("CREATE ROLE weak_admin LOGIN PASSWORD 'weak-pw'"));
    const weak = parseDatabaseUrl(
      `postgresql://weak_admin:weak-pw@127.0.0.1:${server.embedded.port}/app?sslmode=disable`,
    );
    const r = await runPreflight(weak, spec("dev"));
    expect(errors(r)).toEqual(["admin-rights"]);
    // The test server is shaped like Aurora, so rds_superuser exists and weak_admin is not in it.
    expect(finding(r, "admin-rights").detail).toBe(
      "weak_admin lacks CREATEROLE, CREATE on database app, membership in rds_superuser",
    );
  });

  it("tells to set pgcryptoAlreadyInstalled, warns on PUBLIC CREATE, and measures connection headroom", async () => {
    const db = await server.createDatabase("app_with_pgcrypto");
    await withClient(db, async (c) => {
      await c.query("CREATE EXTENSION pgcrypto WITH SCHEMA public");
      await c.query("GRANT CREATE ON SCHEMA public TO PUBLIC");
    });
    // Umami 2.20.0 reads through the replica (a second pool per task); 3.x cannot use one (its own test below).
    const r = await runPreflight(
      db,
      spec("dev", { database: "app_with_pgcrypto", umamiTasks: 3, readReplica: true, umamiVersion: "2.20.0" }),
    );
    expect(errors(r)).toEqual(["pgcrypto", "connection-headroom"]);
    expect(r.findings.some((f) => f.check === "read-replica")).toBe(false);
    // 10 × 2 pools × 3 tasks × 2 + 2 = 122 connections cannot fit in max_connections 100: the numbers and the knobs.
    expect(finding(r, "connection-headroom").detail).toMatch(
      /umami_user's limit 122 = -\d+ left \(limit: 10 per pool × 2 pools per task × 3 tasks × 2 \(rolling deploy\) \+ 2 \(post-deploy\) = 122\)$/,
    );
    expect(finding(r, "connection-headroom").remedy).toBe(
      "For stage dev in sst/stages.ts, lower umamiTasks (3) or turn readReplica off, or raise max_connections (a larger instance class, or the cluster parameter group's max_connections).",
    );
    expect(finding(r, "pgcrypto").remedy).toContain("pgcryptoAlreadyInstalled: true");
    expect(finding(r, "public-create")).toMatchObject({
      severity: "warning",
      detail: expect.stringContaining("schema public"),
    });
    const settled = await runPreflight(
      db,
      spec("dev", { database: "app_with_pgcrypto", pgcryptoAlreadyInstalled: true }),
    );
    expect(finding(settled, "pgcrypto")).toMatchObject({ severity: "ok", detail: "installed in schema public" });
  });

  it("warns that Umami 3.1.0 cannot use readReplica, naming Umami's code path and the remedy, without blocking", async () => {
    const r = await runPreflight(server.admin, spec("dev", { readReplica: true }));
    expect(finding(r, "read-replica")).toEqual({
      check: "read-replica",
      severity: "warning",
      detail: expect.stringMatching(
        /^readReplica is set, but Umami 3\.1\.0 cannot use a replica: src\/lib\/prisma\.ts's rawQuery sends every raw query to client\.\$replica\(\) .*createSession\.ts.*raw INSERT, which the reader refuses \("cannot execute INSERT in a read-only transaction"\)\. The handoff therefore leaves DATABASE_REPLICA_URL out of the task/,
      ),
      remedy: expect.stringMatching(/^Set readReplica: false for stage dev in sst\/stages\.ts/),
    });
    expect(errors(r)).not.toContain("read-replica");
    expect(finding(r, "connection-headroom").detail).toContain(
      "1 pool per task (no replica pool: Umami 3.1.0 gets no DATABASE_REPLICA_URL)",
    );
    const none = await runPreflight(server.admin, spec("dev"));
    expect(none.findings.some((f) => f.check === "read-replica")).toBe(false);
  });

  it("warns when the administrator may create in the database but not grant CONNECT on it", async () => {
    await withClient(server.superuser, async (c) => {
      await c.query("CREATE ROLE other_owner");
      await c.query("CREATE DATABASE not_admins OWNER other_owner");
      await c.query(`GRANT CREATE, CONNECT ON DATABASE not_admins TO ${TEST_ADMIN.name}`);
    });
    try {
      const r = await runPreflight(
        { ...server.admin, database: "not_admins" },
        spec("dev", { database: "not_admins", pgcryptoAlreadyInstalled: false }),
      );
      expect(finding(r, "admin-rights")).toEqual({
        check: "admin-rights",
        severity: "warning",
        detail: `${TEST_ADMIN.name} can create in not_admins but cannot grant CONNECT on it (owner: other_owner): the stack's GRANT CONNECT to umami_user would grant nothing`,
        remedy: `As other_owner: GRANT CONNECT ON DATABASE "not_admins" TO "${TEST_ADMIN.name}" WITH GRANT OPTION (or make ${TEST_ADMIN.name} the owner).`,
      });
      await withClient(server.superuser, (c) =>
        c.query(`GRANT CONNECT ON DATABASE not_admins TO ${TEST_ADMIN.name} WITH GRANT OPTION`),
      );
      expect(
        finding(
          await runPreflight({ ...server.admin, database: "not_admins" }, spec("dev", { database: "not_admins" })),
          "admin-rights",
        ).severity,
      ).toBe("ok");
    } finally {
      await withClient(server.superuser, async (c) => {
        await c.query("DROP DATABASE not_admins");
        await c.query("DROP ROLE other_owner");
      });
    }
  });

  it("counts the slots Aurora reserves for rds_superuser when the server has the setting", async () => {
    // Aurora's parameter, set here as a placeholder setting of the administrator (PostgreSQL accepts dotted names).
    await withClient(server.superuser, (c) =>
      c.query(`ALTER ROLE ${TEST_ADMIN.name} SET rds.rds_superuser_reserved_connections = '2'`),
    );
    try {
      const detail = finding(await runPreflight(server.admin, spec("dev")), "connection-headroom").detail;
      const [, inUse, left] = detail.match(
        /^max_connections 100 − reserved 3 − rds_superuser reserved 2 − in use (\d+) − umami_user's limit 22 = (-?\d+) left \(/,
      )!;
      expect(Number(left)).toBe(100 - 3 - 2 - Number(inUse) - 22);
    } finally {
      await withClient(server.superuser, (c) =>
        c.query(`ALTER ROLE ${TEST_ADMIN.name} RESET rds.rds_superuser_reserved_connections`),
      );
    }
  });

  it("reports an unreachable server as a blocking finding naming host and port", async () => {
    const port = await freePort();
    const r = await runPreflight(
      parseDatabaseUrl(`postgresql://a:b@127.0.0.1:${port}/app?sslmode=disable`),
      spec("dev"),
    );
    expect(r.ok).toBe(false);
    expect(r.findings).toHaveLength(1);
    expect(finding(r, "reachability").detail).toContain(`127.0.0.1:${port}`);
  });

  it("runs from the CLI: exit 0 and preflight.json when ready, exit 1 on a blocking problem", async () => {
    // The snapshot goes to the test's directory, never the tree's .umami-db/dev/before (a later post-deploy would
    // compare a real database with this test server's).
    const out = mkdtempSync(join(tmpdir(), "preflight-"));
    try {
      const ok = await run("node", [
        "bin/umami-db.js",
        "preflight",
        "--stage",
        "dev",
        "--admin-url",
        server.adminUrl(),
        "--out-dir",
        out,
        "--before-dir",
        join(out, "before"),
      ]);
      expect(ok.stdout).toContain("preflight: ready to deploy");
      expect(JSON.parse(readFileSync(join(out, "preflight.json"), "utf8"))).toMatchObject({ stage: "dev", ok: true });
      expect(readdirSync(join(out, "before")).sort()).toEqual(["baseline.json", "fingerprint.json", "origin.json"]);
      const failed: { code?: number; stdout: string; stderr: string } = await run("node", [
        "bin/umami-db.js",
        "preflight",
        "--admin-url",
        server.adminUrl("app_with_pgcrypto"),
        "--json",
        "--before-dir",
        join(out, "failed"),
      ]).catch((e: unknown) => e as { code?: number; stdout: string; stderr: string });
      expect(failed.code).toBe(1);
      expect(JSON.parse(failed.stdout)).toMatchObject({ ok: false });
      expect(failed.stdout).not.toContain(TEST_ADMIN.password);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("requires rds_superuser membership where that role exists (Aurora)", async () => {
    // The test server has rds_superuser (Aurora's defaults) with app_admin in it: take the membership away.
    await withClient(server.superuser, (c) => c.query("REVOKE rds_superuser FROM app_admin"));
    expect(finding(await runPreflight(server.admin, spec("dev")), "admin-rights").detail).toContain(
      "membership in rds_superuser",
    );
    await withClient(server.superuser, (c) => c.query("GRANT rds_superuser TO app_admin"));
    expect(finding(await runPreflight(server.admin, spec("dev")), "admin-rights")).toMatchObject({
      severity: "ok",
      detail: expect.stringContaining("member of rds_superuser"),
    });
  });
});
