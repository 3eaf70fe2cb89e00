/**
 * Class `cross-schema-links`: inheritance, partitions and foreign keys between a Umami table and one outside its
 * schema carry rows across without a privilege. Each path is walked first as the attacker: app_user reads Umami's
 * row through the application's parent, umami_user reads the application's rows through its partitioned table,
 * and umami_user's DELETE of its own row deletes the application's through ON DELETE CASCADE. Then verify fails
 * naming the link, the remedy's statement closes it, and verify exits 0 — with the application's own foreign
 * keys, inheritance and partitions in place.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyRemedy, rows, startAuditStage, verifyCli, type AuditStage } from "./helpers.js";

let stage: AuditStage;

beforeAll(async () => {
  stage = await startAuditStage("Cross-Links-Password-0123456789");
  await stage.run(
    "umami",
    "INSERT INTO umami.website VALUES ('00000000-0000-0000-0000-00000000000a', 'umami-only-site')",
  );
  // The application's own links, which must raise nothing: the sample's foreign keys (billing.invoices → public.orders
  // crosses two application schemas), plus inheritance and a partition inside the application.
  await stage.run(
    "admin",
    `CREATE TABLE public.notes (id int, body text);
     CREATE TABLE public.order_notes (order_id bigint) INHERITS (public.notes);
     CREATE TABLE public.events (at date NOT NULL, kind text) PARTITION BY RANGE (at);
     CREATE TABLE billing.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
  );
});
afterAll(async () => stage?.server.stop());

const CHECK = "inward and outward: tables linked across umami's edge";

async function expectClean() {
  const after = await verifyCli(stage);
  expect(after.finding(CHECK)).toMatchObject({ class: "cross-schema-links", severity: "pass", objects: [] });
  expect(after.code).toBe(0);
}

describe("tables linked across Umami's schema", () => {
  it("the application's reporting parent over Umami's table hands its rows to app_user; verify fails naming it; NO INHERIT closes it", async () => {
    // Only an owner of both tables may link them: a superuser does, for a report over every site.
    await stage.run(
      "superuser",
      `CREATE TABLE public.all_sites (website_id uuid, name text);
       ALTER TABLE public.all_sites OWNER TO app_user;
       ALTER TABLE umami.website INHERIT public.all_sites`,
    );
    await expect(stage.run("app", "SELECT * FROM umami.website")).rejects.toThrow(/permission denied/);
    const read = await rows<{ name: string }>(stage, "app", "SELECT name FROM public.all_sites");
    expect(read.map((r) => r.name)).toContain("umami-only-site");

    const before = await verifyCli(stage);
    expect(before.code).toBe(1);
    expect(before.finding(CHECK)).toMatchObject({
      class: "cross-schema-links",
      severity: "fail",
      objects: [
        "umami.website is a child of public.all_sites: whoever may read public.all_sites reads umami.website's rows through it, without any privilege on them",
      ],
    });

    expect(await applyRemedy(stage, before.finding(CHECK)!.remedy, "superuser")).toEqual([
      'ALTER TABLE "umami"."website" NO INHERIT "public"."all_sites";',
    ]);
    expect(await rows(stage, "app", "SELECT name FROM public.all_sites")).toEqual([]);
    await expectClean();
  });

  it("an application table attached as a partition of umami_user's table hands its rows to umami_user; DETACH PARTITION closes it", async () => {
    await stage.run("umami", "CREATE TABLE umami.event_log (at date NOT NULL, detail text) PARTITION BY RANGE (at)");
    await stage.run(
      "superuser",
      `CREATE TABLE public.audit_2024 (at date NOT NULL, detail text);
       ALTER TABLE public.audit_2024 OWNER TO app_user;
       INSERT INTO public.audit_2024 VALUES ('2024-05-01', 'customer7@example.com changed card');
       ALTER TABLE umami.event_log ATTACH PARTITION public.audit_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
    );
    await expect(stage.run("umami", "SELECT * FROM public.audit_2024")).rejects.toThrow(/permission denied/);
    const read = await rows<{ detail: string }>(stage, "umami", "SELECT detail FROM umami.event_log");
    expect(read).toEqual([{ detail: "customer7@example.com changed card" }]);

    const before = await verifyCli(stage);
    expect(before.code).toBe(1);
    expect(before.finding(CHECK)!.objects).toEqual([
      "public.audit_2024 is a partition of umami.event_log: umami_user reads public.audit_2024's rows through it, without any privilege on them",
    ]);
    expect(await applyRemedy(stage, before.finding(CHECK)!.remedy, "superuser")).toEqual([
      'ALTER TABLE "umami"."event_log" DETACH PARTITION "public"."audit_2024";',
    ]);
    expect(await rows(stage, "umami", "SELECT detail FROM umami.event_log")).toEqual([]);
    await stage.run("umami", "DROP TABLE umami.event_log");
    await expectClean();
  });

  it("umami_user's DELETE of its own row deletes the application's through ON DELETE CASCADE; DROP CONSTRAINT closes it", async () => {
    const site = "00000000-0000-0000-0000-00000000000b";
    const addSite = () => stage.run("umami", `INSERT INTO umami.website VALUES ('${site}', 'tracked-shop')`);
    await addSite();
    await stage.run(
      "superuser",
      `CREATE TABLE public.shop_sites (shop_id int PRIMARY KEY, website_id uuid REFERENCES umami.website ON DELETE CASCADE);
       ALTER TABLE public.shop_sites OWNER TO app_user;
       INSERT INTO public.shop_sites VALUES (1, '${site}')`,
    );
    await expect(stage.run("umami", "DELETE FROM public.shop_sites")).rejects.toThrow(/permission denied/);
    await stage.run("umami", `DELETE FROM umami.website WHERE website_id = '${site}'`);
    expect(await rows(stage, "app", "SELECT shop_id FROM public.shop_sites")).toEqual([]);

    await addSite();
    await stage.run("app", `INSERT INTO public.shop_sites VALUES (1, '${site}')`);
    const before = await verifyCli(stage);
    expect(before.code).toBe(1);
    expect(before.finding(CHECK)!.objects).toEqual([
      "foreign key shop_sites_website_id_fkey of public.shop_sites references umami.website: umami_user's DELETE or UPDATE of its rows acts on public.shop_sites's (cascades, sets null, or is refused)",
    ]);
    expect(await applyRemedy(stage, before.finding(CHECK)!.remedy, "superuser")).toEqual([
      'ALTER TABLE "public"."shop_sites" DROP CONSTRAINT "shop_sites_website_id_fkey";',
    ]);
    await stage.run("umami", `DELETE FROM umami.website WHERE website_id = '${site}'`);
    expect(await rows(stage, "app", "SELECT shop_id FROM public.shop_sites")).toEqual([{ shop_id: 1 }]);
    await expectClean();
  });
});
