import { describe, expect, it } from "vitest";
import { combineQueries } from "../../../scripts/audit/batch.js";

describe("combineQueries", () => {
  it("runs each query as a subquery returning jsonb, parameters renumbered in order", () => {
    const combined = combineQueries([
      { sql: "SELECT $1::oid AS a WHERE $2", params: ["1", true] },
      { sql: "SELECT x FROM t WHERE y = $1 AND z = ANY ($2::text[])", params: ["y", ["z"]] },
    ]);
    expect(combined).toEqual({
      sql:
        "SELECT (SELECT COALESCE(pg_catalog.jsonb_agg(q), '[]') FROM (SELECT $1::oid AS a WHERE $2) q) AS r0,\n" +
        "(SELECT COALESCE(pg_catalog.jsonb_agg(q), '[]') FROM (SELECT x FROM t WHERE y = $3 AND z = ANY ($4::text[])) q) AS r1",
      params: ["1", true, "y", ["z"]],
    });
  });
});
