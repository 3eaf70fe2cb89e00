/**
 * The edge registry (scripts/audit/edge-registry.ts) against a live PostgreSQL 15: every kind of link the server
 * records — references between catalogs, privilege columns, settings and options columns, stored expressions —
 * is judged by a class or out of scope with a reason, and the registry names nothing the server does not have.
 * A link type nobody classified fails here, not in a DBA's database.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../../../scripts/kernel/db.js";
import { AUDIT_CLASSES } from "../../../scripts/audit/classes.js";
import {
  CLASSES_WITHOUT_EDGES,
  JUDGED_EDGES,
  OUT_OF_SCOPE_EDGES,
  OUT_OF_SCOPE_REASONS,
} from "../../../scripts/audit/edge-registry.js";
import { startTestServer, type TestServer } from "../../support/server.js";

// Keyed as the registry keys them: `catalog.columns -> catalog` for a reference, `catalog.column` for a column.
const UNIVERSE_SQL = `
  SELECT fk.fktable::text || '.' || pg_catalog.array_to_string(fk.fkcols, ',') || ' -> ' || fk.pktable::text AS edge, 'reference' AS kind
    FROM pg_catalog.pg_get_catalog_foreign_keys() fk
  UNION ALL
  SELECT c.relname || '.' || a.attname,
         CASE a.atttypid WHEN 'pg_catalog.aclitem[]'::pg_catalog.regtype THEN 'privileges'
                         WHEN 'pg_catalog.pg_node_tree'::pg_catalog.regtype THEN 'expression' ELSE 'options' END
    FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
   WHERE c.relnamespace = 'pg_catalog'::pg_catalog.regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
     AND (a.atttypid IN ('pg_catalog.aclitem[]'::pg_catalog.regtype, 'pg_catalog.pg_node_tree'::pg_catalog.regtype)
          OR (a.atttypid = 'pg_catalog.text[]'::pg_catalog.regtype AND a.attname ~ '(options|config)$'))
   ORDER BY 1
`;

let server: TestServer;
let universe: { edge: string; kind: string }[];

beforeAll(async () => {
  server = await startTestServer({ sampleApp: false });
  universe = await withClient(
    server.superuser,
    async (c) => (await c.query<{ edge: string; kind: string }>(UNIVERSE_SQL)).rows,
  );
});
afterAll(async () => server?.stop());

const judged = new Set(Object.keys(JUDGED_EDGES));
const outOfScope = new Set(Object.keys(OUT_OF_SCOPE_EDGES));

describe("the edge registry", () => {
  it("reads the server's universe: references, privilege, options and expression columns", () => {
    const kinds = new Map<string, number>();
    for (const { kind } of universe) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    // PostgreSQL 15.18: 219 references, 14 privilege columns, 10 options columns, 16 expression columns.
    expect(Object.fromEntries(kinds)).toEqual({ reference: 219, privileges: 14, options: 10, expression: 16 });
    expect(universe.map((u) => u.edge)).toContain("pg_proc.pronamespace -> pg_namespace");
    expect(universe.map((u) => u.edge)).toContain("pg_parameter_acl.paracl");
  });

  it("judges every edge the server records, or says why it is out of scope", () => {
    const unclassified = universe.map((u) => u.edge).filter((edge) => !judged.has(edge) && !outOfScope.has(edge));
    expect(unclassified, "edges in neither list: add each to JUDGED_EDGES or OUT_OF_SCOPE_EDGES").toEqual([]);
  });

  it("names only edges the server has", () => {
    const present = new Set(universe.map((u) => u.edge));
    expect([...judged, ...outOfScope].filter((edge) => !present.has(edge))).toEqual([]);
  });

  it("puts no edge in both lists", () => {
    expect([...judged].filter((edge) => outOfScope.has(edge))).toEqual([]);
  });

  it("names only classes that exist, and every class judges an edge or says why it judges none", () => {
    const named = new Set([...Object.values(JUDGED_EDGES).flat(), ...Object.keys(CLASSES_WITHOUT_EDGES)]);
    expect([...named].filter((id) => !(id in AUDIT_CLASSES))).toEqual([]);
    expect(Object.keys(AUDIT_CLASSES).filter((id) => !named.has(id))).toEqual([]);
    const both = Object.keys(CLASSES_WITHOUT_EDGES).filter((id) =>
      Object.values(JUDGED_EDGES).some((classes) => classes.includes(id as never)),
    );
    expect(both).toEqual([]);
    expect(Object.values(JUDGED_EDGES).filter((classes) => classes.length === 0)).toEqual([]);
  });

  it("gives every out-of-scope edge one of the listed reasons, and every reason an edge", () => {
    const used = new Set(Object.values(OUT_OF_SCOPE_EDGES));
    expect([...used].filter((r) => !OUT_OF_SCOPE_REASONS.includes(r)).map((r) => r.title)).toEqual([]);
    expect(OUT_OF_SCOPE_REASONS.filter((r) => !used.has(r)).map((r) => r.title)).toEqual([]);
  });
});
