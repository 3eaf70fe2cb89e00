/**
 * Rollback never drops what the application owns, and is all or nothing. Each case seeds
 * one application object that depends on the stage, or a grant the administrator cannot revoke, and checks
 * that the rollback refuses, names it with a statement that clears it, and changes nothing (the superuser's
 * catalog snapshot, the fingerprint with the Umami schema included, the rows); then that the statement, run
 * as written, clears it and the rollback leaves no role, schema or pg_default_acl row.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildSpec, type UmamiDatabaseSpec } from "../../../sst/database/spec.js";
import { stageSettings } from "../../../sst/stages.js";
import { quoteIdent } from "../../../sst/database/quote.js";
import {
  connect,
  parseDatabaseUrl,
  toUrl,
  withClient,
  type Client,
  type ConnectionSettings,
} from "../../../scripts/kernel/db.js";
import { UserError } from "../../../scripts/kernel/errors.js";
import { captureFingerprint } from "../../../scripts/evidence/fingerprint.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { rollbackStage, type RollbackResult } from "../../../scripts/flows/rollback.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";
import { applicationDataChecksums, catalogSnapshot, runCli } from "../../support/reliability.js";
import { scratchDir } from "../../support/scratch.js";

const PASSWORD = "umami-password-for-blocker-tests";
const APP_OWNER_PASSWORD = "app-owner-password-for-blocker-tests";
let server: TestServer;
const dev = buildSpec("dev", { ...stageSettings("dev"), database: "app" });
const onApp = (settings: ConnectionSettings) => ({ ...settings, database: "app" });

beforeAll(async () => {
  server = await startTestServer();
  // An application role that owns some of the application and that the administrator is no member of.
  await withClient(server.superuser, (c) => c.query(`CREATE ROLE app_owner LOGIN PASSWORD '${APP_OWNER_PASSWORD}'`));
});
afterAll(async () => server?.stop());

/** What each case must undo whatever happened (so a failing case does not fail the next), run as the superuser. */
const cleanups: { database: string; sql: string }[] = [];
afterEach(async () => {
  for (const { database, sql } of cleanups.splice(0))
    await withClient({ ...server.superuser, database }, (c) => c.query(sql));
  const databases = await withClient(server.superuser, (c) =>
    c.query<{ datname: string }>("SELECT datname FROM pg_catalog.pg_database WHERE datname IN ('app', 'reports')"),
  );
  const role = await withClient(server.superuser, (c) =>
    c.query("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'umami_user'"),
  );
  await withClient({ ...server.superuser, database: "app" }, (c) => c.query("DROP SCHEMA IF EXISTS umami CASCADE"));
  if (role.rowCount === 0) return;
  for (const { datname } of databases.rows)
    await withClient({ ...server.superuser, database: datname }, (c) => c.query("DROP OWNED BY umami_user"));
  await withClient(server.superuser, (c) => c.query("DROP ROLE umami_user"));
});

/** Provisions `s` and creates what Umami's migrations would, as its role: tables, a function. */
async function deploy(s: UmamiDatabaseSpec, admin: ConnectionSettings = server.admin): Promise<void> {
  await withClient(admin, (c) => provisionStage(c, s, { admin: TEST_ADMIN.name, password: PASSWORD }));
  const umami = parseDatabaseUrl(toUrl({ ...admin, schema: s.schema }, { user: s.role.name, password: PASSWORD }));
  await withClient(umami, async (c) => {
    const schema = quoteIdent(s.schema);
    await c.query(
      `CREATE TABLE ${schema}.website (website_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL)`,
    );
    await c.query(`CREATE FUNCTION ${schema}.touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'`);
    await c.query(`INSERT INTO ${schema}.website (name) VALUES ('a'), ('b')`);
  });
}

/** Everything a rollback could change, so "nothing changed" can be asserted as equality. */
async function everything() {
  const su = onApp(server.superuser);
  return {
    catalog: await withClient(su, catalogSnapshot),
    data: await withClient(su, applicationDataChecksums),
    umami: await withClient(su, (c) => c.query("SELECT website_id::text, name FROM umami.website ORDER BY name")).then(
      (r) => r.rows,
    ),
    fingerprint: JSON.stringify({
      ...(await captureFingerprint(server.admin, { excludeSchemas: [] })),
      capturedAt: null,
    }),
  };
}

async function traces(c: Client, s: UmamiDatabaseSpec) {
  const { rows } = await c.query(
    `
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1) AS role,
           EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $2) AS schema,
           (SELECT count(*)::int FROM pg_catalog.pg_default_acl) AS default_acls
    `,
    [s.role.name, s.schema],
  );
  return rows[0];
}

/** Refused, with exactly these blockers, and nothing changed; then cleared by running the remedies as written. */
async function expectRefusedThenCleared(
  expected: Partial<RollbackResult["blockers"][number]>[],
  clearAs: Record<string, ConnectionSettings> = {},
) {
  const before = await everything();
  const refused = await rollbackStage(server.admin, dev).catch((error: unknown) => error as Error);
  expect(await everything()).toEqual(before);
  expect(refused).not.toBeInstanceOf(Error);
  if (refused instanceof Error) return;
  expect(refused.blockers).toEqual(expected.map((b) => expect.objectContaining(b)));
  expect(refused.removed).toEqual([]);
  for (const blocker of refused.blockers) {
    const as = blocker.asRole ? clearAs[blocker.asRole] : server.admin;
    await withClient({ ...as, database: blocker.database }, (c) => c.query(blocker.remedy));
  }
  const done = await rollbackStage(server.admin, dev);
  expect(done).toMatchObject({ blockers: [], leftovers: [] });
  expect(await withClient(server.admin, (c) => traces(c, dev))).toEqual({
    role: false,
    schema: false,
    default_acls: 0,
  });
}

describe("rollback refuses, changing nothing, when it would touch the application", () => {
  it("an application RLS policy whose expression reads a Umami table (DROP SCHEMA … CASCADE dropped it silently)", async () => {
    await deploy(dev);
    await withClient(server.admin, async (c) => {
      cleanups.push({
        database: "app",
        sql: "DROP POLICY IF EXISTS tracked_only ON public.customers; ALTER TABLE public.customers DISABLE ROW LEVEL SECURITY",
      });
      await c.query("ALTER TABLE public.customers ENABLE ROW LEVEL SECURITY");
      await c.query(
        "CREATE POLICY tracked_only ON public.customers USING (EXISTS (SELECT 1 FROM umami.website w WHERE w.name = customers.name))",
      );
    });
    await expectRefusedThenCleared([
      {
        database: "app",
        object: "policy tracked_only on public.customers",
        reason: "depends on table umami.website: DROP SCHEMA … CASCADE would drop it with the Umami schema",
        remedy: 'DROP POLICY "tracked_only" ON "public"."customers"',
      },
    ]);
  });

  it("an application view over a Umami table, and a view over that view", async () => {
    await deploy(dev);
    await withClient(server.admin, async (c) => {
      cleanups.push({ database: "app", sql: "DROP VIEW IF EXISTS public.site_names CASCADE" });
      await c.query("CREATE VIEW public.site_names AS SELECT name FROM umami.website");
      await c.query("CREATE VIEW public.site_names_upper AS SELECT upper(name) AS name FROM public.site_names");
    });
    await expectRefusedThenCleared([
      // The view over the view comes first: the remedies run in the order listed.
      {
        object: "view public.site_names_upper",
        reason: expect.stringContaining("depends on view public.site_names"),
        remedy: 'DROP VIEW "public"."site_names_upper"',
      },
      {
        object: "view public.site_names",
        reason: expect.stringContaining("depends on table umami.website"),
        remedy: 'DROP VIEW "public"."site_names"',
      },
    ]);
  });

  it("an application column default calling a function in the Umami schema (pgcrypto created there)", async () => {
    await deploy(dev);
    cleanups.push({ database: "app", sql: "ALTER TABLE public.order_items DROP COLUMN IF EXISTS token" });
    await withClient(server.admin, (c) =>
      c.query("ALTER TABLE public.order_items ADD COLUMN token bytea DEFAULT umami.gen_random_bytes(8)"),
    );
    await expectRefusedThenCleared([
      {
        object: "default value for public.order_items.token",
        reason:
          "depends on function umami.gen_random_bytes(integer): DROP SCHEMA … CASCADE would drop it with the Umami schema",
        remedy: 'ALTER TABLE "public"."order_items" ALTER COLUMN "token" DROP DEFAULT',
      },
    ]);
  });

  it("a grant to umami_user by the application's owner (rollback dropped the schema, then failed on DROP ROLE)", async () => {
    await deploy(dev);
    cleanups.push({ database: "app", sql: "DROP TABLE IF EXISTS public.ledger" });
    await withClient(onApp(server.superuser), (c) =>
      c.query("CREATE TABLE public.ledger (id int); ALTER TABLE public.ledger OWNER TO app_owner"),
    );
    const appOwner = { ...server.admin, user: "app_owner", password: APP_OWNER_PASSWORD };
    await withClient(appOwner, (c) => c.query("GRANT SELECT ON public.ledger TO umami_user"));
    await expectRefusedThenCleared(
      [
        {
          object: "table public.ledger",
          reason:
            "grants umami_user a privilege given by app_owner, which app_admin cannot revoke: DROP ROLE would fail after the schema is gone",
          remedy: 'REVOKE ALL ON TABLE "public"."ledger" FROM "umami_user"',
          asRole: "app_owner",
        },
      ],
      { app_owner: appOwner },
    );
  });

  it("an administrator's materialized view, SQL-standard function and publications over Umami's tables (the audit's inward-via-objects and -replication paths)", async () => {
    await deploy(dev);
    cleanups.push({
      database: "app",
      sql: `DROP MATERIALIZED VIEW IF EXISTS public.site_snapshot; DROP FUNCTION IF EXISTS public.site_count();
            DROP PUBLICATION IF EXISTS site_feed, umami_feed`,
    });
    await withClient(server.admin, async (c) => {
      await c.query("GRANT umami_user TO app_admin");
      await c.query("CREATE MATERIALIZED VIEW public.site_snapshot AS SELECT name FROM umami.website");
      await c.query(
        "CREATE FUNCTION public.site_count() RETURNS bigint LANGUAGE sql SECURITY DEFINER BEGIN ATOMIC SELECT count(*) FROM umami.website; END",
      );
    });
    // Publications FOR TABLE of another owner's table, and FOR TABLES IN SCHEMA, need a superuser in PostgreSQL 15.
    await withClient(onApp(server.superuser), (c) =>
      c.query(
        "CREATE PUBLICATION site_feed FOR TABLE umami.website; CREATE PUBLICATION umami_feed FOR TABLES IN SCHEMA umami",
      ),
    );
    const before = await everything();
    const refused = await rollbackStage(server.admin, dev);
    expect(await everything()).toEqual(before);
    const dependsOn = (what: string) => `depends on ${what}: DROP SCHEMA … CASCADE would drop it with the Umami schema`;
    expect(refused.blockers).toEqual([
      {
        database: "app",
        object: "materialized view public.site_snapshot",
        reason: dependsOn("table umami.website"),
        remedy: 'DROP MATERIALIZED VIEW "public"."site_snapshot"',
      },
      {
        database: "app",
        object: "function public.site_count()",
        reason: dependsOn("table umami.website"),
        remedy: 'DROP FUNCTION "public"."site_count"()',
      },
      {
        database: "app",
        object: "publication namespace umami in publication umami_feed",
        reason: dependsOn("schema umami"),
        remedy: 'ALTER PUBLICATION "umami_feed" DROP TABLES IN SCHEMA "umami"',
      },
      {
        database: "app",
        object: "publication relation umami.website in publication site_feed",
        reason: dependsOn("table umami.website"),
        remedy: 'ALTER PUBLICATION "site_feed" DROP TABLE "umami"."website"',
      },
    ]);
    // The publications' owner (a superuser here) runs their remedies; the administrator the others.
    for (const b of refused.blockers)
      await withClient(b.object.startsWith("publication") ? onApp(server.superuser) : server.admin, (c) =>
        c.query(b.remedy),
      );
    expect(await rollbackStage(server.admin, dev)).toMatchObject({ blockers: [], leftovers: [] });
    expect(await withClient(server.admin, (c) => traces(c, dev))).toEqual({
      role: false,
      schema: false,
      default_acls: 0,
    });
  });

  it("names every kind at once: trigger, statistics, a policy naming umami_user, and a grant in another database", async () => {
    await deploy(dev);
    const other = await server.createDatabase("reports");
    await withClient({ ...server.superuser, database: "reports" }, async (c) => {
      await c.query("CREATE TABLE public.kpis (id int); ALTER TABLE public.kpis OWNER TO app_owner");
    });
    const appOwner = { ...server.admin, user: "app_owner", password: APP_OWNER_PASSWORD };
    await withClient({ ...appOwner, database: "reports" }, (c) => c.query("GRANT SELECT ON public.kpis TO umami_user"));
    cleanups.push(
      {
        database: "app",
        sql: "DROP TRIGGER IF EXISTS touch_orders ON public.orders; DROP POLICY IF EXISTS umami_reads ON public.orders; DROP STATISTICS IF EXISTS public.site_stats",
      },
      { database: "reports", sql: "DROP TABLE IF EXISTS public.kpis" },
    );
    await withClient(server.admin, async (c) => {
      await c.query(
        "CREATE TRIGGER touch_orders BEFORE UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION umami.touch()",
      );
      await c.query("CREATE POLICY umami_reads ON public.orders TO umami_user USING (true)");
    });
    await withClient(onApp(server.superuser), (c) =>
      c.query("CREATE STATISTICS public.site_stats ON website_id, name FROM umami.website"),
    );
    await expectRefusedThenCleared(
      [
        {
          database: "app",
          object: "statistics object public.site_stats",
          remedy: 'DROP STATISTICS "public"."site_stats"',
        },
        {
          database: "app",
          object: "trigger touch_orders on public.orders",
          reason: expect.stringContaining("function umami.touch()"),
          remedy: 'DROP TRIGGER "touch_orders" ON "public"."orders"',
        },
        {
          database: "app",
          object: "policy umami_reads on public.orders",
          reason: "names role umami_user: DROP OWNED BY would drop the policy",
          remedy: 'DROP POLICY "umami_reads" ON "public"."orders"',
        },
        {
          database: "reports",
          object: "table public.kpis",
          asRole: "app_owner",
          remedy: 'REVOKE ALL ON TABLE "public"."kpis" FROM "umami_user"',
        },
      ],
      { app_owner: appOwner },
    );
    expect(other.database).toBe("reports");
  });
});

describe("rollback while Umami still holds its tables", () => {
  it("gives up after its lock timeout with one line saying to stop Umami, and changes nothing", async () => {
    await deploy(dev);
    const before = await everything();
    const umami = parseDatabaseUrl(
      toUrl({ ...server.admin, schema: dev.schema }, { user: dev.role.name, password: PASSWORD }),
    );
    const running = await connect(umami);
    try {
      await running.query("BEGIN");
      await running.query("SELECT count(*) FROM umami.website");
      const error = await rollbackStage(server.admin, dev).catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toBe(
        "Rollback of stage dev stopped and was undone in database app (schema umami and role umami_user are as they were): " +
          "the stage's tables stayed locked for 5 s (Umami, or another session, is still using them). Stop Umami (scale its service to 0) and run rollback again.",
      );
    } finally {
      await running.query("ROLLBACK");
      await running.end();
    }
    expect(await everything()).toEqual(before);
    expect((await rollbackStage(server.admin, dev)).leftovers).toEqual([]);
  }, 30_000);
});

describe("umami-db rollback refusing (CLI)", () => {
  it("exit 1, each blocker with the statement that clears it, --json, nothing changed, the secret kept", async () => {
    await deploy(dev);
    cleanups.push({ database: "app", sql: "DROP VIEW IF EXISTS public.site_names" });
    await withClient(server.admin, (c) => c.query("CREATE VIEW public.site_names AS SELECT name FROM umami.website"));
    const before = await everything();
    const env = { ADMIN_DATABASE_URL: server.adminUrl() };
    const secretFile = join(scratchDir("rollback-refused-"), "credentials.json");
    writeFileSync(secretFile, "{}");
    const text = await runCli(
      ["rollback", "--stage", "dev", "--yes", "--delete-secret", "--secret-file", secretFile],
      env,
    );
    expect(text.code).toBe(1);
    expect(text.stdout).toBe(
      "BLOCKED  view public.site_names [database app]: depends on table umami.website: DROP SCHEMA … CASCADE would drop it with the Umami schema\n" +
        '         clear it with: DROP VIEW "public"."site_names";\n' +
        "rollback dev: refused, nothing was changed (1 blocker). These objects belong to the application: clear each as shown (or change it so it no longer uses the stage), then run rollback again.\n",
    );
    const json = await runCli(["rollback", "--stage", "dev", "--yes", "--json"], env);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      removed: [],
      leftovers: [],
      blockers: [{ object: "view public.site_names", remedy: 'DROP VIEW "public"."site_names"' }],
    });
    expect(await everything()).toEqual(before);
    expect(existsSync(secretFile)).toBe(true); // the role it opens is still there
    await withClient(server.admin, (c) => c.query("DROP VIEW public.site_names"));
    expect((await runCli(["rollback", "--stage", "dev", "--yes"], env)).code).toBe(0);
  });
});
