import { describe, expect, it } from "vitest";
import { buildDropDependentSql, buildRevokeSql } from "../../../scripts/rollback/blockers.js";

describe("buildDropDependentSql (names as pg_identify_object_as_address gives them)", () => {
  it.each([
    ["policy", ["public", "customers", "tracked only"], [], 'DROP POLICY "tracked only" ON "public"."customers"'],
    ["trigger", ["public", "orders", "touch"], [], 'DROP TRIGGER "touch" ON "public"."orders"'],
    [
      "default value",
      ["public", "order_items", "token"],
      [],
      'ALTER TABLE "public"."order_items" ALTER COLUMN "token" DROP DEFAULT',
    ],
    [
      "table constraint",
      ["billing", "invoices", "site_fk"],
      [],
      'ALTER TABLE "billing"."invoices" DROP CONSTRAINT "site_fk"',
    ],
    [
      "domain constraint",
      ["public.site_id"],
      ["known_site"],
      'ALTER DOMAIN public.site_id DROP CONSTRAINT "known_site"',
    ],
    ["type", ['public."Site"'], [], 'DROP TYPE public."Site"'],
    [
      "function",
      ["public", "site_count"],
      ["integer", "pg_catalog.text"],
      'DROP FUNCTION "public"."site_count"(integer, pg_catalog.text)',
    ],
    ["statistics object", ["public", "site_stats"], [], 'DROP STATISTICS "public"."site_stats"'],
    ["view", ["public", 'odd"name'], [], 'DROP VIEW "public"."odd""name"'],
    ["materialized view", ["public", "mv"], [], 'DROP MATERIALIZED VIEW "public"."mv"'],
    ["publication relation", ["umami", "website"], ["cdc"], 'ALTER PUBLICATION "cdc" DROP TABLE "umami"."website"'],
  ])("%s", (type, names, args, expected) => {
    expect(buildDropDependentSql(type, names, args, "")).toBe(expected);
  });
});

describe("buildRevokeSql", () => {
  it.each([
    ["table", ["public", "ledger"], [], 'REVOKE ALL ON TABLE "public"."ledger" FROM "umami_user"'],
    [
      "table column",
      ["public", "ledger", "amount"],
      [],
      'REVOKE ALL ("amount") ON TABLE "public"."ledger" FROM "umami_user"',
    ],
    ["sequence", ["public", "ledger_id_seq"], [], 'REVOKE ALL ON SEQUENCE "public"."ledger_id_seq" FROM "umami_user"'],
    ["function", ["public", "f"], ["integer"], 'REVOKE ALL ON FUNCTION "public"."f"(integer) FROM "umami_user"'],
    ["schema", ["billing"], [], 'REVOKE ALL ON SCHEMA "billing" FROM "umami_user"'],
    ["database", ["reports"], [], 'REVOKE ALL ON DATABASE "reports" FROM "umami_user"'],
    ["server", ["remote"], [], 'REVOKE ALL ON FOREIGN SERVER "remote" FROM "umami_user"'],
  ])("%s", (type, names, args, expected) => {
    expect(buildRevokeSql(type, names, args, "umami_user")).toBe(expected);
  });
});
