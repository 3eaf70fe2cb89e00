/**
 * Class `foreign-logins`: a user mapping stores the login a local role connects with. On a loopback server
 * (postgres_fdw, used by dblink too) a mapping that logs in as the administrator hands every role it serves the
 * administrator's rights: app_user, with USAGE on the server and no privilege on Umami's schema, reads Umami's
 * rows through `dblink('loopback', …)`. Walked first as app_user; then `verify` fails naming the mapping, the
 * remedy's DROP USER MAPPING is run as written, the read fails, and `verify` exits 0. A per-role mapping whose
 * login PostgreSQL hides from the administrator, and one to another host, are named with a warning. A foreign
 * table that imports Umami's table through such a server is Umami's table for inward-via-objects. The clean
 * twin (a FOR PUBLIC mapping that logs in as the application's own role) is clean-brownfield's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../../scripts/kernel/db.js";
import { TEST_ADMIN } from "../../support/server.js";
import { applyRemedy, rows, startAuditStage, verifyCli, type AuditStage } from "./helpers.js";

let stage: AuditStage;
const SECRET = "umami-secret-site";
const CHECK = "inward: user mappings that log in as an administrator";
const STEAL = "SELECT name FROM public.dblink('loopback', 'SELECT name FROM umami.website') AS t(name text)";

beforeAll(async () => {
  stage = await startAuditStage("Foreign-Logins-Password-0123456789ab");
  await stage.run("umami", `INSERT INTO umami.website VALUES ('00000000-0000-0000-0000-000000000041', '${SECRET}')`);
  // The administrators' reports read Umami's table: the grant umami_user (its owner) gives them.
  await stage.run("umami", "GRANT SELECT ON umami.website TO app_admin");
  // RDS lets rds_superuser create both extensions; here the superuser does, and hands the wrapper to the administrator.
  await stage.run(
    "superuser",
    "CREATE EXTENSION postgres_fdw SCHEMA public; CREATE EXTENSION dblink SCHEMA public; GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO app_admin",
  );
  await stage.run(
    "admin",
    `CREATE SERVER loopback FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '${stage.server.embedded.port}', dbname 'app');
     GRANT USAGE ON FOREIGN SERVER loopback TO app_user`,
  );
});
afterAll(async () => stage?.server.stop());

describe("foreign-logins", () => {
  it("a FOR PUBLIC mapping on a loopback server that logs in as the administrator lets app_user read Umami's rows through dblink; verify fails naming it; the remedy's DROP USER MAPPING closes it", async () => {
    await stage.run(
      "admin",
      `CREATE USER MAPPING FOR PUBLIC SERVER loopback OPTIONS (user '${TEST_ADMIN.name}', password '${TEST_ADMIN.password}')`,
    );
    try {
      await expect(rows(stage, "app", "SELECT name FROM umami.website")).rejects.toThrow(/permission denied/);
      expect(await rows(stage, "app", STEAL)).toEqual([{ name: SECRET }]);

      const before = await verifyCli(stage);
      expect(before.code).toBe(1);
      expect(before.finding(CHECK)).toMatchObject({
        class: "foreign-logins",
        severity: "fail",
        objects: [
          "user mapping FOR PUBLIC SERVER loopback (postgres_fdw, host 127.0.0.1) — logs in to this cluster as app_admin, so every role acts as app_admin",
        ],
      });
      expect(before.output).not.toContain(TEST_ADMIN.password);
      expect(await applyRemedy(stage, before.finding(CHECK)!.remedy, "admin")).toEqual([
        'DROP USER MAPPING FOR PUBLIC SERVER "loopback";',
      ]);
      await expect(rows(stage, "app", STEAL)).rejects.toThrow(/user mapping not found/);
      const after = await verifyCli(stage);
      expect(after.finding(CHECK)!.severity).toBe("pass");
      expect(after.code).toBe(0);
    } finally {
      await stage.run("admin", "DROP USER MAPPING IF EXISTS FOR PUBLIC SERVER loopback");
    }
  });

  it("a mapping for app_user, whose login PostgreSQL shows only to app_user and superusers, and one to another host are named with a warning", async () => {
    await stage.run(
      "admin",
      `CREATE USER MAPPING FOR app_user SERVER loopback OPTIONS (user 'app_user', password 'app-password-for-tests');
       CREATE SERVER warehouse FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'warehouse.example.com', dbname 'wh');
       CREATE USER MAPPING FOR PUBLIC SERVER warehouse OPTIONS (user '${TEST_ADMIN.name}', password 'elsewhere')`,
    );
    try {
      const result = await verifyCli(stage);
      expect(result.finding(CHECK)).toMatchObject({
        severity: "warn",
        objects: [
          "user mapping FOR app_user SERVER loopback (postgres_fdw, host 127.0.0.1) — the role it logs in as is shown only to app_user and to superusers: if it is an administrator or umami_user, app_user acts as that role here",
          "user mapping FOR PUBLIC SERVER warehouse (postgres_fdw, host warehouse.example.com) — logs in as app_admin on host warehouse.example.com: if that host is this cluster, every role acts as app_admin here",
        ],
      });
      expect(result.code).toBe(0);
    } finally {
      await stage.run(
        "admin",
        "DROP USER MAPPING IF EXISTS FOR app_user SERVER loopback; DROP SERVER IF EXISTS warehouse CASCADE",
      );
    }
  });

  it("an administrator's view over a foreign table that imports Umami's table through a loopback server hands app_user its rows (pg_depend records only the foreign table); verify fails naming it; the remedy's REVOKE closes it", async () => {
    await stage.run(
      "admin",
      `CREATE USER MAPPING FOR ${TEST_ADMIN.name} SERVER loopback OPTIONS (user '${TEST_ADMIN.name}', password '${TEST_ADMIN.password}');
       CREATE SCHEMA umami_mirror;
       IMPORT FOREIGN SCHEMA umami LIMIT TO (website) FROM SERVER loopback INTO umami_mirror;
       CREATE VIEW public.site_report AS SELECT name FROM umami_mirror.website;
       GRANT SELECT ON public.site_report TO app_user`,
    );
    const READERS = "inward: views and functions that read Umami's tables";
    try {
      expect(await rows(stage, "app", "SELECT name FROM public.site_report")).toEqual([{ name: SECRET }]);
      const before = await verifyCli(stage);
      expect(before.code).toBe(1);
      expect(before.finding(READERS)).toMatchObject({
        severity: "fail",
        objects: ["view public.site_report (owner app_admin) reads umami_mirror.website → app_user"],
      });
      expect(before.finding(CHECK)!.severity).toBe("pass"); // the administrator's own mapping is its own login
      expect(await applyRemedy(stage, before.finding(READERS)!.remedy, "admin")).toEqual([
        'REVOKE SELECT ON TABLE "public"."site_report" FROM "app_user";',
      ]);
      await expect(rows(stage, "app", "SELECT name FROM public.site_report")).rejects.toThrow(/permission denied/);
      const after = await verifyCli(stage);
      expect(after.finding(READERS)!.severity).toBe("pass");
      expect(after.code).toBe(0);
    } finally {
      await stage.run(
        "admin",
        `DROP VIEW IF EXISTS public.site_report; DROP SCHEMA IF EXISTS umami_mirror CASCADE;
         DROP USER MAPPING IF EXISTS FOR ${TEST_ADMIN.name} SERVER loopback`,
      );
    }
  });

  it("a dblink connection string with the administrator's password in a function body: umami_user reads it in pg_proc and logs in as the administrator; verify fails naming the function, never printing the password; a server and the administrator's own mapping close it", async () => {
    const OPAQUE = "inward: opaque code that runs with other roles' rights";
    const connect = (conninfo: string) => `
      CREATE OR REPLACE FUNCTION public.sync_orders() RETURNS bigint LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM public.dblink_connect('sync', '${conninfo}');
        PERFORM public.dblink_disconnect('sync');
        RETURN 0;
      END $$`;
    const port = stage.server.embedded.port;
    await stage.run(
      "admin",
      `${connect(`host=127.0.0.1 port=${port} dbname=app user=${TEST_ADMIN.name} password=${TEST_ADMIN.password}`)};
       REVOKE EXECUTE ON FUNCTION public.sync_orders() FROM PUBLIC;
       -- A column named password is no connection string.
       CREATE FUNCTION public.reset_name(p text) RETURNS void LANGUAGE sql AS $$ UPDATE public.customers SET name = p WHERE false $$`,
    );
    const leaked =
      "SELECT substring(prosrc from 'password=([^'' ]+)') AS password FROM pg_catalog.pg_proc WHERE proname = 'sync_orders'";
    try {
      const [found] = await rows<{ password: string | null }>(stage, "umami", leaked);
      expect(found.password).toBe(TEST_ADMIN.password);
      const asAdmin = { ...stage.as("umami"), user: TEST_ADMIN.name, password: found.password! };
      expect(await withClient(asAdmin, async (c) => (await c.query("SELECT current_user AS u")).rows)).toEqual([
        { u: TEST_ADMIN.name },
      ]);

      const before = await verifyCli(stage);
      expect(before.code).toBe(1);
      expect(before.output).not.toContain(TEST_ADMIN.password);
      expect(before.finding(OPAQUE)).toMatchObject({
        severity: "fail",
        objects: [
          "function public.sync_orders() (owner app_admin) — holds a password in its text (password=…), which every role reads in the catalogs (pg_proc, pg_views), umami_user included: it logs in with it",
        ],
      });
      // The remedy as written: the login moves into the administrator's own mapping on a server.
      await stage.run(
        "admin",
        `CREATE USER MAPPING FOR ${TEST_ADMIN.name} SERVER loopback OPTIONS (user '${TEST_ADMIN.name}', password '${TEST_ADMIN.password}');
         ${connect("loopback")}`,
      );
      expect(await rows(stage, "admin", "SELECT public.sync_orders() AS n")).toEqual([{ n: "0" }]);
      expect(await rows(stage, "umami", leaked)).toEqual([{ password: null }]);
      const after = await verifyCli(stage);
      expect(after.finding(OPAQUE)!.severity).toBe("pass");
      expect(after.code).toBe(0);
    } finally {
      await stage.run(
        "admin",
        `DROP FUNCTION IF EXISTS public.sync_orders(); DROP FUNCTION IF EXISTS public.reset_name(text);
         DROP USER MAPPING IF EXISTS FOR ${TEST_ADMIN.name} SERVER loopback`,
      );
    }
  });
});
