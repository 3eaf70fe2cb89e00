/**
 * Class `parameter-privileges`: PostgreSQL 15's GRANT SET / ALTER SYSTEM ON PARAMETER. Walked first as the
 * attacker: with SET on lo_compat_privileges, umami_user turns large objects' privilege checks off in its own
 * session and reads the application's large object, which no other check sees (the large-object check reads the
 * administrator's setting, off). Then verify fails naming the grant, the remedy's REVOKE closes it, and verify
 * exits 0. ALTER SYSTEM held by an application role is named with a warning.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../../scripts/kernel/db.js";
import { applyRemedy, rows, startAuditStage, verifyCli, type AuditStage } from "./helpers.js";

let stage: AuditStage;

beforeAll(async () => {
  stage = await startAuditStage("Parameters-Password-0123456789");
});
afterAll(async () => stage?.server.stop());

const CHECK = "outward: parameter privileges";
const ALTER_SYSTEM = "inward: ALTER SYSTEM outside the administrators";

/** As umami_user, in one session: turn large objects' checks off if it may, then read the large object. */
async function readAsUmami(oid: number): Promise<string> {
  return withClient(stage.umami, async (c) => {
    await c.query("SET lo_compat_privileges = on");
    const { rows: got } = await c.query<{ text: string }>(
      "SELECT pg_catalog.convert_from(pg_catalog.lo_get($1), 'UTF8') AS text",
      [oid],
    );
    return got[0].text;
  });
}

describe("parameter privileges", () => {
  it("SET on lo_compat_privileges lets umami_user read the application's large object; verify fails naming it; the remedy's REVOKE closes it", async () => {
    const [{ oid }] = await rows<{ oid: number }>(
      stage,
      "app",
      "SELECT pg_catalog.lo_from_bytea(0, pg_catalog.convert_to('invoice 42: card ending 4242', 'UTF8'))::int AS oid",
    );
    await expect(readAsUmami(oid)).rejects.toThrow(/permission denied to set parameter/);
    await stage.run("superuser", "GRANT SET ON PARAMETER lo_compat_privileges TO umami_user");
    expect(await readAsUmami(oid)).toBe("invoice 42: card ending 4242");

    const before = await verifyCli(stage);
    expect(before.code).toBe(1);
    expect(before.finding(CHECK)).toMatchObject({
      class: "parameter-privileges",
      severity: "fail",
      objects: ["lo_compat_privileges → umami_user (SET)"],
    });
    expect(await applyRemedy(stage, before.finding(CHECK)!.remedy, "superuser")).toEqual([
      'REVOKE SET ON PARAMETER "lo_compat_privileges" FROM "umami_user";',
    ]);
    await expect(readAsUmami(oid)).rejects.toThrow(/permission denied to set parameter/);

    const after = await verifyCli(stage);
    expect(after.finding(CHECK)).toMatchObject({ severity: "pass", objects: [] });
    expect(after.code).toBe(0);
  });

  it("ALTER SYSTEM held by app_user is named with a warning; SET on a parameter every role may set raises nothing", async () => {
    await stage.run(
      "superuser",
      "GRANT ALTER SYSTEM ON PARAMETER search_path TO app_user; GRANT SET ON PARAMETER work_mem TO umami_user",
    );
    const result = await verifyCli(stage);
    expect(result.code).toBe(0);
    expect(result.finding(CHECK)).toMatchObject({ severity: "pass", objects: [] });
    expect(result.finding(ALTER_SYSTEM)).toMatchObject({
      class: "parameter-privileges",
      severity: "warn",
      objects: ["search_path → app_user (ALTER SYSTEM)"],
    });
    expect(await applyRemedy(stage, result.finding(ALTER_SYSTEM)!.remedy, "superuser")).toEqual([
      'REVOKE ALTER SYSTEM ON PARAMETER "search_path" FROM "app_user";',
    ]);
    expect((await verifyCli(stage)).finding(ALTER_SYSTEM)).toMatchObject({ severity: "pass" });
  });
});
