/**
 * Everything the Umami role owns outside its schema, of any kind and in any database, from `pg_shdepend`
 * (the shared catalog `DROP OWNED` and `REASSIGN OWNED` read): an owner keeps every privilege on what it owns,
 * so a table, function or schema it created while it briefly held CREATE somewhere survives the REVOKE that
 * closed the gap — and the privilege checks would then pass. Objects in this database are named (as
 * `pg_identify_object` names them, which is also the syntax ALTER and DROP accept); in another database only
 * counted, unless that database is audited too.
 */
import { addressed, alterOwner, drop, grantRole, script } from "../../sst/database/statements.js";
import { finding, type CountedQuery, type Finding } from "./types.js";

/** One owned object: here (named), shared (a database or tablespace), or elsewhere (counted per database). */
export interface OwnedRow {
  scope: "here" | "shared" | "elsewhere";
  type: string | null;
  identity: string | null;
  /** The name in parts and the argument types, as `pg_identify_object_as_address` gives them (remedies are built from these). */
  names: string[] | null;
  args: string[] | null;
  database: string | null;
  count: number;
}

// $1 role oid, $2 schema to leave out ('' for none). Sequences that belong to a column follow their table
// (ALTER SEQUENCE … OWNER refuses them), temporary objects die with their session, and default ACLs are the
// default-privilege checks' business.
const OWNED_SQL = `
  WITH deps AS (
    SELECT s.dbid, s.classid, s.objid, s.objsubid
      FROM pg_catalog.pg_shdepend s
     WHERE s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass AND s.refobjid = $1::oid AND s.deptype = 'o'
       AND s.classid <> 'pg_catalog.pg_default_acl'::pg_catalog.regclass
  ), here AS (
    SELECT CASE WHEN d.dbid = 0 THEN 'shared' ELSE 'here' END AS scope, d.classid, d.objid, o.type, o.schema, o.identity,
           a.object_names AS names, a.object_args AS args
      FROM deps d CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.classid, d.objid, d.objsubid) o
      CROSS JOIN LATERAL pg_catalog.pg_identify_object_as_address(d.classid, d.objid, d.objsubid) a
     WHERE d.dbid = 0 OR d.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
  )
  SELECT scope, type, identity, names, args, NULL::text AS database, 1 AS count
    FROM here h
   -- pg_identify_object quotes the schema where the name needs it (measured: "umami_Feature_X").
   WHERE h.schema IS DISTINCT FROM $2 AND h.schema IS DISTINCT FROM pg_catalog.quote_ident($2)
     AND COALESCE(h.schema, '') !~ '^pg_temp_'
     AND NOT (h.type = 'sequence' AND EXISTS (
           SELECT 1 FROM pg_catalog.pg_depend dep
            WHERE dep.classid = h.classid AND dep.objid = h.objid
              AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dep.deptype IN ('a', 'i')))
  UNION ALL
  SELECT 'elsewhere', NULL, NULL, NULL, NULL, db.datname::text, pg_catalog.count(*)::int
    FROM deps d JOIN pg_catalog.pg_database db ON db.oid = d.dbid
   WHERE db.datname <> pg_catalog.current_database()
   GROUP BY db.datname
   ORDER BY 1, 2, 3, 4
`;

/** What the role owns outside `skipSchema` ('' for none), in this database and elsewhere. */
export async function queryOwned(query: CountedQuery, roleOid: string, skipSchema: string): Promise<OwnedRow[]> {
  return query<OwnedRow>(OWNED_SQL, [roleOid, skipSchema]);
}

/** The statement that hands an object back (or removes it): ALTER … OWNER TO, never a REVOKE. */
function ownershipRemedy(row: OwnedRow, admin: string): string {
  const object = addressed(row.type!, row.names!, row.args ?? []);
  // A user mapping has no owner to change: the role's own mapping goes.
  if (row.type === "user mapping") return script([drop(object)]);
  return `${script([alterOwner(object, admin)])} (or ${script([drop(object)])})`;
}

/**
 * The finding for owned objects of one database. `elsewhere` says, per other database, where its objects are
 * named (the audit of that database) or why they could not be.
 */
export function ownershipFinding(
  check: string,
  rows: OwnedRow[],
  ctx: { role: string; schema: string; admin: string; elsewhere?: (database: string) => string },
): Finding {
  const named = rows.filter((r) => r.scope !== "elsewhere");
  const counted = rows.filter((r) => r.scope === "elsewhere" && ctx.elsewhere);
  return finding(
    "ownership",
    check,
    "fail",
    [
      ...named.map((r) => `${r.type} ${r.identity}`),
      ...counted.map((r) => `${r.count} object(s) in database ${r.database} — ${ctx.elsewhere!(r.database!)}`),
    ],
    `${ctx.role} owns these, so it keeps every privilege on them whatever is revoked. As an administrator that is a member of ${ctx.role} (${script([grantRole(ctx.role, ctx.admin)])} first if needed), hand each back or drop it: ${named
      .map((r) => ownershipRemedy(r, ctx.admin))
      .join(" ")}`,
    `${ctx.role} owns nothing outside schema ${ctx.schema}${ctx.elsewhere ? ", in any database" : ""}.`,
  );
}
