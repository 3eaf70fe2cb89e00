/** compareSchemas as exact sets: every difference named once, with the SQL that brings the live schema to the release. */
import { describe, expect, it } from "vitest";
import { compareSchemas } from "../../../scripts/migrate/schema-compare.js";
import type { SchemaSnapshot } from "../../../scripts/migrate/schema-snapshot.js";

function snapshot(overrides: Partial<SchemaSnapshot> = {}): SchemaSnapshot {
  return {
    schema: "umami",
    exists: true,
    tables: [{ name: "website", kind: "table" }],
    columns: [
      { table: "website", name: "website_id", type: "uuid", notNull: true, default: null },
      { table: "website", name: "name", type: "character varying(100)", notNull: true, default: null },
    ],
    indexes: [
      {
        table: "website",
        name: "website_pkey",
        definition: "CREATE UNIQUE INDEX website_pkey ON umami.website USING btree (website_id)",
      },
    ],
    constraints: [{ table: "website", name: "website_pkey", definition: "PRIMARY KEY (website_id)" }],
    sequences: [],
    enums: [],
    ...overrides,
  };
}

describe("compareSchemas", () => {
  it("finds nothing between equal snapshots", () => {
    expect(compareSchemas(snapshot(), snapshot())).toEqual([]);
  });

  it("names a missing table once, not each of its columns, indexes and constraints", () => {
    const release = snapshot();
    const live = snapshot({ tables: [], columns: [], indexes: [], constraints: [] });
    expect(compareSchemas(release, live)).toEqual([
      {
        kind: "table",
        object: "website",
        change: "missing",
        message: "table website is missing (the release's migrations create it)",
      },
    ]);
    expect(compareSchemas(live, release).map((d) => `${d.change} ${d.kind} ${d.object}`)).toEqual([
      "extra table website",
    ]);
  });

  it("gives type, nullability and default their own difference and ALTER", () => {
    const live = snapshot({
      columns: [
        { table: "website", name: "website_id", type: "uuid", notNull: true, default: null },
        {
          table: "website",
          name: "name",
          type: "character varying(50)",
          notNull: false,
          default: "'x'::character varying",
        },
      ],
    });
    expect(compareSchemas(snapshot(), live).map((d) => [d.aspect, d.sql])).toEqual([
      ["default", 'ALTER TABLE "umami"."website" ALTER COLUMN "name" DROP DEFAULT;'],
      ["nullability", 'ALTER TABLE "umami"."website" ALTER COLUMN "name" SET NOT NULL;'],
      ["type", 'ALTER TABLE "umami"."website" ALTER COLUMN "name" TYPE character varying(100);'],
    ]);
  });

  it("replaces a constraint whose definition differs, and writes no SQL for an extra one", () => {
    const live = snapshot({
      constraints: [
        { table: "website", name: "website_pkey", definition: "PRIMARY KEY (name)" },
        { table: "website", name: "website_name_check", definition: "CHECK ((name <> ''::text))" },
      ],
    });
    const [extra, changed] = compareSchemas(snapshot(), live);
    expect(changed).toMatchObject({
      kind: "constraint",
      object: "website.website_pkey",
      change: "differs",
      sql: 'ALTER TABLE "umami"."website" DROP CONSTRAINT "website_pkey";\nALTER TABLE "umami"."website" ADD CONSTRAINT "website_pkey" PRIMARY KEY (website_id);',
    });
    expect(extra).toMatchObject({ kind: "constraint", object: "website.website_name_check", change: "extra" });
    expect(extra.sql).toBeUndefined();
  });

  it("creates a missing sequence with its owner, and names an enum whose labels differ", () => {
    const release = snapshot({
      sequences: [
        {
          name: "website_seq",
          definition: "AS integer INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1 NO CYCLE",
          ownedBy: "website.name",
        },
      ],
      enums: [{ name: "role", labels: ["admin", "user"] }],
    });
    const live = snapshot({ enums: [{ name: "role", labels: ["admin"] }] });
    expect(compareSchemas(release, live).map((d) => d.sql ?? d.message)).toEqual([
      'CREATE SEQUENCE "umami"."website_seq" AS integer INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1 NO CYCLE OWNED BY "umami"."website"."name";',
      "enum role has labels (admin), the release has (admin, user)",
    ]);
  });
});
