/**
 * Threat model class privileged-roles, for groups that cannot log in: a hardened setup's read-only group for the
 * DBAs (NOLOGIN, pg_read_all_data, granted to administrators only) is no path, so it warns and `verify` exits
 * 0 — until a role outside the administrators is its member (then app_user really reads Umami's row, `verify`
 * fails, the remedy closes it), or the group owns a SECURITY DEFINER function that others may execute (then
 * its callers act as it: walked too).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyRemedy, rows, startAuditStage, verifyCli, type AuditStage } from "./helpers.js";

let stage: AuditStage;

beforeAll(async () => {
  stage = await startAuditStage("Privileged-Groups-Password-0123456789");
  await stage.run(
    "umami",
    "INSERT INTO umami.website VALUES ('00000000-0000-0000-0000-000000000044', 'umami-secret-site')",
  );
});
afterAll(async () => stage?.server.stop());

const CHECK = "inward: predefined roles that bypass privileges";
const readUmami = () => rows(stage, "app", "SELECT name FROM umami.website");

describe("privileged-roles: a group that cannot log in", () => {
  it("a NOLOGIN read-only group granted to administrators only warns and verify exits 0; granted to app_user it fails, app_user reads Umami's row, the remedy closes it", async () => {
    await stage.run(
      "admin",
      "CREATE ROLE dba_readonly NOLOGIN; GRANT pg_read_all_data TO dba_readonly; GRANT dba_readonly TO app_admin",
    );
    try {
      await expect(readUmami()).rejects.toThrow(/permission denied/);
      const clean = await verifyCli(stage);
      expect(clean.finding(CHECK)).toMatchObject({
        severity: "warn",
        objects: [
          "pg_read_all_data → dba_readonly — NOLOGIN, no member outside the administrators, no SECURITY DEFINER function: no path until one is granted it",
        ],
      });
      expect(clean.code).toBe(0);

      // An analyst is added to the group: real, app_user now reads Umami's row.
      await stage.run("admin", "GRANT dba_readonly TO app_user");
      expect(await readUmami()).toEqual([{ name: "umami-secret-site" }]);
      const { code, finding } = await verifyCli(stage);
      expect(code).toBe(1);
      const f = finding(CHECK)!;
      expect(f).toMatchObject({
        severity: "fail",
        objects: ["pg_read_all_data → dba_readonly (and through it: app_user)"],
      });
      expect(await applyRemedy(stage, f.remedy, "admin")).toEqual(['REVOKE "pg_read_all_data" FROM "dba_readonly";']);
      await expect(readUmami()).rejects.toThrow(/permission denied/);
      const after = await verifyCli(stage);
      expect(after.finding(CHECK)!.severity).toBe("pass");
      expect(after.code).toBe(0);
    } finally {
      await stage.run("admin", "DROP ROLE dba_readonly");
    }
  });

  it("a NOLOGIN group without members that owns a SECURITY DEFINER function still fails: app_user reads Umami's row through it", async () => {
    await stage.run("admin", "CREATE ROLE reports_owner NOLOGIN; GRANT pg_read_all_data TO reports_owner");
    await stage.run(
      "superuser",
      `
      CREATE FUNCTION public.run_report(q text) RETURNS SETOF text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog
        AS $f$ BEGIN RETURN QUERY EXECUTE q; END $f$;
      ALTER FUNCTION public.run_report(text) OWNER TO reports_owner`,
    );
    try {
      // Real: the function's default EXECUTE for PUBLIC lets app_user act as reports_owner.
      expect(await rows(stage, "app", "SELECT public.run_report('SELECT name FROM umami.website') AS name")).toEqual([
        { name: "umami-secret-site" },
      ]);
      const { code, finding } = await verifyCli(stage);
      expect(code).toBe(1);
      const f = finding(CHECK)!;
      expect(f).toMatchObject({ severity: "fail", objects: ["pg_read_all_data → reports_owner"] });
      expect(await applyRemedy(stage, f.remedy, "admin")).toEqual(['REVOKE "pg_read_all_data" FROM "reports_owner";']);
      await expect(rows(stage, "app", "SELECT public.run_report('SELECT name FROM umami.website')")).rejects.toThrow(
        /permission denied/,
      );
      expect((await verifyCli(stage)).finding(CHECK)!.severity).toBe("pass");
    } finally {
      await stage.run("superuser", "DROP FUNCTION IF EXISTS public.run_report(text); DROP ROLE reports_owner");
    }
  });

  it("a login role whose name needs quotes is named as SQL does, so the remedy runs as written", async () => {
    await stage.run("admin", `CREATE ROLE "Report-Reader" LOGIN; GRANT pg_read_all_data TO "Report-Reader"`);
    try {
      const f = (await verifyCli(stage)).finding(CHECK)!;
      expect(f).toMatchObject({ severity: "fail", objects: ['pg_read_all_data → "Report-Reader"'] });
      expect(await applyRemedy(stage, f.remedy, "admin")).toEqual([`REVOKE "pg_read_all_data" FROM "Report-Reader";`]);
      expect((await verifyCli(stage)).finding(CHECK)!.severity).toBe("pass");
    } finally {
      await stage.run("admin", `DROP ROLE "Report-Reader"`);
    }
  });
});
