/**
 * The application fingerprint on real PostgreSQL 15: stable across captures and data changes, and each kind
 * of schema or role change named by object in the diff.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec } from "../../../sst/database/spec.js";
import { withClient, type ConnectionSettings } from "../../../scripts/kernel/db.js";
import {
  applicationOf,
  captureFingerprint,
  diffFingerprints,
  type Fingerprint,
} from "../../../scripts/evidence/fingerprint.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";

const spec = buildSpec("dev");
const options = applicationOf(spec);
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.stop());

function capture(): Promise<Fingerprint> {
  return captureFingerprint(server.admin, options);
}

/** Captures, applies `change` as `who`, captures again, undoes; returns the named changes. */
async function changesFrom(change: string, undo: string, who: ConnectionSettings = server.admin) {
  const before = await capture();
  await withClient(who, (c) => c.query(change));
  try {
    return diffFingerprints(before, await capture());
  } finally {
    await withClient(who, (c) => c.query(undo));
  }
}

describe("captureFingerprint", () => {
  it("is identical across captures, and data changes (rows, sequence positions) do not count", async () => {
    const before = await capture();
    await withClient(server.admin, (c) =>
      c.query(
        "INSERT INTO public.customers (email, name) VALUES ('fp@example.com', 'FP'); SELECT pg_catalog.nextval('public.orders_id_seq')",
      ),
    );
    const after = await capture();
    expect(diffFingerprints(before, after)).toEqual([]);
    expect(after.schemas).toEqual(before.schemas);
    expect(Object.keys(before.schemas).sort()).toEqual(["billing", "drizzle", "public"]);
    expect(before.roles.objects).toHaveProperty(["role app_user"]);
    expect(JSON.parse(JSON.stringify(before))).toEqual(before);
  });

  it("leaves out the Umami schema and role (provisioning does not change the application's fingerprint)", async () => {
    const before = await capture();
    await withClient(server.admin, (c) =>
      provisionStage(c, spec, { admin: TEST_ADMIN.name, password: "Fingerprint-Test-Password-0123" }),
    );
    expect(diffFingerprints(before, await capture())).toEqual([]);
  });

  it("names a changed column", async () => {
    const changes = await changesFrom(
      "ALTER TABLE billing.invoices ALTER COLUMN amount_cents TYPE bigint",
      "ALTER TABLE billing.invoices ALTER COLUMN amount_cents TYPE integer",
    );
    expect(changes).toEqual([{ change: "changed", object: "column billing.invoices.amount_cents", schema: "billing" }]);
  });

  it("names an added and a dropped index", async () => {
    expect(
      await changesFrom(
        "CREATE INDEX customers_name_idx ON public.customers (name)",
        "DROP INDEX public.customers_name_idx",
      ),
    ).toEqual([{ change: "added", object: "index public.customers_name_idx", schema: "public" }]);
    const changes = await changesFrom(
      "DROP INDEX public.orders_customer_id_idx",
      "CREATE INDEX orders_customer_id_idx ON public.orders (customer_id)",
    );
    expect(changes).toEqual([{ change: "removed", object: "index public.orders_customer_id_idx", schema: "public" }]);
  });

  it("names a changed ACL", async () => {
    const changes = await changesFrom(
      "GRANT SELECT ON public.customers TO PUBLIC",
      "REVOKE SELECT ON public.customers FROM PUBLIC",
    );
    expect(changes).toEqual([{ change: "changed", object: "acl public.customers", schema: "public" }]);
  });

  it("names a changed default, constraint and function", async () => {
    expect(
      await changesFrom(
        "ALTER TABLE public.orders ALTER COLUMN status SET DEFAULT 'paid'",
        "ALTER TABLE public.orders ALTER COLUMN status SET DEFAULT 'new'",
      ),
    ).toEqual([{ change: "changed", object: "column public.orders.status", schema: "public" }]);
    expect(
      await changesFrom(
        "ALTER TABLE public.customers ADD CONSTRAINT name_not_empty CHECK (name <> '')",
        "ALTER TABLE public.customers DROP CONSTRAINT name_not_empty",
      ),
    ).toEqual([{ change: "added", object: "constraint public.customers.name_not_empty", schema: "public" }]);
    const fn = "CREATE FUNCTION billing.total(integer) RETURNS integer LANGUAGE sql AS 'SELECT $1 * 2'";
    await withClient(server.admin, (c) => c.query(fn));
    try {
      expect(
        await changesFrom(
          "CREATE OR REPLACE FUNCTION billing.total(integer) RETURNS integer LANGUAGE sql AS 'SELECT $1 * 3'",
          "CREATE OR REPLACE FUNCTION billing.total(integer) RETURNS integer LANGUAGE sql AS 'SELECT $1 * 2'",
        ),
      ).toEqual([{ change: "changed", object: "function billing.total(integer)", schema: "billing" }]);
    } finally {
      await withClient(server.admin, (c) => c.query("DROP FUNCTION billing.total(integer)"));
    }
  });

  it("names role attribute and membership changes of application roles", async () => {
    expect(
      await changesFrom("ALTER ROLE app_user CONNECTION LIMIT 5", "ALTER ROLE app_user CONNECTION LIMIT -1"),
    ).toEqual([{ change: "changed", object: "role app_user", schema: null }]);
    const superuser = { ...server.superuser, database: server.admin.database };
    expect(
      await changesFrom("GRANT pg_read_all_data TO app_user", "REVOKE pg_read_all_data FROM app_user", superuser),
    ).toEqual([{ change: "added", object: "membership app_user in pg_read_all_data", schema: null }]);
  });
});
