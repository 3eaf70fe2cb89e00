/**
 * Objects in the Umami schema that the Umami role does not own (class foreign-objects-in-schema): an
 * application's tables in a schema that happened to be called `umami`, or an administrator's view there. The
 * schema's default privileges (and provisioning's GRANT … ON ALL TABLES) hand them to umami_user, and a view
 * reads with its owner's rights — an administrator's view over an application table shows that table to
 * umami_user. Administrators are trusted with what they do, not with what their objects let umami_user do.
 * Objects an extension created (pgcrypto in the schema) are the extension's. One query, shared by the audit and
 * by provisioning, which refuses such a schema.
 */
import { addressed, alterOwner, grantRole, script } from "../../sst/database/statements.js";
import { finding, type AuditContext, type CountedQuery, type Finding } from "./types.js";

// $1 schema name, $2 Umami role name. Every object that lives in the schema records a dependency on it
// (pg_depend, deptype 'n': relations, functions, types, operators…; indexes, row and array types follow their
// owner object), and every owner but the bootstrap superuser is recorded in pg_shdepend: both are read
// through their indexes, so the cost follows the schema's size, not the database's.
const FOREIGN_OBJECTS_SQL = `
  WITH s AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1),
  objects AS (
    SELECT d.classid, d.objid,
           COALESCE((SELECT sd.refobjid FROM pg_catalog.pg_shdepend sd
                      WHERE sd.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
                        AND sd.classid = d.classid AND sd.objid = d.objid AND sd.objsubid = 0 AND sd.deptype = 'o'),
                    10) AS owner
      FROM pg_catalog.pg_depend d
     WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.refobjid = (SELECT oid FROM s) AND d.deptype = 'n'
       AND d.classid <> 'pg_catalog.pg_extension'::pg_catalog.regclass
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = d.classid AND e.objid = d.objid AND e.deptype = 'e')
  )
  SELECT i.type, i.identity, a.object_names AS names, a.object_args AS args, pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(o.owner)) AS owner,
         o.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND EXISTS (
           SELECT 1 FROM pg_catalog.pg_rewrite rw
             JOIN pg_catalog.pg_depend dep ON dep.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND dep.objid = rw.oid
             JOIN pg_catalog.pg_class rc ON rc.oid = dep.refobjid AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
            WHERE rw.ev_class = o.objid AND rc.relnamespace <> (SELECT oid FROM s)) AS reads_outside
    FROM objects o CROSS JOIN LATERAL pg_catalog.pg_identify_object(o.classid, o.objid, 0) i
    CROSS JOIN LATERAL pg_catalog.pg_identify_object_as_address(o.classid, o.objid, 0) a
   WHERE o.owner IS DISTINCT FROM (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $2)
   ORDER BY 1, 2
`;

/** One object in the Umami schema that the Umami role does not own. */
interface ForeignObject {
  type: string;
  identity: string;
  /** The name in parts and argument types, as `pg_identify_object_as_address` gives them (remedies are built from these). */
  names: string[];
  args: string[];
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
      `The schema's default privileges (and provisioning's grants) give ${role} what is in ${spec.schema}, and a view reads with its owner's rights. If an object is Umami's, hand it to ${role} (as its owner, a member of ${role}): ${script(
        [grantRole(role, ctx.adminUser), ...objects.map((o) => alterOwner(addressed(o.type, o.names, o.args), role))],
      )} If it is the application's, move it out with the application's next change (ALTER … SET SCHEMA renames it for the application too), or give Umami a schema of its own (another stage name).`,
      `Everything in ${spec.schema} is owned by ${role} (or belongs to an extension).`,
    ),
  ];
}
