/**
 * Inward: application roles reaching Umami's data by paths no grant on the schema shows —
 * a predefined role that bypasses ACLs, CREATEROLE, the database's ownership, a trigger that copies rows out,
 * an event trigger that grants each new table. Each is seen, proved real where it can be, cleared with the
 * finding's own remedy, and the audit passes again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditIsolation } from "../../../scripts/audit/audit.js";
import { withClient } from "../../../scripts/kernel/db.js";
import { check, failing, spec, startAuditStage, statements, type AuditStage, type Who } from "./helpers.js";

let stage: AuditStage;

beforeAll(async () => {
  stage = await startAuditStage("Inward-Paths-Password-0123456789ab");
});
afterAll(async () => stage?.server.stop());

const audit = () => auditIsolation({ admin: stage.server.admin, spec });

/** Runs each statement of a remedy as `who`. */
async function apply(remedy: string, who: Who, keep: (s: string) => boolean = () => true): Promise<string[]> {
  const list = statements(remedy).filter(keep);
  expect(list.length).toBeGreaterThan(0);
  for (const sql of list) await stage.run(who, sql);
  return list;
}

describe("inward paths", () => {
  it("an application role in pg_read_all_data fails; the remedy's REVOKE clears it", async () => {
    await stage.run("admin", "GRANT pg_read_all_data TO app_user");
    // Real: app_user reads Umami's table without any grant on it.
    await withClient(stage.as("app"), (c) => c.query("SELECT * FROM umami.website"));
    const f = check(await audit(), "inward: predefined roles that bypass privileges");
    expect(f).toMatchObject({ severity: "fail", objects: ["pg_read_all_data → app_user"] });
    expect(await apply(f.remedy, "admin")).toEqual(['REVOKE "pg_read_all_data" FROM "app_user";']);
    expect(check(await audit(), "inward: predefined roles that bypass privileges").severity).toBe("pass");
  });

  it("a group holding pg_write_all_data names the login roles behind it", async () => {
    await stage.run(
      "admin",
      "CREATE ROLE app_writers NOLOGIN; GRANT pg_write_all_data TO app_writers; GRANT app_writers TO app_user",
    );
    try {
      const f = check(await audit(), "inward: predefined roles that bypass privileges");
      expect(f.objects).toEqual(["pg_write_all_data → app_writers (and through it: app_user)"]);
      await apply(f.remedy, "admin");
      expect(check(await audit(), "inward: predefined roles that bypass privileges").severity).toBe("pass");
    } finally {
      await stage.run("admin", "DROP ROLE app_writers");
    }
  });

  it("an application role with CREATEROLE fails (it can grant itself umami_user); ALTER ROLE … NOCREATEROLE clears it", async () => {
    await stage.run("admin", "ALTER ROLE app_user CREATEROLE");
    // Real, in PostgreSQL 15: app_user makes itself a member of umami_user.
    await stage.run("app", "GRANT umami_user TO app_user");
    await stage.run("app", "REVOKE umami_user FROM app_user");
    const f = check(await audit(), "inward: CREATEROLE outside the administrators");
    expect(f).toMatchObject({ severity: "fail", objects: ["app_user CREATEROLE"] });
    expect(await apply(f.remedy, "admin")).toEqual(['ALTER ROLE "app_user" NOCREATEROLE;']);
    expect(check(await audit(), "inward: CREATEROLE outside the administrators").severity).toBe("pass");
  });

  it("the database's owner is no administrator: what it holds on Umami's tables is reported", async () => {
    await stage.run("superuser", "ALTER DATABASE app OWNER TO app_user");
    await stage.run("umami", "GRANT SELECT ON umami.website TO app_user");
    try {
      const result = await audit();
      expect(
        result.findings.find((f) => f.check === "inward: privileges on the Umami schema and its objects"),
      ).toMatchObject({
        severity: "fail",
        objects: ["umami.website → app_user (SELECT)"],
      });
      const f = check(result, "inward: privileges on the Umami schema and its objects");
      expect(await apply(f.remedy, "umami")).toEqual(['REVOKE ALL ON TABLE "umami"."website" FROM "app_user";']);
      // As owner it creates in public (pg_database_owner's), which is on the administrator's path: a warning, as
      // PostgreSQL's secure schema usage pattern trusts the database owner (a granted CREATE fails: attacker-admin-path).
      const after = await audit();
      expect(failing(after)).toEqual([]);
      expect(check(after, "inward: administrators' search_path into schemas other roles can create in")).toMatchObject({
        severity: "warn",
        objects: [
          `app_admin: search_path = "$user", public (from the server's default (parameter group)) reaches schema public, where app_user (the database's owner, through pg_database_owner) can create objects`,
        ],
      });
    } finally {
      await stage.run("superuser", "ALTER DATABASE app OWNER TO app_admin");
      await stage.run("umami", "REVOKE ALL ON umami.website FROM app_user");
    }
  });

  it("a trigger on a Umami table that copies rows out fails; its DROP TRIGGER clears it", async () => {
    await stage.run(
      "admin",
      `
      CREATE TABLE public.captured (website_id uuid, name text);
      GRANT INSERT ON public.captured TO PUBLIC;
      CREATE FUNCTION public.capture() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN INSERT INTO public.captured VALUES (NEW.website_id, NEW.name); RETURN NEW; END $$`,
    );
    await stage.run(
      "superuser",
      "ALTER FUNCTION public.capture() OWNER TO app_user; CREATE TRIGGER website_capture AFTER INSERT ON umami.website FOR EACH ROW EXECUTE FUNCTION public.capture()",
    );
    try {
      // Real: every row Umami writes lands in the application's table.
      await stage.run("umami", "INSERT INTO umami.website VALUES ('00000000-0000-0000-0000-000000000001', 'copied')");
      const copied = await withClient(stage.server.admin, (c) =>
        c.query<{ name: string }>("SELECT name FROM public.captured"),
      );
      expect(copied.rows).toEqual([{ name: "copied" }]);
      const f = check(await audit(), "inward: triggers and rules on Umami tables");
      expect(f).toMatchObject({
        severity: "fail",
        objects: ["trigger website_capture ON umami.website runs public.capture() (owner app_user)"],
      });
      expect(await apply(f.remedy, "umami")).toEqual(['DROP TRIGGER "website_capture" ON "umami"."website";']);
      expect(check(await audit(), "inward: triggers and rules on Umami tables").severity).toBe("pass");
    } finally {
      await stage.run(
        "superuser",
        "DROP TRIGGER IF EXISTS website_capture ON umami.website; DELETE FROM umami.website",
      );
      await stage.run("admin", "DROP TABLE public.captured; DROP FUNCTION public.capture()");
    }
  });

  it("an event trigger that grants each new table to an application role fails; DROP EVENT TRIGGER clears it", async () => {
    await stage.run(
      "superuser",
      `
      CREATE FUNCTION public.grant_new_tables() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
      DECLARE o record;
      BEGIN
        FOR o IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' LOOP
          EXECUTE format('GRANT USAGE ON SCHEMA %I TO app_user', o.schema_name);
          EXECUTE format('GRANT SELECT ON %s TO app_user', o.object_identity);
        END LOOP;
      END $$;
      CREATE EVENT TRIGGER grant_new_tables ON ddl_command_end EXECUTE FUNCTION public.grant_new_tables()`,
    );
    try {
      const f = check(await audit(), "inward: event triggers");
      expect(f).toMatchObject({
        severity: "fail",
        objects: [
          "event trigger grant_new_tables ON ddl_command_end runs public.grant_new_tables() (owner postgres, SECURITY DEFINER) — search_path not pinned",
        ],
      });
      // Real: a table Umami's migration creates is readable by app_user at once.
      await stage.run("umami", "CREATE TABLE umami.report (id integer)");
      await withClient(stage.as("app"), (c) => c.query("SELECT * FROM umami.report"));
      expect(await apply(f.remedy, "superuser", (s) => s.startsWith("DROP"))).toEqual([
        'DROP EVENT TRIGGER "grant_new_tables";',
      ]);
      await stage.run("umami", "DROP TABLE umami.report");
      await stage.run("admin", "REVOKE USAGE ON SCHEMA umami FROM app_user");
      expect(check(await audit(), "inward: event triggers").severity).toBe("pass");
    } finally {
      await stage.run(
        "superuser",
        "DROP EVENT TRIGGER IF EXISTS grant_new_tables; DROP FUNCTION public.grant_new_tables()",
      );
      await stage.run("umami", "DROP TABLE IF EXISTS umami.report");
      await stage.run("admin", "REVOKE USAGE ON SCHEMA umami FROM app_user");
    }
  });
});
