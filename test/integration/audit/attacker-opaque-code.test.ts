/**
 * Class `opaque-code`: code whose effect the catalogs cannot show, run with rights other than umami_user's —
 * SQL handed to crosstab inside a materialized view, an administrator's function pinned to Umami's schema, a
 * SECURITY DEFINER function behind a schema nobody may use, exposed through a view. Each path is walked first
 * as the attacker (Umami's rows read by app_user, the customers table read with the administrator's rights),
 * then `verify` fails naming the object, the remedy is run as written, the path is shown closed, and `verify`
 * exits 0.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyRemedy, rows, startAuditStage, verifyCli, type AuditStage } from "./helpers.js";

let stage: AuditStage;
const SECRET = "umami-secret-site";

beforeAll(async () => {
  stage = await startAuditStage("Opaque-Code-Password-0123456789abcd");
  await stage.run("umami", `INSERT INTO umami.website VALUES ('00000000-0000-0000-0000-000000000023', '${SECRET}')`);
  await stage.run("superuser", "CREATE EXTENSION tablefunc SCHEMA public");
  // The administrators' reports read Umami's table: the grant umami_user (its owner) gives them.
  await stage.run("umami", "GRANT SELECT ON umami.website TO app_admin");
});
afterAll(async () => stage?.server.stop());

const CHECK = "inward: opaque code that runs with other roles' rights";
const READERS = "inward: views and functions that read Umami's tables";

describe("opaque-code", () => {
  it("a materialized view built with crosstab over Umami's table hands app_user its rows (pg_depend records only crosstab); verify fails naming it; its DROP closes it", async () => {
    await stage.run(
      "admin",
      `
      CREATE MATERIALIZED VIEW public.site_report AS
        SELECT * FROM public.crosstab('SELECT name, ''sites'', 1 FROM umami.website ORDER BY 1') AS ct(name text, sites integer);
      GRANT SELECT ON public.site_report TO app_user`,
    );
    try {
      await expect(rows(stage, "app", "SELECT name FROM umami.website")).rejects.toThrow(/permission denied/);
      expect(await rows(stage, "app", "SELECT name FROM public.site_report")).toContainEqual({ name: SECRET });

      const before = await verifyCli(stage);
      expect(before.code).toBe(1);
      expect(before.finding(READERS)!.severity).toBe("pass"); // what the dependencies show: crosstab, no table
      expect(before.finding(CHECK)).toMatchObject({
        class: "opaque-code",
        severity: "fail",
        objects: [
          "materialized view public.site_report (owner app_admin) — names schema umami, where umami_user creates objects",
        ],
      });
      expect(await applyRemedy(stage, before.finding(CHECK)!.remedy, "admin")).toEqual([
        'DROP MATERIALIZED VIEW "public"."site_report";',
      ]);
      await expect(rows(stage, "app", "SELECT name FROM public.site_report")).rejects.toThrow(/does not exist/);
      const after = await verifyCli(stage);
      expect(after.finding(CHECK)!.severity).toBe("pass");
      expect(after.code).toBe(0);
    } finally {
      await stage.run("admin", "DROP MATERIALIZED VIEW IF EXISTS public.site_report");
    }
  });

  it("materialized views built with the built-in query_to_xml over Umami's table, the name spelled out or handed to format(), hand app_user its rows (pg_depend records neither); verify fails naming both; their DROPs close it", async () => {
    await stage.run(
      "admin",
      `
      CREATE MATERIALIZED VIEW public.site_xml AS
        SELECT query_to_xml('SELECT name FROM umami.website', true, false, '') AS doc;
      CREATE MATERIALIZED VIEW public.site_fmt AS
        SELECT query_to_xml(format('SELECT name FROM %I.website', 'umami'), true, false, '') AS doc;
      GRANT SELECT ON public.site_xml, public.site_fmt TO app_user`,
    );
    try {
      for (const view of ["site_xml", "site_fmt"]) {
        const [row] = await rows<{ doc: string }>(stage, "app", `SELECT doc::text FROM public.${view}`);
        expect(row.doc).toContain(SECRET);
      }
      const before = await verifyCli(stage);
      expect(before.code).toBe(1);
      expect(before.finding(READERS)!.severity).toBe("pass"); // no dependency on any Umami table
      expect(before.finding(CHECK)).toMatchObject({
        severity: "fail",
        objects: [
          "materialized view public.site_xml (owner app_admin) — names schema umami, where umami_user creates objects",
          "materialized view public.site_fmt (owner app_admin) — names schema umami, where umami_user creates objects",
        ],
      });
      expect(await applyRemedy(stage, before.finding(CHECK)!.remedy, "admin")).toEqual([
        'DROP MATERIALIZED VIEW "public"."site_xml";',
        'DROP MATERIALIZED VIEW "public"."site_fmt";',
      ]);
      const after = await verifyCli(stage);
      expect(after.finding(CHECK)!.severity).toBe("pass");
      expect(after.code).toBe(0);
    } finally {
      await stage.run("admin", "DROP MATERIALIZED VIEW IF EXISTS public.site_xml, public.site_fmt");
    }
  });

  it("an administrator's function pinned to search_path umami runs umami_user's overload with the administrator's rights; the remedy's pinned path closes it", async () => {
    // The DBA's report over Umami's teams, which umami_user let the administrator read.
    await stage.run(
      "umami",
      `
      CREATE TABLE umami.team (team_id uuid PRIMARY KEY, name varchar(50) NOT NULL);
      INSERT INTO umami.team VALUES ('00000000-0000-0000-0000-000000000024', 'Analytics');
      GRANT SELECT ON umami.team TO app_admin`,
    );
    await stage.run(
      "admin",
      "CREATE FUNCTION public.team_names() RETURNS SETOF text LANGUAGE sql SET search_path = umami AS $$ SELECT lower(name) FROM team $$",
    );
    // The attacker: lower(varchar) matches the column exactly, pg_catalog's lower(text) only through a cast.
    await stage.run(
      "umami",
      `
      CREATE TABLE umami.loot (data text);
      GRANT INSERT ON umami.loot TO app_admin;
      CREATE FUNCTION umami.lower(varchar) RETURNS text LANGUAGE plpgsql AS $f$
      BEGIN
        INSERT INTO umami.loot SELECT pg_catalog.string_agg(email, ',') FROM public.customers;
        RETURN pg_catalog.lower($1::text);
      END $f$`,
    );
    try {
      await expect(rows(stage, "umami", "SELECT email FROM public.customers")).rejects.toThrow(/permission denied/);
      expect(await rows(stage, "admin", "SELECT public.team_names() AS name")).toEqual([{ name: "analytics" }]);
      const [loot] = await rows<{ data: string }>(stage, "umami", "SELECT data FROM umami.loot");
      expect(loot.data).toMatch(/@/); // the customers' emails, read with the administrator's rights

      const before = await verifyCli(stage);
      expect(before.code).toBe(1);
      expect(before.finding(CHECK)).toMatchObject({
        severity: "fail",
        objects: [
          "function public.team_names() (owner app_admin) — its pinned search_path (umami) reaches schema umami, where it creates objects",
        ],
      });
      expect(await applyRemedy(stage, before.finding(CHECK)!.remedy, "admin")).toEqual([
        'ALTER FUNCTION "public"."team_names"() SET "search_path" TO "pg_catalog", "pg_temp";',
      ]);
      await stage.run("umami", "DELETE FROM umami.loot");
      await expect(rows(stage, "admin", "SELECT public.team_names()")).rejects.toThrow(
        /relation "team" does not exist/,
      );
      expect(await rows(stage, "umami", "SELECT data FROM umami.loot")).toEqual([]);
      const after = await verifyCli(stage);
      expect(after.finding(CHECK)!.severity).toBe("pass");
      expect(after.code).toBe(0);
    } finally {
      await stage.run("admin", "DROP FUNCTION IF EXISTS public.team_names()");
      await stage.run(
        "umami",
        "DROP FUNCTION IF EXISTS umami.lower(varchar); DROP TABLE IF EXISTS umami.loot, umami.team",
      );
    }
  });

  it("a SECURITY DEFINER function in a schema nobody else may use, exposed through a view, hands app_user Umami's rows; both checks name it; their remedies close it", async () => {
    await stage.run(
      "admin",
      `
      CREATE SCHEMA ops;
      CREATE FUNCTION ops.site_names() RETURNS SETOF text LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $$ SELECT name FROM umami.website $$;
      CREATE VIEW public.site_names AS SELECT n AS name FROM ops.site_names() AS n;
      GRANT SELECT ON public.site_names TO app_user`,
    );
    try {
      await expect(rows(stage, "app", "SELECT ops.site_names()")).rejects.toThrow(/permission denied for schema ops/);
      expect(await rows(stage, "app", "SELECT name FROM public.site_names")).toContainEqual({ name: SECRET });

      const before = await verifyCli(stage);
      expect(before.code).toBe(1);
      expect(before.finding(READERS)).toMatchObject({
        severity: "fail",
        objects: [
          "function ops.site_names() (owner app_admin) reads schema umami → app_user (also through view public.site_names, which never checks the function's schema)",
        ],
      });
      expect(before.finding("inward: SECURITY DEFINER functions of the administrators")).toMatchObject({
        severity: "fail",
        objects: ["function ops.site_names() runs as app_admin for app_user — fails: its body names umami"],
      });
      expect(await applyRemedy(stage, before.finding(READERS)!.remedy, "admin")).toEqual([
        'REVOKE EXECUTE ON FUNCTION "ops"."site_names"() FROM PUBLIC;',
      ]);
      await expect(rows(stage, "app", "SELECT name FROM public.site_names")).rejects.toThrow(
        /permission denied for function site_names/,
      );

      // Still run by the administrators, it names what umami_user decides: the opaque-code rule.
      const revoked = await verifyCli(stage);
      expect(revoked.findings.filter((f) => f.severity === "fail").map((f) => f.check)).toEqual([CHECK]);
      expect(revoked.finding(CHECK)!.objects).toEqual([
        "function ops.site_names() (owner app_admin, SECURITY DEFINER, run by view public.site_names) — names schema umami, where umami_user creates objects",
      ]);
      expect(await applyRemedy(stage, revoked.finding(CHECK)!.remedy, "admin")).toEqual([
        'DROP VIEW "public"."site_names";',
        'DROP FUNCTION "ops"."site_names"();',
      ]);
      expect((await verifyCli(stage)).code).toBe(0);
    } finally {
      await stage.run("admin", "DROP VIEW IF EXISTS public.site_names; DROP SCHEMA ops CASCADE");
    }
  });

  it("outward, the same blind spot: a SECURITY DEFINER function behind a schema umami_user cannot use runs for it through a view; latent-grants fails naming the view; the REVOKEs close it", async () => {
    await stage.run(
      "admin",
      `
      CREATE SCHEMA billing_ops;
      CREATE FUNCTION billing_ops.order_totals() RETURNS SETOF integer LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $$ SELECT total_cents FROM public.orders $$;
      CREATE VIEW public.order_amounts AS SELECT t AS total_cents FROM billing_ops.order_totals() AS t;
      GRANT SELECT ON public.order_amounts TO PUBLIC`,
    );
    try {
      await expect(rows(stage, "umami", "SELECT billing_ops.order_totals()")).rejects.toThrow(
        /permission denied for schema billing_ops/,
      );
      expect((await rows(stage, "umami", "SELECT total_cents FROM public.order_amounts")).length).toBeGreaterThan(0);

      const before = await verifyCli(stage);
      expect(before.code).toBe(1);
      const latent = before.finding("outward: grants behind schemas without USAGE")!;
      expect(latent.severity).toBe("fail");
      expect(latent.objects).toEqual([
        "billing_ops.order_totals() (EXECUTE via PUBLIC) — no USAGE on its schema, callable through view public.order_amounts, which never check the function's schema",
      ]);
      await applyRemedy(stage, latent.remedy, "admin");
      await applyRemedy(stage, before.finding("outward: tables and views")!.remedy, "admin");
      await expect(rows(stage, "umami", "SELECT total_cents FROM public.order_amounts")).rejects.toThrow(
        /permission denied/,
      );
      expect((await verifyCli(stage)).code).toBe(0);
    } finally {
      await stage.run("admin", "DROP VIEW IF EXISTS public.order_amounts; DROP SCHEMA billing_ops CASCADE");
    }
  });
});
