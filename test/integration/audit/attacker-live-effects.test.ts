/**
 * Class `live-effects`: code that only Umami's own statements set off, caught by doing them, as umami_user, in a
 * rolled-back transaction. Each path is walked first as the attacker (a migration's new table read by app_user; a
 * tracker's row copied into app_user's table), then the audit names it, the remedy closes it, and the audit passes;
 * the catalogs alone pass both (the probe is what finds them). The probe leaves nothing: the fingerprint and
 * Umami's row counts are unchanged after it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditIsolation, type AuditResult } from "../../../scripts/audit/audit.js";
import { applicationOf, captureFingerprint } from "../../../scripts/evidence/fingerprint.js";
import { connect, toUrl } from "../../../scripts/kernel/db.js";
import { applyRemedy, check, failing, rows, spec, startAuditStage, verifyCli, type AuditStage } from "./helpers.js";

let stage: AuditStage;

const PRIVILEGES = "live: privileges and objects changed by Umami's statements";
const ROWS = "live: rows written outside Umami's schema by Umami's statements";
const NOTIFY = "live: NOTIFY set off by Umami's statements";
const RUN = "live: a migration's DDL and the tracker's writes run";

beforeAll(async () => {
  stage = await startAuditStage("Live-Effects-Password-0123456789");
  // A second Umami table whose key references the first: the probe writes the parent's row first.
  await stage.run(
    "umami",
    `CREATE TABLE umami.session (session_id uuid PRIMARY KEY, website_id uuid NOT NULL REFERENCES umami.website,
       country char(2), created_at timestamptz(6) DEFAULT CURRENT_TIMESTAMP)`,
  );
  await stage.run("umami", "INSERT INTO umami.website VALUES ('6f1c3a4e-0000-4000-8000-000000000001', 'shop.example')");
});
afterAll(async () => stage?.server.stop());

const withProbes = () => auditIsolation({ admin: stage.server.admin, umami: stage.umami, spec });
const catalogsOnly = () => auditIsolation({ admin: stage.server.admin, spec });
const verify = () => verifyCli(stage, "--umami-url", toUrl({ ...stage.umami, schema: spec.schema }));

/** Umami's row counts, table by table. */
const umamiCounts = async () =>
  rows(
    stage,
    "umami",
    "SELECT (SELECT count(*) FROM umami.website)::int AS website, (SELECT count(*) FROM umami.session)::int AS session",
  );

function passes(result: AuditResult, name: string): void {
  expect(check(result, name)).toMatchObject({ severity: "pass", objects: [] });
}

describe("what Umami's own statements set off", () => {
  it("clean: an application trigger on application tables and a reporting auto-grant that skips Umami's schema pass; the probe leaves nothing", async () => {
    await stage.run(
      "admin",
      `CREATE TABLE public.audit_log (id bigserial PRIMARY KEY, entry text NOT NULL);
       CREATE FUNCTION public.orders_audit() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
       BEGIN INSERT INTO public.audit_log (entry) VALUES (NEW.id::text); RETURN NEW; END $$;
       CREATE TRIGGER orders_audit AFTER INSERT ON public.orders FOR EACH ROW EXECUTE FUNCTION public.orders_audit();
       CREATE ROLE reporting NOLOGIN;
       CREATE FUNCTION public.auto_grant() RETURNS event_trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$
       DECLARE o record;
       BEGIN
         FOR o IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' LOOP
           CONTINUE WHEN o.schema_name = 'umami';
           EXECUTE format('GRANT USAGE ON SCHEMA %I TO reporting', o.schema_name);
           EXECUTE format('GRANT SELECT ON %s TO reporting', o.object_identity);
         END LOOP;
       END $$`,
    );
    await stage.run(
      "superuser",
      "CREATE EVENT TRIGGER auto_grant ON ddl_command_end EXECUTE FUNCTION public.auto_grant()",
    );
    // The application's own DDL is granted, as the trigger is there for.
    await stage.run("admin", "CREATE TABLE public.daily_sales (day date PRIMARY KEY, total_cents bigint)");
    expect(
      await rows(
        stage,
        "admin",
        "SELECT pg_catalog.has_table_privilege('reporting', 'public.daily_sales', 'SELECT') AS ok",
      ),
    ).toEqual([{ ok: true }]);

    const baseline = await captureFingerprint(stage.server.admin, applicationOf(spec));
    const counts = await umamiCounts();
    const result = await auditIsolation({
      admin: stage.server.admin,
      umami: stage.umami,
      spec,
      baselineFingerprint: baseline,
    });
    expect(failing(result)).toEqual([]);
    passes(result, PRIVILEGES);
    passes(result, ROWS);
    passes(result, NOTIFY);
    passes(result, RUN);
    expect(check(result, RUN).remedy).toMatch(
      /one row of each of its 2 tables \(each table held ROW EXCLUSIVE, which blocks only DDL, for at most [\d.]+ ms\)/,
    );
    // Nothing left behind: the application's fingerprint, Umami's rows, the probe's table.
    passes(result, "application fingerprint");
    expect(await umamiCounts()).toEqual(counts);
    expect(
      await rows(
        stage,
        "umami",
        "SELECT pg_catalog.count(*)::int AS n FROM pg_catalog.pg_class WHERE relname LIKE 'umami\\_db\\_live\\_probe%'",
      ),
    ).toEqual([{ n: 0 }]);
  });

  it("an auto-grant event trigger hands a migration's new table to app_user; the catalogs pass it, the probe names it; skipping Umami's schema closes it", async () => {
    // The administrator's own tool, pinned and owned by an administrator: the catalogs see nothing wrong. It runs
    // as whoever runs the DDL, so on Umami's migrations as umami_user, the new table's owner.
    const autoGrant = (skipUmami: boolean) => `
      CREATE OR REPLACE FUNCTION public.auto_grant() RETURNS event_trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$
      DECLARE o record;
      BEGIN
        FOR o IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' LOOP
          ${skipUmami ? "CONTINUE WHEN o.schema_name = 'umami';" : ""}
          EXECUTE format('GRANT SELECT ON %s TO app_user', o.object_identity);
        END LOOP;
      END $$`;
    await stage.run("admin", autoGrant(false));
    // The attacker: Umami's next migration creates a table, the tracker writes it, and app_user — no USAGE on
    // the schema — reads its values in pg_stats (docs/design.md § "Facts measured while building it", 12).
    const walk = async () => {
      await stage.run("umami", "CREATE TABLE umami.pageview (id uuid PRIMARY KEY, url text NOT NULL)");
      await stage.run(
        "umami",
        `INSERT INTO umami.pageview SELECT gen_random_uuid(), 'https://shop.example/checkout?email=a@b.example' FROM generate_series(1, 3);
         ANALYZE umami.pageview`,
      );
      const read = await rows<{ vals: string | null }>(
        stage,
        "app",
        "SELECT most_common_vals::text AS vals FROM pg_stats WHERE schemaname = 'umami' AND tablename = 'pageview' AND attname = 'url'",
      );
      await stage.run("umami", "DROP TABLE umami.pageview");
      return read;
    };
    expect(await walk()).toEqual([{ vals: "{https://shop.example/checkout?email=a@b.example}" }]);

    // Before the next migration, the catalogs alone pass; the probe's own migration shows it.
    expect(failing(await catalogsOnly())).toEqual([]);
    const before = await verify();
    expect(before.code).toBe(1);
    expect(before.finding(PRIVILEGES)).toMatchObject({
      class: "live-effects",
      severity: "fail",
      objects: [expect.stringMatching(/^table umami\.umami_db_live_probe_\d+_[a-z0-9]+: SELECT to app_user granted$/)],
    });
    expect(before.finding(PRIVILEGES)!.remedy).toContain(
      "event trigger auto_grant ON ddl_command_end → public.auto_grant()",
    );
    expect(before.finding(PRIVILEGES)!.remedy).toContain("whose schema_name is 'umami'");

    // The remedy: the function leaves Umami's schema alone; the application's tables are still granted.
    await stage.run("admin", autoGrant(true));
    expect(await walk()).toEqual([]);
    await stage.run("admin", "CREATE TABLE public.weekly_sales (week date PRIMARY KEY)");
    expect(await rows(stage, "app", "SELECT count(*)::int AS n FROM public.weekly_sales")).toEqual([{ n: 0 }]);
    const after = await verify();
    expect(after.code).toBe(0);
    expect(after.finding(PRIVILEGES)!.severity).toBe("pass");
  });

  it("a CHECK constraint on a Umami table copies every tracked row into app_user's table; the catalogs see only the EXECUTE, the probe names the table; the remedy drops it", async () => {
    // app_user's own definer function (not an administrator's: no definer check looks at it), and an
    // administrator who made itself a member of umami_user (a PG15 CREATEROLE role can) attaches it to Umami's table.
    await stage.run(
      "superuser",
      `CREATE TABLE public.site_names (name text);
       ALTER TABLE public.site_names OWNER TO app_user;
       CREATE FUNCTION public.remember(name text) RETURNS boolean LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public
         AS $$ INSERT INTO public.site_names VALUES (name) RETURNING true $$;
       ALTER FUNCTION public.remember(text) OWNER TO app_user`,
    );
    await stage.run("admin", "GRANT umami_user TO app_admin");
    await stage.run(
      "admin",
      "ALTER TABLE umami.website ADD CONSTRAINT website_name_remembered CHECK (public.remember(name))",
    );
    // The attacker: the tracker writes a website, app_user reads its name.
    await stage.run("umami", "INSERT INTO umami.website VALUES (gen_random_uuid(), 'intranet.secret.example')");
    const copied = await rows(stage, "app", "SELECT name FROM public.site_names");
    expect(copied).toContainEqual({ name: "intranet.secret.example" });

    // The catalogs see umami_user may EXECUTE app_user's definer function, not that Umami's rows flow through it.
    expect(failing(await catalogsOnly())).toEqual(["outward: SECURITY DEFINER functions"]);
    // Two rows: the CHECK runs on the probe's insert and again on its update.
    const result = await withProbes();
    expect(check(result, ROWS)).toMatchObject({
      class: "live-effects",
      severity: "fail",
      objects: ["public.site_names: rows written (2 inserted), readable by app_user"],
    });
    expect(check(result, ROWS).remedy).toContain(
      "constraint website_name_remembered on umami.website → public.remember(name text)",
    );

    // The remedy's statement, as the table's owner (the administrator is a member of umami_user now), and the
    // catalogs' own remedy for the EXECUTE.
    expect(
      await applyRemedy(stage, check(result, ROWS).remedy, "admin", { keep: (s) => s.startsWith("ALTER TABLE") }),
    ).toEqual(['ALTER TABLE "umami"."website" DROP CONSTRAINT "website_name_remembered";']);
    await applyRemedy(stage, check(result, "outward: SECURITY DEFINER functions").remedy, "superuser");
    await stage.run("umami", "INSERT INTO umami.website VALUES (gen_random_uuid(), 'another.secret.example')");
    expect(await rows(stage, "app", "SELECT name FROM public.site_names")).toEqual(copied);
    const after = await verify();
    expect(after.code).toBe(0);
    expect(after.finding(ROWS)!.severity).toBe("pass");
  });

  it("a CHECK constraint's function publishes each tracked website on a channel app_user LISTENs on; the catalogs only warn, the probe fails it; the remedy drops it", async () => {
    await stage.run(
      "superuser",
      `CREATE FUNCTION public.announce(site text) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS $$
       BEGIN PERFORM pg_notify('sites', site); RETURN true; END $$;
       ALTER FUNCTION public.announce(text) OWNER TO app_user`,
    );
    await stage.run(
      "admin",
      "ALTER TABLE umami.website ADD CONSTRAINT website_announced CHECK (public.announce(name))",
    );
    // The attacker: app_user listens, the tracker writes a website.
    const listener = await connect(stage.as("app"));
    const heard: string[] = [];
    try {
      listener.on("notification", (n) => heard.push(n.payload ?? ""));
      await listener.query("LISTEN sites");
      await stage.run("umami", "INSERT INTO umami.website VALUES (gen_random_uuid(), 'payroll.internal.example')");
      await listener.query("SELECT 1");
    } finally {
      await listener.end();
    }
    expect(heard).toEqual(["payroll.internal.example"]);

    expect(failing(await catalogsOnly())).toEqual([]);
    const result = await withProbes();
    expect(check(result, NOTIFY)).toMatchObject({
      class: "live-effects",
      severity: "fail",
      objects: ["public.announce(site text) (constraint website_announced on umami.website) sends NOTIFY"],
    });
    expect(
      await applyRemedy(stage, check(result, NOTIFY).remedy, "admin", { keep: (s) => s.startsWith("ALTER TABLE") }),
    ).toEqual(['ALTER TABLE "umami"."website" DROP CONSTRAINT "website_announced";']);
    const after = await verify();
    expect(after.code).toBe(0);
    expect(after.finding(NOTIFY)!.severity).toBe("pass");
  });

  it("an event trigger that refuses umami_user's DDL breaks Umami's next migration: the probe fails naming it; skipping Umami's schema passes", async () => {
    const policy = (skipUmami: boolean) => `
      CREATE OR REPLACE FUNCTION public.ddl_policy() RETURNS event_trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$
      BEGIN
        ${skipUmami ? "IF current_user = 'umami_user' THEN RETURN; END IF;" : ""}
        IF current_user <> 'app_admin' THEN RAISE EXCEPTION 'DDL is reserved to app_admin'; END IF;
      END $$`;
    await stage.run("admin", policy(false));
    await stage.run(
      "superuser",
      "CREATE EVENT TRIGGER ddl_policy ON ddl_command_start EXECUTE FUNCTION public.ddl_policy()",
    );
    await expect(stage.run("umami", "CREATE TABLE umami.pageview (id uuid PRIMARY KEY)")).rejects.toThrow(
      /DDL is reserved to app_admin/,
    );

    const before = await verify();
    expect(before.code).toBe(1);
    expect(before.finding(RUN)).toMatchObject({ class: "live-effects", severity: "fail" });
    expect(before.finding(RUN)!.objects).toEqual([
      expect.stringMatching(
        /^the DDL of a migration failed: P0001: DDL is reserved to app_admin \(PL\/pgSQL function public\.ddl_policy\(\)/,
      ),
    ]);
    expect(before.finding(RUN)!.remedy).toContain(
      "event trigger ddl_policy ON ddl_command_start → public.ddl_policy()",
    );

    await stage.run("admin", policy(true));
    const after = await verify();
    expect(after.code).toBe(0);
    expect(after.finding(RUN)!.severity).toBe("pass");
  });
});

describe("with track_functions = pl (a superuser's setting: the parameter group's on Aurora)", () => {
  let counted: AuditStage;
  beforeAll(async () => {
    counted = await startAuditStage("Live-Effects-Counted-0123456789", { settings: { track_functions: "pl" } });
  });
  afterAll(async () => counted?.server.stop());

  it("a NOTIFY two calls deep in a CHECK constraint's code is counted and fails; the catalogs only warn; the remedy drops it", async () => {
    await counted.run(
      "superuser",
      `CREATE FUNCTION public.announce(site text) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
       BEGIN PERFORM pg_notify('sites', site); END $$;
       CREATE FUNCTION public.check_site(site text) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
       BEGIN PERFORM public.announce(site); RETURN true; END $$;
       ALTER FUNCTION public.announce(text) OWNER TO app_user;
       ALTER FUNCTION public.check_site(text) OWNER TO app_user`,
    );
    await counted.run("admin", "GRANT umami_user TO app_admin");
    await counted.run(
      "admin",
      "ALTER TABLE umami.website ADD CONSTRAINT website_checked CHECK (public.check_site(name))",
    );
    const listener = await connect(counted.as("app"));
    const heard: string[] = [];
    try {
      listener.on("notification", (n) => heard.push(n.payload ?? ""));
      await listener.query("LISTEN sites");
      await counted.run("umami", "INSERT INTO umami.website VALUES (gen_random_uuid(), 'board.internal.example')");
      await listener.query("SELECT 1");
    } finally {
      await listener.end();
    }
    expect(heard).toEqual(["board.internal.example"]);

    const audit = () => auditIsolation({ admin: counted.server.admin, umami: counted.umami, spec });
    expect(failing(await auditIsolation({ admin: counted.server.admin, spec }))).toEqual([]);
    const result = await audit();
    expect(check(result, NOTIFY)).toMatchObject({
      severity: "fail",
      objects: ["public.announce(site text) ran on Umami's row writes and sends NOTIFY"],
    });
    expect(check(result, NOTIFY).remedy).toContain(
      "constraint website_checked on umami.website → public.check_site(site text)",
    );
    await applyRemedy(counted, check(result, NOTIFY).remedy, "admin", { keep: (s) => s.startsWith("ALTER TABLE") });
    const after = await audit();
    expect(failing(after)).toEqual([]);
    expect(check(after, NOTIFY).remedy).toContain("functions that ran counted (track_functions = pl)");
  });
});
