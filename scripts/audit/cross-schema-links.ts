/**
 * Relations linked across the Umami schema's edge (threat model class cross-schema-links): inheritance,
 * partitions and foreign keys between a table in the schema and one outside it. PostgreSQL checks privileges
 * on the table a query names, not on the children it reads: a SELECT on a parent returns its children's rows
 * (partitions' too), so the application's reporting parent over a Umami table hands Umami's rows to whoever may
 * read the parent, and an application table under a Umami parent hands its rows to umami_user. A foreign key
 * runs its checks and actions as the tables' owners: an application table referencing Umami's with ON DELETE
 * CASCADE loses rows when umami_user deletes its own (walked), and a Umami table referencing the application's
 * lets umami_user learn which keys exist there, one INSERT at a time. Only an owner of both ends (or a
 * superuser) makes such a link; either direction fails. Links within the schema, or within the application,
 * are nobody's business here.
 */
import { alterTable, script } from "../../sst/database/statements.js";
import { finding, type AuditContext, type Finding } from "./types.js";

// $1 Umami schema oid. The schema's relations through their namespace dependency (pg_depend's index, as
// inward.ts); every inheritance (partitions included; index partitions follow their tables) and every foreign
// key with exactly one end among them, read from that end so that the cost follows the schema's size (on a
// 10,000-table database: 74 buffers, against 254 for a scan of pg_constraint).
const CROSS_LINKS_SQL = `
  WITH umami_rel AS (
    SELECT d.objid AS oid FROM pg_catalog.pg_depend d
     WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.refobjid = $1::oid
       AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'n'
  ), links AS (
    SELECT CASE WHEN p.relkind = 'p' THEN 'partition' ELSE 'inheritance' END AS kind, NULL::text AS name,
           i.inhrelid AS child, i.inhparent AS parent
      FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
     WHERE p.relkind IN ('r', 'p', 'f')
       AND (i.inhrelid IN (SELECT oid FROM umami_rel) OR i.inhparent IN (SELECT oid FROM umami_rel))
    UNION ALL
    -- A foreign key depends on both its tables (pg_depend's reference index): found from Umami's side.
    SELECT 'foreign key', co.conname, co.conrelid, co.confrelid
      FROM pg_catalog.pg_constraint co
     WHERE co.oid IN (SELECT d.objid FROM pg_catalog.pg_depend d
                       WHERE d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid IN (SELECT oid FROM umami_rel)
                         AND d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass)
       AND co.contype = 'f' AND co.conparentid = 0
  )
  SELECT l.kind, pg_catalog.quote_ident(l.name) AS name,
         pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS child,
         pg_catalog.quote_ident(pn.nspname) || '.' || pg_catalog.quote_ident(p.relname) AS parent,
         l.name AS raw_name, ARRAY[cn.nspname, c.relname]::text[] AS child_name,
         ARRAY[pn.nspname, p.relname]::text[] AS parent_name,
         l.parent IN (SELECT oid FROM umami_rel) AS parent_inside
    FROM links l
    JOIN pg_catalog.pg_class c ON c.oid = l.child JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace
    JOIN pg_catalog.pg_class p ON p.oid = l.parent JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
   WHERE (l.child IN (SELECT oid FROM umami_rel)) <> (l.parent IN (SELECT oid FROM umami_rel))
   ORDER BY 1, 3, 4
`;

interface LinkRow {
  kind: "inheritance" | "partition" | "foreign key";
  /** The foreign key's name (null for inheritance). */
  name: string | null;
  /** The child, the partition, or the referencing table. */
  child: string;
  /** The parent, the partitioned table, or the referenced table. */
  parent: string;
  /** The same, as the catalogs store them (for the remedy's statement). */
  raw_name: string | null;
  child_name: string[];
  parent_name: string[];
  parent_inside: boolean;
}

function describe(r: LinkRow, role: string): string {
  if (r.kind === "foreign key") {
    const what = r.parent_inside
      ? `${role}'s DELETE or UPDATE of its rows acts on ${r.child}'s (cascades, sets null, or is refused)`
      : `${role} learns which keys exist in ${r.parent}, one INSERT at a time, and locks its rows`;
    return `foreign key ${r.name} of ${r.child} references ${r.parent}: ${what}`;
  }
  const of = r.kind === "partition" ? "a partition of" : "a child of";
  const who = r.parent_inside
    ? `${role} reads ${r.child}'s rows`
    : `whoever may read ${r.parent} reads ${r.child}'s rows`;
  return `${r.child} is ${of} ${r.parent}: ${who} through it, without any privilege on them`;
}

function remedy(r: LinkRow): string {
  if (r.kind === "foreign key") return alterTable(r.child_name, { dropConstraint: r.raw_name! });
  if (r.kind === "partition") return alterTable(r.parent_name, { detachPartition: r.child_name });
  return alterTable(r.child_name, { noInherit: r.parent_name });
}

/** Inheritance, partitions and foreign keys between Umami's tables and tables outside its schema. */
export async function auditCrossSchemaLinks(ctx: AuditContext): Promise<Finding[]> {
  const { spec } = ctx;
  const role = spec.role.name;
  const rows = ctx.schemaOid ? await ctx.query<LinkRow>(CROSS_LINKS_SQL, [ctx.schemaOid]) : [];
  return [
    finding(
      "cross-schema-links",
      `inward and outward: tables linked across ${spec.schema}'s edge`,
      "fail",
      rows.map((r) => describe(r, role)),
      `A query on a parent reads its children with the parent's privileges only, and a foreign key checks and acts on the other table as its owner: these links carry rows across ${spec.schema}'s edge. As a superuser, or an administrator that is a member of both tables' owners: ${script(rows.map(remedy))} (An application table that needs Umami's keys keeps a copy of its own; Umami's migrations create no such link.)`,
      `No inheritance, partition or foreign key links a table in ${spec.schema} with one outside it.`,
    ),
  ];
}
