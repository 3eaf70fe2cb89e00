/**
 * One seeded violation per test, each detected by the right check with the right severity, on real
 * PostgreSQL 15 with an Aurora-like administrator. Every violation is undone in `finally`, and the last test
 * proves the database is clean again (so no test leans on another's leftovers).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec } from "../../../sst/database/spec.js";
import { auditIsolation, type AuditResult, type Finding } from "../../../scripts/audit/audit.js";
import { parseDatabaseUrl, toUrl, withClient, type ConnectionSettings } from "../../../scripts/kernel/db.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";

const spec = buildSpec("dev");
const PASSWORD = "Audit-Violations-Password-0123456789";
let server: TestServer;
let umami: ConnectionSettings;

beforeAll(async () => {
  server = await startTestServer();
  await withClient(server.admin, (c) => provisionStage(c, spec, { admin: TEST_ADMIN.name, password: PASSWORD }));
  umami = parseDatabaseUrl(toUrl(server.admin, { user: spec.role.name, password: PASSWORD }));
  // An Umami table, created as Umami's migrations do: by umami_user, which then owns it.
  await withClient(umami, (c) =>
    c.query("CREATE TABLE umami.website (website_id uuid PRIMARY KEY, name text NOT NULL)"),
  );
});
afterAll(async () => server?.stop());

type Who = "admin" | "superuser" | "umami";

function settingsFor(who: Who): ConnectionSettings {
  if (who === "admin") return server.admin;
  if (who === "umami") return umami;
  // The bootstrap superuser, on the application database.
  return { ...server.superuser, database: server.admin.database };
}

/** Applies `apply` as `who`, audits, and always runs `undo`. */
async function withViolation(
  who: Who,
  apply: string,
  undo: string,
  options: { probes?: boolean } = {},
): Promise<AuditResult> {
  await withClient(settingsFor(who), (c) => c.query(apply));
  try {
    return await auditIsolation({ admin: server.admin, spec, umami: options.probes ? umami : undefined });
  } finally {
    await withClient(settingsFor(who), (c) => c.query(undo));
  }
}

function check(result: AuditResult, name: string): Finding {
  const found = result.findings.find((f) => f.check === name);
  if (!found) throw new Error(`no finding for check ${name}`);
  return found;
}

/** Objects of a finding that may expose data: Aurora's pg_stat_statements views are listed too, as harmless. */
function exposed(f: Finding): string[] {
  return f.objects.filter((o) => !o.includes(" — no data exposed: "));
}

function failing(result: AuditResult): string[] {
  return result.findings.filter((f) => f.severity === "fail").map((f) => f.check);
}

describe("seeded violations", () => {
  it("the old CONNECTION LIMIT 10 (one pool) fails against the spec's derived limit; a removed guard fails with its remedy", async () => {
    const clean = await auditIsolation({ admin: server.admin, spec });
    expect(check(clean, "umami role: connection limit")).toMatchObject({
      severity: "pass",
      remedy: expect.stringContaining("= 22"),
    });
    expect(check(clean, "outward: role settings").severity).toBe("pass");
    const limited = await withViolation(
      "admin",
      "ALTER ROLE umami_user CONNECTION LIMIT 10",
      "ALTER ROLE umami_user CONNECTION LIMIT 22",
    );
    expect(check(limited, "umami role: connection limit")).toMatchObject({
      severity: "fail",
      objects: ["umami_user CONNECTION LIMIT 10, the spec says 22"],
      remedy: expect.stringContaining("too many connections for role"),
    });
    const unguarded = await withViolation(
      "admin",
      "ALTER ROLE umami_user RESET statement_timeout",
      "ALTER ROLE umami_user SET statement_timeout TO 60000",
    );
    expect(check(unguarded, "outward: role settings")).toMatchObject({
      severity: "fail",
      objects: ["statement_timeout: missing (spec: 60000)"],
      remedy: expect.stringContaining('ALTER ROLE "umami_user" SET "statement_timeout" TO 60000;'),
    });
  });

  it("PUBLIC SELECT on an application table fails the outward table check", async () => {
    const result = await withViolation(
      "admin",
      "GRANT SELECT ON public.customers TO PUBLIC",
      "REVOKE SELECT ON public.customers FROM PUBLIC",
    );
    const f = check(result, "outward: tables and views");
    expect(f.severity).toBe("fail");
    expect(exposed(f)).toEqual(["public.customers (SELECT via PUBLIC)"]);
    expect(f.remedy).toContain('REVOKE ALL ON TABLE "public"."customers" FROM PUBLIC;');
    expect(result.ok).toBe(false);
  });

  it("a column grant to PUBLIC counts too", async () => {
    const result = await withViolation(
      "admin",
      "GRANT SELECT (email) ON public.customers TO PUBLIC",
      "REVOKE SELECT (email) ON public.customers FROM PUBLIC",
    );
    expect(exposed(check(result, "outward: tables and views"))).toEqual([
      "public.customers (SELECT (columns) via PUBLIC)",
    ]);
  });

  it("a direct grant to umami_user on an application table fails", async () => {
    const result = await withViolation(
      "admin",
      "GRANT SELECT, UPDATE ON public.orders TO umami_user",
      "REVOKE SELECT, UPDATE ON public.orders FROM umami_user",
    );
    const f = check(result, "outward: tables and views");
    expect(f.severity).toBe("fail");
    expect(exposed(f)).toEqual(["public.orders (SELECT, UPDATE)"]);
  });

  it("a grant behind a schema without USAGE that no path reaches is a latent warning; SELECT fails (pg_stats reads it)", async () => {
    const result = await withViolation(
      "admin",
      "GRANT INSERT ON billing.invoices TO umami_user",
      "REVOKE INSERT ON billing.invoices FROM umami_user",
    );
    const f = check(result, "outward: grants behind schemas without USAGE");
    expect(f.severity).toBe("warn");
    expect(f.objects).toEqual([
      "billing.invoices (INSERT) — no USAGE on its schema, latent: every path to it looks its name up",
    ]);
    expect(exposed(check(result, "outward: tables and views"))).toEqual([]);
    expect(failing(result)).toEqual([]);
    const select = await withViolation(
      "admin",
      "GRANT SELECT ON billing.invoices TO umami_user",
      "REVOKE SELECT ON billing.invoices FROM umami_user",
    );
    expect(check(select, "outward: grants behind schemas without USAGE").severity).toBe("fail");
  });

  it("CREATE on public for PUBLIC fails the schema check and the live probe", async () => {
    const result = await withViolation(
      "admin",
      "GRANT CREATE ON SCHEMA public TO PUBLIC",
      "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
      { probes: true },
    );
    const f = check(result, "outward: CREATE on other schemas");
    expect(f.severity).toBe("fail");
    expect(f.objects).toEqual(["public (CREATE via PUBLIC)"]);
    expect(result.probes.find((p) => p.name === "create a table in public")).toMatchObject({
      outcome: "allowed",
      ok: false,
    });
    expect(check(result, "live probes").severity).toBe("fail");
  });

  it("umami_user made a member of an application role fails the membership check", async () => {
    const result = await withViolation("admin", "GRANT app_user TO umami_user", "REVOKE app_user FROM umami_user");
    const f = check(result, "outward: role memberships");
    expect(f.severity).toBe("fail");
    expect(f.objects).toEqual(["app_user (direct)"]);
    // …and through it, the application's tables.
    expect(check(result, "outward: tables and views").objects).toContain(
      "public.orders (SELECT, INSERT, UPDATE, DELETE)",
    );
  });

  it("a predefined role such as pg_read_all_data is reported too", async () => {
    const result = await withViolation(
      "superuser",
      "GRANT pg_read_all_data TO umami_user",
      "REVOKE pg_read_all_data FROM umami_user",
    );
    expect(check(result, "outward: role memberships").objects).toEqual(["pg_read_all_data (direct)"]);
    expect(check(result, "outward: tables and views").severity).toBe("fail");
  });

  it("an application table owned by umami_user fails (the owner holds every privilege)", async () => {
    const result = await withViolation(
      "superuser",
      "CREATE TABLE public.stray (id integer); ALTER TABLE public.stray OWNER TO umami_user",
      "DROP TABLE public.stray",
    );
    expect(exposed(check(result, "outward: tables and views"))).toEqual([
      "public.stray (SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER)",
    ]);
    expect(check(result, "outward: objects owned outside the schema")).toMatchObject({
      severity: "fail",
      objects: ["table public.stray"],
    });
  });

  it("a superuser umami_user reaches everything", async () => {
    const result = await withViolation(
      "superuser",
      "ALTER ROLE umami_user SUPERUSER",
      "ALTER ROLE umami_user NOSUPERUSER",
    );
    expect(check(result, "outward: role attributes").objects).toEqual(["umami_user SUPERUSER"]);
    expect(check(result, "outward: tables and views").objects).toContain(
      "public.customers (SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER)",
    );
  });

  it("CREATEDB and CREATEROLE on umami_user fail the attribute check", async () => {
    const result = await withViolation(
      "superuser",
      "ALTER ROLE umami_user CREATEDB CREATEROLE",
      "ALTER ROLE umami_user NOCREATEDB NOCREATEROLE",
    );
    const f = check(result, "outward: role attributes");
    expect(f.severity).toBe("fail");
    expect(f.objects).toEqual(["umami_user CREATEDB", "umami_user CREATEROLE"]);
  });

  it("an application role granted on an Umami table fails the inward check", async () => {
    const result = await withViolation(
      "umami",
      "GRANT SELECT ON umami.website TO app_user",
      "REVOKE SELECT ON umami.website FROM app_user",
    );
    const f = check(result, "inward: privileges on the Umami schema and its objects");
    expect(f.severity).toBe("fail");
    expect(f.objects).toEqual(["umami.website → app_user (SELECT)"]);
  });

  it("PUBLIC granted on an Umami table fails the inward check", async () => {
    const result = await withViolation(
      "umami",
      "GRANT SELECT, INSERT ON umami.website TO PUBLIC",
      "REVOKE ALL ON umami.website FROM PUBLIC",
    );
    const f = check(result, "inward: privileges on the Umami schema and its objects");
    expect(f.severity).toBe("fail");
    expect(f.objects).toEqual(["umami.website → PUBLIC (INSERT, SELECT)"]);
  });

  it("an application role made a member of umami_user fails the inward membership check", async () => {
    const result = await withViolation("admin", "GRANT umami_user TO app_user", "REVOKE umami_user FROM app_user");
    const f = check(result, "inward: members of the Umami role");
    expect(f.severity).toBe("fail");
    expect(f.objects).toEqual(["member of umami_user → app_user (MEMBER)"]);
  });

  it("default privileges in an application schema granting to PUBLIC fail", async () => {
    const result = await withViolation(
      "admin",
      "ALTER DEFAULT PRIVILEGES FOR ROLE app_admin IN SCHEMA billing GRANT SELECT ON TABLES TO PUBLIC",
      "ALTER DEFAULT PRIVILEGES FOR ROLE app_admin IN SCHEMA billing REVOKE SELECT ON TABLES FROM PUBLIC",
    );
    const f = check(result, "outward: default privileges in application schemas");
    expect(f.severity).toBe("fail");
    expect(f.objects).toEqual(["ON TABLES IN SCHEMA billing FOR ROLE app_admin TO PUBLIC (SELECT)"]);
  });

  it("an executable SECURITY DEFINER function fails", async () => {
    const result = await withViolation(
      "admin",
      "CREATE FUNCTION public.customer_count() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS 'SELECT count(*) FROM public.customers'",
      "DROP FUNCTION public.customer_count()",
    );
    const f = check(result, "outward: SECURITY DEFINER functions");
    expect(f.severity).toBe("fail");
    expect(f.objects).toEqual(["public.customer_count() (EXECUTE via PUBLIC)"]);
  });

  it("umami_user able to create in a second database fails; a clean second database it can connect to only warns", async () => {
    const second = await server.createDatabase("reporting");
    await withClient(second, (c) => c.query("GRANT CREATE ON DATABASE reporting TO umami_user"));
    let result: AuditResult;
    try {
      result = await auditIsolation({ admin: server.admin, spec });
    } finally {
      await withClient(second, (c) => c.query("REVOKE CREATE ON DATABASE reporting FROM umami_user"));
    }
    const granted = check(result, "outward: other databases (granted access)");
    expect(granted.severity).toBe("fail");
    expect(granted.objects).toEqual(["reporting (CREATE)"]);
    expect(granted.remedy).toContain('REVOKE CREATE ON DATABASE "reporting" FROM "umami_user";');
    const reporting = check(result, "outward: database reporting");
    expect(reporting.severity).toBe("warn");
    // Audited inside: only Aurora's pg_stat_statements views, which expose no data.
    expect(exposed(reporting)).toEqual(["database reporting (CONNECT via PUBLIC, TEMPORARY via PUBLIC, CREATE)"]);
  });

  it("a revoked privilege is reported missing, an added one extra — separately", async () => {
    const missing = await withViolation(
      "umami",
      "REVOKE TRUNCATE ON umami.website FROM umami_user",
      "GRANT TRUNCATE ON umami.website TO umami_user",
    );
    expect(check(missing, "intended grants: missing")).toMatchObject({
      severity: "fail",
      objects: ["table umami.website: TRUNCATE"],
    });
    expect(check(missing, "intended grants: extra").severity).not.toBe("fail");
    const extra = await withViolation(
      "admin",
      "GRANT CREATE ON DATABASE app TO umami_user",
      "REVOKE CREATE ON DATABASE app FROM umami_user",
    );
    expect(check(extra, "intended grants: extra")).toMatchObject({ severity: "fail" });
    expect(check(extra, "intended grants: extra").objects).toContain("database app: CREATE");
    expect(check(extra, "intended grants: missing").severity).toBe("pass");
  });

  it("is clean again after every violation was undone", async () => {
    const result = await auditIsolation({ admin: server.admin, spec, umami });
    expect(failing(result)).toEqual([]);
    expect(result.ok).toBe(true);
  });
});
