/**
 * Class `notifications`: PostgreSQL has no privilege on LISTEN, so umami_user — in the application's database —
 * receives every NOTIFY payload sent there. The application's change-feed trigger (`pg_notify(…, row_to_json(NEW))`)
 * is walked first as the attacker: umami_user's LISTEN receives the new order. Then the audit names the function,
 * the fix its remedy spells out (send only the key) is applied, and umami_user receives the key alone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, withClient } from "../../../scripts/kernel/db.js";
import { TEST_APP_PASSWORD } from "../../support/server.js";
import { applyRemedy, startAuditStage, verifyCli, type AuditStage } from "./helpers.js";

let stage: AuditStage;

beforeAll(async () => {
  stage = await startAuditStage("Notifications-Password-0123456789");
});
afterAll(async () => stage?.server.stop());

/** What umami_user's session (on `database`) receives on `channel` while `write` runs. */
async function listenWhile(channel: string, write: () => Promise<void>, database = "app"): Promise<string[]> {
  const listener = await connect({ ...stage.umami, database });
  const got: string[] = [];
  try {
    listener.on("notification", (n) => got.push(n.payload ?? ""));
    await listener.query(`LISTEN ${channel}`);
    await write();
    await listener.query("SELECT 1"); // notifications sent before this round trip have arrived
  } finally {
    await listener.end();
  }
  return got;
}

/** What umami_user's session receives on `channel` while app_user inserts an order. */
const listenWhileAppInserts = (channel: string) =>
  listenWhile(channel, () =>
    stage.run("app", "INSERT INTO public.orders (customer_id, status, total_cents) VALUES (7, 'paid', 4200)"),
  );

const CHECK = "outward: NOTIFY payloads of the application";

describe("NOTIFY payloads of the application", () => {
  it("the application's change-feed trigger hands each new order to umami_user's LISTEN; verify fails naming it; sending only the key closes it", async () => {
    await stage.run(
      "admin",
      `
      CREATE FUNCTION public.orders_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('orders', row_to_json(NEW)::text);
        RETURN NEW;
      END $$;
      CREATE TRIGGER orders_changed AFTER INSERT OR UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION public.orders_changed()`,
    );
    // The attacker: no grant on public.orders, yet the row arrives.
    await expect(stage.run("umami", "SELECT * FROM public.orders")).rejects.toThrow(/permission denied/);
    const stolen = await listenWhileAppInserts("orders");
    expect(stolen).toHaveLength(1);
    expect(JSON.parse(stolen[0])).toMatchObject({ customer_id: 7, status: "paid", total_cents: 4200 });

    const before = await verifyCli(stage);
    expect(before.code).toBe(1);
    expect(before.finding(CHECK)).toMatchObject({
      class: "notifications",
      severity: "fail",
      objects: [
        "function public.orders_changed() (owner app_admin, trigger on public.orders) publishes whole rows (row_to_json(NEW)::text)",
      ],
      remedy: expect.stringContaining("no privilege on channels to take away"),
    });
    expect(before.finding(CHECK)!.remedy).toContain("NEW.id::text");

    // The remedy, as the application's next migration: the key only; the application reads the row itself.
    await stage.run(
      "admin",
      `
      CREATE OR REPLACE FUNCTION public.orders_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('orders', NEW.id::text);
        RETURN NEW;
      END $$`,
    );
    const keys = await listenWhileAppInserts("orders");
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^\d+$/);
    await expect(stage.run("umami", `SELECT * FROM public.orders WHERE id = ${Number(keys[0])}`)).rejects.toThrow(
      /permission denied/,
    );

    const after = await verifyCli(stage);
    expect(after.code).toBe(0);
    expect(after.finding(CHECK)).toMatchObject({
      severity: "warn",
      objects: [
        "function public.orders_changed() (owner app_admin, trigger on public.orders) sends a key or a constant",
      ],
    });
  });

  it("in another database umami_user may connect to, the same feed reaches it; verify fails naming the database; REVOKE CONNECT … FROM PUBLIC closes it", async () => {
    const shop = await stage.server.createDatabase("shop");
    await withClient(shop, (c) =>
      c.query(`
      CREATE TABLE public.carts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL);
      GRANT SELECT, INSERT ON public.carts TO app_user;
      CREATE FUNCTION public.carts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_notify('carts', to_jsonb(NEW)::text); RETURN NEW; END $$;
      CREATE TRIGGER carts_changed AFTER INSERT ON public.carts FOR EACH ROW EXECUTE FUNCTION public.carts_changed()`),
    );
    const app = { ...shop, user: "app_user", password: TEST_APP_PASSWORD };
    const insert = () =>
      withClient(
        app,
        async (c) => void (await c.query("INSERT INTO public.carts (email) VALUES ('buyer@example.com')")),
      );
    expect((await listenWhile("carts", insert, "shop")).map((p) => JSON.parse(p) as unknown)).toEqual([
      { id: 1, email: "buyer@example.com" },
    ]);

    const before = await verifyCli(stage);
    expect(before.code).toBe(1);
    const found = before.finding("outward: database shop")!;
    expect(found).toMatchObject({ class: "other-databases", severity: "fail" });
    expect(found.objects).toContain(
      "NOTIFY payloads of the application: function public.carts_changed() (owner app_admin, trigger on public.carts) publishes whole rows (to_jsonb(NEW)::text)",
    );

    // The remedy's way out for a database Umami does not use: keep umami_user out of it (the application keeps CONNECT).
    await withClient(shop, (c) => c.query("GRANT CONNECT ON DATABASE shop TO app_user"));
    await applyRemedy(stage, found.remedy, "admin", { database: "shop", keep: (s) => s.startsWith("REVOKE CONNECT") });
    await expect(listenWhile("carts", insert, "shop")).rejects.toMatchObject({ code: "42501" }); // insufficient privilege: no CONNECT
    await insert();
    const after = await verifyCli(stage);
    expect(after.finding("outward: database shop")).toBeUndefined();
    expect(after.finding(CHECK)!.severity).toBe("warn"); // the first test's key-only feed in app
  });

  it("a feed through json_build_object and contrib tcn on a table keyed by its token hand umami_user the data; verify fails naming both; surrogate keys close them", async () => {
    await stage.run("superuser", "CREATE EXTENSION tcn SCHEMA public");
    await stage.run(
      "admin",
      `
      CREATE TABLE public.api_tokens (token text PRIMARY KEY, id bigint GENERATED ALWAYS AS IDENTITY UNIQUE, customer_id bigint NOT NULL);
      GRANT SELECT, INSERT ON public.api_tokens TO app_user;
      CREATE TRIGGER api_tokens_tcn AFTER INSERT OR UPDATE OR DELETE ON public.api_tokens
        FOR EACH ROW EXECUTE FUNCTION public.triggered_change_notification('tokens');
      CREATE FUNCTION public.customers_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_notify('customers', json_build_object('op', TG_OP, 'data', NEW)::text); RETURN NEW; END $$;
      CREATE TRIGGER customers_changed AFTER INSERT ON public.customers FOR EACH ROW EXECUTE FUNCTION public.customers_changed()`,
    );
    let n = 0;
    const write = () => {
      n += 1;
      return stage.run(
        "app",
        `INSERT INTO public.api_tokens (token, customer_id) VALUES ('tok-live-${n}', 1); INSERT INTO public.customers (email, name) VALUES ('new${n}@example.com', 'New')`,
      );
    };
    // The attacker: no grant on either table, yet the token and the customer arrive.
    await expect(stage.run("umami", "SELECT token FROM public.api_tokens")).rejects.toThrow(/permission denied/);
    expect(await listenWhile("tokens", write)).toEqual([`"api_tokens",I,"token"='tok-live-1'`]);
    const [customer] = await listenWhile("customers", write);
    expect(JSON.parse(customer)).toMatchObject({ op: "INSERT", data: { email: "new2@example.com" } });

    const before = await verifyCli(stage);
    expect(before.code).toBe(1);
    const found = before.finding(CHECK)!;
    expect(found.severity).toBe("fail");
    expect(found.objects).toEqual(
      expect.arrayContaining([
        "function public.customers_changed() (owner app_admin, trigger on public.customers) publishes whole rows (json_build_object('op', TG_OP, 'data', NEW)::text)",
        "trigger api_tokens_tcn ON public.api_tokens (contrib tcn, channel tokens) publishes its primary key: key column token (text) is data, not a surrogate key",
      ]),
    );

    // The remedy, as the application's next migration: each feed sends its surrogate integer key.
    await stage.run(
      "admin",
      `
      DROP TRIGGER api_tokens_tcn ON public.api_tokens;
      CREATE FUNCTION public.api_tokens_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_notify('tokens', TG_OP || ':' || NEW.id::text); RETURN NEW; END $$;
      CREATE TRIGGER api_tokens_changed AFTER INSERT ON public.api_tokens FOR EACH ROW EXECUTE FUNCTION public.api_tokens_changed();
      CREATE OR REPLACE FUNCTION public.customers_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_notify('customers', json_build_object('op', TG_OP, 'id', NEW.id)::text); RETURN NEW; END $$`,
    );
    expect(await listenWhile("tokens", write)).toEqual([expect.stringMatching(/^INSERT:\d+$/)]);
    const [key] = await listenWhile("customers", write);
    expect(Object.keys(JSON.parse(key) as object)).toEqual(["op", "id"]);

    const after = await verifyCli(stage);
    expect(after.finding(CHECK)!.severity).toBe("warn");
    expect(after.code).toBe(0);
  });
});
