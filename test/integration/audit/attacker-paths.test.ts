/**
 * Issue 17: the paths an attacker takes that round 1's audit passed as isolated, one class per test (the ids
 * of docs/threat-model.md). Each path is built on a database with Aurora's defaults, then used as the
 * attacking role — the data is read or the privilege used — before the audit runs; then `verify` fails
 * naming the objects, roles and path, the finding's own remedy is run as written, the access fails, and the
 * audit passes again.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditIsolation } from "../../../scripts/audit/audit.js";
import { applyRemedy, check, failing, rows, spec, startAuditStage, type AuditStage } from "./helpers.js";

const run = promisify(execFile);
let stage: AuditStage;

beforeAll(async () => {
  stage = await startAuditStage("Attacker-Paths-Password-0123456789a");
});
afterAll(async () => stage?.server.stop());

const audit = () => auditIsolation({ admin: stage.server.admin, spec });

/** `verify --json` as a DBA runs it: exit code and findings. */
async function verify(): Promise<{ code: number; findings: { class: string; check: string; severity: string; objects: string[] }[] }> {
  const out = await run(process.execPath, ["bin/umami-db.js", "verify", "--admin-url", stage.server.adminUrl(), "--json"]).catch((e) => e);
  return { code: out.code ?? 0, findings: JSON.parse(out.stdout).findings };
}

describe("latent-grants: a privilege behind a schema without USAGE", () => {
  it("a column granted to PUBLIC is read through pg_stats, a sequence advanced by OID; the REVOKEs close both", async () => {
    await stage.run("admin", `
      CREATE SCHEMA crm;
      CREATE TABLE crm.contacts (id integer GENERATED ALWAYS AS IDENTITY, email text NOT NULL);
      INSERT INTO crm.contacts (email) SELECT 'contact' || i || '@example.com' FROM pg_catalog.generate_series(1, 40) i;
      GRANT SELECT (email) ON crm.contacts TO PUBLIC;
      GRANT USAGE ON SEQUENCE crm.contacts_id_seq TO umami_user;
      ANALYZE crm.contacts`);
    try {
      // Real: umami_user cannot name the table, yet reads the column's values and advances the sequence.
      await expect(rows(stage, "umami", "SELECT email FROM crm.contacts")).rejects.toThrow(/permission denied for schema crm/);
      const statsSql = "SELECT histogram_bounds::text AS v FROM pg_catalog.pg_stats WHERE schemaname = 'crm' AND tablename = 'contacts' AND attname = 'email'";
      expect((await rows<{ v: string }>(stage, "umami", statsSql))[0].v).toContain("contact17@example.com");
      const [{ oid }] = await rows<{ oid: number }>(stage, "admin", "SELECT 'crm.contacts_id_seq'::regclass::oid AS oid");
      expect(await rows(stage, "umami", `SELECT pg_catalog.nextval(${oid}::oid) AS n`)).toEqual([{ n: "41" }]);

      const { code, findings } = await verify();
      expect(code).toBe(1);
      const f = findings.find((x) => x.check === "outward: grants behind schemas without USAGE")!;
      expect(f).toMatchObject({ class: "latent-grants", severity: "fail" });
      expect(f.objects).toEqual([
        "crm.contacts (SELECT (columns) via PUBLIC) — no USAGE on its schema, readable through pg_stats (most_common_vals, histogram_bounds): it checks the column privilege, never the schema",
        "crm.contacts_id_seq (USAGE) — no USAGE on its schema, usable by OID: nextval(), setval() and pg_sequence_last_value() never check the schema",
      ]);
      const finding = check(await audit(), "outward: grants behind schemas without USAGE");
      expect(await applyRemedy(stage, finding.remedy, "admin")).toEqual([
        "REVOKE ALL ON TABLE crm.contacts FROM PUBLIC;",
        "REVOKE ALL ON SEQUENCE crm.contacts_id_seq FROM umami_user;",
      ]);
      expect(await rows(stage, "umami", statsSql)).toEqual([]);
      await expect(rows(stage, "umami", `SELECT pg_catalog.nextval(${oid}::oid)`)).rejects.toThrow(/permission denied for sequence contacts_id_seq/);
      const after = await audit();
      expect(check(after, "outward: grants behind schemas without USAGE").severity).toBe("pass");
      expect(failing(after)).toEqual([]);
    } finally {
      await stage.run("admin", "DROP SCHEMA crm CASCADE");
    }
  });

  it("what no such path reaches stays a warning: INSERT alone, SELECT on a table with row-level security", async () => {
    await stage.run("admin", `
      CREATE SCHEMA hr;
      CREATE TABLE hr.salaries (name text, amount integer);
      INSERT INTO hr.salaries SELECT 'person' || i, i * 1000 FROM pg_catalog.generate_series(1, 40) i;
      ALTER TABLE hr.salaries ENABLE ROW LEVEL SECURITY;
      CREATE TABLE hr.requests (body text);
      GRANT SELECT ON hr.salaries TO PUBLIC;
      GRANT INSERT ON hr.requests TO umami_user;
      ANALYZE hr.salaries`);
    try {
      // Real: pg_stats hides a table under row-level security, and INSERT needs the name (so the schema).
      expect(await rows(stage, "umami", "SELECT attname FROM pg_catalog.pg_stats WHERE schemaname = 'hr'")).toEqual([]);
      await expect(rows(stage, "umami", "INSERT INTO hr.requests VALUES ('x')")).rejects.toThrow(/permission denied for schema hr/);
      const result = await audit();
      const f = check(result, "outward: grants behind schemas without USAGE");
      expect(f.severity).toBe("warn");
      expect([...f.objects].sort()).toEqual([
        "hr.requests (INSERT) — no USAGE on its schema, latent: every path to it looks its name up",
        "hr.salaries (SELECT via PUBLIC) — no USAGE on its schema, latent: every path to it looks its name up",
      ]);
      expect(failing(result)).toEqual([]);
    } finally {
      await stage.run("admin", "DROP SCHEMA hr CASCADE");
    }
  });
});
