/**
 * Aurora's defaults are no alarm. The test server is shaped like Aurora (admin in an
 * rds_superuser-like group, pg_stat_statements created in the database); on it the audit passes, and each
 * false alarm of the issue — the extension's PUBLIC views, a role's own implicit entry in a default-ACL row,
 * a security_invoker view over a table umami_user cannot read — is at most a warning that says why, while
 * the same shapes that do expose data still fail.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditIsolation } from "../../../scripts/audit/audit.js";
import { withClient } from "../../../scripts/kernel/db.js";
import { check, failing, spec, startAuditStage, type AuditStage } from "./helpers.js";

const run = promisify(execFile);
let stage: AuditStage;

beforeAll(async () => {
  stage = await startAuditStage("Aurora-Defaults-Password-0123456789");
});
afterAll(async () => stage?.server.stop());

const audit = () => auditIsolation({ admin: stage.server.admin, spec });

describe("Aurora's defaults", () => {
  it("the test server has them: pg_stat_statements in app, an admin in rds_superuser that is no superuser", async () => {
    const rows = await withClient(stage.server.admin, (c) =>
      c.query<{ ext: boolean; member: boolean; superuser: boolean; stats: boolean }>(`
        SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_stat_statements') AS ext,
               pg_catalog.pg_has_role(current_user, 'rds_superuser', 'MEMBER') AS member,
               (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS superuser,
               pg_catalog.pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS stats`),
    );
    expect(rows.rows[0]).toEqual({ ext: true, member: true, superuser: false, stats: true });
  });

  it("pg_stat_statements' PUBLIC views are a warning that says why, not a failure", async () => {
    const result = await audit();
    expect(failing(result)).toEqual([]);
    const tables = check(result, "outward: tables and views");
    expect(tables.severity).toBe("warn");
    expect(tables.objects).toHaveLength(2);
    for (const object of tables.objects) {
      expect(object).toMatch(
        /^public\.pg_stat_statements(_info)? \(SELECT via PUBLIC\) — no data exposed: extension pg_stat_statements's own grant/,
      );
    }
    // And what it says is true: umami_user sees no other role's statement text.
    await withClient(stage.server.admin, (c) => c.query("SELECT count(*) FROM public.customers"));
    const texts = await withClient(stage.umami, (c) =>
      c.query<{ query: string }>(
        "SELECT s.query FROM public.pg_stat_statements s JOIN pg_catalog.pg_roles r ON r.oid = s.userid WHERE r.rolname = 'app_admin'",
      ),
    );
    expect(texts.rows.length).toBeGreaterThan(0);
    expect(new Set(texts.rows.map((r) => r.query))).toEqual(new Set(["<insufficient privilege>"]));
  });

  it("an extension object granted beyond its install script's ACL is a failure again", async () => {
    await stage.run("superuser", "GRANT SELECT ON public.pg_stat_statements TO umami_user");
    try {
      const tables = check(await audit(), "outward: tables and views");
      expect(tables.severity).toBe("fail");
      expect(tables.objects).toContain("public.pg_stat_statements (SELECT via PUBLIC)");
    } finally {
      await stage.run("superuser", "REVOKE SELECT ON public.pg_stat_statements FROM umami_user");
    }
  });

  it("`verify` exits 0 on such a database", async () => {
    const out: { code?: number; stdout: string; stderr: string } = await run(process.execPath, [
      "bin/umami-db.js",
      "verify",
      "--admin-url",
      stage.server.adminUrl(),
    ]).catch((e: unknown) => e as { code?: number; stdout: string; stderr: string });
    expect(out.code ?? 0).toBe(0);
    expect(out.stdout).toMatch(/WARN\s+outward: tables and views/);
  });

  it("umami_user's own implicit entry in a default-ACL row is no leak", async () => {
    // A common hardening step: no EXECUTE for PUBLIC on functions umami_user creates. The row then holds
    // umami_user's own implicit EXECUTE, which the audit read as a grant to umami_user.
    await stage.run("umami", "ALTER DEFAULT PRIVILEGES FOR ROLE umami_user REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC");
    try {
      const result = await audit();
      expect(failing(result)).toEqual([]);
      expect(check(result, "outward: default privileges in application schemas").severity).toBe("pass");
      expect(check(result, "inward: default privileges in the Umami schema").severity).toBe("pass");
    } finally {
      await stage.run("umami", "ALTER DEFAULT PRIVILEGES FOR ROLE umami_user GRANT EXECUTE ON FUNCTIONS TO PUBLIC");
    }
  });

  it("a default-ACL row of umami_user that grants to another role is an inward failure", async () => {
    await stage.run("umami", "ALTER DEFAULT PRIVILEGES FOR ROLE umami_user GRANT SELECT ON TABLES TO app_user");
    try {
      const f = check(await audit(), "inward: default privileges in the Umami schema");
      expect(f).toMatchObject({ severity: "fail", objects: ["TABLES FOR ROLE umami_user → app_user (SELECT)"] });
      expect(f.remedy).toContain(
        'ALTER DEFAULT PRIVILEGES FOR ROLE "umami_user" REVOKE ALL ON TABLES FROM "app_user";',
      );
      await stage.run("umami", "ALTER DEFAULT PRIVILEGES FOR ROLE umami_user REVOKE ALL ON TABLES FROM app_user");
      expect(check(await audit(), "inward: default privileges in the Umami schema").severity).toBe("pass");
    } finally {
      await stage.run("umami", "ALTER DEFAULT PRIVILEGES FOR ROLE umami_user REVOKE ALL ON TABLES FROM app_user");
    }
  });

  it("a security_invoker view over a table umami_user cannot read warns; a definer view over it fails", async () => {
    await stage.run(
      "admin",
      `
      CREATE VIEW public.customer_emails WITH (security_invoker) AS SELECT email FROM public.customers;
      CREATE VIEW public.customer_names AS SELECT name FROM public.customers;
      GRANT SELECT ON public.customer_emails, public.customer_names TO PUBLIC`,
    );
    try {
      const tables = check(await audit(), "outward: tables and views");
      expect(tables.severity).toBe("fail");
      expect(tables.objects).toContain(
        "public.customer_emails (SELECT via PUBLIC) — no data exposed: security_invoker view over a relation the role holds nothing on: every query on it is denied",
      );
      expect(tables.objects).toContain("public.customer_names (SELECT via PUBLIC)");
      // What the catalogs say is what happens.
      await expect(withClient(stage.umami, (c) => c.query("SELECT * FROM public.customer_emails"))).rejects.toThrow(
        /permission denied for table customers/,
      );
      const names = await withClient(stage.umami, (c) => c.query("SELECT * FROM public.customer_names"));
      expect(names.rowCount).toBeGreaterThan(0);
      await stage.run("admin", "DROP VIEW public.customer_names");
      const after = await audit();
      expect(check(after, "outward: tables and views").severity).toBe("warn");
      expect(failing(after)).toEqual([]);
    } finally {
      await stage.run("admin", "DROP VIEW IF EXISTS public.customer_emails, public.customer_names");
    }
  });
});
