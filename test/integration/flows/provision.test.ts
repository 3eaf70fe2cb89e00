/**
 * Provisioning from the spec's SQL as an Aurora-like administrator (not a superuser), on real PostgreSQL 15:
 * what it creates, that a second run changes nothing, that names needing quotes work, that two stages live
 * side by side, and that an administrator without CREATEROLE is refused with nothing changed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec } from "../../../sst/database/spec.js";
import { parseDatabaseUrl, withClient, type ConnectionSettings } from "../../../scripts/kernel/db.js";
import { catalogSnapshot } from "../../support/reliability.js";
import { provisionStage, ProvisionError } from "../../../scripts/flows/provision.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  // Records every statement, as Aurora's pg_stat_statements does: the password must never be among them
  // (the test server creates it, as RDS's defaults do).
  await withClient({ ...server.superuser, database: "app" }, (c) =>
    c.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"),
  );
});
afterAll(async () => server?.stop());

const PASSWORD = "Provision-Test-Password-0123456789abcdef";

function provision(settings: ConnectionSettings, stage: string) {
  return withClient(settings, (c) =>
    provisionStage(c, buildSpec(stage), { admin: TEST_ADMIN.name, password: PASSWORD }),
  );
}

describe("provisioning as an Aurora-like administrator", () => {
  it("creates the story's schema, role, grants, default privileges and pgcrypto for dev", async () => {
    const result = await provision(server.admin, "dev");
    expect(result).toMatchObject({
      createdRole: true,
      createdSchema: true,
      pgcryptoPreexisting: false,
      pgcryptoSchema: "umami",
    });
    await withClient(server.admin, async (c) => {
      const role = await c.query(
        `SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolconnlimit,
                (SELECT setconfig FROM pg_catalog.pg_db_role_setting WHERE setrole = r.oid) AS config
           FROM pg_catalog.pg_roles r WHERE rolname = 'umami_user'`,
      );
      expect(role.rows[0]).toEqual({
        rolcanlogin: true,
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        rolconnlimit: 22,
        config: ["search_path=umami", "statement_timeout=60000", "idle_in_transaction_session_timeout=60000"],
      });
      const schema = await c.query(
        `SELECT nspowner::regrole::text AS owner, nspacl::text AS acl FROM pg_catalog.pg_namespace WHERE nspname = 'umami'`,
      );
      expect(schema.rows[0].owner).toBe("app_admin");
      expect(schema.rows[0].acl).toContain("umami_user=UC/app_admin");
      const defaults = await c.query(
        `SELECT defaclobjtype AS kind, defaclacl::text AS acl FROM pg_catalog.pg_default_acl
          WHERE defaclnamespace = 'umami'::regnamespace ORDER BY 1`,
      );
      expect(defaults.rows).toEqual([
        { kind: "S", acl: "{umami_user=rwU/app_admin}" },
        { kind: "r", acl: "{umami_user=arwdDxt/app_admin}" },
      ]);
    });
  });

  it("logs in as umami_user with the password, lands in the schema and cannot exceed it", async () => {
    const umami = parseDatabaseUrl(
      server.adminUrl().replace(`${TEST_ADMIN.name}:${TEST_ADMIN.password}`, `umami_user:${PASSWORD}`),
    );
    await withClient(umami, async (c) => {
      const { rows } = await c.query(
        `SELECT current_schemas(false)::text[] AS path, current_setting('statement_timeout') AS timeout`,
      );
      expect(rows[0]).toEqual({ path: ["umami"], timeout: "1min" });
      await expect(c.query("SELECT * FROM public.customers")).rejects.toThrow(/permission denied for table customers/);
    });
  });

  it("sends a SCRAM verifier, never the password: pg_stat_statements and the catalog hold no plaintext", async () => {
    await withClient({ ...server.superuser, database: "app" }, async (c) => {
      const stored = await c.query<{ p: string }>(
        "SELECT rolpassword AS p FROM pg_catalog.pg_authid WHERE rolname = 'umami_user'",
      );
      expect(stored.rows[0].p).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
      const statements = await c.query<{ query: string }>(
        "SELECT query FROM pg_stat_statements WHERE query ILIKE '%ROLE%umami_user%'",
      );
      expect(statements.rows.length).toBeGreaterThan(0);
      expect(statements.rows.map((r) => r.query).join("\n")).not.toContain(PASSWORD);
    });
  });

  it("changes nothing in the catalog when run a second time", async () => {
    // Read as the superuser: the snapshot reads pg_authid.
    const superuser = { ...server.superuser, database: "app" };
    const before = await withClient(superuser, catalogSnapshot);
    const again = await provision(server.admin, "dev");
    expect(again).toMatchObject({ createdRole: false, createdSchema: false });
    expect(await withClient(superuser, catalogSnapshot)).toBe(before);
  });

  it("provisions a second stage beside dev without touching dev, with names that need quoting", async () => {
    const before = await withClient(server.admin, (c) =>
      c.query(`SELECT nspacl::text AS acl FROM pg_catalog.pg_namespace WHERE nspname = 'umami'`),
    );
    // "Feature-X" derives umami_Feature_X: mixed case, which PostgreSQL folds unless the name is quoted.
    const spec = buildSpec("Feature-X");
    expect(spec.schema).toBe("umami_Feature_X");
    await provision(server.admin, "Feature-X");
    await withClient(server.admin, async (c) => {
      const { rows } = await c.query(
        `SELECT n.nspname, r.rolname FROM pg_catalog.pg_namespace n, pg_catalog.pg_roles r WHERE n.nspname = $1 AND r.rolname = $2`,
        [spec.schema, spec.role.name],
      );
      expect(rows).toEqual([{ nspname: "umami_Feature_X", rolname: "umami_user_Feature_X" }]);
      const lower = await c.query(`SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'umami_feature_x'`);
      expect(lower.rowCount).toBe(0);
      const after = await c.query(`SELECT nspacl::text AS acl FROM pg_catalog.pg_namespace WHERE nspname = 'umami'`);
      expect(after.rows).toEqual(before.rows);
    });
  });

  it("refuses a schema that already holds objects the stage's role would not own, naming them, and changes nothing", async () => {
    // A brownfield database where the name is taken: the application's table in a schema called umami_pr_8.
    await withClient(server.admin, (c) =>
      c.query("CREATE SCHEMA umami_pr_8; CREATE TABLE umami_pr_8.ledger (id integer, amount integer)"),
    );
    try {
      const before = await withClient({ ...server.superuser, database: "app" }, catalogSnapshot);
      const error = await provision(server.admin, "pr-8").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProvisionError);
      expect((error as Error).message).toBe(
        "Cannot provision: schema umami_pr_8 in database app already holds objects umami_user_pr_8 does not own (table umami_pr_8.ledger owned by app_admin); " +
          "provisioning would grant them to umami_user_pr_8. Move them out of umami_pr_8, or deploy Umami under another stage name (its own schema). Nothing was changed.",
      );
      expect(await withClient({ ...server.superuser, database: "app" }, catalogSnapshot)).toBe(before);
    } finally {
      await withClient(server.admin, (c) => c.query("DROP SCHEMA umami_pr_8 CASCADE"));
    }
  });

  it("refuses an administrator without CREATEROLE with a message naming the step, and creates nothing", async () => {
    await withClient(server.superuser, (c) =>
      c.query(`CREATE ROLE weak_admin LOGIN PASSWORD 'weak-admin-pw'; GRANT CREATE ON DATABASE app TO weak_admin`),
    );
    const weak = parseDatabaseUrl(
      server.adminUrl().replace(`${TEST_ADMIN.name}:${TEST_ADMIN.password}`, "weak_admin:weak-admin-pw"),
    );
    const error = await withClient(weak, (c) =>
      provisionStage(c, buildSpec("pr-7"), { admin: "weak_admin", password: PASSWORD }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisionError);
    expect((error as Error).message).toBe(
      'Provisioning step "CREATE ROLE "umami_user_pr_7"" failed as weak_admin: ' +
        "permission denied to create role. The administrator needs CREATEROLE and ownership of (or CREATE on) database app.",
    );
    expect((error as Error).message).not.toContain(PASSWORD);
    const left = await withClient(server.admin, (c) =>
      c.query(`SELECT (SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = 'umami_user_pr_7')::int AS roles,
                      (SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = 'umami_pr_7')::int AS schemas`),
    );
    expect(left.rows[0]).toEqual({ roles: 0, schemas: 0 });
  });
});
