/**
 * The paths an attacker takes that the grant checks alone pass as isolated, one class per test (the ids
 * of docs/threat-model.md). Each path is built on a database with Aurora's defaults, then used as the
 * attacking role — the data is read or the privilege used — before the audit runs; then `verify` fails
 * naming the objects, roles and path, the finding's own remedy is run as written, the access fails, and the
 * audit passes again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditIsolation } from "../../../scripts/audit/audit.js";
import { withClient } from "../../../scripts/kernel/db.js";
import { applyRemedy, check, failing, rows, spec, startAuditStage, verifyCli, type AuditStage } from "./helpers.js";

let stage: AuditStage;

beforeAll(async () => {
  stage = await startAuditStage("Attacker-Paths-Password-0123456789a");
});
afterAll(async () => stage?.server.stop());

const audit = () => auditIsolation({ admin: stage.server.admin, spec });

/** `verify --json` as a DBA runs it (helpers.ts). */
const verify = () => verifyCli(stage);

describe("latent-grants: a privilege behind a schema without USAGE", () => {
  it("a column granted to PUBLIC is read through pg_stats, a sequence advanced by OID; the REVOKEs close both", async () => {
    await stage.run(
      "admin",
      `
      CREATE SCHEMA crm;
      CREATE TABLE crm.contacts (id integer GENERATED ALWAYS AS IDENTITY, email text NOT NULL);
      INSERT INTO crm.contacts (email) SELECT 'contact' || i || '@example.com' FROM pg_catalog.generate_series(1, 40) i;
      GRANT SELECT (email) ON crm.contacts TO PUBLIC;
      GRANT USAGE ON SEQUENCE crm.contacts_id_seq TO umami_user;
      ANALYZE crm.contacts`,
    );
    try {
      // Real: umami_user cannot name the table, yet reads the column's values and advances the sequence.
      await expect(rows(stage, "umami", "SELECT email FROM crm.contacts")).rejects.toThrow(
        /permission denied for schema crm/,
      );
      const statsSql =
        "SELECT histogram_bounds::text AS v FROM pg_catalog.pg_stats WHERE schemaname = 'crm' AND tablename = 'contacts' AND attname = 'email'";
      expect((await rows<{ v: string }>(stage, "umami", statsSql))[0].v).toContain("contact17@example.com");
      const [{ oid }] = await rows<{ oid: number }>(
        stage,
        "admin",
        "SELECT 'crm.contacts_id_seq'::regclass::oid AS oid",
      );
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
        'REVOKE ALL ON TABLE "crm"."contacts" FROM PUBLIC;',
        'REVOKE ALL ON SEQUENCE "crm"."contacts_id_seq" FROM "umami_user";',
      ]);
      expect(await rows(stage, "umami", statsSql)).toEqual([]);
      await expect(rows(stage, "umami", `SELECT pg_catalog.nextval(${oid}::oid)`)).rejects.toThrow(
        /permission denied for sequence contacts_id_seq/,
      );
      const after = await audit();
      expect(check(after, "outward: grants behind schemas without USAGE").severity).toBe("pass");
      expect(failing(after)).toEqual([]);
    } finally {
      await stage.run("admin", "DROP SCHEMA crm CASCADE");
    }
  });

  it("a SECURITY DEFINER function behind a schema without USAGE runs through an operator in public; REVOKE EXECUTE closes it", async () => {
    await stage.run(
      "admin",
      `
      CREATE SCHEMA vault;
      CREATE FUNCTION vault.lookup(integer, integer) RETURNS text LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
        AS $$ SELECT email FROM public.customers WHERE id = $1 $$;
      CREATE OPERATOR public.### (LEFTARG = integer, RIGHTARG = integer, FUNCTION = vault.lookup)`,
    );
    try {
      // Real: umami_user cannot name the function, yet the operator runs it with the owner's rights.
      await expect(rows(stage, "umami", "SELECT vault.lookup(1, 1)")).rejects.toThrow(
        /permission denied for schema vault/,
      );
      expect(await rows(stage, "umami", "SELECT 1 OPERATOR(public.###) 1 AS v")).toEqual([
        { v: "customer1@example.com" },
      ]);
      const f = check(await audit(), "outward: grants behind schemas without USAGE");
      expect(f).toMatchObject({
        class: "latent-grants",
        severity: "fail",
        objects: [
          "vault.lookup(integer, integer) (EXECUTE via PUBLIC) — no USAGE on its schema, callable through operator public.###(integer, integer), which never check the function's schema",
        ],
      });
      expect(await applyRemedy(stage, f.remedy, "admin")).toEqual([
        'REVOKE EXECUTE ON FUNCTION "vault"."lookup"(integer, integer) FROM PUBLIC;',
      ]);
      await expect(rows(stage, "umami", "SELECT 1 OPERATOR(public.###) 1")).rejects.toThrow(
        /permission denied for function lookup/,
      );
      expect(check(await audit(), "outward: grants behind schemas without USAGE").severity).toBe("pass");
    } finally {
      await stage.run("admin", "DROP SCHEMA vault CASCADE");
    }
  });

  it("what no such path reaches stays a warning: INSERT alone, SELECT on a table with row-level security", async () => {
    await stage.run(
      "admin",
      `
      CREATE SCHEMA hr;
      CREATE TABLE hr.salaries (name text, amount integer);
      INSERT INTO hr.salaries SELECT 'person' || i, i * 1000 FROM pg_catalog.generate_series(1, 40) i;
      ALTER TABLE hr.salaries ENABLE ROW LEVEL SECURITY;
      CREATE TABLE hr.requests (body text);
      GRANT SELECT ON hr.salaries TO PUBLIC;
      GRANT INSERT ON hr.requests TO umami_user;
      ANALYZE hr.salaries`,
    );
    try {
      // Real: pg_stats hides a table under row-level security, and INSERT needs the name (so the schema).
      expect(await rows(stage, "umami", "SELECT attname FROM pg_catalog.pg_stats WHERE schemaname = 'hr'")).toEqual([]);
      await expect(rows(stage, "umami", "INSERT INTO hr.requests VALUES ('x')")).rejects.toThrow(
        /permission denied for schema hr/,
      );
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

/**
 * What umami_user plants in its own schema: a view named like an application table, over a function that runs
 * with its caller's rights (views do not change the user functions run as) and grants umami_user
 * pg_read_all_data — which an Aurora admin, with CREATEROLE, may grant — before returning the real rows. A
 * grant to an administrator is no inward finding (administrators may hold anything in the schema).
 */
async function plantShadow(table: "orders" | "customers"): Promise<void> {
  await stage.run(
    "umami",
    `
    CREATE FUNCTION umami.${table}_rows() RETURNS SETOF public.${table} LANGUAGE plpgsql AS $$
    BEGIN
      EXECUTE 'GRANT pg_read_all_data TO umami_user';
      RETURN QUERY SELECT * FROM public.${table};
    END $$;
    CREATE VIEW umami.${table} AS SELECT * FROM umami.${table}_rows();
    GRANT SELECT ON umami.${table} TO app_admin`,
  );
}

async function removeShadow(table: "orders" | "customers"): Promise<void> {
  await stage.run("umami", `DROP VIEW IF EXISTS umami.${table}; DROP FUNCTION IF EXISTS umami.${table}_rows()`);
  await stage.run("admin", "REVOKE pg_read_all_data FROM umami_user");
}

const readCustomers = () => rows(stage, "umami", "SELECT count(*)::int AS n FROM public.customers");

describe("search-path-shadowing: a role's search_path reaches a schema umami_user can create in", () => {
  it("an administrator's own setting: its everyday query runs umami_user's code with its rights; the remedy's path stops it", async () => {
    await stage.run("admin", "ALTER ROLE app_admin SET search_path TO umami, public");
    await plantShadow("orders");
    try {
      await expect(readCustomers()).rejects.toThrow(/permission denied for table customers/);
      // Real: the administrator counts orders, sees the right number, and has just granted umami_user every table.
      expect(await rows(stage, "admin", "SELECT count(*)::int AS n FROM orders")).toEqual([{ n: 1000 }]);
      expect(await readCustomers()).toEqual([{ n: 200 }]);

      const { code, findings } = await verify();
      expect(code).toBe(1);
      expect(
        findings.find((f) => f.check === "inward: search_path into schemas umami_user can create in"),
      ).toMatchObject({
        class: "search-path-shadowing",
        severity: "fail",
        objects: [
          "app_admin: search_path = umami, public (from ALTER ROLE app_admin SET) reaches schema umami, where umami_user can create objects",
        ],
      });
      const result = await audit();
      expect(
        await applyRemedy(
          stage,
          check(result, "inward: search_path into schemas umami_user can create in").remedy,
          "admin",
        ),
      ).toEqual(['ALTER ROLE "app_admin" SET "search_path" TO "public";']);
      // The breach itself is the membership finding's to undo; then the same query no longer reaches the plant.
      expect(await applyRemedy(stage, check(result, "outward: role memberships").remedy, "admin")).toEqual([
        'REVOKE "pg_read_all_data" FROM "umami_user";',
      ]);
      expect(await rows(stage, "admin", "SELECT count(*)::int AS n FROM orders")).toEqual([{ n: 1000 }]);
      await expect(readCustomers()).rejects.toThrow(/permission denied for table customers/);
      // The plant is still there for an administrator who names it (umami.orders): class planted-code's.
      expect(failing(await audit())).toEqual(["inward: code in umami that runs with the reader's or writer's rights"]);
      await removeShadow("orders");
      expect(failing(await audit())).toEqual([]);
    } finally {
      await stage.run("admin", "ALTER ROLE app_admin RESET search_path");
      await removeShadow("orders");
    }
  });

  it("a database-wide setting reaches every role that may use the schema (not app_user, which may not); one ALTER DATABASE fixes it", async () => {
    await stage.run("admin", "ALTER DATABASE app SET search_path TO umami, public");
    await plantShadow("customers");
    try {
      // Real, through the database's setting; app_user's path skips umami (no USAGE), so its query is untouched.
      expect(await rows(stage, "app", "SELECT count(*)::int AS n FROM customers")).toEqual([{ n: 200 }]);
      await expect(rows(stage, "umami", "SELECT count(*) FROM public.orders")).rejects.toThrow(/permission denied/);
      await stage.run("admin", "SELECT count(*) FROM customers");
      expect(await rows(stage, "umami", "SELECT count(*)::int AS n FROM public.orders")).toEqual([{ n: 1000 }]);
      const f = check(await audit(), "inward: search_path into schemas umami_user can create in");
      expect(f.objects).toEqual([
        "app_admin: search_path = umami, public (from ALTER DATABASE app SET) reaches schema umami, where umami_user can create objects",
        "postgres: search_path = umami, public (from ALTER DATABASE app SET) reaches schema umami, where umami_user can create objects",
      ]);
      expect(await applyRemedy(stage, f.remedy, "admin")).toEqual([
        'ALTER DATABASE "app" SET "search_path" TO "public";',
      ]);
      await stage.run("admin", "REVOKE pg_read_all_data FROM umami_user");
      await stage.run("admin", "SELECT count(*) FROM customers");
      await expect(rows(stage, "umami", "SELECT count(*) FROM public.orders")).rejects.toThrow(/permission denied/);
      expect(check(await audit(), "inward: search_path into schemas umami_user can create in").severity).toBe("pass");
    } finally {
      await stage.run("admin", "ALTER DATABASE app RESET search_path");
      await removeShadow("customers");
    }
  });

  it('"$user" in the server default path reaches a schema named like the role; the fix is on that role', async () => {
    // A reporting administrator named like Umami's schema (declared with --admin-role): PostgreSQL's default
    // path puts "$user" first, so its unqualified names resolve in umami before public.
    await stage.run(
      "admin",
      "CREATE ROLE umami LOGIN CREATEROLE PASSWORD 'Reporting-Password-0123456789'; GRANT USAGE ON SCHEMA umami TO umami; GRANT SELECT ON public.orders TO umami",
    );
    const reporter = { ...stage.as("admin"), user: "umami", password: "Reporting-Password-0123456789" };
    const auditAsDeclared = () => auditIsolation({ admin: stage.server.admin, spec, adminRoles: ["umami"] });
    try {
      await plantShadow("orders");
      await stage.run("umami", "GRANT SELECT ON umami.orders TO umami");
      await expect(readCustomers()).rejects.toThrow(/permission denied/);
      expect((await withClient(reporter, (c) => c.query("SELECT count(*)::int AS n FROM orders"))).rows).toEqual([
        { n: 1000 },
      ]);
      expect(await readCustomers()).toEqual([{ n: 200 }]);
      const f = check(await auditAsDeclared(), "inward: search_path into schemas umami_user can create in");
      expect(f.objects).toEqual([
        'umami: search_path = "$user", public (from the server\'s default (parameter group)) reaches schema umami through "$user", where umami_user can create objects',
      ]);
      expect(await applyRemedy(stage, f.remedy, "admin")).toEqual([
        'ALTER ROLE "umami" SET "search_path" TO "public";',
      ]);
      await stage.run("admin", "REVOKE pg_read_all_data FROM umami_user");
      expect((await withClient(reporter, (c) => c.query("SELECT count(*)::int AS n FROM orders"))).rows).toEqual([
        { n: 1000 },
      ]);
      await expect(readCustomers()).rejects.toThrow(/permission denied/);
      expect(check(await auditAsDeclared(), "inward: search_path into schemas umami_user can create in").severity).toBe(
        "pass",
      );
    } finally {
      await removeShadow("orders");
      await stage.run(
        "admin",
        "REVOKE USAGE ON SCHEMA umami FROM umami; REVOKE SELECT ON public.orders FROM umami; DROP ROLE umami",
      );
    }
  });
});

describe("database-wide-settings: settings stored in the cluster are readable by umami_user", () => {
  const SECRET = "jwt-Secret-Value-0123456789";
  const KEY = "api-Key-Value-0123456789";

  it("a secret set with ALTER DATABASE is read with current_setting(), one set on another role in pg_db_role_setting; RESET closes both", async () => {
    // PostgreSQL 15 lets a non-superuser administrator store a custom setting once granted SET on it.
    await stage.run("superuser", "GRANT SET ON PARAMETER app.jwt_secret, app.api_key, app.region TO app_admin");
    await stage.run("admin", `ALTER DATABASE app SET app.jwt_secret TO '${SECRET}'`);
    await stage.run("admin", `ALTER ROLE app_user SET app.api_key TO '${KEY}'`);
    try {
      // Real: umami_user reads both values.
      expect(await rows(stage, "umami", "SELECT pg_catalog.current_setting('app.jwt_secret') AS v")).toEqual([
        { v: SECRET },
      ]);
      const stored = await rows<{ c: string }>(
        stage,
        "umami",
        "SELECT pg_catalog.unnest(setconfig) AS c FROM pg_catalog.pg_db_role_setting",
      );
      expect(stored.map((r) => r.c)).toContain(`app.api_key=${KEY}`);

      const out = await verify();
      expect(out.code).toBe(1);
      expect(out.output).not.toContain(SECRET);
      expect(out.output).not.toContain(KEY);
      const f = out.finding("outward: custom settings stored in the cluster");
      expect(f).toMatchObject({
        class: "database-wide-settings",
        severity: "fail",
        objects: [
          "app.api_key (ALTER ROLE app_user SET) — umami_user reads it in pg_db_role_setting, which every role may read; its name says it holds a secret",
          "app.jwt_secret (ALTER DATABASE app SET) — every session in app reads it with current_setting(), umami_user's included; its name says it holds a secret",
        ],
      });
      const remedy = check(await audit(), "outward: custom settings stored in the cluster").remedy;
      expect(remedy).toContain("have the application read it there first");
      expect(await applyRemedy(stage, remedy, "admin")).toEqual([
        'ALTER ROLE "app_user" RESET "app"."api_key";',
        'ALTER DATABASE "app" RESET "app"."jwt_secret";',
      ]);
      expect(await rows(stage, "umami", "SELECT pg_catalog.current_setting('app.jwt_secret', true) AS v")).toEqual([
        { v: null },
      ]);
      const left = await rows<{ c: string }>(
        stage,
        "umami",
        "SELECT pg_catalog.unnest(setconfig) AS c FROM pg_catalog.pg_db_role_setting",
      );
      expect(left.filter((r) => r.c.startsWith("app."))).toEqual([]);
      expect(check(await audit(), "outward: custom settings stored in the cluster").severity).toBe("pass");

      // A setting whose name says nothing of a secret is still readable: a warning, not a failure.
      await stage.run("admin", "ALTER DATABASE app SET app.region TO 'eu-west-1'");
      const region = await audit();
      expect(check(region, "outward: custom settings stored in the cluster")).toMatchObject({
        severity: "warn",
        objects: [expect.stringMatching(/^app\.region \(ALTER DATABASE app SET\)/)],
      });
      expect(failing(region)).toEqual([]);
    } finally {
      await stage.run(
        "admin",
        "ALTER DATABASE app RESET app.jwt_secret; ALTER DATABASE app RESET app.region; ALTER ROLE app_user RESET app.api_key",
      );
      await stage.run("superuser", "REVOKE SET ON PARAMETER app.jwt_secret, app.api_key, app.region FROM app_admin");
    }
  });
});

describe("foreign-objects-in-schema: objects in umami that umami_user does not own", () => {
  it("an administrator's view in umami is granted to umami_user by the schema's defaults and reads customers; handing it to umami_user closes it", async () => {
    await stage.run("admin", "CREATE VIEW umami.customer_directory AS SELECT email, name FROM public.customers");
    try {
      // Real: the provisioning's default privileges granted it, and it reads with its owner's rights.
      await expect(readCustomers()).rejects.toThrow(/permission denied/);
      expect(await rows(stage, "umami", "SELECT count(*)::int AS n FROM umami.customer_directory")).toEqual([
        { n: 200 },
      ]);
      const { code, findings } = await verify();
      expect(code).toBe(1);
      expect(findings.find((f) => f.check === "inward: objects in umami that umami_user does not own")).toMatchObject({
        class: "foreign-objects-in-schema",
        severity: "fail",
        objects: [
          "view umami.customer_directory owned by app_admin — reads outside the schema with its owner's rights",
        ],
      });
      const f = check(await audit(), "inward: objects in umami that umami_user does not own");
      expect(
        await applyRemedy(stage, f.remedy, "admin", { keep: (s) => s.startsWith("GRANT") || s.includes("OWNER TO") }),
      ).toEqual([
        'GRANT "umami_user" TO "app_admin";',
        'ALTER VIEW "umami"."customer_directory" OWNER TO "umami_user";',
      ]);
      await expect(rows(stage, "umami", "SELECT count(*) FROM umami.customer_directory")).rejects.toThrow(
        /permission denied for table customers/,
      );
      expect(failing(await audit())).toEqual([]);
    } finally {
      await stage.run("superuser", "DROP VIEW IF EXISTS umami.customer_directory");
      await stage.run("admin", "REVOKE umami_user FROM app_admin");
    }
  });
});

describe("triggers: an administrator's SECURITY DEFINER event trigger without a pinned search_path", () => {
  it("umami_user's own DDL makes it run umami_user's code with the administrator's rights; pinning its search_path stops it", async () => {
    await stage.run(
      "admin",
      `
      CREATE TABLE public.ddl_log (tag text, object text);
      CREATE FUNCTION public.log_ddl() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
      DECLARE o record;
      BEGIN
        FOR o IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
          INSERT INTO ddl_log VALUES (o.command_tag, o.object_identity);
        END LOOP;
      END $$`,
    );
    await stage.run("superuser", "CREATE EVENT TRIGGER ddl_audit ON ddl_command_end EXECUTE FUNCTION public.log_ddl()");
    try {
      await expect(readCustomers()).rejects.toThrow(/permission denied/);
      // umami_user plants ddl_log in its schema (public in its path meanwhile, so that the trigger's inserts of
      // the setup itself find the real table), with a trigger and INSERT for the function's owner.
      await stage.run(
        "umami",
        `
        SET search_path = umami, public;
        CREATE FUNCTION umami.take() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN EXECUTE 'GRANT pg_read_all_data TO umami_user'; RETURN NEW; END $$;
        CREATE TABLE umami.ddl_log (tag text, object text);
        CREATE TRIGGER take BEFORE INSERT ON umami.ddl_log FOR EACH ROW EXECUTE FUNCTION umami.take();
        GRANT INSERT ON umami.ddl_log TO app_admin`,
      );
      await expect(readCustomers()).rejects.toThrow(/permission denied/);
      // Real: Umami's next migration, in a session of its own (path umami), makes the function's unqualified
      // ddl_log umami_user's table, whose trigger runs as app_admin (the definer) and grants umami_user every table.
      await stage.run("umami", "CREATE TABLE umami.next_migration (id integer)");
      expect(await readCustomers()).toEqual([{ n: 200 }]);

      const f = check(await audit(), "inward: event triggers");
      expect(f).toMatchObject({
        class: "triggers",
        severity: "fail",
        objects: [
          "event trigger ddl_audit ON ddl_command_end runs public.log_ddl() (owner app_admin, SECURITY DEFINER) — search_path not pinned",
        ],
      });
      expect(await applyRemedy(stage, f.remedy, "admin", { keep: (s) => s.startsWith("ALTER FUNCTION") })).toEqual([
        'ALTER FUNCTION "public"."log_ddl"() SET "search_path" TO "pg_catalog", "public", "pg_temp";',
      ]);
      await stage.run("admin", "REVOKE pg_read_all_data FROM umami_user");
      // The same DDL now logs into public.ddl_log, and umami_user's trigger never runs.
      await stage.run("umami", "CREATE TABLE umami.after_pin (id integer)");
      await expect(readCustomers()).rejects.toThrow(/permission denied/);
      expect(await rows(stage, "admin", "SELECT object FROM public.ddl_log WHERE object = 'umami.after_pin'")).toEqual([
        { object: "umami.after_pin" },
      ]);
      expect(check(await audit(), "inward: event triggers")).toMatchObject({ severity: "pass" });
    } finally {
      await stage.run("superuser", "DROP EVENT TRIGGER IF EXISTS ddl_audit");
      await stage.run(
        "umami",
        "DROP TABLE IF EXISTS umami.ddl_log, umami.after_pin, umami.next_migration; DROP FUNCTION IF EXISTS umami.take()",
      );
      await stage.run(
        "admin",
        "DROP TABLE public.ddl_log; DROP FUNCTION public.log_ddl(); REVOKE pg_read_all_data FROM umami_user",
      );
    }
  });
});
