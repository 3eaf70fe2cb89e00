/**
 * Outward: what umami_user reaches that the grant checks did not see — another database
 * with PUBLIC-readable data or PUBLIC CREATE (audited as deeply as the main one, or reported as not audited
 * with the reason), settings attached to the role itself, and objects it owns outside its schema, here and
 * elsewhere. Each remedy is run as written and the audit re-run.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditIsolation } from "../../../scripts/audit/audit.js";
import { withClient } from "../../../scripts/kernel/db.js";
import { check, failing, spec, startAuditStage, statements, type AuditStage, type Who } from "./helpers.js";

let stage: AuditStage;

beforeAll(async () => {
  stage = await startAuditStage("Outward-Paths-Password-0123456789a");
  await stage.server.createDatabase("legacy");
});
afterAll(async () => stage?.server.stop());

const audit = () => auditIsolation({ admin: stage.server.admin, spec });

async function apply(
  remedy: string,
  who: Who,
  database?: string,
  keep: (s: string) => boolean = () => true,
): Promise<string[]> {
  const list = statements(remedy).filter(keep);
  expect(list.length).toBeGreaterThan(0);
  for (const sql of list) await stage.run(who, sql, database);
  return list;
}

describe("outward paths", () => {
  it("another database where PUBLIC reads data and creates objects fails, named object by object", async () => {
    await stage.run(
      "admin",
      `
      CREATE TABLE public.api_keys (id integer, secret text);
      INSERT INTO public.api_keys VALUES (1, 'k-1');
      GRANT SELECT ON public.api_keys TO PUBLIC;
      GRANT CREATE ON SCHEMA public TO PUBLIC`,
      "legacy",
    );
    // Real: umami_user reads it.
    const read = await withClient(stage.as("umami", "legacy"), (c) => c.query("SELECT secret FROM public.api_keys"));
    expect(read.rows).toEqual([{ secret: "k-1" }]);
    const f = check(await audit(), "outward: database legacy");
    expect(f.severity).toBe("fail");
    expect(f.objects).toEqual(
      expect.arrayContaining([
        "database legacy (CONNECT via PUBLIC, TEMPORARY via PUBLIC)",
        "tables and views: public.api_keys (SELECT via PUBLIC)",
        "CREATE on other schemas: public (CREATE via PUBLIC)",
      ]),
    );
    const applied = await apply(
      f.remedy,
      "admin",
      "legacy",
      (s) => !s.includes("pg_stat_statements") && !s.startsWith("REVOKE CONNECT"),
    );
    expect(applied).toEqual([
      'REVOKE ALL ON TABLE "public"."api_keys" FROM PUBLIC;',
      'REVOKE CREATE ON SCHEMA "public" FROM PUBLIC;',
    ]);
    const after = await audit();
    expect(check(after, "outward: database legacy").severity).toBe("warn");
    expect(failing(after)).toEqual([]);
  });

  it("a database the administrator cannot connect to is reported as not audited, with the reason", async () => {
    await stage.run("superuser", "CREATE DATABASE vault", "postgres");
    await stage.run(
      "superuser",
      "REVOKE CONNECT ON DATABASE vault FROM PUBLIC; GRANT CONNECT ON DATABASE vault TO umami_user",
      "postgres",
    );
    try {
      const f = check(await audit(), "outward: database vault");
      expect(f).toMatchObject({
        severity: "warn",
        objects: ["database vault (CONNECT, TEMPORARY via PUBLIC) — not audited: app_admin has no CONNECT on it"],
      });
    } finally {
      await stage.run("superuser", "DROP DATABASE vault", "postgres");
    }
  });

  it("settings attached to umami_user are compared with the spec's: different, extra, per database", async () => {
    await stage.run(
      "admin",
      `
      ALTER ROLE umami_user SET search_path TO umami, public;
      ALTER ROLE umami_user SET row_security TO off;
      ALTER ROLE umami_user IN DATABASE app SET search_path TO public;
      ALTER ROLE umami_user RESET statement_timeout`,
    );
    const f = check(await audit(), "outward: role settings");
    expect(f.severity).toBe("fail");
    expect(f.objects).toEqual([
      "row_security = off (the spec declares no such setting)",
      "search_path = umami, public (spec: umami)",
      "statement_timeout: missing (spec: 60000)",
      "search_path = public in database app (the spec declares it for every database)",
    ]);
    expect(await apply(f.remedy, "admin")).toEqual([
      'ALTER ROLE "umami_user" RESET "row_security";',
      'ALTER ROLE "umami_user" SET "search_path" TO "umami";',
      'ALTER ROLE "umami_user" SET "statement_timeout" TO 60000;',
      'ALTER ROLE "umami_user" IN DATABASE "app" RESET "search_path";',
    ]);
    expect(check(await audit(), "outward: role settings").severity).toBe("pass");
  });

  it("objects umami_user owns outside its schema fail after the CREATE that let it make them is gone", async () => {
    await stage.run("admin", "GRANT CREATE ON SCHEMA public TO umami_user");
    await stage.run("admin", "GRANT CREATE ON SCHEMA public TO umami_user", "legacy");
    await stage.run(
      "umami",
      `
      CREATE FUNCTION public.stray_count(integer, text) RETURNS integer LANGUAGE sql AS 'SELECT 1';
      CREATE TYPE public.stray_mood AS ENUM ('ok');
      CREATE SEQUENCE public.stray_seq`,
    );
    await stage.run("umami", "CREATE TABLE public.stray_events (id serial)", "legacy");
    await stage.run("admin", "REVOKE CREATE ON SCHEMA public FROM umami_user");
    await stage.run("admin", "REVOKE CREATE ON SCHEMA public FROM umami_user", "legacy");
    const result = await audit();
    const f = check(result, "outward: objects owned outside the schema");
    expect(f.severity).toBe("fail");
    expect(f.objects).toEqual([
      "function public.stray_count(integer,pg_catalog.text)",
      "sequence public.stray_seq",
      "type public.stray_mood",
      // The table and its serial's sequence, counted from the shared catalog; named there.
      '2 object(s) in database legacy — named under "outward: database legacy"',
    ]);
    const legacy = check(result, "outward: database legacy");
    expect(legacy.severity).toBe("fail");
    expect(legacy.objects).toContain("objects owned outside the schema: table public.stray_events");
    // The remedies hand each object back (ALTER … OWNER TO, never REVOKE), as the admin, here and there.
    const owner = (s: string) => s.startsWith("GRANT") || (s.startsWith("ALTER") && s.includes("OWNER TO"));
    expect(await apply(f.remedy, "admin", undefined, owner)).toEqual([
      'GRANT "umami_user" TO "app_admin";',
      'ALTER FUNCTION "public"."stray_count"(integer, pg_catalog.text) OWNER TO "app_admin";',
      'ALTER SEQUENCE "public"."stray_seq" OWNER TO "app_admin";',
      // A type arrives formatted by the server (format_type), and is used as given.
      'ALTER TYPE public.stray_mood OWNER TO "app_admin";',
    ]);
    expect(await apply(legacy.remedy, "admin", "legacy", (s) => s.includes("OWNER TO"))).toEqual([
      'ALTER TABLE "public"."stray_events" OWNER TO "app_admin";',
    ]);
    const after = await audit();
    expect(check(after, "outward: objects owned outside the schema").severity).toBe("pass");
    expect(check(after, "outward: database legacy").severity).toBe("warn");
    expect(failing(after)).toEqual([]);
    await stage.run(
      "admin",
      "DROP FUNCTION public.stray_count(integer, text); DROP TYPE public.stray_mood; DROP SEQUENCE public.stray_seq",
    );
  });

  it("a SECURITY DEFINER function's remedy names FUNCTION and its arguments, and works", async () => {
    await stage.run(
      "admin",
      "CREATE FUNCTION public.order_total(bigint) RETURNS bigint LANGUAGE sql SECURITY DEFINER AS 'SELECT 1::bigint'",
    );
    try {
      const f = check(await audit(), "outward: SECURITY DEFINER functions");
      expect(f.severity).toBe("fail");
      expect(await apply(f.remedy, "admin")).toEqual([
        'REVOKE EXECUTE ON FUNCTION "public"."order_total"(bigint) FROM PUBLIC;',
      ]);
      expect(check(await audit(), "outward: SECURITY DEFINER functions").severity).toBe("pass");
    } finally {
      await stage.run("admin", "DROP FUNCTION public.order_total(bigint)");
    }
  });
  it("large objects and foreign servers name each object, and their remedies work as written", async () => {
    const [{ oid }] = (
      await withClient(stage.server.admin, (c) =>
        c.query<{ oid: string }>("SELECT pg_catalog.lo_create(0)::text AS oid"),
      )
    ).rows;
    await stage.run("admin", `GRANT SELECT ON LARGE OBJECT ${oid} TO PUBLIC`);
    await stage.run(
      "superuser",
      `
      CREATE FOREIGN DATA WRAPPER audit_fdw;
      CREATE SERVER audit_server FOREIGN DATA WRAPPER audit_fdw;
      GRANT USAGE ON FOREIGN SERVER audit_server TO PUBLIC;
      CREATE USER MAPPING FOR PUBLIC SERVER audit_server`,
    );
    try {
      const result = await audit();
      const lo = check(result, "outward: large objects");
      expect(lo.severity).toBe("fail");
      expect(await apply(lo.remedy, "admin")).toEqual([`REVOKE ALL ON LARGE OBJECT ${oid} FROM PUBLIC;`]);
      const foreign = check(result, "outward: foreign servers");
      expect(foreign.objects).toEqual(["foreign server audit_server", "user mapping FOR PUBLIC SERVER audit_server"]);
      // The FOR PUBLIC mapping stays (the application's foreign tables use it): USAGE on the server is what goes.
      expect(foreign.remedy).toContain("keep the mapping FOR PUBLIC SERVER audit_server");
      expect(await apply(foreign.remedy, "superuser")).toEqual([
        'REVOKE USAGE ON FOREIGN SERVER "audit_server" FROM PUBLIC;',
      ]);
      const after = await audit();
      expect(check(after, "outward: large objects").severity).toBe("pass");
      expect(check(after, "outward: foreign servers").severity).toBe("pass");
    } finally {
      await stage.run("superuser", `SELECT pg_catalog.lo_unlink(${oid}); DROP FOREIGN DATA WRAPPER audit_fdw CASCADE`);
    }
  });
});
