import { describe, expect, it } from "vitest";
import {
  diffFingerprints,
  digest,
  FINGERPRINT_VERSION,
  fingerprintProblem,
  type Fingerprint,
} from "../../../scripts/evidence/fingerprint.js";

function fingerprint(schemas: Record<string, Record<string, string>>, roles: Record<string, string> = {}): Fingerprint {
  return {
    version: FINGERPRINT_VERSION,
    capturedAt: "2026-01-01T00:00:00.000Z",
    database: "app",
    excludedSchemas: ["umami"],
    excludedRoles: ["umami_user"],
    schemas: Object.fromEntries(Object.entries(schemas).map(([name, objects]) => [name, { digest: "x", objects }])),
    roles: { digest: "y", objects: roles },
  };
}

describe("diffFingerprints", () => {
  it("is empty for identical fingerprints, whatever their capture time", () => {
    const a = fingerprint(
      { public: { "table public.orders": "1", "acl public.orders": "2" } },
      { "role app_user": "3" },
    );
    expect(diffFingerprints(a, { ...a, capturedAt: "2027-01-01T00:00:00.000Z" })).toEqual([]);
  });

  it("names added, removed and changed objects, sorted by object", () => {
    const before = fingerprint(
      {
        public: { "column public.orders.total": "1", "index public.orders_pkey": "2" },
        billing: { "table billing.invoices": "3" },
      },
      { "role app_user": "4" },
    );
    const after = fingerprint(
      {
        public: { "column public.orders.total": "9", "acl public.customers": "5" },
        billing: { "table billing.invoices": "3" },
      },
      { "role app_user": "4", "membership app_user in pg_read_all_data": "6" },
    );
    expect(diffFingerprints(before, after)).toEqual([
      { change: "added", object: "acl public.customers", schema: "public" },
      { change: "changed", object: "column public.orders.total", schema: "public" },
      { change: "removed", object: "index public.orders_pkey", schema: "public" },
      { change: "added", object: "membership app_user in pg_read_all_data", schema: null },
    ]);
  });

  it("lists every object of a dropped schema", () => {
    const before = fingerprint({ public: {}, reports: { "schema reports": "1", "table reports.daily": "2" } });
    expect(diffFingerprints(before, fingerprint({ public: {} })).map((c) => `${c.change} ${c.object}`)).toEqual([
      "removed schema reports",
      "removed table reports.daily",
    ]);
  });
});

describe("fingerprintProblem", () => {
  it("accepts a fingerprint and explains what is wrong with anything else", () => {
    expect(fingerprintProblem(fingerprint({}))).toBeNull();
    expect(fingerprintProblem(null)).toBe("it is not a JSON object");
    expect(fingerprintProblem({ ...fingerprint({}), version: 0 })).toMatch(/version is 0/);
    expect(fingerprintProblem({ version: FINGERPRINT_VERSION, database: "app" })).toMatch(/no database or schemas/);
  });
});

describe("digest", () => {
  it("is short, stable and sensitive", () => {
    expect(digest("a")).toBe(digest("a"));
    expect(digest("a")).not.toBe(digest("b"));
    expect(digest("a")).toMatch(/^[0-9a-f]{16}$/);
  });
});
