/**
 * The intended grants: the Umami role holds exactly the spec's privileges — pgTAP's exact sets, missing and
 * extra reported separately. Expected sets come from the spec only; the catalog gives what is held.
 */
import { ALL_PRIVILEGES } from "../../sst/database/spec.js";
import { PUBLIC, revoke, script } from "../../sst/database/statements.js";
import { finding, type AuditContext, type Finding } from "./types.js";

// $1 role oid, $2 schema oid, $3 table, $4 sequence, $5 schema, $6 database privileges (PostgreSQL's full
// sets, so that extras beyond the spec show up). Effective privileges, as pgTAP's *_privs_are functions.
const INTENDED_SQL = `
  SELECT 'database' AS area, 'database ' || d.datname AS object,
         ARRAY(SELECT p FROM pg_catalog.unnest($6::text[]) p WHERE pg_catalog.has_database_privilege($1::oid, d.oid, p)) AS held,
         ARRAY(SELECT p FROM pg_catalog.unnest($6::text[]) p
                WHERE pg_catalog.has_database_privilege('public', d.oid, p)
                  AND p IN (SELECT a.privilege_type FROM pg_catalog.aclexplode(pg_catalog.acldefault('d', d.datdba)) a
                             WHERE a.grantee = 0)) AS by_default,
         ARRAY[d.datname::text] AS names
    FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()
  UNION ALL
  SELECT 'schema', 'schema ' || n.nspname,
         ARRAY(SELECT p FROM pg_catalog.unnest($5::text[]) p WHERE pg_catalog.has_schema_privilege($1::oid, n.oid, p)), NULL,
         ARRAY[n.nspname::text]
    FROM pg_catalog.pg_namespace n WHERE n.oid = $2::oid
  UNION ALL
  SELECT CASE WHEN c.relkind = 'S' THEN 'sequences' ELSE 'tables' END,
         CASE WHEN c.relkind = 'S' THEN 'sequence ' ELSE 'table ' END || n.nspname || '.' || c.relname,
         CASE WHEN c.relkind = 'S'
              THEN ARRAY(SELECT p FROM pg_catalog.unnest($4::text[]) p WHERE pg_catalog.has_sequence_privilege($1::oid, c.oid, p))
              ELSE ARRAY(SELECT p FROM pg_catalog.unnest($3::text[]) p WHERE pg_catalog.has_table_privilege($1::oid, c.oid, p)) END,
         NULL, ARRAY[n.nspname::text, c.relname::text]
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   -- Through the namespace dependency (pg_depend's index) rather than a scan of pg_class (inward.ts says why).
   WHERE c.oid IN (SELECT d.objid FROM pg_catalog.pg_depend d
                    WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.refobjid = $2::oid
                      AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'n')
     AND c.relnamespace = $2::oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  UNION ALL
  SELECT CASE d.defaclobjtype WHEN 'r' THEN 'default tables' ELSE 'default sequences' END,
         'default privileges ON ' || CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' ELSE 'SEQUENCES' END
           || ' IN SCHEMA ' || n.nspname,
         pg_catalog.array_agg(DISTINCT a.privilege_type), NULL, ARRAY[n.nspname::text]
    FROM pg_catalog.pg_default_acl d JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
    CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) a
   WHERE d.defaclnamespace = $2::oid AND a.grantee = $1::oid AND d.defaclobjtype IN ('r', 'S')
   GROUP BY d.defaclobjtype, n.nspname
`;

interface IntendedRow {
  area: string;
  object: string;
  held: string[];
  by_default: string[] | null;
  /** The object's name in parts (the schema's, for default privileges). */
  names: string[];
}

/** The keyword GRANT and REVOKE take for an area; default privileges take ALTER DEFAULT PRIVILEGES instead. */
const AREA_KINDS: Record<string, string> = {
  database: "DATABASE",
  schema: "SCHEMA",
  tables: "TABLE",
  sequences: "SEQUENCE",
};

/** Checks that the role holds exactly the spec's privileges: one finding for missing, one for extra. */
export async function auditIntendedGrants(ctx: AuditContext): Promise<Finding[]> {
  const { spec } = ctx;
  const role = spec.role.name;
  if (!ctx.roleOid) {
    return [
      {
        class: "intended-grants",
        check: "intended grants",
        severity: "warn",
        objects: [],
        remedy: `Not checked: role ${role} does not exist.`,
      },
    ];
  }
  const rows = await ctx.query<IntendedRow>(INTENDED_SQL, [
    ctx.roleOid,
    ctx.schemaOid,
    ALL_PRIVILEGES.table,
    ALL_PRIVILEGES.sequence,
    ALL_PRIVILEGES.schema,
    ALL_PRIVILEGES.database,
  ]);
  const p = spec.privileges;
  const expected: Record<string, readonly string[]> = {
    database: p.database,
    schema: p.schema,
    tables: p.tables,
    sequences: p.sequences,
    "default tables": p.defaultPrivileges.tables,
    "default sequences": p.defaultPrivileges.sequences,
  };
  // Default privileges with no row at all are entirely missing (a row exists only once something is granted).
  if (ctx.schemaOid) {
    for (const [area, objtype] of [
      ["default tables", "TABLES"],
      ["default sequences", "SEQUENCES"],
    ] as const) {
      if (!rows.some((r) => r.area === area)) {
        rows.push({
          area,
          object: `default privileges ON ${objtype} IN SCHEMA ${spec.schema}`,
          held: [],
          by_default: null,
          names: [spec.schema],
        });
      }
    }
  }
  const missing: string[] = [];
  const extraFail: string[] = [];
  const extraDefault: string[] = [];
  const revokeFail: string[] = [];
  const revokeDefault: string[] = [];
  for (const row of rows) {
    const want = expected[row.area] ?? [];
    const lacks = want.filter((x) => !row.held.includes(x));
    if (lacks.length > 0) missing.push(`${row.object}: ${lacks.join(", ")}`);
    const kind = AREA_KINDS[row.area];
    const on = { kind, name: row.names };
    for (const x of row.held.filter((h) => !want.includes(h))) {
      if (row.by_default?.includes(x)) {
        extraDefault.push(`${row.object}: ${x} (via PUBLIC, PostgreSQL's default)`);
        revokeDefault.push(revoke({ privileges: [x], on, from: PUBLIC }));
      } else {
        extraFail.push(`${row.object}: ${x}`);
        // Held directly or through PUBLIC: both grants go.
        if (kind)
          revokeFail.push(revoke({ privileges: [x], on, from: role }), revoke({ privileges: [x], on, from: PUBLIC }));
      }
    }
  }
  return [
    finding(
      "intended-grants",
      "intended grants: missing",
      "fail",
      missing,
      `${role} lacks privileges the spec grants, so Umami may fail: provision the stage again (deploy, or \`umami-db local\`), which re-applies the spec's GRANTs.`,
      `${role} holds every privilege the spec grants on database ${spec.database}, schema ${spec.schema}, its tables, sequences and default privileges.`,
    ),
    finding(
      "intended-grants",
      "intended grants: extra",
      extraFail.length > 0 ? "fail" : "warn",
      [...extraFail, ...extraDefault],
      extraFail.length > 0
        ? `${role} holds privileges the spec does not grant: revoke them: ${script(revokeFail)}`
        : `${role} can create temporary tables because PUBLIC has TEMPORARY on the database by default; if the application does not need it: ${script(revokeDefault)}`,
      `${role} holds nothing beyond the spec's privileges on database ${spec.database} and schema ${spec.schema}.`,
    ),
  ];
}
