/**
 * No false alarms: a clean brownfield database as careful DBAs run them — the usual extensions in
 * public, PUBLIC revoked everywhere, FORCE ROW LEVEL SECURITY, an administrator's locked-down DDL-audit event
 * trigger, a monitoring role with pg_monitor, a user mapping FOR PUBLIC on a server the application uses and
 * umami_user cannot — all in place before Umami arrives. `verify` must exit 0, and each hardening step is
 * shown to be what it claims (the trigger really logs Umami's DDL, the mapping really serves the
 * application, umami_user really cannot use either).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditIsolation } from "../../../scripts/audit/audit.js";
import { withClient } from "../../../scripts/kernel/db.js";
import { TEST_APP_PASSWORD, type TestServer } from "../../support/server.js";
import { check, failing, rows, spec, startAuditStage, verifyCli, type AuditStage } from "./helpers.js";

let stage: AuditStage;

/** What the DBAs did long before Umami: run as the Aurora-like admin, and as the superuser where Aurora's admin would be rds_superuser. */
async function harden(server: TestServer): Promise<void> {
  const superuser = { ...server.superuser, database: "app" };
  await withClient(superuser, (c) =>
    c.query(`
    CREATE EXTENSION postgres_fdw SCHEMA public;
    CREATE SERVER reporting FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '${server.embedded.port}', dbname 'app');
    ALTER SERVER reporting OWNER TO app_admin;
    REVOKE CONNECT, TEMPORARY ON DATABASE postgres, template1 FROM PUBLIC`),
  );
  await withClient(server.admin, (c) =>
    c.query(`
    CREATE EXTENSION pgcrypto SCHEMA public;
    CREATE EXTENSION "uuid-ossp" SCHEMA public;
    CREATE EXTENSION pg_trgm SCHEMA public;
    CREATE EXTENSION citext SCHEMA public;
    -- PUBLIC revoked everywhere, the application granted what it uses.
    REVOKE ALL ON DATABASE app FROM PUBLIC;
    GRANT CONNECT ON DATABASE app TO app_user;
    REVOKE ALL ON SCHEMA public FROM PUBLIC;
    GRANT USAGE ON SCHEMA public TO app_user;
    ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
    -- Row-level security, forced on the owner too.
    ALTER TABLE public.customers ENABLE ROW LEVEL SECURITY;
    ALTER TABLE public.customers FORCE ROW LEVEL SECURITY;
    CREATE POLICY customers_app ON public.customers TO app_user, app_admin USING (true) WITH CHECK (true);
    -- A monitoring agent's role.
    CREATE ROLE monitoring LOGIN PASSWORD 'Monitoring-Password-0123456789';
    GRANT pg_monitor TO monitoring;
    -- The application's foreign table, through a mapping FOR PUBLIC on a server only app_user may use.
    GRANT USAGE ON FOREIGN SERVER reporting TO app_user;
    CREATE USER MAPPING FOR PUBLIC SERVER reporting OPTIONS (user 'app_user', password '${TEST_APP_PASSWORD}');
    CREATE FOREIGN TABLE public.remote_orders (id bigint, status text) SERVER reporting OPTIONS (schema_name 'public', table_name 'orders');
    GRANT SELECT ON public.remote_orders TO app_user;
    -- The DDL audit: an administrator's function, search_path pinned, EXECUTE revoked.
    CREATE TABLE public.ddl_log (at timestamptz DEFAULT now(), by name, tag text, object text);
    CREATE FUNCTION public.log_ddl() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    DECLARE o record;
    BEGIN
      FOR o IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        INSERT INTO ddl_log (by, tag, object) VALUES (session_user, o.command_tag, o.object_identity);
      END LOOP;
    END $$;
    REVOKE EXECUTE ON FUNCTION public.log_ddl() FROM PUBLIC`),
  );
  // Only a superuser creates event triggers; pg_stat_statements' objects are the superuser's too (on Aurora: rds_superuser).
  await withClient(superuser, (c) =>
    c.query(`
    CREATE EVENT TRIGGER ddl_audit ON ddl_command_end EXECUTE FUNCTION public.log_ddl();
    REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
    GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO app_user;
    REVOKE ALL ON public.pg_stat_statements, public.pg_stat_statements_info FROM PUBLIC`),
  );
}

beforeAll(async () => {
  stage = await startAuditStage("Clean-Brownfield-Password-0123456789", { beforeProvision: harden });
});
afterAll(async () => stage?.server.stop());

describe("a clean, hardened brownfield database", () => {
  it("`verify` exits 0: nothing fails", async () => {
    const out = await verifyCli(stage);
    expect(out.findings.filter((f) => f.severity === "fail")).toEqual([]);
    expect(out.code).toBe(0);
    expect(out.ok).toBe(true);
  });

  it("the administrator's locked-down event trigger passes, and really logs Umami's DDL without umami_user being able to run it", async () => {
    const f = check(await auditIsolation({ admin: stage.server.admin, spec }), "inward: event triggers");
    expect(f).toMatchObject({ severity: "pass", remedy: expect.stringContaining("ddl_audit") });
    const logged = await rows<{ by: string; object: string }>(
      stage,
      "admin",
      "SELECT by::text, object FROM public.ddl_log WHERE tag = 'CREATE TABLE'",
    );
    expect(logged).toContainEqual({ by: "umami_user", object: "umami.website" });
    await expect(rows(stage, "umami", "SELECT public.log_ddl()")).rejects.toThrow(
      /permission denied for schema public|permission denied for function/,
    );
  });

  it("the FOR PUBLIC mapping is not reported: the application reads through it, umami_user cannot use its server", async () => {
    const result = await auditIsolation({ admin: stage.server.admin, spec });
    expect(check(result, "outward: foreign servers").severity).toBe("pass");
    expect(await rows(stage, "app", "SELECT count(*)::int AS n FROM public.remote_orders")).toEqual([{ n: 1000 }]);
    await expect(
      stage.run(
        "umami",
        "CREATE FOREIGN TABLE umami.stolen (id bigint) SERVER reporting OPTIONS (table_name 'orders')",
      ),
    ).rejects.toThrow(/permission denied for foreign server reporting/);
  });

  it("FORCE ROW LEVEL SECURITY and a pg_monitor role raise nothing, and umami_user reads no customer", async () => {
    const result = await auditIsolation({ admin: stage.server.admin, spec });
    expect(failing(result)).toEqual([]);
    expect(check(result, "inward: predefined roles that bypass privileges").severity).toBe("pass");
    await expect(rows(stage, "umami", "SELECT count(*) FROM public.customers")).rejects.toThrow(/permission denied/);
    expect(await rows(stage, "app", "SELECT count(*)::int AS n FROM public.customers")).toEqual([{ n: 200 }]);
  });
});
