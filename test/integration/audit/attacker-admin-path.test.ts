/**
 * Threat model class search-path-shadowing, by the application's roles: an administrator's effective
 * search_path (PostgreSQL's default `"$user", public`) reaches a schema where a login role outside the
 * administrators can create — the application's migrations role with CREATE on public, a database owned by the
 * application (public belongs to pg_database_owner). Its overload of what the administrator calls runs with
 * the administrator's rights. Walked first (app_user becomes a member of umami_user and reads Umami's row), then
 * `verify` fails naming the administrator, its path and the roles, the remedy is run as written, the same
 * query no longer escalates, and the audit passes again. A path entry is a name, not an object: a "$user" no
 * schema answers to is taken by whoever may create schemas first.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyRemedy, rows, startAuditStage, verifyCli, type AuditStage } from "./helpers.js";

let stage: AuditStage;

beforeAll(async () => {
  stage = await startAuditStage("Admin-Path-Password-0123456789abcdef");
  await stage.run(
    "umami",
    "INSERT INTO umami.website VALUES ('00000000-0000-0000-0000-000000000043', 'umami-secret-site')",
  );
});
afterAll(async () => stage?.server.stop());

const CHECK = "inward: administrators' search_path into schemas other roles can create in";
/** The DBA's everyday look at a table's size: the literal is unknown-typed, so a text overload wins over regclass. */
const SIZE_QUERY = "SELECT pg_size_pretty(pg_total_relation_size('umami.website')) AS size";

describe("search-path-shadowing: an application role plants in the administrator's path", () => {
  it("app_user's overload in public runs with the administrator's rights and grants it umami_user; the administrator's own path closes it", async () => {
    // The application's migrations create in public: the DBA granted it (as a database owned by the application would).
    await stage.run("admin", "GRANT CREATE ON SCHEMA public TO app_user");
    await stage.run(
      "app",
      `
      CREATE FUNCTION public.pg_total_relation_size(text) RETURNS bigint LANGUAGE plpgsql AS $f$
      BEGIN
        IF session_user <> 'app_user' THEN
          BEGIN EXECUTE 'GRANT umami_user TO app_user'; EXCEPTION WHEN others THEN NULL; END;
        END IF;
        RETURN pg_catalog.pg_total_relation_size($1::regclass);
      END $f$`,
    );
    try {
      // Real: app_user cannot read Umami's data; the administrator's size query makes it a member of umami_user.
      await expect(rows(stage, "app", "SELECT name FROM umami.website")).rejects.toThrow(/permission denied/);
      await rows(stage, "admin", SIZE_QUERY);
      expect(await rows(stage, "app", "SELECT name FROM umami.website")).toEqual([{ name: "umami-secret-site" }]);
      await stage.run("admin", "REVOKE umami_user FROM app_user");

      const { code, finding, findings } = await verifyCli(stage);
      expect(code).toBe(1);
      expect(findings.filter((f) => f.severity === "fail").map((f) => f.check)).toEqual([CHECK]);
      const f = finding(CHECK)!;
      expect(f).toMatchObject({
        class: "search-path-shadowing",
        objects: [
          `app_admin: search_path = "$user", public (from the server's default (parameter group)) reaches schema public, where app_user (granted CREATE) can create objects`,
        ],
      });
      expect(await applyRemedy(stage, f.remedy, "admin")).toEqual([
        `ALTER ROLE "app_admin" SET "search_path" TO "$user";`,
      ]);

      // A new session of the administrator: the same query now calls pg_catalog's function.
      await rows(stage, "admin", SIZE_QUERY);
      await expect(rows(stage, "app", "SELECT name FROM umami.website")).rejects.toThrow(/permission denied/);
      const after = await verifyCli(stage);
      expect(after.finding(CHECK)!.severity).toBe("pass");
      expect(after.code).toBe(0);
    } finally {
      await stage.run("admin", "REVOKE umami_user FROM app_user; ALTER ROLE app_admin RESET search_path");
      await stage.run("app", "DROP FUNCTION IF EXISTS public.pg_total_relation_size(text)");
      await stage.run("admin", "REVOKE CREATE ON SCHEMA public FROM app_user");
    }
  });

  it("CREATE for app_user on a schema no administrator's path reaches is no finding", async () => {
    await stage.run("admin", "CREATE SCHEMA app_jobs; GRANT USAGE, CREATE ON SCHEMA app_jobs TO app_user");
    try {
      const { code, finding } = await verifyCli(stage);
      expect(finding(CHECK)!.severity).toBe("pass");
      expect(code).toBe(0);
    } finally {
      await stage.run("admin", "DROP SCHEMA app_jobs");
    }
  });

  it(`an administrator's "$user" names a schema nobody created; app_user, granted CREATE on the database, takes the name and its overload runs with the administrator's rights; the administrator's own path closes it`, async () => {
    const UNCLAIMED = "inward: search_path entries no schema answers to yet";
    // The application's login may create schemas (its migrations make their own): the DBA granted it.
    await stage.run("admin", "GRANT CREATE ON DATABASE app TO app_user");
    try {
      const before = await verifyCli(stage);
      expect(before.code).toBe(1);
      expect(before.finding(UNCLAIMED)).toMatchObject({
        class: "search-path-shadowing",
        severity: "fail",
        objects: [
          `app_admin: search_path = "$user", public (from the server's default (parameter group)) names schema app_admin through "$user", which does not exist: app_user may create it (CREATE on database app)`,
        ],
      });
      // Real: app_user takes the name, lets everyone use it, and plants the overload there.
      await stage.run(
        "app",
        `
        CREATE SCHEMA app_admin;
        GRANT USAGE ON SCHEMA app_admin TO PUBLIC;
        CREATE FUNCTION app_admin.pg_total_relation_size(text) RETURNS bigint LANGUAGE plpgsql AS $f$
        BEGIN
          IF session_user <> 'app_user' THEN
            BEGIN EXECUTE 'GRANT umami_user TO app_user'; EXCEPTION WHEN others THEN NULL; END;
          END IF;
          RETURN pg_catalog.pg_total_relation_size($1::regclass);
        END $f$`,
      );
      await expect(rows(stage, "app", "SELECT name FROM umami.website")).rejects.toThrow(/permission denied/);
      await rows(stage, "admin", SIZE_QUERY);
      expect(await rows(stage, "app", "SELECT name FROM umami.website")).toEqual([{ name: "umami-secret-site" }]);
      await stage.run("admin", "REVOKE umami_user FROM app_user");

      // Taken, the name is a schema app_user owns in the administrator's path: a failure, not the owner's trust.
      const taken = await verifyCli(stage);
      expect(taken.code).toBe(1);
      const f = taken.finding(CHECK)!;
      expect(f).toMatchObject({
        severity: "fail",
        objects: [
          `app_admin: search_path = "$user", public (from the server's default (parameter group)) reaches schema app_admin, where app_user (the schema's owner) can create objects`,
        ],
      });
      expect(await applyRemedy(stage, f.remedy, "admin")).toEqual([
        `ALTER ROLE "app_admin" SET "search_path" TO "public";`,
      ]);
      await rows(stage, "admin", SIZE_QUERY);
      await expect(rows(stage, "app", "SELECT name FROM umami.website")).rejects.toThrow(/permission denied/);
      const after = await verifyCli(stage);
      expect(after.finding(CHECK)!.severity).toBe("pass");
      expect(after.finding(UNCLAIMED)!.severity).toBe("pass");
      expect(after.code).toBe(0);
    } finally {
      await stage.run("admin", "REVOKE umami_user FROM app_user; ALTER ROLE app_admin RESET search_path");
      await stage.run("app", "DROP SCHEMA IF EXISTS app_admin CASCADE");
      await stage.run("admin", "REVOKE CREATE ON DATABASE app FROM app_user");
    }
  });
});
