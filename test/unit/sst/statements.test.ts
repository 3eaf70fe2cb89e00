import { describe, expect, it } from "vitest";
import {
  alterOwner,
  alterRole,
  alterTable,
  drop,
  dropUserMapping,
  grant,
  grantDefault,
  grantRole,
  objectName,
  pinSearchPath,
  PUBLIC,
  revoke,
  revokeDefault,
  revokeParameter,
  revokeRole,
  script,
} from "../../../sst/database/statements.js";

const table = { kind: "TABLE", name: ["My-App", "o'\"q"] };

describe("statement builders", () => {
  it("quote every name through quoteIdent, PUBLIC stays a keyword", () => {
    expect(
      revoke({ privileges: ["CONNECT", "TEMPORARY"], on: { kind: "DATABASE", name: ["My-App"] }, from: PUBLIC }),
    ).toBe('REVOKE CONNECT, TEMPORARY ON DATABASE "My-App" FROM PUBLIC');
    expect(revoke({ privileges: "ALL", on: table, from: "PUBLIC" })).toBe(
      'REVOKE ALL ON TABLE "My-App"."o\'""q" FROM "PUBLIC"',
    );
    expect(
      grant({ privileges: ["CONNECT"], on: { kind: "DATABASE", name: ["a b"] }, to: "user", withGrantOption: true }),
    ).toBe('GRANT CONNECT ON DATABASE "a b" TO "user" WITH GRANT OPTION');
  });

  it("give each privilege its columns", () => {
    expect(
      revoke({ privileges: ["SELECT", "UPDATE"], columns: ["select", "My Col"], on: table, from: "app_user" }),
    ).toBe(
      'REVOKE SELECT ("select", "My Col"), UPDATE ("select", "My Col") ON TABLE "My-App"."o\'""q" FROM "app_user"',
    );
  });

  it("take TABLE for views and foreign tables, FUNCTION for aggregates", () => {
    expect(revoke({ privileges: "ALL", on: { kind: "MATERIALIZED VIEW", name: ["s", "v"] }, from: PUBLIC })).toBe(
      'REVOKE ALL ON TABLE "s"."v" FROM PUBLIC',
    );
    expect(
      revoke({
        privileges: ["EXECUTE"],
        on: { kind: "AGGREGATE", name: ["s", "agg x"], args: ["integer"] },
        from: PUBLIC,
      }),
    ).toBe('REVOKE EXECUTE ON FUNCTION "s"."agg x"(integer) FROM PUBLIC');
    expect(revoke({ privileges: ["USAGE"], on: { kind: "SERVER", name: ["srv"] }, from: PUBLIC })).toBe(
      'REVOKE USAGE ON FOREIGN SERVER "srv" FROM PUBLIC',
    );
  });

  it("name routines, operators, operator classes, policies and casts as their statements do", () => {
    expect(objectName({ kind: "FUNCTION", name: ["o'\"q", "f n"], args: ["integer", "pg_catalog.text"] })).toBe(
      '"o\'""q"."f n"(integer, pg_catalog.text)',
    );
    expect(objectName({ kind: "OPERATOR", name: ["public", "==="], args: ["integer", "integer"] })).toBe(
      '"public".=== (integer, integer)',
    );
    expect(() => objectName({ kind: "OPERATOR", name: ["public", "x; DROP"], args: [] })).toThrow(/operator/);
    expect(objectName({ kind: "OPERATOR CLASS", name: ["btree", "s", "oc"] })).toBe('"s"."oc" USING "btree"');
    expect(objectName({ kind: "POLICY", name: ["s", "t", "p q"] })).toBe('"p q" ON "s"."t"');
    expect(objectName({ kind: "TYPE", name: ['"o\'""q"."My Type"'] })).toBe('"o\'""q"."My Type"');
    expect(objectName({ kind: "TYPE", name: ["s", "t"] })).toBe('"s"."t"');
    expect(() => objectName({ kind: "LARGE OBJECT", name: ["1; DROP"] })).toThrow(/large object/);
    expect(objectName({ kind: "LARGE OBJECT", name: ["16401"] })).toBe("16401");
    expect(objectName({ kind: "USER MAPPING", name: ["Umami-User"], args: ["srv x"] })).toBe(
      'FOR "Umami-User" SERVER "srv x"',
    );
    expect(objectName({ kind: "USER MAPPING", name: ["public"], args: ["srv"] })).toBe('FOR PUBLIC SERVER "srv"');
  });

  it("hand objects back and drop them", () => {
    expect(alterOwner({ kind: "FUNCTION", name: ["public", "f"], args: ["integer"] }, "Admin User")).toBe(
      'ALTER FUNCTION "public"."f"(integer) OWNER TO "Admin User"',
    );
    expect(drop({ kind: "TRIGGER", name: ["s", "t", "tg"] })).toBe('DROP TRIGGER "tg" ON "s"."t"');
    expect(drop({ kind: "EVENT TRIGGER", name: ["et"] })).toBe('DROP EVENT TRIGGER "et"');
  });

  it("revoke and grant memberships", () => {
    expect(revokeRole("pg_read_all_data", "Report-Reader")).toBe('REVOKE "pg_read_all_data" FROM "Report-Reader"');
    expect(grantRole("Umami-User", "select")).toBe('GRANT "Umami-User" TO "select"');
  });

  it("change default privileges, with and without a schema", () => {
    expect(revokeDefault({ forRole: "umami_user", privileges: "ALL", on: "TABLES", from: "app user" })).toBe(
      'ALTER DEFAULT PRIVILEGES FOR ROLE "umami_user" REVOKE ALL ON TABLES FROM "app user"',
    );
    expect(grantDefault({ forRole: "a", inSchema: "S", privileges: ["SELECT"], on: "TABLES", to: PUBLIC })).toBe(
      'ALTER DEFAULT PRIVILEGES FOR ROLE "a" IN SCHEMA "S" GRANT SELECT ON TABLES TO PUBLIC',
    );
  });

  it("alter roles: attributes, settings per database, connection limit", () => {
    expect(alterRole("u", { attributes: ["NOSUPERUSER", "NOCREATEDB"] })).toBe('ALTER ROLE "u" NOSUPERUSER NOCREATEDB');
    expect(() => alterRole("u", { attributes: ["NOLOGIN; DROP"] })).toThrow(/attribute/);
    expect(alterRole("u", { reset: "search_path", inDatabase: "My-App" })).toBe(
      'ALTER ROLE "u" IN DATABASE "My-App" RESET "search_path"',
    );
    expect(alterRole("u", { reset: "app.api_key" })).toBe('ALTER ROLE "u" RESET "app"."api_key"');
    expect(alterRole("u", { set: "search_path", to: { identifiers: ["umami", "o'q"] } })).toBe(
      'ALTER ROLE "u" SET "search_path" TO "umami", "o\'q"',
    );
    expect(alterRole("u", { set: "statement_timeout", to: 60000 })).toBe(
      'ALTER ROLE "u" SET "statement_timeout" TO 60000',
    );
    expect(alterRole("u", { set: "app.x", to: "it's" })).toBe('ALTER ROLE "u" SET "app"."x" TO \'it\'\'s\'');
    expect(alterRole("u", { connectionLimit: 22 })).toBe('ALTER ROLE "u" CONNECTION LIMIT 22');
  });

  it("pin a routine's search_path and drop a user mapping", () => {
    expect(pinSearchPath({ kind: "FUNCTION", name: ["s", "f"], args: [] }, ["pg_catalog", "s", "pg_temp"])).toBe(
      'ALTER FUNCTION "s"."f"() SET "search_path" TO "pg_catalog", "s", "pg_temp"',
    );
    expect(dropUserMapping("umami_user", "srv x")).toBe('DROP USER MAPPING FOR "umami_user" SERVER "srv x"');
    expect(dropUserMapping(PUBLIC, "srv")).toBe('DROP USER MAPPING FOR PUBLIC SERVER "srv"');
  });

  it("unlink tables: a foreign key, an inheritance, a partition", () => {
    expect(alterTable(["My-App", "o'\"q"], { dropConstraint: 'fk "x"' })).toBe(
      'ALTER TABLE "My-App"."o\'""q" DROP CONSTRAINT "fk ""x"""',
    );
    expect(alterTable(["Umami o'q", "T"], { noInherit: ["public", "All Sites"] })).toBe(
      'ALTER TABLE "Umami o\'q"."T" NO INHERIT "public"."All Sites"',
    );
    expect(alterTable(["u", "Log"], { detachPartition: ["public", "select"] })).toBe(
      'ALTER TABLE "u"."Log" DETACH PARTITION "public"."select"',
    );
  });

  it("revoke privileges on parameters, a custom one's parts quoted each", () => {
    expect(revokeParameter(["SET"], "lo_compat_privileges", "Umami-User select")).toBe(
      'REVOKE SET ON PARAMETER "lo_compat_privileges" FROM "Umami-User select"',
    );
    expect(revokeParameter(["ALTER SYSTEM", "SET"], "app.My Key", PUBLIC)).toBe(
      'REVOKE ALTER SYSTEM, SET ON PARAMETER "app"."My Key" FROM PUBLIC',
    );
    expect(() => revokeParameter(["SET; DROP"], "x", PUBLIC)).toThrow(/Not a parameter privilege/);
  });

  it("end each statement with a semicolon for prose", () => {
    expect(script(['REVOKE ALL ON TABLE "t" FROM PUBLIC', 'DROP TABLE "t"'])).toBe(
      'REVOKE ALL ON TABLE "t" FROM PUBLIC; DROP TABLE "t";',
    );
  });
});
