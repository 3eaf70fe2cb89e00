/**
 * Every remedy the audit can print runs as printed when the names in it are hostile: mixed case, a hyphen, a
 * quote of each kind, a space, reserved words (`select`, `user`). One scratch server; the stage's database,
 * role and schema, the administrator, the application's schemas, roles, tables, functions, views, triggers,
 * publications and settings all carry such names. For each path class of AUDIT_CLASSES the cases below build
 * a finding, check that it is reported, run every statement its remedy spells out as the case says, and check
 * that what the case built is reported no more (the live probes run where a case asks). Every statement any audit here prints also runs, as a
 * superuser, in a transaction rolled back: a name quoted wrong fails there. A class without a case is listed in
 * EXEMPT with the reason; a class in neither fails the first test, so a new class brings its case along.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditIsolation, type AuditResult, type Finding } from "../../../scripts/audit/audit.js";
import { AUDIT_CLASSES, type AuditClass } from "../../../scripts/audit/classes.js";
import { withClient, type ConnectionSettings } from "../../../scripts/kernel/db.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { createAuroraLikeAdmin } from "../../../scripts/local/sample-app.js";
import { quoteIdent, quoteLiteral } from "../../../sst/database/quote.js";
import { buildSpec, type UmamiDatabaseSpec } from "../../../sst/database/spec.js";
import { stageSettings } from "../../../sst/stages.js";
import { startTestServer, type TestServer } from "../../support/server.js";
import { statements } from "./helpers.js";

const DATABASE = `My-App o'"q`;
const OTHER_DATABASE = `Other-DB "user"`;
const ADMIN = `Admin "select"`;
const SCHEMA = `Umami o'"q`;
const ROLE = `Umami-User select`;
const APP = `App's "select"`;
const READER = "My-App Reader";
const USER = "user";
const TABLE = `Web "Site"`;
const PASSWORD = "hostile-names-password";

const q = quoteIdent;
const qualified = (...names: string[]) => names.map(quoteIdent).join(".");
const umamiTable = qualified(SCHEMA, TABLE);

/** Who runs a statement: the hostile administrator, the bootstrap superuser, the Umami role (all on DATABASE). */
type Who = "admin" | "superuser" | "umami";

interface Case {
  /** The finding's check. */
  check: string;
  /** What builds it: statements as `who`, in order (each string one query; CREATE DATABASE alone). */
  setup: [Who, string][];
  /** Who runs the remedy (the role the remedy names, or the superuser where PostgreSQL requires one). */
  remedyAs: Who;
  /** The statements to run, when the remedy offers alternatives that exclude each other. */
  keep?: (statement: string) => boolean;
  /** The audit runs the live probes as the Umami role (the live-effects class sees only what they set off). */
  probes?: boolean;
  /** Cleans up what the remedy leaves that a later case would trip on. */
  teardown?: [Who, string][];
}

/** Classes with nothing to run: the reason says why their remedy prints no statement. */
const EXEMPT: Partial<Record<AuditClass, string>> = {
  existence: "the remedy provisions the stage (deploy, or umami-db local): no statement",
  probes: "live probes as the role name the catalog finding to fix; they print no statement of their own",
  fingerprint: "the application changed since the baseline: the remedy is to review that change, no statement",
  notifications:
    "the remedy rewrites the application's function to send the key only, or moves Umami to its own database: PostgreSQL has no privilege on channels to revoke",
};

const CASES: Partial<Record<AuditClass, Case[]>> = {
  "outward-privileges": [
    {
      check: "outward: tables and views",
      setup: [
        [
          "admin",
          `CREATE SCHEMA ${q(APP)}; GRANT USAGE ON SCHEMA ${q(APP)} TO PUBLIC;
           CREATE TABLE ${qualified(APP, "Orders-2024")} (${q("select")} integer);
           GRANT SELECT ON ${qualified(APP, "Orders-2024")} TO PUBLIC`,
        ],
      ],
      remedyAs: "admin",
    },
    {
      check: "outward: CREATE on other schemas",
      setup: [["admin", `GRANT CREATE ON SCHEMA ${q(APP)} TO ${q(ROLE)}`]],
      remedyAs: "admin",
    },
    {
      check: "outward: USAGE on other schemas",
      setup: [["admin", `CREATE SCHEMA ${q("Open Schema")}; GRANT USAGE ON SCHEMA ${q("Open Schema")} TO ${q(ROLE)}`]],
      remedyAs: "admin",
      // The remedy names every schema the role may use; the application's stays usable for the cases below.
      keep: (s) => s.includes("Open Schema"),
    },
    {
      check: "outward: default privileges in application schemas",
      setup: [
        ["admin", `ALTER DEFAULT PRIVILEGES FOR ROLE ${q(ADMIN)} IN SCHEMA ${q(APP)} GRANT SELECT ON TABLES TO PUBLIC`],
      ],
      remedyAs: "admin",
    },
    {
      check: "outward: SECURITY DEFINER functions",
      setup: [
        [
          "admin",
          `CREATE FUNCTION ${qualified(APP, "Sum It")}(a integer, "b c" text) RETURNS integer LANGUAGE sql SECURITY DEFINER
             SET search_path = pg_catalog AS 'SELECT 1'`,
        ],
      ],
      remedyAs: "admin",
    },
    {
      check: "outward: foreign servers",
      setup: [
        [
          "superuser",
          `CREATE FOREIGN DATA WRAPPER ${q("My FDW")}; CREATE SERVER ${q(`srv o'"q`)} FOREIGN DATA WRAPPER ${q("My FDW")};
           GRANT USAGE ON FOREIGN SERVER ${q(`srv o'"q`)} TO PUBLIC; CREATE USER MAPPING FOR ${q(ROLE)} SERVER ${q(`srv o'"q`)}`,
        ],
      ],
      remedyAs: "superuser",
    },
  ],
  "latent-grants": [
    {
      check: "outward: grants behind schemas without USAGE",
      setup: [
        [
          "admin",
          `CREATE SCHEMA ${q(`Hidden "Schema"`)}; CREATE TABLE ${qualified(`Hidden "Schema"`, "Secrets")} (${q("user")} text);
           GRANT SELECT ON ${qualified(`Hidden "Schema"`, "Secrets")} TO PUBLIC`,
        ],
      ],
      remedyAs: "admin",
    },
  ],
  "other-databases": [
    {
      check: "outward: other databases (granted access)",
      setup: [
        ["superuser", `CREATE DATABASE ${q(OTHER_DATABASE)} OWNER ${q(ADMIN)}`],
        ["admin", `GRANT CREATE ON DATABASE ${q(OTHER_DATABASE)} TO ${q(ROLE)}`],
      ],
      remedyAs: "admin",
    },
    { check: `outward: database ${OTHER_DATABASE}`, setup: [], remedyAs: "admin" },
  ],
  ownership: [
    {
      check: "outward: objects owned outside the schema",
      setup: [
        [
          "superuser",
          `CREATE TABLE ${qualified(APP, "Stray Table")} (id integer); ALTER TABLE ${qualified(APP, "Stray Table")} OWNER TO ${q(ROLE)};
           CREATE FUNCTION ${qualified(APP, "stray fn")}(x integer) RETURNS integer LANGUAGE sql AS 'SELECT 1';
           ALTER FUNCTION ${qualified(APP, "stray fn")}(integer) OWNER TO ${q(ROLE)}`,
        ],
      ],
      remedyAs: "admin",
      // Handing each object back closes the finding; the DROP alternative would then drop the administrator's.
      keep: (s) => !s.startsWith("DROP"),
    },
  ],
  "role-attributes": [
    {
      check: "outward: role attributes",
      setup: [["superuser", `ALTER ROLE ${q(ROLE)} CREATEDB`]],
      remedyAs: "superuser",
    },
    {
      check: "umami role: connection limit",
      setup: [["admin", `ALTER ROLE ${q(ROLE)} CONNECTION LIMIT 3`]],
      remedyAs: "admin",
    },
  ],
  memberships: [
    {
      check: "outward: role memberships",
      setup: [["admin", `CREATE ROLE ${q(USER)}; GRANT ${q(USER)} TO ${q(ROLE)}`]],
      remedyAs: "admin",
    },
  ],
  "role-settings": [
    {
      check: "outward: role settings",
      setup: [
        [
          "admin",
          `ALTER ROLE ${q(ROLE)} IN DATABASE ${q(DATABASE)} SET work_mem = '8MB'; ALTER ROLE ${q(ROLE)} SET search_path = public`,
        ],
      ],
      remedyAs: "admin",
    },
  ],
  "inward-grants": [
    {
      check: "inward: privileges on the Umami schema and its objects",
      setup: [["umami", `GRANT SELECT ON ${umamiTable} TO ${q(READER)}`]],
      remedyAs: "umami",
    },
    {
      check: "inward: privileges on the Umami schema and its objects",
      setup: [["umami", `GRANT SELECT (${q("select")}), UPDATE (${q("select")}) ON ${umamiTable} TO ${q(READER)}`]],
      remedyAs: "umami",
    },
    {
      check: "inward: default privileges in the Umami schema",
      setup: [["umami", `ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO ${q(READER)}`]],
      remedyAs: "umami",
    },
  ],
  "inward-members": [
    {
      check: "inward: members of the Umami role",
      setup: [["admin", `GRANT ${q(ROLE)} TO ${q(READER)}`]],
      remedyAs: "admin",
    },
  ],
  "privileged-roles": [
    {
      check: "inward: predefined roles that bypass privileges",
      setup: [["superuser", `GRANT pg_read_all_data TO ${q(READER)}`]],
      remedyAs: "superuser",
    },
    {
      check: "inward: CREATEROLE outside the administrators",
      setup: [["admin", `ALTER ROLE ${q(USER)} CREATEROLE`]],
      remedyAs: "admin",
    },
  ],
  triggers: [
    {
      check: "inward: triggers and rules on Umami tables",
      setup: [
        [
          "superuser",
          `CREATE FUNCTION ${qualified(APP, `copy "it"`)}() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
           CREATE TRIGGER ${q(`copy "rows"`)} AFTER INSERT ON ${umamiTable} FOR EACH ROW EXECUTE FUNCTION ${qualified(APP, `copy "it"`)}()`,
        ],
      ],
      remedyAs: "superuser",
    },
    {
      check: "inward: event triggers",
      setup: [
        [
          "superuser",
          `CREATE FUNCTION ${qualified(APP, "on ddl")}() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER AS 'BEGIN END';
           CREATE EVENT TRIGGER ${q(`ddl "watch"`)} ON ddl_command_end EXECUTE FUNCTION ${qualified(APP, "on ddl")}()`,
        ],
      ],
      remedyAs: "superuser",
      keep: (s) => s.startsWith("DROP"),
    },
  ],
  "intended-grants": [
    {
      check: "intended grants: extra",
      setup: [["admin", `GRANT CREATE ON DATABASE ${q(DATABASE)} TO ${q(ROLE)}`]],
      remedyAs: "admin",
    },
  ],
  "search-path-shadowing": [
    {
      check: "inward: search_path into schemas umami_user can create in",
      setup: [
        ["admin", `GRANT USAGE ON SCHEMA ${q(SCHEMA)} TO ${q(READER)}`],
        ["admin", `ALTER ROLE ${q(READER)} SET search_path = ${q(SCHEMA)}, public`],
      ],
      remedyAs: "admin",
      keep: (s) => s.startsWith("ALTER ROLE"),
      teardown: [["admin", `REVOKE USAGE ON SCHEMA ${q(SCHEMA)} FROM ${q(READER)}`]],
    },
    {
      check: "inward: administrators' search_path into schemas other roles can create in",
      setup: [
        ["admin", `GRANT CREATE ON SCHEMA ${q(APP)} TO ${q(READER)}`],
        ["admin", `ALTER ROLE ${q(ADMIN)} SET search_path = ${q(APP)}, public`],
      ],
      remedyAs: "admin",
      teardown: [
        ["admin", `REVOKE CREATE ON SCHEMA ${q(APP)} FROM ${q(READER)}`],
        ["admin", `ALTER ROLE ${q(ADMIN)} RESET search_path`],
      ],
    },
  ],
  "admin-by-membership": [
    {
      check: "inward: members of the administrators",
      setup: [["superuser", `GRANT ${q(ADMIN)} TO ${q(USER)}`]],
      remedyAs: "superuser",
    },
  ],
  "inward-via-objects": [
    {
      check: "inward: views and functions that read Umami's tables",
      setup: [
        [
          "superuser",
          `CREATE VIEW ${qualified(APP, `Site "View"`)} AS SELECT * FROM ${umamiTable};
           ALTER VIEW ${qualified(APP, `Site "View"`)} OWNER TO ${q(ADMIN)};
           GRANT SELECT ON ${qualified(APP, `Site "View"`)} TO ${q(READER)}`,
        ],
      ],
      remedyAs: "admin",
    },
  ],
  "inward-via-replication": [
    {
      check: "inward: replication roles",
      setup: [["superuser", `ALTER ROLE ${q(READER)} REPLICATION`]],
      remedyAs: "superuser",
    },
    {
      check: "inward: publications of Umami's tables",
      setup: [["superuser", `CREATE PUBLICATION ${q(`pub "x"`)} FOR TABLE ${umamiTable}`]],
      remedyAs: "superuser",
      teardown: [["superuser", `DROP PUBLICATION ${q(`pub "x"`)}`]],
    },
  ],
  "database-wide-settings": [
    {
      check: "outward: custom settings stored in the cluster",
      setup: [
        // PostgreSQL 15 lets only a superuser store a setting no loaded module defines.
        ["superuser", `ALTER DATABASE ${q(DATABASE)} SET app.jwt_secret = 'x'`],
        ["superuser", `ALTER ROLE ${q(READER)} IN DATABASE ${q(DATABASE)} SET app.api_token = 'y'`],
      ],
      remedyAs: "superuser",
    },
  ],
  "foreign-objects-in-schema": [
    {
      check: `inward: objects in ${SCHEMA} that ${ROLE} does not own`,
      setup: [["admin", `CREATE TABLE ${qualified(SCHEMA, `Admin's "T"`)} (id integer)`]],
      remedyAs: "admin",
    },
  ],
  "definer-escalation": [
    {
      check: "inward: SECURITY DEFINER functions of the administrators",
      setup: [
        [
          "admin",
          `CREATE FUNCTION ${qualified(APP, `run "it"`)}(a integer) RETURNS integer LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'`,
        ],
      ],
      // The event trigger's function (a superuser's, SECURITY DEFINER) is listed too; its owner pins it.
      remedyAs: "superuser",
      teardown: [["admin", `DROP FUNCTION ${qualified(APP, `run "it"`)}(integer)`]],
    },
  ],
  "planted-code": [
    {
      check: `inward: code in ${SCHEMA} that runs with the reader's or writer's rights`,
      setup: [
        [
          "umami",
          `CREATE VIEW ${qualified(SCHEMA, `Sum "View"`)} AS SELECT 1 AS x;
           CREATE POLICY ${q(`see "all"`)} ON ${umamiTable} USING (true);
           CREATE FUNCTION ${qualified(SCHEMA, "planted fn")}(x integer) RETURNS integer LANGUAGE sql AS 'SELECT 1'`,
        ],
      ],
      remedyAs: "umami",
    },
  ],
  "cross-schema-links": [
    {
      check: `inward and outward: tables linked across ${SCHEMA}'s edge`,
      setup: [
        [
          "superuser",
          `CREATE TABLE ${qualified(APP, `All "Sites"`)} (id integer PRIMARY KEY, ${q("select")} text);
           CREATE TABLE ${qualified(SCHEMA, `Child "T"`)} () INHERITS (${qualified(APP, `All "Sites"`)});
           ALTER TABLE ${qualified(SCHEMA, `Child "T"`)} OWNER TO ${q(ROLE)};
           CREATE TABLE ${qualified(SCHEMA, `Log "P"`)} (at integer) PARTITION BY RANGE (at);
           ALTER TABLE ${qualified(SCHEMA, `Log "P"`)} OWNER TO ${q(ROLE)};
           CREATE TABLE ${qualified(APP, `Log 2024`)} PARTITION OF ${qualified(SCHEMA, `Log "P"`)} FOR VALUES FROM (0) TO (10);
           CREATE TABLE ${qualified(SCHEMA, `Keys "K"`)} (id integer CONSTRAINT ${q(`fk "select"`)} REFERENCES ${qualified(APP, `All "Sites"`)});
           ALTER TABLE ${qualified(SCHEMA, `Keys "K"`)} OWNER TO ${q(ROLE)}`,
        ],
      ],
      remedyAs: "superuser",
      teardown: [
        [
          "superuser",
          `DROP TABLE ${qualified(SCHEMA, `Child "T"`)}, ${qualified(SCHEMA, `Log "P"`)}, ${qualified(SCHEMA, `Keys "K"`)}, ${qualified(APP, `Log 2024`)}`,
        ],
      ],
    },
  ],
  "parameter-privileges": [
    {
      check: "outward: parameter privileges",
      setup: [["superuser", `GRANT SET ON PARAMETER lo_compat_privileges TO ${q(ROLE)}`]],
      remedyAs: "superuser",
    },
    {
      check: "inward: ALTER SYSTEM outside the administrators",
      setup: [["superuser", `GRANT ALTER SYSTEM ON PARAMETER work_mem TO ${q(READER)}`]],
      remedyAs: "superuser",
    },
  ],
  "opaque-code": [
    {
      check: "inward: opaque code that runs with other roles' rights",
      setup: [
        [
          "admin",
          `CREATE FUNCTION ${qualified(APP, `Pinned "fn"`)}(x integer, "b c" text) RETURNS integer LANGUAGE plpgsql
             SET search_path = ${q(SCHEMA)}, public AS 'BEGIN RETURN x; END'`,
        ],
      ],
      remedyAs: "admin",
      teardown: [["admin", `DROP FUNCTION ${qualified(APP, `Pinned "fn"`)}(integer, text)`]],
    },
    {
      // No view over it: each statement also runs alone, and DROP FUNCTION alone fails while a view uses it.
      check: "inward: opaque code that runs with other roles' rights",
      setup: [
        [
          "superuser",
          `CREATE FUNCTION ${qualified(APP, `Peek "it"`)}(a integer) RETURNS bigint LANGUAGE sql
             BEGIN ATOMIC SELECT count(*) FROM ${umamiTable}; END;
           ALTER FUNCTION ${qualified(APP, `Peek "it"`)}(integer) OWNER TO ${q(ADMIN)}`,
        ],
      ],
      remedyAs: "admin",
    },
    {
      // The caller's temporary schema: an unqualified, quoted relation name under a path without pg_temp last.
      check: "inward: opaque code that runs with other roles' rights",
      setup: [
        [
          "admin",
          `CREATE TABLE ${qualified(APP, "Tally 2024")} (n integer);
           CREATE FUNCTION ${qualified(APP, `Count "it"`)}() RETURNS bigint LANGUAGE sql SECURITY DEFINER
             SET search_path = ${q(APP)} AS $f$ SELECT count(*) FROM ${q("Tally 2024")} $f$;
           GRANT EXECUTE ON FUNCTION ${qualified(APP, `Count "it"`)}() TO ${q(READER)}`,
        ],
      ],
      remedyAs: "admin",
      teardown: [
        ["admin", `DROP FUNCTION ${qualified(APP, `Count "it"`)}(); DROP TABLE ${qualified(APP, "Tally 2024")}`],
      ],
    },
  ],
  "foreign-logins": [
    {
      check: "inward: user mappings that log in as an administrator",
      setup: [
        ["superuser", `CREATE EXTENSION IF NOT EXISTS postgres_fdw SCHEMA public`],
        [
          "superuser",
          `CREATE SERVER ${q(`Loop "back"`)} FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1');
           ALTER SERVER ${q(`Loop "back"`)} OWNER TO ${q(ADMIN)};
           CREATE USER MAPPING FOR PUBLIC SERVER ${q(`Loop "back"`)} OPTIONS (user ${quoteLiteral(ADMIN)}, password 'x')`,
        ],
      ],
      remedyAs: "admin",
      teardown: [["superuser", `DROP SERVER ${q(`Loop "back"`)}`]],
    },
  ],
  "live-effects": [
    {
      check: "live: rows written outside Umami's schema by Umami's statements",
      setup: [
        [
          "superuser",
          `CREATE TABLE ${qualified(APP, `Copied "Rows"`)} (${q("select")} text);
           GRANT SELECT ON ${qualified(APP, `Copied "Rows"`)} TO ${q(READER)};
           CREATE FUNCTION ${qualified(APP, `keep "copy"`)}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
             SET search_path = pg_catalog
             AS $f$BEGIN INSERT INTO ${qualified(APP, `Copied "Rows"`)} VALUES (NEW.${q("select")}); RETURN NEW; END$f$;
           CREATE TRIGGER ${q(`keep "rows"`)} AFTER INSERT ON ${umamiTable} FOR EACH ROW EXECUTE FUNCTION ${qualified(APP, `keep "copy"`)}()`,
        ],
      ],
      remedyAs: "umami",
      probes: true,
    },
  ],
};

let server: TestServer;
let spec: UmamiDatabaseSpec;
const settings = {} as Record<Who, ConnectionSettings>;
/** Statements already run in a rolled-back transaction (by database), so each runs once. */
const parsed = new Set<string>();

/** Runs `sql` as `who` on `database` (default DATABASE). */
async function run(who: Who, sql: string, database = DATABASE): Promise<void> {
  await withClient({ ...settings[who], database }, (c) => c.query(sql));
}

/** The database a finding's statements are for: another database's own, or the stage's. */
function databaseOf(f: Finding): string {
  return f.check.startsWith("outward: database ") ? f.check.slice("outward: database ".length) : DATABASE;
}

/**
 * Audits, then runs every statement any reported finding prints, as the superuser in a transaction rolled back:
 * each must parse and name objects that exist.
 */
async function audit(probes = false): Promise<AuditResult> {
  const result = await auditIsolation({ admin: settings.admin, spec, ...(probes ? { umami: settings.umami } : {}) });
  for (const f of result.findings.filter((x) => x.severity !== "pass")) {
    const database = databaseOf(f);
    for (const sql of statements(f.remedy)) {
      const key = `${database}\n${sql}`;
      if (parsed.has(key)) continue;
      parsed.add(key);
      await withClient({ ...settings.superuser, database }, async (c) => {
        await c.query("BEGIN");
        try {
          await c.query(sql);
        } catch (error) {
          throw new Error(`"${f.check}" prints a statement that does not run: ${sql} (${(error as Error).message})`);
        } finally {
          await c.query("ROLLBACK");
        }
      });
    }
  }
  return result;
}

/** What a check reports, as object lines (none when it passes or is absent). */
function reported(result: AuditResult, check: string): string[] {
  return result.findings.filter((f) => f.check === check && f.severity !== "pass").flatMap((f) => f.objects);
}

beforeAll(async () => {
  server = await startTestServer({ sampleApp: false });
  await withClient(server.superuser, (c) =>
    createAuroraLikeAdmin(c, { name: ADMIN, password: PASSWORD, database: DATABASE }),
  );
  const base = buildSpec("dev", { ...stageSettings("dev"), database: DATABASE });
  spec = {
    ...base,
    schema: SCHEMA,
    role: { ...base.role, name: ROLE, searchPath: [SCHEMA] },
    extension: { ...base.extension, schema: SCHEMA },
  };
  settings.superuser = { ...server.superuser, database: DATABASE };
  settings.admin = { ...server.superuser, user: ADMIN, password: PASSWORD, database: DATABASE };
  settings.umami = { ...server.superuser, user: ROLE, password: PASSWORD, database: DATABASE };
  await withClient(settings.admin, (c) => provisionStage(c, spec, { admin: ADMIN, password: PASSWORD }));
  await run("umami", `CREATE TABLE ${umamiTable} (id integer, ${q("select")} text)`);
  await run("admin", `CREATE ROLE ${q(READER)} LOGIN`);
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe("hostile names in every remedy", () => {
  it("every class of the threat model has a case or says why it has none", () => {
    const classes = Object.keys(AUDIT_CLASSES) as AuditClass[];
    expect(classes.filter((c) => !CASES[c] && !EXEMPT[c])).toEqual([]);
    expect(classes.filter((c) => CASES[c] && EXEMPT[c])).toEqual([]);
  });

  it("the stage provisioned with hostile names audits clean", async () => {
    const result = await audit();
    expect(
      result.findings.filter((f) => f.severity === "fail").map((f) => `${f.check}: ${f.objects.join("; ")}`),
    ).toEqual([]);
  });

  const entries = Object.entries(CASES).flatMap(([cls, cases]) =>
    cases.map((c, i) => ({ name: `${cls} #${i + 1}: ${c.check}`, ...c })),
  );
  it.each(entries)("$name: the remedy runs as printed and closes the finding", async (c) => {
    const before = await audit(c.probes);
    for (const [who, sql] of c.setup) await run(who, sql);
    const found = await audit(c.probes);
    // What the setup added; a case without setup takes what an earlier case left (another database, say).
    const added = reported(found, c.check).filter(
      (o) => c.setup.length === 0 || !reported(before, c.check).includes(o),
    );
    expect(added.length, `the setup of "${c.check}" is reported`).toBeGreaterThan(0);
    const remedy = found.findings
      .filter((f) => f.check === c.check && f.severity !== "pass")
      .map((f) => f.remedy)
      .join(" ");
    const list = statements(remedy).filter(c.keep ?? (() => true));
    expect(list.length, `the remedy of "${c.check}" spells out a statement: ${remedy}`).toBeGreaterThan(0);
    const database = c.check.startsWith("outward: database ") ? c.check.slice("outward: database ".length) : DATABASE;
    for (const sql of list) await run(c.remedyAs, sql, database);
    const after = reported(await audit(c.probes), c.check);
    expect(after.filter((o) => added.includes(o))).toEqual([]);
    for (const [who, sql] of c.teardown ?? []) await run(who, sql);
  });
});
