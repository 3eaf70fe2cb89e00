/**
 * Objects in the Umami schema that the Umami role does not own (class foreign-objects-in-schema): an
 * application's tables in a schema that happened to be called `umami`, or an administrator's view there. The
 * schema's default privileges (and provisioning's GRANT … ON ALL TABLES) hand them to umami_user, and a view
 * reads with its owner's rights — an administrator's view over an application table shows that table to
 * umami_user. Administrators are trusted with what they do, not with what their objects let umami_user do.
 * Objects an extension created (pgcrypto in the schema) are the extension's. One query, shared by the audit and
 * by provisioning, which refuses such a schema.
 */
import { finding, type AuditContext, type CountedQuery, type Finding } from "./types.js";

// $1 schema name, $2 Umami role name. Relations, functions, standalone types and operators (array, multirange
// and table row types follow their owner object), with whether a view reads a relation outside the schema.
const FOREIGN_OBJECTS_SQL = `
  WITH s AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1),
  objects AS (
    SELECT 'pg_catalog.pg_class'::pg_catalog.regclass AS classid, c.oid, c.relowner AS owner, c.relkind IN ('v', 'm') AS view
      FROM pg_catalog.pg_class c WHERE c.relnamespace = (SELECT oid FROM s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S', 'c')
    UNION ALL
    SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, p.oid, p.proowner, false
      FROM pg_catalog.pg_proc p WHERE p.pronamespace = (SELECT oid FROM s)
    UNION ALL
    SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid, t.typowner, false
      FROM pg_catalog.pg_type t
     WHERE t.typnamespace = (SELECT oid FROM s) AND t.typtype IN ('b', 'd', 'e', 'r') AND t.typrelid = 0
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
    UNION ALL
    SELECT 'pg_catalog.pg_operator'::pg_catalog.regclass, o.oid, o.oprowner, false
      FROM pg_catalog.pg_operator o WHERE o.oprnamespace = (SELECT oid FROM s)
  )
  SELECT i.type, i.identity, pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(o.owner)) AS owner,
         o.view AND EXISTS (
           SELECT 1 FROM pg_catalog.pg_rewrite rw
             JOIN pg_catalog.pg_depend dep ON dep.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND dep.objid = rw.oid
             JOIN pg_catalog.pg_class rc ON rc.oid = dep.refobjid AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
            WHERE rw.ev_class = o.oid AND rc.relnamespace <> (SELECT oid FROM s)) AS reads_outside
    FROM objects o CROSS JOIN LATERAL pg_catalog.pg_identify_object(o.classid, o.oid, 0) i
   WHERE o.owner IS DISTINCT FROM (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $2)
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = o.classid AND d.objid = o.oid AND d.deptype = 'e')
   ORDER BY 1, 2
`;

/** One object in the Umami schema that the Umami role does not own. */
export interface ForeignObject {
  type: string;
  identity: string;
  owner: string;
  reads_outside: boolean;
}

/** The objects in `schema` that `role` does not own (extensions' members aside). */
export async function queryForeignObjects(query: CountedQuery, schema: string, role: string): Promise<ForeignObject[]> {
  return query<ForeignObject>(FOREIGN_OBJECTS_SQL, [schema, role]);
}

/** How one object is named in text: `view umami.directory owned by app_admin`. */
export function describeForeignObject(o: ForeignObject): string {
  return `${o.type} ${o.identity} owned by ${o.owner}${o.reads_outside ? " — reads outside the schema with its owner's rights" : ""}`;
}

/** The keyword ALTER takes for an object type as pg_identify_object names it. */
function alterKeyword(type: string): string {
  return type === "composite type" ? "TYPE" : type === "table column" ? "TABLE" : type.toUpperCase();
}

/** The finding: fails on any such object; the remedy hands Umami's back to its role and says what to do with the application's. */
export async function auditForeignObjects(ctx: AuditContext): Promise<Finding[]> {
  const { spec } = ctx;
  const role = spec.role.name;
  const objects = ctx.schemaOid ? await queryForeignObjects(ctx.query, spec.schema, role) : [];
  return [
    finding(
      "foreign-objects-in-schema",
      `inward: objects in ${spec.schema} that ${role} does not own`,
      "fail",
      objects.map(describeForeignObject),
      `The schema's default privileges (and provisioning's grants) give ${role} what is in ${spec.schema}, and a view reads with its owner's rights. If an object is Umami's, hand it to ${role} (as its owner, a member of ${role}): GRANT ${role} TO ${ctx.adminUser}; ${objects
        .map((o) => `ALTER ${alterKeyword(o.type)} ${o.identity} OWNER TO ${role};`)
        .join(" ")} If it is the application's, move it out with the application's next change (ALTER … SET SCHEMA renames it for the application too), or give Umami a schema of its own (another stage name).`,
      `Everything in ${spec.schema} is owned by ${role} (or belongs to an extension).`,
    ),
  ];
}
