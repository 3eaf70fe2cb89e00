import pg from "pg";
import { describe, expect, it } from "vitest";
import { quoteIdent, quoteLiteral } from "../../../sst/database/quote.js";
import { buildSpec } from "../../../sst/database/spec.js";
import { buildProvisionSql, buildRollbackSql, REDACTED } from "../../../sst/database/sql.js";

describe("quoting", () => {
  it.each(["umami", "Mixed_Case", 'we"ird', "sp ace", "ünï", "select"])("quotes %j exactly as pg does", (name) => {
    expect(quoteIdent(name)).toBe(pg.escapeIdentifier(name));
  });
  it.each(["plain", "it's", "back\\slash", "both\\'"])("quotes literal %j exactly as pg does", (value) => {
    expect(quoteLiteral(value)).toBe(pg.escapeLiteral(value));
  });
  it("refuses NUL", () => {
    expect(() => quoteIdent("a\0b")).toThrow(/NUL/);
  });
});

describe("buildProvisionSql", () => {
  it("issues the story's statements for dev, in the stack's order", () => {
    expect(buildProvisionSql(buildSpec("dev"), { admin: "postgres", password: REDACTED })).toEqual([
      `CREATE ROLE "umami_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 22 PASSWORD '[secret]'`,
      `ALTER ROLE "umami_user" SET search_path TO "umami"`,
      `ALTER ROLE "umami_user" SET statement_timeout TO 60000`,
      `ALTER ROLE "umami_user" SET idle_in_transaction_session_timeout TO 60000`,
      `CREATE SCHEMA "umami" AUTHORIZATION "postgres"`,
      `CREATE EXTENSION IF NOT EXISTS "pgcrypto" WITH SCHEMA "umami"`,
      `GRANT CONNECT ON DATABASE "app" TO "umami_user"`,
      `GRANT USAGE, CREATE ON SCHEMA "umami" TO "umami_user"`,
      `GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA "umami" TO "umami_user"`,
      `GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA "umami" TO "umami_user"`,
      `ALTER DEFAULT PRIVILEGES FOR ROLE "postgres" IN SCHEMA "umami" GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLES TO "umami_user"`,
      `ALTER DEFAULT PRIVILEGES FOR ROLE "postgres" IN SCHEMA "umami" GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO "umami_user"`,
    ]);
  });

  it("quotes derived names that need it and skips pgcrypto when the database has it", () => {
    const spec = buildSpec("Alice-Dev", { clusterIdentifier: "c", database: "my app", pgcryptoAlreadyInstalled: true });
    const sql = buildProvisionSql(spec, { admin: 'adm"in', password: "pa'ss" });
    expect(sql[0]).toBe(
      `CREATE ROLE "umami_user_Alice_Dev" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 22 PASSWORD 'pa''ss'`,
    );
    expect(sql).toContain(`CREATE SCHEMA "umami_Alice_Dev" AUTHORIZATION "adm""in"`);
    expect(sql).toContain(`GRANT CONNECT ON DATABASE "my app" TO "umami_user_Alice_Dev"`);
    expect(sql.some((s) => s.includes("EXTENSION"))).toBe(false);
  });

  it("brings existing objects back to the spec without naming superuser-only attributes or the password", () => {
    const sql = buildProvisionSql(
      buildSpec("dev"),
      { admin: "postgres", password: "secret-pw" },
      { role: true, schema: true },
    );
    expect(sql[0]).toBe(`ALTER ROLE "umami_user" WITH LOGIN NOCREATEDB NOCREATEROLE INHERIT CONNECTION LIMIT 22`);
    expect(sql.join("\n")).not.toContain("secret-pw");
    expect(sql.some((s) => s.startsWith("CREATE SCHEMA"))).toBe(false);
  });
});

describe("buildRollbackSql", () => {
  it("uses the measured order: join the role, drop the schema, drop owned, drop the role", () => {
    expect(buildRollbackSql(buildSpec("pr-42"), { admin: "postgres" })).toEqual([
      `GRANT "umami_user_pr_42" TO "postgres"`,
      `DROP SCHEMA IF EXISTS "umami_pr_42" CASCADE`,
      `DROP OWNED BY "umami_user_pr_42"`,
      `DROP ROLE IF EXISTS "umami_user_pr_42"`,
    ]);
  });
});
