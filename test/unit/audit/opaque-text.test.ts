/**
 * The text rules of the opaque-code and notifications checks (scripts/audit/opaque-text.ts), on exact cases:
 * what counts as naming a schema, the constants a stored query hides, trigger arguments, search_path entries,
 * dynamic SQL, and what a NOTIFY payload hands to a listener.
 */
import { describe, expect, it } from "vitest";
import {
  dynamicSql,
  entrySchema,
  judgeNotify,
  keyIsData,
  referencedSchemas,
  searchPathEntries,
  treeConstants,
  triggerArguments,
  type KeyColumn,
} from "../../../scripts/audit/opaque-text.js";

const ID: KeyColumn = { name: "id", type: "bigint", readable: false };

describe("referencedSchemas", () => {
  it("finds a schema used as a qualifier, in code or in SQL passed as text, quoted or not", () => {
    expect(referencedSchemas("SELECT * FROM umami.website", ["umami"])).toEqual(["umami"]);
    expect(referencedSchemas("crosstab('SELECT name FROM UMAMI . website ORDER BY 1')", ["umami"])).toEqual(["umami"]);
    expect(referencedSchemas('SELECT 1 FROM "umami"."website"', ["umami"])).toEqual(["umami"]);
    expect(referencedSchemas("PERFORM umami.lower(x)", ["public", "umami"])).toEqual(["umami"]);
  });

  it("does not count a bare name, a pattern, a longer identifier or another schema's column", () => {
    expect(referencedSchemas("IF obj.schema_name <> 'umami' THEN", ["umami"])).toEqual([]);
    expect(referencedSchemas("WHERE object_identity LIKE 'umami.%'", ["umami"])).toEqual([]);
    expect(referencedSchemas("SELECT * FROM umami_archive.website, x.umami.y, my_umami.t", ["umami"])).toEqual([]);
  });

  it("reads a quoted mixed-case schema only quoted, and an unquoted one case-insensitively", () => {
    expect(referencedSchemas("SELECT * FROM Stats.t", ["Stats"])).toEqual([]);
    expect(referencedSchemas('SELECT * FROM "Stats".t', ["Stats"])).toEqual(["Stats"]);
  });
});

describe("treeConstants", () => {
  it("decodes the text constants of a stored query (a 4-byte varlena header, a name, a cstring)", () => {
    // crosstab('SELECT 1 FROM umami.website') as pg_rewrite.ev_action prints it (measured on PostgreSQL 15).
    const bytes = [...Buffer.from("SELECT 1 FROM umami.website")];
    const varlena = [(bytes.length + 4) << 2, 0, 0, 0, ...bytes].map((b) => (b > 127 ? b - 256 : b));
    const tree = `({QUERY :commandType 1 {FUNCEXPR :funcid 16386 :args ({CONST :consttype 25 :consttypmod -1 :constcollid 100 :constlen -1 :constbyval false :constisnull false :location 23 :constvalue ${varlena.length} [ ${varlena.join(" ")} ]} {CONST :consttype 23 :consttypmod -1 :constcollid 0 :constlen 4 :constbyval true :constisnull false :location 9 :constvalue 4 [ 1 0 0 0 0 0 0 0 ]} {CONST :consttype 19 :consttypmod -1 :constcollid 950 :constlen 64 :constbyval false :constisnull false :location 5 :constvalue 64 [ 117 109 97 109 105 0 0 0 0 ]})})`;
    expect(treeConstants(tree)).toEqual(["SELECT 1 FROM umami.website", "umami"]);
  });

  it("decodes a 1-byte varlena header", () => {
    const bytes = [...Buffer.from("hi")];
    expect(
      treeConstants(
        `:constlen -1 :constbyval false :constisnull false :location 0 :constvalue 3 [ ${((bytes.length + 1) << 1) | 1} ${bytes.join(" ")} ]`,
      ),
    ).toEqual(["hi"]);
  });
});

describe("triggerArguments and search_path entries", () => {
  it("splits pg_trigger.tgargs on its NUL bytes", () => {
    expect(triggerArguments(Buffer.from("tokfeed\0umami.website\0").toString("hex"))).toEqual([
      "tokfeed",
      "umami.website",
    ]);
    expect(triggerArguments("")).toEqual([]);
  });

  it('reads entries as PostgreSQL does: "$user" is the role, quoted names keep their case', () => {
    expect(searchPathEntries('"$user", public, "My ""Odd"" Schema",Umami')).toEqual([
      '"$user"',
      "public",
      '"My ""Odd"" Schema"',
      "Umami",
    ]);
    expect(entrySchema('"$user"', "app_admin")).toBe("app_admin");
    expect(entrySchema('"My ""Odd"" Schema"', "x")).toBe('My "Odd" Schema');
    expect(entrySchema("Umami", "x")).toBe("umami");
  });
});

describe("dynamicSql", () => {
  it("names the entry points that run SQL built at run time, outside comments", () => {
    expect(dynamicSql("BEGIN EXECUTE format('GRANT SELECT ON %s TO app_ro', obj.object_identity); END")).toEqual([
      "execute",
    ]);
    expect(
      dynamicSql("SELECT * FROM crosstab($q$ SELECT 1 $q$) AS c(a int); -- EXECUTE nothing\n SELECT dblink_exec('x')"),
    ).toEqual(["crosstab", "dblink_exec"]);
    expect(dynamicSql("SELECT executed_at FROM jobs")).toEqual([]);
  });
});

describe("keyIsData", () => {
  it("takes an integer key, and a uuid not named like a credential, as a surrogate key", () => {
    expect(keyIsData(ID)).toBeNull();
    expect(keyIsData({ name: "id", type: "uuid", readable: false })).toBeNull();
  });

  it("takes an email, a token or a credential-named uuid as data, unless the Umami role may read it anyway", () => {
    expect(keyIsData({ name: "email", type: "text", readable: false })).toBe(
      "key column email (text) is data, not a surrogate key",
    );
    expect(keyIsData({ name: "api_token", type: "uuid", readable: false })).toMatch(/api_token \(uuid\) is data/);
    expect(keyIsData({ name: "email", type: "text", readable: true })).toBeNull();
  });
});

describe("judgeNotify", () => {
  const body = (payload: string) => `BEGIN PERFORM pg_notify('orders', ${payload}); RETURN NEW; END`;

  it("fails whole rows, whatever constructs them", () => {
    for (const payload of [
      "row_to_json(NEW)::text",
      "to_jsonb(NEW)::text",
      "json_build_object('data', NEW)::text",
      "jsonb_build_object('op', TG_OP, 'row', OLD)::text",
      "NEW::text",
      "hstore(NEW)::text",
      "format('%s', NEW)",
      "row(NEW.*)::text",
    ]) {
      expect(judgeNotify(body(payload), [ID]).kind, payload).toBe("row");
    }
  });

  it("fails a column that is not a key, and a key that is itself data", () => {
    expect(judgeNotify(body("NEW.email"), [ID])).toEqual({
      kind: "data",
      why: "publishes column email, which is not a key (NEW.email)",
    });
    expect(judgeNotify(body("NEW.email"), [{ name: "email", type: "text", readable: false }]).kind).toBe("data");
  });

  it("passes a surrogate key, a constant, trigger variables and their concatenation as a key", () => {
    expect(judgeNotify(body("NEW.id::text"), [ID])).toEqual({ kind: "key" });
    expect(judgeNotify(body("TG_OP || ':' || OLD.id"), [ID])).toEqual({ kind: "key" });
    expect(judgeNotify(body("json_build_object('op', TG_OP, 'id', NEW.id)::text"), [ID])).toEqual({ kind: "key" });
    expect(judgeNotify("BEGIN NOTIFY jobs; NOTIFY jobs, 'wake'; RETURN NULL; END", [ID])).toEqual({ kind: "key" });
  });

  it("follows a variable to its assignments", () => {
    expect(
      judgeNotify("DECLARE p text; BEGIN p := NEW.id::text; PERFORM pg_notify('o', p); RETURN NEW; END", [ID]),
    ).toEqual({ kind: "key" });
    expect(
      judgeNotify(
        "DECLARE p text; BEGIN p := json_build_object('data', NEW)::text; PERFORM pg_notify('o', p); RETURN NEW; END",
        [ID],
      ).kind,
    ).toBe("row");
  });

  it("judges a NOTIFY built in a string by the body, and what it cannot read as unknown", () => {
    expect(judgeNotify("BEGIN EXECUTE format('NOTIFY orders, %L', row_to_json(NEW)); RETURN NEW; END", [ID]).kind).toBe(
      "row",
    );
    expect(judgeNotify("BEGIN EXECUTE 'NOTIFY ' || quote_ident(TG_ARGV[0]); RETURN NEW; END", [ID]).kind).toBe(
      "unknown",
    );
    expect(judgeNotify(body("current_setting('app.payload')"), [ID]).kind).toBe("unknown");
    expect(judgeNotify(body("NEW.id::text"), null).kind).toBe("unknown");
  });

  it("does not read a comment as a NOTIFY", () => {
    expect(
      judgeNotify(
        "BEGIN -- PERFORM pg_notify('o', row_to_json(NEW)::text)\n PERFORM pg_notify('o', NEW.id::text); RETURN NEW; END",
        [ID],
      ),
    ).toEqual({ kind: "key" });
  });
});
