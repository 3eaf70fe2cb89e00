/**
 * The monitoring agents' documented setups, walked as the agent. Datadog's `datadog.explain_statement` (its
 * database-monitoring docs: SECURITY DEFINER, dynamic SQL, EXECUTE via PUBLIC, USAGE on its schema to the agent)
 * only EXPLAINs — yet the planner folds an IMMUTABLE function at plan time, so a function the agent creates in
 * its temporary schema (TEMPORARY is PostgreSQL's default grant) runs with the administrator's rights, and the
 * VOLATILE function it calls may write: the agent grants itself pg_read_all_data and reads Umami's rows. The
 * `definer-escalation` failure is a real path, not a false alarm.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../../scripts/kernel/db.js";
import { applyRemedy, startAuditStage, verifyCli, type AuditStage } from "./helpers.js";

const AGENT = { user: "datadog", password: "Datadog-Agent-Password-0123456789" };
const CHECK = "inward: SECURITY DEFINER functions of the administrators";
let stage: AuditStage;

beforeAll(async () => {
  stage = await startAuditStage("Monitoring-Agents-Password-0123456789");
  // As Datadog's Postgres setup page has the administrator run it, in each database.
  await stage.run(
    "admin",
    `
    CREATE USER datadog WITH PASSWORD '${AGENT.password}';
    GRANT pg_monitor TO datadog;
    CREATE SCHEMA datadog;
    GRANT USAGE ON SCHEMA datadog TO datadog;
    GRANT USAGE ON SCHEMA public TO datadog;
    CREATE OR REPLACE FUNCTION datadog.explain_statement(l_query TEXT, OUT explain JSON) RETURNS SETOF JSON AS $$
    DECLARE
      curs REFCURSOR;
      plan JSON;
    BEGIN
      OPEN curs FOR EXECUTE pg_catalog.concat('EXPLAIN (FORMAT JSON) ', l_query);
      FETCH curs INTO plan;
      CLOSE curs;
      RETURN QUERY SELECT plan;
    END;
    $$ LANGUAGE 'plpgsql' RETURNS NULL ON NULL INPUT SECURITY DEFINER`,
  );
});
afterAll(async () => stage?.server.stop());

describe("monitoring agents' documented helper functions", () => {
  it("Datadog's explain_statement lets the agent grant itself pg_read_all_data (its IMMUTABLE function runs as the administrator at plan time); verify fails naming it; the remedy's REVOKE closes it", async () => {
    const agent = { ...stage.server.admin, ...AGENT };
    const walk = () =>
      withClient(agent, async (c) => {
        // An IMMUTABLE function runs read-only, but the VOLATILE one it calls does not.
        await c.query(`
          CREATE FUNCTION pg_temp.grant_me() RETURNS int VOLATILE LANGUAGE plpgsql AS $$
          BEGIN EXECUTE 'GRANT pg_read_all_data TO datadog'; RETURN 1; END $$;
          CREATE FUNCTION pg_temp.leak() RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT pg_temp.grant_me()'`);
        return c.query("SELECT * FROM datadog.explain_statement('SELECT pg_temp.leak()')");
      });
    await stage.run(
      "umami",
      "INSERT INTO umami.website VALUES ('0b0e6c54-5d1f-4b8e-9a53-3b5b2f1b7a10', 'shop.example.com')",
    );
    // The agent holds nothing on Umami's schema; through the helper it reads Umami's rows as the administrator.
    await expect(withClient(agent, (c) => c.query("SELECT name FROM umami.website"))).rejects.toThrow(
      /permission denied/,
    );
    await walk();
    expect(await withClient(agent, async (c) => (await c.query("SELECT name FROM umami.website")).rows)).toEqual([
      { name: "shop.example.com" },
    ]);
    await stage.run("admin", "REVOKE pg_read_all_data FROM datadog");

    const before = await verifyCli(stage);
    expect(before.code).toBe(1);
    const found = before.finding(CHECK)!;
    expect(found.severity).toBe("fail");
    expect(found.objects).toEqual([
      "function datadog.explain_statement(l_query text, OUT explain json) runs as app_admin for datadog — fails: search_path not pinned, dynamic SQL",
    ]);

    const ran = await applyRemedy(stage, found.remedy, "admin");
    expect(ran).toEqual([
      'REVOKE EXECUTE ON FUNCTION "datadog"."explain_statement"(l_query text, OUT explain json) FROM PUBLIC;',
    ]);
    await expect(walk()).rejects.toThrow(/permission denied for function explain_statement/);
    await expect(withClient(agent, (c) => c.query("SELECT name FROM umami.website"))).rejects.toThrow(
      /permission denied/,
    );
    const after = await verifyCli(stage);
    expect(after.code).toBe(0);
    expect(after.finding(CHECK)!.severity).toBe("pass");
  });
});
