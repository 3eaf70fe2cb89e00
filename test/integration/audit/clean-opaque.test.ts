/**
 * No false alarms from the opaque-code, notifications and search_path rules: the setups DBAs run must leave
 * `verify` at exit 0 — application-only foreign keys, inheritance and partitions; a key-only change feed and
 * contrib tcn on an integer key; a crosstab report over application tables; CREATE on the database for an
 * application login where no administrator's path can be squatted; an auto-grant event trigger that skips
 * Umami's schema. Each is shown doing what it claims.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../../scripts/kernel/db.js";
import { rows, startAuditStage, verifyCli, type AuditStage } from "./helpers.js";

let stage: AuditStage;

beforeAll(async () => {
  stage = await startAuditStage("Clean-Opaque-Password-0123456789abc");
  await stage.run(
    "superuser",
    `
    CREATE EXTENSION tablefunc SCHEMA public;
    CREATE EXTENSION tcn SCHEMA public`,
  );
  await stage.run(
    "admin",
    `
    -- Foreign keys, inheritance and partitions among the application's own tables.
    CREATE TABLE public.regions (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
    CREATE TABLE public.shops (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, region_id bigint REFERENCES public.regions (id));
    CREATE TABLE public.shops_archive () INHERITS (public.shops);
    CREATE TABLE public.events (at date NOT NULL, kind text) PARTITION BY RANGE (at);
    CREATE TABLE public.events_2026 PARTITION OF public.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
    GRANT SELECT, INSERT ON public.regions, public.shops, public.events TO app_user;
    -- A key-only change feed, and tcn on an integer key.
    CREATE FUNCTION public.orders_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_notify('orders', TG_OP || ':' || NEW.id::text); RETURN NEW; END $$;
    CREATE TRIGGER orders_changed AFTER INSERT OR UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION public.orders_changed();
    CREATE TRIGGER regions_tcn AFTER INSERT OR UPDATE OR DELETE ON public.regions FOR EACH ROW EXECUTE FUNCTION public.triggered_change_notification();
    -- A crosstab report over the application's tables, for the application.
    CREATE MATERIALIZED VIEW public.order_report AS
      SELECT * FROM public.crosstab('SELECT status, ''orders'', count(*)::int FROM public.orders GROUP BY 1 ORDER BY 1') AS ct(status text, orders integer);
    GRANT SELECT ON public.order_report TO app_user;
    -- CREATE on the database for the application's login, with the administrator's "$user" claimed.
    GRANT CREATE ON DATABASE app TO app_user;
    CREATE SCHEMA app_admin AUTHORIZATION app_admin;
    -- An auto-grant event trigger that leaves Umami's schema out.
    CREATE FUNCTION public.auto_grant() RETURNS event_trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
    DECLARE o record;
    BEGIN
      FOR o IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' LOOP
        IF o.schema_name <> 'umami' THEN
          EXECUTE format('GRANT SELECT ON %s TO app_user', o.object_identity);
        END IF;
      END LOOP;
    END $$`,
  );
  await stage.run(
    "superuser",
    "CREATE EVENT TRIGGER auto_grant ON ddl_command_end EXECUTE FUNCTION public.auto_grant()",
  );
});
afterAll(async () => stage?.server.stop());

describe("clean setups around opaque code", () => {
  it("`verify` exits 0, each setup named at most as a warning", async () => {
    const out = await verifyCli(stage);
    expect(out.findings.filter((f) => f.severity === "fail")).toEqual([]);
    expect(out.code).toBe(0);
    expect(out.finding("outward: NOTIFY payloads of the application")!.objects).toEqual([
      "function public.orders_changed() (owner app_admin, trigger on public.orders) sends a key or a constant",
      "trigger regions_tcn ON public.regions (contrib tcn, channel tcn) publishes its primary key (id bigint), a surrogate key",
    ]);
    expect(out.finding("inward: opaque code that runs with other roles' rights")!.objects).toEqual([
      "function public.auto_grant() (owner app_admin, run by event trigger auto_grant) — runs SQL it builds at run time (execute): the audit cannot read what it reaches",
    ]);
  });

  it("each does what it claims: umami_user hears keys only, the report reads the application, the event trigger skips Umami", async () => {
    const listener = await connect(stage.umami);
    const heard: string[] = [];
    try {
      listener.on("notification", (n) => heard.push(`${n.channel} ${n.payload ?? ""}`));
      await listener.query("LISTEN orders; LISTEN tcn");
      await stage.run(
        "app",
        "INSERT INTO public.orders (customer_id, status, total_cents) VALUES (1, 'paid', 100); INSERT INTO public.regions (name) VALUES ('north')",
      );
      await listener.query("SELECT 1");
    } finally {
      await listener.end();
    }
    expect(heard).toEqual([
      expect.stringMatching(/^orders INSERT:\d+$/),
      expect.stringMatching(/^tcn "regions",I,"id"='\d+'$/),
    ]);
    await stage.run("admin", "REFRESH MATERIALIZED VIEW public.order_report");
    expect((await rows(stage, "app", "SELECT status FROM public.order_report")).length).toBeGreaterThan(0);
    await stage.run("umami", "CREATE TABLE umami.pageview (id bigint PRIMARY KEY)");
    await stage.run("admin", "CREATE TABLE public.coupons (code text PRIMARY KEY)");
    await expect(rows(stage, "app", "SELECT * FROM umami.pageview")).rejects.toThrow(/permission denied/);
    expect(await rows(stage, "app", "SELECT * FROM public.coupons")).toEqual([]);
  });
});
