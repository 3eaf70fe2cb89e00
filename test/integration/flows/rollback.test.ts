import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec, type UmamiDatabaseSpec } from "../../../sst/database/spec.js";
import { stageSettings } from "../../../sst/stages.js";
import { quoteIdent } from "../../../sst/database/quote.js";
import {
  parseDatabaseUrl,
  toUrl,
  withClient,
  type Client,
  type ConnectionSettings,
} from "../../../scripts/kernel/db.js";
import { captureFingerprint, diffFingerprints } from "../../../scripts/evidence/fingerprint.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { buildCredentialsSecret } from "../../../sst/database/secret.js";
import { writeSecretFile } from "../../../scripts/stage/credentials.js";
import { ProtectedStageError, rollbackStage } from "../../../scripts/flows/rollback.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";
import { scratchDir } from "../../support/scratch.js";

const PASSWORD = "umami-password-for-rollback-tests";
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.stop());

const spec = (stage: string, database = "app", pgcryptoAlreadyInstalled = false) =>
  buildSpec(stage, { ...stageSettings(stage), database, pgcryptoAlreadyInstalled });

/** Provisions `s` as the Aurora-like admin and creates tables as umami_user, as Umami's migrations would. */
async function deploy(s: UmamiDatabaseSpec, admin: ConnectionSettings = server.admin): Promise<void> {
  await withClient(admin, (c) => provisionStage(c, s, { admin: TEST_ADMIN.name, password: PASSWORD }));
  const umami = parseDatabaseUrl(toUrl({ ...admin, schema: s.schema }, { user: s.role.name, password: PASSWORD }));
  await withClient(umami, async (c) => {
    const schema = quoteIdent(s.schema);
    await c.query(
      `CREATE TABLE ${schema}.website (website_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL)`,
    );
    await c.query(
      `CREATE TABLE ${schema}.session (session_id serial PRIMARY KEY, website_id uuid REFERENCES ${schema}.website)`,
    );
    await c.query(`INSERT INTO ${schema}.website (name) VALUES ('a'), ('b')`);
  });
}

/** The stage's traces in the catalog: role, schema, default-privilege rows, shared dependencies. */
async function traces(c: Client, s: UmamiDatabaseSpec) {
  const { rows } = await c.query<{ role: boolean; schema: boolean; default_acls: number; db_acl_mentions: boolean }>(
    `
    SELECT
      EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1) AS role,
      EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $2) AS schema,
      (SELECT count(*)::int FROM pg_catalog.pg_default_acl d
        WHERE d.defaclacl::text LIKE '%' || $1 || '=%' OR d.defaclnamespace NOT IN (SELECT oid FROM pg_catalog.pg_namespace)) AS default_acls,
      EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datacl::text LIKE '%' || $1 || '=%' OR datacl::text ~ '[{,][0-9]+=') AS db_acl_mentions
    `,
    [s.role.name, s.schema],
  );
  return rows[0];
}

/** A checksum of every application table's rows, so "untouched" covers data as well as the catalog. */
async function dataChecksum(c: Client): Promise<Record<string, string>> {
  const sums: Record<string, string> = {};
  for (const table of [
    "public.customers",
    "public.orders",
    "public.order_items",
    "billing.invoices",
    "drizzle.__drizzle_migrations",
  ]) {
    const [schema, name] = table.split(".");
    const { rows } = await c.query<{ sum: string }>(
      `SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) AS sum FROM ${quoteIdent(schema)}.${quoteIdent(name)} t`,
    );
    sums[table] = rows[0].sum;
  }
  return sums;
}

/** A stage's objects as the catalog shows them (to prove another stage's rollback left them alone). */
async function stageSnapshot(c: Client, s: UmamiDatabaseSpec) {
  const { rows } = await c.query(
    `
    SELECT
      (SELECT row_to_json(r)::text FROM (SELECT rolname, rolcanlogin, rolconnlimit, rolconfig FROM pg_catalog.pg_roles WHERE rolname = $1) r) AS role,
      (SELECT nspacl::text FROM pg_catalog.pg_namespace WHERE nspname = $2) AS schema_acl,
      (SELECT string_agg(relname || ':' || relkind::text || ':' || pg_catalog.pg_get_userbyid(relowner) || ':' || coalesce(relacl::text, ''), ',' ORDER BY relname)
         FROM pg_catalog.pg_class WHERE relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $2)) AS relations,
      (SELECT string_agg(defaclobjtype::text || ':' || defaclacl::text, ',' ORDER BY defaclobjtype)
         FROM pg_catalog.pg_default_acl WHERE defaclnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $2)) AS default_acls,
      (SELECT count(*) FROM pg_catalog.pg_class WHERE relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $2)) AS n
    `,
    [s.role.name, s.schema],
  );
  return rows[0];
}

describe("rollbackStage (Aurora-like admin, not a superuser)", () => {
  it("leaves zero trace while the application's fingerprint and data stay identical; a second run is a no-op", async () => {
    const dev = spec("dev");
    const fingerprint = () =>
      captureFingerprint(server.admin, { excludeSchemas: [dev.schema], excludeRoles: [dev.role.name] });
    const before = await fingerprint();
    const data = await withClient(server.admin, dataChecksum);
    await deploy(dev);
    expect(await withClient(server.admin, (c) => traces(c, dev))).toMatchObject({ role: true, schema: true });

    const result = await rollbackStage(server.admin, dev);
    expect(result.leftovers).toEqual([]);
    expect(result.removed).toEqual([
      "schema umami (2 tables, pgcrypto)",
      "role umami_user",
      "default privileges (2 entries)",
    ]);
    expect(await withClient(server.admin, (c) => traces(c, dev))).toEqual({
      role: false,
      schema: false,
      default_acls: 0,
      db_acl_mentions: false,
    });
    expect(diffFingerprints(before, await fingerprint())).toEqual([]);
    expect(await withClient(server.admin, dataChecksum)).toEqual(data);
    const pgcrypto = await withClient(server.admin, (c) =>
      c.query("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgcrypto'"),
    );
    expect(pgcrypto.rowCount).toBe(0);

    const again = await rollbackStage(server.admin, dev);
    expect(again).toMatchObject({ nothingToDo: true, removed: [], leftovers: [], kept: [] });
  });

  it("rolls back stage pr-42 without touching stage dev on the same database", async () => {
    const dev = spec("dev");
    const pr = spec("pr-42");
    await deploy(dev);
    await deploy(pr);
    const devBefore = await withClient(server.admin, (c) => stageSnapshot(c, dev));
    expect(Number(devBefore.n)).toBeGreaterThan(0);

    const result = await rollbackStage(server.admin, pr);
    expect(result.leftovers).toEqual([]);
    expect(result.removed).toContain("role umami_user_pr_42");
    expect(await withClient(server.admin, (c) => stageSnapshot(c, dev))).toEqual(devBefore);
    expect(await withClient(server.admin, (c) => traces(c, pr))).toMatchObject({ role: false, schema: false });
    // pgcrypto lives in dev's schema (created by dev's provisioning): pr-42's rollback must not take it.
    const ext = await withClient(server.admin, (c) =>
      c.query(
        "SELECT extnamespace::regnamespace::text AS schema FROM pg_catalog.pg_extension WHERE extname = 'pgcrypto'",
      ),
    );
    expect(ext.rows).toEqual([{ schema: "umami" }]);
    await rollbackStage(server.admin, dev);
  });

  it("refuses a protected stage without force, changing nothing", async () => {
    const dev = spec("dev");
    await deploy(dev);
    const snapshot = await withClient(server.admin, (c) => stageSnapshot(c, dev));
    // production uses the story's names, like dev: refusing is what keeps them.
    await expect(rollbackStage(server.admin, spec("production"))).rejects.toThrow(ProtectedStageError);
    expect(await withClient(server.admin, (c) => stageSnapshot(c, dev))).toEqual(snapshot);
    await rollbackStage(server.admin, dev);
  });

  it("stops before dropping anything when an application object depends on the Umami schema", async () => {
    const dev = spec("dev");
    await deploy(dev);
    await withClient(server.superuser, async (c) => {
      await c.query("GRANT CREATE ON SCHEMA public TO app_admin");
    });
    await withClient(server.admin, (c) =>
      c.query("CREATE VIEW public.website_names AS SELECT name FROM umami.website"),
    );
    const refused = await rollbackStage(server.admin, dev);
    expect(refused.blockers.map((b) => b.object)).toEqual(["view public.website_names"]);
    expect(refused.removed).toEqual([]);
    expect(await withClient(server.admin, (c) => traces(c, dev))).toMatchObject({ role: true, schema: true });
    await withClient(server.admin, (c) => c.query("DROP VIEW public.website_names"));
    expect((await rollbackStage(server.admin, dev)).leftovers).toEqual([]);
  });

  it("keeps a pgcrypto the database already had, and cleans the role's grants in other databases", async () => {
    const other = await server.createDatabase("analytics_other");
    const app2 = await server.createDatabase("app2");
    await withClient(app2, (c) => c.query("CREATE EXTENSION pgcrypto WITH SCHEMA public"));
    const pr = spec("pr-7", "app2", true);
    await deploy(pr, app2);
    await withClient(other, async (c) => {
      await c.query("CREATE TABLE public.shared (id int)");
      await c.query(`GRANT SELECT ON public.shared TO ${quoteIdent(pr.role.name)}`);
    });

    const result = await rollbackStage(app2, pr);
    expect(result.leftovers).toEqual([]);
    expect(result.kept).toEqual(["pgcrypto in schema public (not created by this stage)"]);
    expect(result.removed).toContain(`objects and privileges of ${pr.role.name} in database analytics_other`);
    const ext = await withClient(app2, (c) =>
      c.query(
        "SELECT extnamespace::regnamespace::text AS schema FROM pg_catalog.pg_extension WHERE extname = 'pgcrypto'",
      ),
    );
    expect(ext.rows).toEqual([{ schema: "public" }]);
    expect(await withClient(app2, (c) => traces(c, pr))).toEqual({
      role: false,
      schema: false,
      default_acls: 0,
      db_acl_mentions: false,
    });
  });
});

describe("umami-db rollback (CLI)", () => {
  const cli = (...args: string[]) =>
    promisify(execFile)("node", ["bin/umami-db.js", "rollback", ...args]).then(
      (r) => ({ code: 0, ...r }),
      (e: unknown) => e as { code: number; stdout: string; stderr: string },
    );

  it("refuses without --yes off a terminal and a protected stage without --force, then removes with --yes and is idempotent", async () => {
    // A derived stage lives next to stage dev and uses its pgcrypto (it never creates one itself).
    const dev = spec("dev");
    await deploy(dev);
    const pr = spec("pr-8");
    await deploy(pr);
    const noYes = await cli("--stage", "pr-8", "--admin-url", server.adminUrl());
    expect(noYes.code).toBe(2);
    expect(noYes.stderr).toBe(
      "error: rollback deletes data and asks for confirmation; on a non-interactive shell pass --yes.\n",
    );
    const protectedStage = await cli("--stage", "production", "--admin-url", server.adminUrl(), "--yes");
    expect(protectedStage.code).toBe(2);
    expect(protectedStage.stderr).toContain("Stage production is protected");
    expect(await withClient(server.admin, (c) => traces(c, pr))).toMatchObject({ role: true, schema: true });

    const file = join(scratchDir("rollback-cli-"), "credentials.json");
    writeSecretFile(
      file,
      buildCredentialsSecret({
        username: pr.role.name,
        password: PASSWORD,
        host: "127.0.0.1",
        port: 5432,
        database: "app",
        schema: pr.schema,
        sslmode: "disable",
      }),
    );
    const done = await cli(
      "--stage",
      "pr-8",
      "--admin-url",
      server.adminUrl(),
      "--yes",
      "--json",
      "--delete-secret",
      "--secret-file",
      file,
    );
    expect(done.code).toBe(0);
    const result = JSON.parse(done.stdout);
    expect(result).toMatchObject({ stage: "pr-8", leftovers: [], nothingToDo: false });
    expect(result.removed).toEqual([
      "schema umami_pr_8 (2 tables)",
      "role umami_user_pr_8",
      "default privileges (2 entries)",
      `secret file ${file}`,
    ]);
    expect(existsSync(file)).toBe(false);
    expect(done.stdout).not.toContain(TEST_ADMIN.password);

    const again = await cli("--stage", "pr-8", "--admin-url", server.adminUrl(), "--yes");
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("rollback pr-8: nothing to do");
    expect(again.stdout).not.toContain("sst refresh"); // nothing was removed, so SST's state has nothing to forget
    expect(
      await withClient(server.admin, (c) =>
        c.query(
          "SELECT extnamespace::regnamespace::text AS schema FROM pg_catalog.pg_extension WHERE extname = 'pgcrypto'",
        ),
      ),
    ).toMatchObject({ rows: [{ schema: "umami" }] });
    // In text mode, after removing something, it says how to make SST's state forget it.
    const text = await cli("--stage", "dev", "--admin-url", server.adminUrl(), "--yes");
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      "rollback dev: no trace left\nnext: if SST deployed stage dev, run `npx sst refresh --stage dev` so its state forgets the removed objects\n",
    );
  });
});
