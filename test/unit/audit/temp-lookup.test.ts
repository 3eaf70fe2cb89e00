/**
 * What a function body leaves to the search_path, and where a pinned path puts the caller's temporary schema
 * (scripts/audit/temp-lookup.ts), on exact cases: the DDL-audit and monitoring bodies that the caller's
 * pg_temp hijacks, and the fully qualified ones it cannot.
 */
import { describe, expect, it } from "vitest";
import { tempSchemaFirst, unqualifiedInStrings, unqualifiedRelations } from "../../../scripts/audit/temp-lookup.js";

describe("unqualifiedRelations", () => {
  it("finds relations read or written without a schema", () => {
    expect(
      unqualifiedRelations(`
      DECLARE o record;
      BEGIN
        FOR o IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
          INSERT INTO ddl_log (by, tag) VALUES (session_user, o.command_tag);
        END LOOP;
      END`),
    ).toEqual(["ddl_log"]);
    expect(unqualifiedRelations("SELECT pid, usename, state FROM pg_stat_activity")).toEqual(["pg_stat_activity"]);
    expect(unqualifiedRelations('UPDATE counters SET n = n + 1; DELETE FROM "Old Rows" WHERE true')).toEqual([
      "Old Rows",
      "counters",
    ]);
    expect(unqualifiedRelations("SELECT 1 FROM public.a x, b AS y, c JOIN d ON true")).toEqual(["b", "c", "d"]);
    expect(
      unqualifiedRelations("TRUNCATE TABLE staging; LOCK TABLE queue IN SHARE MODE; COPY imports FROM STDIN"),
    ).toEqual(["imports", "queue", "staging"]);
    expect(unqualifiedRelations("MERGE INTO totals t USING public.x s ON true WHEN MATCHED THEN DO NOTHING")).toEqual([
      "totals",
    ]);
  });

  it("leaves out qualified names, functions, CTEs, variables, strings and comments", () => {
    expect(
      unqualifiedRelations(`
      -- reads FROM ddl_log
      /* UPDATE counters */
      WITH recent AS (SELECT * FROM public.orders) SELECT count(*) INTO n FROM recent;
      SELECT extract(year FROM created_at), substring(name FROM 2 FOR 3) FROM pg_catalog.pg_class;
      SELECT 1 FROM unnest(ids) AS i, LATERAL generate_series(1, 3);
      SELECT * FROM public.orders FOR UPDATE OF orders NOWAIT;
      INSERT INTO public.t VALUES (1) ON CONFLICT (id) DO UPDATE SET n = 2;
      FETCH NEXT FROM cur INTO r;
      EXECUTE 'SELECT * FROM secrets';
      PERFORM 1 WHERE a IS DISTINCT FROM b;
      RETURN QUERY SELECT * FROM "public"."orders";`),
    ).toEqual([]);
  });
});

describe("unqualifiedInStrings", () => {
  it("reads SQL passed as text, not prose or format() placeholders", () => {
    expect(
      unqualifiedInStrings(`
      EXECUTE 'INSERT INTO audit_log (op) VALUES ($1)' USING TG_OP;
      EXECUTE format('UPDATE %I.%I SET n = 1', TG_TABLE_SCHEMA, TG_TABLE_NAME);
      EXECUTE format('DELETE FROM %I WHERE id = $1', TG_TABLE_NAME);
      RAISE NOTICE 'copying rows from staging';
      PERFORM 1 FROM public.t WHERE note = 'SELECT 1 FROM public.x';`),
    ).toEqual(["audit_log"]);
  });
});

describe("tempSchemaFirst", () => {
  it("reads where the caller's temporary schema comes in the pinned path", () => {
    expect(tempSchemaFirst(null)).toBe("unpinned");
    expect(tempSchemaFirst([])).toBe("unpinned");
    expect(tempSchemaFirst(["pg_catalog, public"])).toBe("first");
    expect(tempSchemaFirst(['""'])).toBe("first");
    expect(tempSchemaFirst(["pg_temp, public"])).toBe("first");
    expect(tempSchemaFirst(["pg_catalog, public, pg_temp"])).toBeNull();
    expect(tempSchemaFirst(['"pg_temp"'])).toBeNull();
  });
});
