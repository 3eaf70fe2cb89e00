/**
 * The isolation audit on a freshly provisioned stage (real PostgreSQL 15, Aurora-like administrator): no
 * failures, every check reported, a handful of queries; live probes that behave and leave nothing behind; a
 * missing role or schema reported as findings; and the `verify`/`fingerprint` commands' output and exit codes.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec } from "../../../sst/database/spec.js";
import { auditIsolation } from "../../../scripts/audit/audit.js";
import { AUDIT_CLASSES } from "../../../scripts/audit/classes.js";
import { parseDatabaseUrl, toUrl, withClient, type ConnectionSettings } from "../../../scripts/kernel/db.js";
import { captureFingerprint, diffFingerprints, fingerprintChanges } from "../../../scripts/evidence/fingerprint.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";
import { scratchDir } from "../../support/scratch.js";

const run = promisify(execFile);
const spec = buildSpec("dev");
const PASSWORD = "Audit-Test-Password-0123456789abcdef";
let server: TestServer;
let umami: ConnectionSettings;
let umamiUrl: string;

beforeAll(async () => {
  server = await startTestServer();
  await withClient(server.admin, (c) => provisionStage(c, spec, { admin: TEST_ADMIN.name, password: PASSWORD }));
  umamiUrl = toUrl({ ...server.admin, schema: spec.schema }, { user: spec.role.name, password: PASSWORD });
  umami = parseDatabaseUrl(umamiUrl);
  await withClient(umami, (c) =>
    c.query(
      "CREATE TABLE umami.website (website_id uuid PRIMARY KEY, name text NOT NULL); CREATE SEQUENCE umami.counter",
    ),
  );
});
afterAll(async () => server?.stop());

/** Runs the CLI; resolves with its exit code and output whatever the code. */
async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run("node", ["bin/umami-db.js", ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("auditIsolation on a clean stage", () => {
  it("finds no failure, reports every check once, in a handful of queries", async () => {
    const result = await auditIsolation({ admin: server.admin, umami, spec });
    expect(result.findings.filter((f) => f.severity === "fail")).toEqual([]);
    expect(result.ok).toBe(true);
    const checks = result.findings.map((f) => f.check);
    expect(new Set(checks).size).toBe(checks.length);
    expect(checks).toEqual(
      expect.arrayContaining([
        "outward: tables and views",
        "outward: role memberships",
        "inward: privileges on the Umami schema and its objects",
        "intended grants: missing",
        "intended grants: extra",
        "live probes",
      ]),
    );
    // A fixed number of round trips whatever the size or the number of checks (batch.ts): the context (with the
    // other databases' list), the outward query, every other check together; then one per other database.
    expect(result.queries).toBeLessThanOrEqual(6);
    // PostgreSQL's defaults are warnings with a remedy, not failures.
    const defaults = result.findings.find((f) => f.check === "intended grants: extra")!;
    expect(defaults).toMatchObject({
      severity: "warn",
      objects: ["database app: TEMPORARY (via PUBLIC, PostgreSQL's default)"],
    });
  });

  it("runs the live probes as umami_user with the expected outcomes", async () => {
    const result = await auditIsolation({ admin: server.admin, umami, spec });
    expect(result.probes.map((p) => [p.name, p.outcome])).toEqual([
      ["read public.customers", "denied"],
      ["create a table in public", "denied"],
      ["create a table in billing", "denied"],
      ["create a schema", "denied"],
      ["create and read a table in umami", "allowed"],
    ]);
    expect(result.probes.every((p) => p.ok)).toBe(true);
  });

  it("leaves the catalogs identical, the Umami schema included", async () => {
    const everything = { excludeSchemas: [] as string[] };
    const before = await captureFingerprint(server.admin, everything);
    await auditIsolation({ admin: server.admin, umami, spec });
    const after = await captureFingerprint(server.admin, everything);
    expect(Object.keys(before.schemas)).toContain("umami");
    expect(diffFingerprints(before, after)).toEqual([]);
  });

  it("proves an untouched application with the server's digests alone (one query), equal to the ones captured here", async () => {
    const baseline = await captureFingerprint(server.admin, {
      excludeSchemas: [spec.schema],
      excludeRoles: [spec.role.name],
    });
    // A name that sorts differently bytewise and by case, and a non-ASCII one: the server's order must be group()'s.
    await withClient(server.admin, (c) =>
      c.query(
        'CREATE TABLE public."Zeta" (id int); CREATE TABLE public."ärger" (id int); CREATE TABLE public.alpha (id int)',
      ),
    );
    try {
      const now = await captureFingerprint(server.admin, {
        excludeSchemas: [spec.schema],
        excludeRoles: [spec.role.name],
      });
      expect(await fingerprintChanges(server.admin, now)).toEqual({ changed: [], queries: 1 });
      // And a difference falls back to the object-by-object comparison, which names it.
      expect(await fingerprintChanges(server.admin, baseline)).toEqual({
        changed: expect.arrayContaining([{ change: "added", object: "table public.alpha", schema: "public" }]),
        queries: 3,
      });
    } finally {
      await withClient(server.admin, (c) => c.query('DROP TABLE public."Zeta", public."ärger", public.alpha'));
    }
  });

  it("compares the application with a baseline and names what changed", async () => {
    const baseline = await captureFingerprint(server.admin, {
      excludeSchemas: [spec.schema],
      excludeRoles: [spec.role.name],
    });
    const same = await auditIsolation({ admin: server.admin, spec, baselineFingerprint: baseline });
    expect(same.fingerprint).toEqual({ compared: true, changed: [] });
    expect(same.findings.find((f) => f.check === "application fingerprint")!.severity).toBe("pass");
    await withClient(server.admin, (c) =>
      c.query(
        "COMMENT ON TABLE public.orders IS 'not a change'; CREATE INDEX orders_status_idx ON public.orders (status)",
      ),
    );
    try {
      const changed = await auditIsolation({ admin: server.admin, spec, baselineFingerprint: baseline });
      expect(changed.fingerprint.changed).toEqual([
        { change: "added", object: "index public.orders_status_idx", schema: "public" },
      ]);
      expect(changed.findings.find((f) => f.check === "application fingerprint")).toMatchObject({
        severity: "fail",
        objects: ["added index public.orders_status_idx"],
      });
      expect(changed.ok).toBe(false);
    } finally {
      await withClient(server.admin, (c) =>
        c.query("DROP INDEX public.orders_status_idx; COMMENT ON TABLE public.orders IS NULL"),
      );
    }
  });

  it("runs on an open administrator client and leaves it open", async () => {
    await withClient(server.admin, async (c) => {
      const result = await auditIsolation({ admin: c, spec });
      expect(result.ok).toBe(true);
      expect((await c.query<{ one: number }>("SELECT 1 AS one")).rows[0].one).toBe(1);
    });
  });

  it("reports a role and schema that do not exist as findings, without crashing", async () => {
    const absent = buildSpec("pr-404");
    const result = await auditIsolation({ admin: server.admin, spec: absent });
    const byCheck = Object.fromEntries(result.findings.map((f) => [f.check, f]));
    expect(byCheck["umami role exists"]).toMatchObject({ severity: "fail", objects: ["role umami_user_pr_404"] });
    expect(byCheck["umami schema exists"]).toMatchObject({ severity: "fail", objects: ["schema umami_pr_404"] });
    expect(result.ok).toBe(false);
  });

  it("reports a failed login of the probes as a finding and never shows the password", async () => {
    const wrong = { ...umami, password: "not-the-password-xyz" };
    const result = await auditIsolation({ admin: server.admin, umami: wrong, spec });
    expect(result.probes).toHaveLength(1);
    expect(result.probes[0]).toMatchObject({ outcome: "error", ok: false });
    expect(JSON.stringify(result)).not.toContain("not-the-password-xyz");
    expect(JSON.stringify(result)).not.toContain(PASSWORD);
  });
});

describe("umami-db verify and fingerprint", () => {
  it("exit 0 with --json on a clean stage, writes the Markdown report, compares a baseline", async () => {
    const dir = scratchDir("umami-verify-");
    const baseline = join(dir, "before.json");
    const fp = await cli(["fingerprint", "--admin-url", server.adminUrl(), "--out", baseline]);
    expect(fp.code).toBe(0);
    expect(JSON.parse(readFileSync(baseline, "utf8"))).toMatchObject({
      database: "app",
      excludedSchemas: ["umami"],
      excludedRoles: ["umami_user"],
    });
    // --json prints the same document on stdout as well as writing it.
    const both = await cli([
      "fingerprint",
      "--admin-url",
      server.adminUrl(),
      "--out",
      join(dir, "again.json"),
      "--json",
    ]);
    expect(JSON.parse(both.stdout)).toEqual(JSON.parse(readFileSync(join(dir, "again.json"), "utf8")));
    const report = join(dir, "audit.md");
    const verify = await cli(
      ["verify", "--admin-url", server.adminUrl(), "--json", "--report", report, "--baseline-fingerprint", baseline],
      {
        UMAMI_DATABASE_URL: umamiUrl,
      },
    );
    expect(verify.code).toBe(0);
    const json = JSON.parse(verify.stdout);
    expect(Object.keys(json)).toEqual(["ok", "findings", "fingerprint"]);
    expect(json.ok).toBe(true);
    expect(Object.keys(json.findings[0])).toEqual(["class", "check", "severity", "objects", "remedy"]);
    // Every finding names its path class, one of the threat model's (docs/threat-model.md).
    for (const f of json.findings as { class: string }[]) expect(Object.keys(AUDIT_CLASSES)).toContain(f.class);
    expect(json.fingerprint).toEqual({ changed: [] });
    const markdown = readFileSync(report, "utf8");
    expect(markdown).toContain("| PASS | live probes |");
    expect(markdown).toContain("Identical to the baseline");
    expect(verify.stdout + verify.stderr + markdown).not.toContain(PASSWORD);
  });

  it("exit 1 when a check fails, with the object named in the table", async () => {
    await withClient(server.admin, (c) => c.query("GRANT SELECT ON public.orders TO PUBLIC"));
    try {
      const verify = await cli(["verify", "--admin-url", server.adminUrl()]);
      expect(verify.code).toBe(1);
      expect(verify.stdout).toMatch(/FAIL\s+outward: tables and views/);
      expect(verify.stdout).toContain("public.orders (SELECT via PUBLIC)");
    } finally {
      await withClient(server.admin, (c) => c.query("REVOKE SELECT ON public.orders FROM PUBLIC"));
    }
  });

  it("exit 2 with a one-line error when it cannot run", async () => {
    const noDb = await cli(["verify", "--admin-url", server.adminUrl("no_such_database")]);
    expect(noDb.code).toBe(2);
    expect(noDb.stderr.trim().split("\n")).toHaveLength(1);
    expect(noDb.stderr).toContain("no_such_database does not exist");
    const badBaseline = await cli([
      "verify",
      "--admin-url",
      server.adminUrl(),
      "--baseline-fingerprint",
      "/nonexistent/before.json",
    ]);
    expect(badBaseline.code).toBe(2);
    expect(badBaseline.stderr).toBe(
      "error: Cannot read the baseline fingerprint /nonexistent/before.json: it does not exist. Pass the file `umami-db fingerprint --out` (or preflight) wrote before the deploy; one captured now would prove nothing about the deploy.\n",
    );
  });
});
