/**
 * Idempotency: a second provisioning changes nothing in the catalog (the Umami schema and its
 * `_prisma_migrations` included), a second migration run applies nothing, a second post-deploy reports the
 * same as the first once timestamps and durations are removed, and the stack under Pulumi mocks declares the
 * same resources twice.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec } from "../../sst/database/spec.js";
import { parseDatabaseUrl, toUrl, withClient, type ConnectionSettings } from "../../scripts/kernel/db.js";
import { applyMigrations } from "../../scripts/migrate/runner.js";
import { KNOWN_RELEASES } from "../../scripts/migrate/sources/releases.js";
import { loadRelease, releaseSource, testSourceOptions } from "../support/migrations.js";
import { buildPlan } from "../../scripts/plan/plan.js";
import { renderPostDeployMarkdown } from "../../scripts/flows/report.js";
import { runPostDeploy, type PostDeployResult } from "../../scripts/flows/post-deploy.js";
import { provisionStage } from "../../scripts/flows/provision.js";
import { captureBefore } from "../../scripts/flows/checks.js";
import { runPreflight } from "../../scripts/flows/preflight.js";
import { StepRunner } from "../../scripts/flows/steps.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../support/server.js";
import { applicationDataChecksums, catalogSnapshot } from "../support/reliability.js";

const PASSWORD = "Idempotency-Test-Password-0123456789abcd";
const spec = buildSpec("dev");
let server: TestServer;
let superuserOnApp: ConnectionSettings;
let umami: ConnectionSettings;

beforeAll(async () => {
  server = await startTestServer();
  superuserOnApp = { ...server.superuser, database: "app" };
  umami = parseDatabaseUrl(
    toUrl({ ...server.admin, schema: spec.schema }, { user: spec.role.name, password: PASSWORD }),
  );
});
afterAll(async () => server?.stop());

const provision = () =>
  withClient(server.admin, (c) => provisionStage(c, spec, { admin: TEST_ADMIN.name, password: PASSWORD }));
const snapshot = () => withClient(superuserOnApp, catalogSnapshot);

/** A post-deploy result without what differs between two runs by nature: clocks, durations, live counters. */
function stable(result: PostDeployResult) {
  const { startedAt: _s, finishedAt: _f, checks, steps, schemaCheck, ...rest } = result;
  return {
    ...rest,
    schemaCheck: schemaCheck && { ...schemaCheck, ms: "<live figures>" },
    steps: steps.map((s) => ({
      name: s.name,
      ok: s.ok,
      error: s.error,
      // The scratch server's step names its port, a live figure too.
      detail:
        s.name.startsWith("baseline") || s.name === "compare baseline" || s.name.includes("scratch")
          ? "<live figures>"
          : s.detail,
    })),
    checks: checks && {
      ok: checks.audit.ok,
      // The live probe names how long it held each table: a live figure.
      findings: JSON.parse(JSON.stringify(checks.audit.findings).replace(/\d+(?:\.\d+)? ms\b/g, "<ms>")) as unknown,
      fingerprint: checks.audit.fingerprint,
      probes: checks.audit.probes,
      queries: checks.audit.queries,
      summary: checks.summary.filter((l) => !l.startsWith("baseline")),
    },
  };
}

describe("idempotency", () => {
  it("a second provisioning after the migrations changes nothing in the catalog, Umami's schema included", async () => {
    expect(await provision()).toMatchObject({ createdRole: true, createdSchema: true });
    const set = await loadRelease("3.1.0");
    expect((await applyMigrations(umami, set)).applied).toHaveLength(19);
    const before = await snapshot();
    const data = await withClient(server.admin, applicationDataChecksums);
    const again = await provision();
    expect(again).toMatchObject({ createdRole: false, createdSchema: false });
    expect(await snapshot()).toBe(before);
    expect(await withClient(server.admin, applicationDataChecksums)).toEqual(data);
  });

  it("a second migration run applies nothing and leaves _prisma_migrations as it was", async () => {
    const set = await loadRelease("3.1.0");
    const before = await snapshot();
    const second = await applyMigrations(umami, set);
    expect(second).toMatchObject({ applied: [], createdMigrationsTable: false, modified: [] });
    expect(second.alreadyApplied).toEqual(set.migrations.map((m) => m.name));
    expect(await snapshot()).toBe(before);
  });

  it("two post-deploy runs report the same audit and results, timestamps and live figures aside", async () => {
    const before = await captureBefore(new StepRunner(), server.admin, spec);
    const run = () =>
      runPostDeploy({
        spec,
        admin: server.admin,
        umami,
        migrations: releaseSource("3.1.0"),
        sources: testSourceOptions(),
        before,
        secretArn: "file",
      });
    const catalog = await snapshot();
    const first = await run();
    const second = await run();
    expect(first.ok, first.error).toBe(true);
    expect(first.migrations).toMatchObject({
      applied: [],
      alreadyApplied: Object.keys(KNOWN_RELEASES.find((r) => r.tag === "v3.1.0")!.checksums),
    });
    expect(first.checks?.audit.findings.length).toBeGreaterThan(10);
    expect(stable(second)).toEqual(stable(first));
    // report.md likewise, up to the performance section (live figures by nature).
    const markdown = (r: PostDeployResult) =>
      renderPostDeployMarkdown(r)
        .split("## Performance baseline")[0]
        .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "<time>")
        .replace(/\d+(?:\.\d+)? ms\b/g, "<ms>")
        .replace(/127\.0\.0\.1:\d+/g, "<scratch server>")
        .split("\n")
        .filter((line) => !/^\| (baseline|compare baseline)/.test(line))
        .join("\n");
    expect(markdown(first)).toContain("## Isolation audit");
    expect(markdown(second)).toBe(markdown(first));
    expect(JSON.stringify(stable(second))).not.toContain(PASSWORD);
    // The runs read, they do not write: the catalog is as before both.
    expect(await snapshot()).toBe(catalog);
  });

  it("re-provisioning refuses an administrator's table in the schema (it would grant it to umami_user), and restores a revoked grant without touching umami_user's own tables", async () => {
    // Class foreign-objects-in-schema: granting such a table would hand it to umami_user; provisioning names it and stops.
    await withClient(server.admin, (c) => c.query("CREATE TABLE umami.admin_made (id int)"));
    try {
      await expect(provision()).rejects.toThrow(
        /schema umami in database app already holds objects umami_user does not own \(table umami\.admin_made owned by app_admin\)/,
      );
    } finally {
      await withClient(server.admin, (c) => c.query("DROP TABLE umami.admin_made"));
    }
    await withClient(server.admin, (c) => c.query("REVOKE CREATE ON SCHEMA umami FROM umami_user"));
    const has = () =>
      withClient(
        server.admin,
        async (c) =>
          (
            await c.query<{ ok: boolean }>(
              "SELECT pg_catalog.has_schema_privilege('umami_user', 'umami', 'CREATE') AS ok",
            )
          ).rows[0].ok,
      );
    expect(await has()).toBe(false);
    await provision();
    expect(await has()).toBe(true);
    const owned = await withClient(server.admin, (c) =>
      c.query<{ acl: string | null }>(
        "SELECT relacl::text AS acl FROM pg_catalog.pg_class WHERE oid = 'umami.website'::regclass",
      ),
    );
    expect(owned.rows[0].acl).toBeNull();
  });

  // Defects these tests found (docs/reliability.md), now fixed: preflight counted the TOAST tables umami_user
  // owns (schema pg_toast) as "relations outside schema umami", and compared search_path unquoted.
  it("preflight before a second deploy recognises the stage's own, migrated objects", async () => {
    const result = await runPreflight(server.admin, spec);
    expect(result.findings.find((f) => f.check === "conflicts")?.severity).toBe("info");
  });

  // preflight compares rolconfig with search_path=umami_Feature_X; PostgreSQL stores search_path="umami_Feature_X".
  it("preflight recognises a freshly provisioned stage whose names need quoting", async () => {
    const quoted = buildSpec("Feature-X");
    await withClient(server.admin, (c) => provisionStage(c, quoted, { admin: TEST_ADMIN.name, password: PASSWORD }));
    const result = await runPreflight(server.admin, quoted);
    expect(result.findings.find((f) => f.check === "conflicts")?.severity).toBe("info");
  });

  it("the stack under Pulumi mocks declares identical resources and SQL twice", async () => {
    const a = await buildPlan("dev");
    const b = await buildPlan("dev");
    expect(a.resources.length).toBeGreaterThan(3);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });
});
