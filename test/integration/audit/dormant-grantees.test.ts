/**
 * Class `inward-grants`, no false alarm: pgaudit's object auditing (RDS: `pgaudit.role = 'rds_pgaudit'`, then
 * `GRANT SELECT ON … TO rds_pgaudit` marks a table's reads for the audit log) on Umami's table. The role cannot
 * log in and nobody outside the administrators is its member, so nobody can act as it: verify warns, naming
 * it, and exits 0. Granted to app_user it is a path — without USAGE on the schema, app_user still reads the
 * column's values in pg_stats, which checks SELECT on the table only (class latent-grants) — and verify fails,
 * naming app_user; the remedy's REVOKE of the membership closes it and keeps the audit's grant.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyRemedy, rows, startAuditStage, verifyCli, type AuditStage } from "./helpers.js";

const CHECK = "inward: privileges on the Umami schema and its objects";
let stage: AuditStage;

beforeAll(async () => {
  stage = await startAuditStage("Dormant-Grantees-Password-0123456789");
  await stage.run(
    "umami",
    `
    INSERT INTO umami.website VALUES ('5f0c7d1e-3a4b-4c8d-9e2f-1a2b3c4d5e6f', 'shop.example.com'),
      ('6a1d8e2f-4b5c-4d9e-8f3a-2b3c4d5e6f70', 'blog.example.com'), ('7b2e9f3a-5c6d-4e0f-9a4b-3c4d5e6f7081', 'docs.example.com');
    ANALYZE umami.website`,
  );
  // As a DBA marks a table for pgaudit's object audit on Aurora (the administrator takes umami_user's role to grant on its table, then gives it back).
  await stage.run(
    "admin",
    `
    CREATE ROLE rds_pgaudit NOLOGIN;
    GRANT umami_user TO app_admin;
    GRANT SELECT ON umami.website TO rds_pgaudit;
    REVOKE umami_user FROM app_admin`,
  );
});
afterAll(async () => stage?.server.stop());

describe("a privilege held by a group nobody can act as", () => {
  it("pgaudit's object-audit role holding SELECT on a Umami table warns, named, and verify exits 0", async () => {
    await expect(rows(stage, "app", "SELECT name FROM umami.website")).rejects.toThrow(/permission denied/);
    const out = await verifyCli(stage);
    expect(out.findings.filter((f) => f.severity === "fail")).toEqual([]);
    expect(out.code).toBe(0);
    expect(out.finding(CHECK)).toMatchObject({
      severity: "warn",
      objects: [
        "umami.website → rds_pgaudit (SELECT) — NOLOGIN, no member outside the administrators, owns nothing here: no path until one is granted it",
      ],
    });
  });

  it("granted to app_user it fails: app_user reads Umami's values in pg_stats as the group; the remedy's REVOKE of the membership closes it", async () => {
    const stats =
      "SELECT histogram_bounds::text AS seen FROM pg_catalog.pg_stats WHERE schemaname = 'umami' AND tablename = 'website' AND attname = 'name'";
    expect(await rows(stage, "app", stats)).toEqual([]);
    await stage.run("admin", "GRANT rds_pgaudit TO app_user");
    expect(await rows(stage, "app", stats)).toEqual([{ seen: "{blog.example.com,docs.example.com,shop.example.com}" }]);
    const out = await verifyCli(stage);
    expect(out.code).toBe(1);
    const found = out.finding(CHECK)!;
    expect(found).toMatchObject({
      severity: "fail",
      objects: ["umami.website → rds_pgaudit (SELECT) (and through it: app_user)"],
    });
    const ran = await applyRemedy(stage, found.remedy, "admin", { keep: (s) => s.startsWith(`REVOKE "rds_pgaudit"`) });
    expect(ran).toEqual(['REVOKE "rds_pgaudit" FROM "app_user";']);
    expect(await rows(stage, "app", stats)).toEqual([]);
    const after = await verifyCli(stage);
    expect(after.code).toBe(0);
    expect(after.finding(CHECK)!.severity).toBe("warn");
  });

  it("names a member whose name needs quotes as SQL does, so the remedy runs as written", async () => {
    await stage.run("admin", `CREATE ROLE "Reporting-User" LOGIN; GRANT rds_pgaudit TO "Reporting-User"`);
    try {
      const found = (await verifyCli(stage)).finding(CHECK)!;
      expect(found).toMatchObject({
        severity: "fail",
        objects: ['umami.website → rds_pgaudit (SELECT) (and through it: "Reporting-User")'],
      });
      expect(
        await applyRemedy(stage, found.remedy, "admin", { keep: (s) => s.startsWith(`REVOKE "rds_pgaudit"`) }),
      ).toEqual([`REVOKE "rds_pgaudit" FROM "Reporting-User";`]);
      expect((await verifyCli(stage)).finding(CHECK)!.severity).toBe("warn");
    } finally {
      await stage.run("admin", `DROP ROLE "Reporting-User"`);
    }
  });
});
