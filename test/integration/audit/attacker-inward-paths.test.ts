/**
 * The attacker's half of the inward paths: threat model classes admin-by-membership, inward-via-objects,
 * inward-via-replication and definer-escalation, on a database with Aurora's defaults (a non-superuser admin in
 * an rds_superuser-like group, pg_stat_statements) and wal_level = logical. Each path is first used as the
 * attacking role — Umami's row is really read, or the owner's privilege really used — then `verify` fails
 * naming the objects, roles and path, the finding's own remedy is run as written, the access now fails, and the
 * audit passes again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditIsolation, type AuditResult } from "../../../scripts/audit/audit.js";
import { withClient, type Client, type ConnectionSettings } from "../../../scripts/kernel/db.js";
import { applyRemedy, check, failing, spec, startAuditStage, verifyCli, type AuditStage, type Who } from "./helpers.js";

const SECRET = "umami-secret-site";
const ROLE_PASSWORD = "Attacker-Role-Password-0123456789";
let stage: AuditStage;

beforeAll(async () => {
  stage = await startAuditStage("Attacker-Paths-Password-0123456789ab", { settings: { wal_level: "logical" } });
  await stage.run("umami", `INSERT INTO umami.website VALUES ('00000000-0000-0000-0000-000000000017', '${SECRET}')`);
});
afterAll(async () => stage?.server.stop());

const audit = (adminRoles: string[] = []): Promise<AuditResult> =>
  auditIsolation({ admin: stage.server.admin, spec, adminRoles });

/** A login role's own connection to `app` (app_user's is the sample application's). */
const login = (user: string): ConnectionSettings =>
  user === "app_user" ? stage.as("app") : { ...stage.server.admin, user, password: ROLE_PASSWORD };
const as = <T>(user: string, fn: (c: Client) => Promise<T>) => withClient(login(user), fn);

/** `verify --json` as the administrator (helpers.ts). */
const verify = (...args: string[]) => verifyCli(stage, ...args);

/** Runs each statement a remedy spells out, as `who` (helpers.ts). */
const apply = (remedy: string, who: Who): Promise<string[]> => applyRemedy(stage, remedy, who);

describe("the audit's baseline", () => {
  it("Aurora's defaults with wal_level = logical pass the new checks", async () => {
    const result = await audit();
    expect(failing(result)).toEqual([]);
    for (const name of [
      "inward: members of the administrators",
      "inward: views and functions that read Umami's tables",
      "inward: replication roles",
      "inward: publications of Umami's tables",
      "inward: SECURITY DEFINER functions of the administrators",
    ]) {
      expect(check(result, name).severity).toBe("pass");
    }
  });
});

describe("admin-by-membership", () => {
  it("a member of the administrator grants itself umami_user and reads Umami's rows; REVOKE of the membership closes it", async () => {
    await stage.run("admin", `CREATE ROLE ops LOGIN PASSWORD '${ROLE_PASSWORD}'; GRANT app_admin TO ops`);
    try {
      // Real: ops becomes the administrator, grants itself umami_user, reads (rolled back: no trace left).
      const rows = await as("ops", async (c) => {
        await c.query("BEGIN");
        await c.query("SET ROLE app_admin");
        await c.query("GRANT umami_user TO ops");
        await c.query("SET ROLE umami_user");
        const read = await c.query<{ name: string }>("SELECT name FROM umami.website");
        await c.query("ROLLBACK");
        return read.rows.map((r) => r.name);
      });
      expect(rows).toContain(SECRET);

      const cli = await verify();
      expect(cli.code).toBe(1);
      expect(cli.finding("inward: members of the administrators")).toMatchObject({
        severity: "fail",
        objects: ["ops member of app_admin"],
      });
      const f = check(await audit(), "inward: members of the administrators");
      expect(f.class).toBe("admin-by-membership");
      expect(await apply(f.remedy, "admin")).toEqual(['REVOKE "app_admin" FROM "ops";']);

      await expect(as("ops", (c) => c.query("SET ROLE app_admin"))).rejects.toThrow(/permission denied to set role/);
      expect(failing(await audit())).toEqual([]);
    } finally {
      await stage.run("admin", "DROP ROLE ops");
    }
  });
});

describe("inward-via-objects", () => {
  // The administrator reads Umami's tables through a membership (as it would to build a report on them).
  beforeAll(async () => stage.run("admin", "GRANT umami_user TO app_admin"));
  afterAll(async () => stage.run("admin", "REVOKE umami_user FROM app_admin"));

  it.each([
    [
      "a view",
      "CREATE VIEW public.site_names AS SELECT name FROM umami.website; GRANT SELECT ON public.site_names TO app_user",
      "SELECT name FROM public.site_names",
      "view public.site_names (owner app_admin) reads umami.website → app_user",
      'REVOKE SELECT ON TABLE "public"."site_names" FROM "app_user";',
      "DROP VIEW IF EXISTS public.site_names",
    ],
    [
      "a materialized view",
      "CREATE MATERIALIZED VIEW public.site_snapshot AS SELECT name FROM umami.website; GRANT SELECT ON public.site_snapshot TO PUBLIC",
      "SELECT name FROM public.site_snapshot",
      "materialized view public.site_snapshot (owner app_admin) reads umami.website → PUBLIC, app_user",
      'REVOKE SELECT ON TABLE "public"."site_snapshot" FROM PUBLIC;',
      "DROP MATERIALIZED VIEW IF EXISTS public.site_snapshot",
    ],
    [
      "a view over a view",
      "CREATE VIEW public.site_base AS SELECT name FROM umami.website; CREATE VIEW public.site_upper AS SELECT name FROM public.site_base; GRANT SELECT ON public.site_upper TO app_user",
      "SELECT name FROM public.site_upper",
      "view public.site_upper (owner app_admin) reads umami.website → app_user",
      'REVOKE SELECT ON TABLE "public"."site_upper" FROM "app_user";',
      "DROP VIEW IF EXISTS public.site_upper, public.site_base",
    ],
  ])("%s owned by the administrator: app_user reads Umami's rows; the remedy's REVOKE closes it", async (_, create, read, object, remedy, drop) => {
    await stage.run("admin", create);
    try {
      const rows = await as("app_user", (c) => c.query<{ name: string }>(read));
      expect(rows.rows.map((r) => r.name)).toContain(SECRET);

      const cli = await verify();
      expect(cli.code).toBe(1);
      expect(cli.finding("inward: views and functions that read Umami's tables")).toMatchObject({
        severity: "fail",
        objects: [object],
      });
      const f = check(await audit(), "inward: views and functions that read Umami's tables");
      expect(f.class).toBe("inward-via-objects");
      expect(await apply(f.remedy, "admin")).toEqual([remedy]);

      await expect(as("app_user", (c) => c.query(read))).rejects.toThrow(/permission denied/);
      expect(failing(await audit())).toEqual([]);
    } finally {
      await stage.run("admin", drop);
    }
  });

  it("a SECURITY DEFINER function of the administrator hands app_user Umami's rows; both paths named, one REVOKE closes them", async () => {
    await stage.run(
      "admin",
      `CREATE FUNCTION public.site_list() RETURNS SETOF text LANGUAGE sql SECURITY DEFINER
      SET search_path = pg_catalog, pg_temp AS $$ SELECT name FROM umami.website $$`,
    );
    try {
      const rows = await as("app_user", (c) => c.query<{ name: string }>("SELECT public.site_list() AS name"));
      expect(rows.rows.map((r) => r.name)).toContain(SECRET);

      const cli = await verify();
      expect(cli.code).toBe(1);
      expect(cli.finding("inward: views and functions that read Umami's tables")).toMatchObject({
        severity: "fail",
        objects: ["function public.site_list() (owner app_admin) reads schema umami → PUBLIC, app_user"],
      });
      expect(cli.finding("inward: SECURITY DEFINER functions of the administrators")).toMatchObject({
        severity: "fail",
        objects: ["function public.site_list() runs as app_admin for PUBLIC, app_user — fails: its body names umami"],
      });
      const f = check(await audit(), "inward: views and functions that read Umami's tables");
      expect(await apply(f.remedy, "admin")).toEqual([
        'REVOKE EXECUTE ON FUNCTION "public"."site_list"() FROM PUBLIC;',
      ]);

      await expect(as("app_user", (c) => c.query("SELECT public.site_list()"))).rejects.toThrow(
        /permission denied for function site_list/,
      );
      // Kept for the administrators, the function still runs their rights over what umami_user controls (opaque-code).
      const opaque = check(await audit(), "inward: opaque code that runs with other roles' rights");
      expect(failing(await audit())).toEqual([opaque.check]);
      expect(await apply(opaque.remedy, "admin")).toEqual(['DROP FUNCTION "public"."site_list"();']);
      expect(failing(await audit())).toEqual([]);
    } finally {
      await stage.run("admin", "DROP FUNCTION IF EXISTS public.site_list()");
    }
  });
});

describe("inward-via-replication", () => {
  it("a role with REPLICATION decodes Umami's new rows with test_decoding, without any SELECT; NOREPLICATION closes it", async () => {
    await stage.run("superuser", `CREATE ROLE spy LOGIN REPLICATION PASSWORD '${ROLE_PASSWORD}'`);
    try {
      await expect(as("spy", (c) => c.query("SELECT name FROM umami.website"))).rejects.toThrow(
        /permission denied for schema umami/,
      );
      await as("spy", (c) =>
        c.query("SELECT pg_catalog.pg_create_logical_replication_slot('spy_slot', 'test_decoding')"),
      );
      await stage.run(
        "umami",
        "INSERT INTO umami.website VALUES ('00000000-0000-0000-0000-000000000018', 'umami-new-site')",
      );
      const changes = await as("spy", (c) =>
        c.query<{ data: string }>("SELECT data FROM pg_catalog.pg_logical_slot_peek_changes('spy_slot', NULL, NULL)"),
      );
      expect(changes.rows.map((r) => r.data)).toContainEqual(
        expect.stringMatching(/^table umami\.website: INSERT: .*'umami-new-site'/),
      );

      const cli = await verify();
      expect(cli.code).toBe(1);
      expect(cli.finding("inward: replication roles")).toMatchObject({
        severity: "fail",
        objects: ["spy REPLICATION", "logical slot 'spy_slot' (test_decoding: every table's changes)"],
      });
      const f = check(await audit(), "inward: replication roles");
      expect(f.class).toBe("inward-via-replication");
      // ALTER ROLE … NOREPLICATION needs a superuser (`docs/design.md` § "Facts we measured").
      expect(await apply(f.remedy, "superuser")).toEqual(['ALTER ROLE "spy" NOREPLICATION;']);

      await expect(
        as("spy", (c) => c.query("SELECT * FROM pg_catalog.pg_logical_slot_peek_changes('spy_slot', NULL, NULL)")),
      ).rejects.toThrow(/must be superuser or replication role/);
      expect(failing(await audit())).toEqual([]);
    } finally {
      await stage.run(
        "superuser",
        "SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots WHERE slot_name = 'spy_slot'",
      );
      await stage.run("umami", "DELETE FROM umami.website WHERE name = 'umami-new-site'");
      await stage.run("superuser", "DROP ROLE spy");
    }
  });

  it("a replication role nobody can log in as (RDS's rdsrepladmin) is no path until a non-administrator is its member", async () => {
    await stage.run("superuser", "CREATE ROLE rdsrepladmin NOLOGIN REPLICATION");
    try {
      expect(check(await audit(), "inward: replication roles").severity).toBe("pass");
      await stage.run("superuser", "GRANT rdsrepladmin TO app_user");
      // Real: app_user becomes it, and the slot functions check the current role.
      await withClient(stage.as("app"), async (c) => {
        await c.query("SET ROLE rdsrepladmin");
        await c.query("SELECT pg_catalog.pg_create_logical_replication_slot('member_slot', 'test_decoding')");
        await c.query("SELECT pg_catalog.pg_drop_replication_slot('member_slot')");
      });
      const f = check(await audit(), "inward: replication roles");
      expect(f).toMatchObject({ severity: "fail", objects: ["rdsrepladmin REPLICATION (and through it: app_user)"] });
      expect(await apply(f.remedy, "superuser")).toEqual(['REVOKE "rdsrepladmin" FROM "app_user";']);
      await expect(withClient(stage.as("app"), (c) => c.query("SET ROLE rdsrepladmin"))).rejects.toThrow(
        /permission denied to set role/,
      );
      expect(failing(await audit())).toEqual([]);
    } finally {
      await stage.run(
        "superuser",
        "SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots WHERE slot_name = 'member_slot'",
      );
      await stage.run("superuser", "DROP ROLE rdsrepladmin");
    }
  });

  it("a publication FOR ALL TABLES ships Umami's rows to an administrator's CDC pipeline; rebuilt as the remedy says, the pipeline keeps the application's rows only", async () => {
    await stage.run(
      "superuser",
      `CREATE ROLE cdc LOGIN REPLICATION PASSWORD '${ROLE_PASSWORD}'; CREATE PUBLICATION everything FOR ALL TABLES`,
    );
    const changes = (consume: boolean) =>
      as("cdc", async (c) => {
        const fn = consume ? "pg_logical_slot_get_binary_changes" : "pg_logical_slot_peek_binary_changes";
        const { rows } = await c.query<{ data: Buffer }>(
          `SELECT data FROM pg_catalog.${fn}('cdc_slot', NULL, NULL, 'proto_version', '1', 'publication_names', 'everything')`,
        );
        return Buffer.concat(rows.map((r) => r.data)).toString("latin1");
      });
    const write = async (site: string, customer: string) => {
      await stage.run("umami", `INSERT INTO umami.website VALUES (gen_random_uuid(), '${site}')`);
      await stage.run(
        "admin",
        `INSERT INTO public.customers (email, name) VALUES ('${customer}@example.com', '${customer}')`,
      );
    };
    try {
      await as("cdc", (c) => c.query("SELECT pg_catalog.pg_create_logical_replication_slot('cdc_slot', 'pgoutput')"));
      await write("umami-cdc-site", "cdc-customer");
      const shipped = await changes(true);
      expect(shipped).toContain("umami-cdc-site");
      expect(shipped).toContain("cdc-customer");

      // cdc is the DBA's own pipeline: declared an administrator, the publication is what still ships Umami's rows.
      const cli = await verify("--admin-role", "cdc");
      expect(cli.code).toBe(1);
      expect(cli.finding("inward: replication roles")?.severity).toBe("pass");
      expect(cli.finding("inward: publications of Umami's tables")).toMatchObject({
        severity: "fail",
        objects: [
          "publication everything (owner postgres) FOR ALL TABLES",
          "logical slot 'cdc_slot' (pgoutput: what its publications carry)",
        ],
      });
      const f = check(await audit(["cdc"]), "inward: publications of Umami's tables");
      expect(f.class).toBe("inward-via-replication");
      const rebuild = f.remedy.match(/DROP PUBLICATION [^;]+;|CREATE PUBLICATION [^;]+;/g);
      expect(rebuild).toEqual([
        'DROP PUBLICATION "everything";',
        'CREATE PUBLICATION "everything" FOR TABLES IN SCHEMA "billing", "drizzle", "public";',
      ]);
      await stage.run("superuser", `BEGIN; ${rebuild!.join(" ")} COMMIT;`);

      await write("umami-after-remedy", "customer-after-remedy");
      const after = await changes(false);
      expect(after).toContain("customer-after-remedy");
      expect(after).not.toContain("umami-after-remedy");
      expect(failing(await audit(["cdc"]))).toEqual([]);
    } finally {
      await stage.run(
        "superuser",
        "SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots WHERE slot_name = 'cdc_slot'",
      );
      await stage.run("superuser", "DROP PUBLICATION IF EXISTS everything; DROP ROLE cdc");
      await stage.run("umami", "DELETE FROM umami.website WHERE name LIKE 'umami-%' AND name <> 'umami-secret-site'");
      await stage.run("admin", "DELETE FROM public.customers WHERE name IN ('cdc-customer', 'customer-after-remedy')");
    }
  });
});

describe("definer-escalation", () => {
  it("the administrator's dynamic-SQL SECURITY DEFINER function lets app_user grant itself umami_user; REVOKE EXECUTE closes it", async () => {
    await stage.run(
      "admin",
      "CREATE FUNCTION public.run_as_admin(statement text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN EXECUTE statement; END $$",
    );
    try {
      // Real: app_user acts as app_admin (CREATEROLE) and makes itself umami_user, then reads.
      const rows = await as("app_user", async (c) => {
        await c.query("SELECT public.run_as_admin('GRANT umami_user TO app_user')");
        await c.query("SET ROLE umami_user");
        return (await c.query<{ name: string }>("SELECT name FROM umami.website")).rows.map((r) => r.name);
      });
      expect(rows).toContain(SECRET);
      await stage.run("admin", "REVOKE umami_user FROM app_user");

      const cli = await verify();
      expect(cli.code).toBe(1);
      expect(cli.finding("inward: SECURITY DEFINER functions of the administrators")).toMatchObject({
        severity: "fail",
        objects: [
          "function public.run_as_admin(statement text) runs as app_admin for PUBLIC, app_user — fails: search_path not pinned, dynamic SQL",
        ],
      });
      const f = check(await audit(), "inward: SECURITY DEFINER functions of the administrators");
      expect(f.class).toBe("definer-escalation");
      expect(await apply(f.remedy, "admin")).toEqual([
        'REVOKE EXECUTE ON FUNCTION "public"."run_as_admin"(statement text) FROM PUBLIC;',
      ]);

      await expect(as("app_user", (c) => c.query("SELECT public.run_as_admin('SELECT 1')"))).rejects.toThrow(
        /permission denied for function run_as_admin/,
      );
      expect(failing(await audit())).toEqual([]);
    } finally {
      await stage.run("admin", "DROP FUNCTION IF EXISTS public.run_as_admin(text); REVOKE umami_user FROM app_user");
    }
  });

  it("a monitoring agent's statistics wrapper (pinned search_path, fixed SQL) is a warning naming it, and verify exits 0", async () => {
    await stage.run(
      "admin",
      `
      CREATE ROLE monitor LOGIN PASSWORD '${ROLE_PASSWORD}';
      CREATE SCHEMA monitoring; GRANT USAGE ON SCHEMA monitoring TO monitor;
      CREATE FUNCTION monitoring.stat_statements() RETURNS SETOF public.pg_stat_statements LANGUAGE sql SECURITY DEFINER
        SET search_path = pg_catalog, public, pg_temp AS $$ SELECT * FROM pg_stat_statements $$;
      REVOKE ALL ON FUNCTION monitoring.stat_statements() FROM PUBLIC;
      GRANT EXECUTE ON FUNCTION monitoring.stat_statements() TO monitor`,
    );
    try {
      // Real: through it, monitor sees other roles' statement text, which its own privileges hide.
      await stage.run("app", "SELECT count(*) FROM public.customers");
      const seen = await as("monitor", async (c) => ({
        own: (
          await c.query<{ query: string }>(
            "SELECT s.query FROM public.pg_stat_statements s JOIN pg_catalog.pg_roles r ON r.oid = s.userid WHERE r.rolname = 'app_user'",
          )
        ).rows,
        wrapped: (
          await c.query<{ query: string }>(
            "SELECT s.query FROM monitoring.stat_statements() s JOIN pg_catalog.pg_roles r ON r.oid = s.userid WHERE r.rolname = 'app_user'",
          )
        ).rows,
      }));
      expect(new Set(seen.own.map((r) => r.query))).toEqual(new Set(["<insufficient privilege>"]));
      expect(seen.wrapped.map((r) => r.query)).toContain("SELECT count(*) FROM public.customers");

      const cli = await verify();
      expect(cli.code).toBe(0);
      expect(cli.finding("inward: SECURITY DEFINER functions of the administrators")).toMatchObject({
        severity: "warn",
        objects: [
          "function monitoring.stat_statements() runs as app_admin for monitor — reviewable: pinned search_path, no dynamic SQL, sql",
        ],
      });
    } finally {
      await stage.run("admin", "DROP SCHEMA monitoring CASCADE; DROP ROLE monitor");
    }
  });
});
