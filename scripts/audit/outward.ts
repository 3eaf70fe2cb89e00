/**
 * Outward isolation: what the Umami role can reach outside its schema, as *effective* privileges
 * (`has_*_privilege()` counts direct grants, PUBLIC and role membership — pgTAP's approach), in one set-based
 * query over every schema, relation, sequence, SECURITY DEFINER function, database, default ACL, large object
 * and foreign server of the cluster. Privileges a relation grants while its schema withholds USAGE are
 * reported as warnings: unreachable today, readable the day someone grants the schema.
 */
import { ALL_PRIVILEGES, type TablePrivilege } from "../../sst/database/spec.js";
import { finding, type AuditContext, type Finding } from "./types.js";

/** The table privileges GRANT accepts per column (GRANT docs: "column_name" applies to these only). */
const COLUMN_PRIVILEGES: readonly TablePrivilege[] = ["SELECT", "INSERT", "UPDATE", "REFERENCES"];

/** Large objects listed by name at most; beyond this only the count is given. */
const LARGE_OBJECTS_LISTED = 20;

// $1 role oid, $2 Umami schema, $3 table privileges, $4 sequence privileges, $5 schema privileges,
// $6 database privileges, $7 column privileges, $8 table privileges as one list, $9 sequence privileges as
// one list, $10 column privileges as one list, $11 large objects listed.
// Per relation only a catalog pre-filter runs; has_*_privilege() decides on the candidates, and the
// per-privilege breakdown (and what PUBLIC alone holds) is computed only for the few relations reached.
const OUTWARD_SQL = `
  WITH RECURSIVE ns AS (
    SELECT n.oid, n.nspname, pg_catalog.has_schema_privilege($1::oid, n.oid, 'USAGE') AS usable
      FROM pg_catalog.pg_namespace n
     WHERE n.nspname <> $2 AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  ), grantees AS (
    -- PUBLIC and every role whose privileges the Umami role uses (itself, and memberships with INHERIT).
    SELECT 0::oid AS oid
    UNION ALL
    SELECT r.oid FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role($1::oid, r.oid, 'USAGE')
  ), everything AS (
    -- Roles that bypass ACLs: then every relation is a candidate.
    SELECT COALESCE((SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = $1::oid), false)
        OR pg_catalog.pg_has_role($1::oid, 'pg_read_all_data', 'USAGE')
        OR pg_catalog.pg_has_role($1::oid, 'pg_write_all_data', 'USAGE') AS bypass
  ), acl_columns AS (
    -- No DISTINCT: the planner would walk pg_attribute's index in order; the hashed IN below dedupes anyway.
    SELECT att.attrelid FROM pg_catalog.pg_attribute att
     WHERE att.attacl IS NOT NULL
       AND EXISTS (SELECT 1 FROM pg_catalog.aclexplode(att.attacl) a WHERE a.grantee IN (SELECT oid FROM grantees))
  ), candidates AS MATERIALIZED (
    -- A cheap ACL pre-filter over one scan of pg_class: a relation's privileges come only from its owner, its
    -- and its columns' ACL entries, superuser and pg_read/write_all_data. MATERIALIZED keeps the planner from
    -- running the has_*_privilege() calls below on every relation first (they look cheaper than they are).
    SELECT c.oid, c.relkind, c.relname, c.relnamespace
      FROM pg_catalog.pg_class c
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
       AND ((SELECT bypass FROM everything)
            OR c.relowner IN (SELECT oid FROM grantees)
            OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(c.relacl) a WHERE a.grantee IN (SELECT oid FROM grantees))
            OR c.oid IN (SELECT attrelid FROM acl_columns))
  ), reach AS (
    SELECT c.oid, c.relkind, pg_catalog.quote_ident(ns.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS object, ns.usable
      FROM candidates c JOIN ns ON ns.oid = c.relnamespace
     WHERE CASE WHEN c.relkind = 'S' THEN pg_catalog.has_sequence_privilege($1::oid, c.oid, $9)
                ELSE pg_catalog.has_table_privilege($1::oid, c.oid, $8)
                  OR pg_catalog.has_any_column_privilege($1::oid, c.oid, $10) END
  ), member_of AS (
    SELECT am.roleid, true AS direct FROM pg_catalog.pg_auth_members am WHERE am.member = $1::oid
    UNION
    SELECT am.roleid, false FROM pg_catalog.pg_auth_members am JOIN member_of m ON am.member = m.roleid
  )
  SELECT CASE WHEN reach.relkind = 'S' THEN 'sequence' ELSE 'relation' END AS kind, reach.object, reach.usable,
         CASE WHEN reach.relkind = 'S'
              THEN ARRAY(SELECT p FROM pg_catalog.unnest($4::text[]) p WHERE pg_catalog.has_sequence_privilege($1::oid, reach.oid, p))
              ELSE ARRAY(SELECT p FROM pg_catalog.unnest($3::text[]) p WHERE pg_catalog.has_table_privilege($1::oid, reach.oid, p))
                || ARRAY(SELECT p || ' (columns)' FROM pg_catalog.unnest($7::text[]) p
                          WHERE NOT pg_catalog.has_table_privilege($1::oid, reach.oid, p)
                            AND pg_catalog.has_any_column_privilege($1::oid, reach.oid, p)) END AS privileges,
         CASE WHEN reach.relkind = 'S'
              THEN ARRAY(SELECT p FROM pg_catalog.unnest($4::text[]) p WHERE pg_catalog.has_sequence_privilege('public', reach.oid, p))
              ELSE ARRAY(SELECT p FROM pg_catalog.unnest($3::text[]) p WHERE pg_catalog.has_table_privilege('public', reach.oid, p))
                || ARRAY(SELECT p || ' (columns)' FROM pg_catalog.unnest($7::text[]) p
                          WHERE NOT pg_catalog.has_table_privilege('public', reach.oid, p)
                            AND pg_catalog.has_any_column_privilege('public', reach.oid, p)) END AS public_privileges,
         -- Whom a REVOKE must name (or OWNER: the role owns it, which no REVOKE undoes).
         ARRAY(SELECT 'OWNER' FROM pg_catalog.pg_class o WHERE o.oid = reach.oid AND o.relowner = $1::oid
               UNION ALL
               SELECT DISTINCT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END
                 FROM (SELECT o.relacl AS acl FROM pg_catalog.pg_class o WHERE o.oid = reach.oid
                       UNION ALL
                       SELECT att.attacl FROM pg_catalog.pg_attribute att WHERE att.attrelid = reach.oid AND att.attacl IS NOT NULL) acls
                 CROSS JOIN LATERAL pg_catalog.aclexplode(acls.acl) a
                WHERE a.grantee = 0 OR a.grantee = $1::oid) AS defaults,
         -- What a grant that exposes no data is: the extension's own (its install script's grant, pg_init_privs,
         -- on an object that is not one of its configuration tables), or a security_invoker view over a
         -- relation the role holds nothing on (every query on it fails with permission denied).
         CASE WHEN e.extname IS NOT NULL AND rc.relacl IS NOT DISTINCT FROM ip.initprivs
                   AND NOT reach.oid = ANY (COALESCE(e.extconfig, ARRAY[]::oid[])) THEN 'extension ' || e.extname
              WHEN reach.relkind = 'v' AND EXISTS (
                     SELECT 1 FROM pg_catalog.unnest(rc.reloptions) o
                      WHERE pg_catalog.lower(o) IN ('security_invoker=true', 'security_invoker=on', 'security_invoker=1', 'security_invoker=yes'))
                   AND EXISTS (
                     SELECT 1 FROM pg_catalog.pg_rewrite rw
                       JOIN pg_catalog.pg_depend dep ON dep.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND dep.objid = rw.oid
                      WHERE rw.ev_class = reach.oid AND dep.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                        AND dep.refobjid <> reach.oid
                        AND NOT pg_catalog.has_table_privilege($1::oid, dep.refobjid, $8)
                        AND NOT pg_catalog.has_any_column_privilege($1::oid, dep.refobjid, $10))
                   THEN 'invoker' END AS note
    FROM reach
    JOIN pg_catalog.pg_class rc ON rc.oid = reach.oid
    LEFT JOIN pg_catalog.pg_depend ed ON ed.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND ed.objid = reach.oid
         AND ed.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND ed.deptype = 'e'
    LEFT JOIN pg_catalog.pg_extension e ON e.oid = ed.refobjid
    LEFT JOIN pg_catalog.pg_init_privs ip ON ip.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND ip.objoid = reach.oid
         AND ip.objsubid = 0 AND ip.privtype = 'e'
  UNION ALL
  SELECT 'schema', pg_catalog.quote_ident(ns.nspname), ns.usable,
         ARRAY(SELECT p FROM pg_catalog.unnest($5::text[]) p WHERE pg_catalog.has_schema_privilege($1::oid, ns.oid, p)),
         ARRAY(SELECT p FROM pg_catalog.unnest($5::text[]) p WHERE pg_catalog.has_schema_privilege('public', ns.oid, p)),
         NULL, NULL
    FROM ns
  UNION ALL
  SELECT 'function', pg_catalog.quote_ident(ns.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
         ns.usable, ARRAY['EXECUTE'],
         CASE WHEN pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE') THEN ARRAY['EXECUTE'] ELSE ARRAY[]::text[] END,
         NULL, pg_catalog.pg_get_userbyid(p.proowner)
    FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace
   WHERE p.prosecdef AND pg_catalog.has_function_privilege($1::oid, p.oid, 'EXECUTE')
  UNION ALL
  SELECT 'database', pg_catalog.quote_ident(d.datname), true,
         ARRAY(SELECT p FROM pg_catalog.unnest($6::text[]) p WHERE pg_catalog.has_database_privilege($1::oid, d.oid, p)),
         ARRAY(SELECT p FROM pg_catalog.unnest($6::text[]) p WHERE pg_catalog.has_database_privilege('public', d.oid, p)),
         ARRAY(SELECT a.privilege_type FROM pg_catalog.aclexplode(pg_catalog.acldefault('d', d.datdba)) a WHERE a.grantee = 0),
         NULL
    FROM pg_catalog.pg_database d
   WHERE d.datallowconn AND d.datname <> pg_catalog.current_database()
  UNION ALL
  SELECT 'membership', pg_catalog.quote_ident(g.rolname), true, ARRAY[CASE WHEN pg_catalog.bool_or(m.direct) THEN 'direct' ELSE 'inherited' END], NULL, NULL, NULL
    FROM member_of m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
   GROUP BY g.rolname
  UNION ALL
  SELECT 'default', 'ON ' || dt.word
           || COALESCE(' IN SCHEMA ' || n.nspname, '') || ' FOR ROLE ' || pg_catalog.pg_get_userbyid(d.defaclrole)
           || ' TO ' || CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END,
         true, pg_catalog.array_agg(a.privilege_type ORDER BY a.privilege_type), NULL, NULL,
         'ALTER DEFAULT PRIVILEGES FOR ROLE ' || pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(d.defaclrole))
           || COALESCE(' IN SCHEMA ' || pg_catalog.quote_ident(n.nspname), '') || ' REVOKE ALL ON ' || dt.word
           || ' FROM ' || CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END || ';'
    FROM pg_catalog.pg_default_acl d
    LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
    CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) a
    CROSS JOIN LATERAL (SELECT CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES' WHEN 'f' THEN 'FUNCTIONS'
                                  WHEN 'T' THEN 'TYPES' ELSE 'SCHEMAS' END AS word) dt
   WHERE (n.nspname IS NULL OR (n.nspname <> $2 AND n.nspname !~ '^pg_'))
     AND (a.grantee = 0 OR pg_catalog.pg_has_role($1::oid, a.grantee, 'USAGE'))
     -- The row's own role's entry is its implicit right on what it creates (present whenever the row exists),
     -- and rows for the Umami role itself concern what it creates: inward's business.
     AND a.grantee <> d.defaclrole AND d.defaclrole <> $1::oid
     -- EXECUTE on functions and USAGE on types go to PUBLIC by PostgreSQL's own default; not a new leak.
     AND NOT (a.grantee = 0 AND d.defaclobjtype IN ('f', 'T'))
   GROUP BY d.oid, dt.word, n.nspname, d.defaclrole, a.grantee
  UNION ALL
  SELECT 'large objects', pg_catalog.count(*)::text, true,
         (pg_catalog.array_agg(l.oid::text ORDER BY l.oid))[1:$11], NULL, NULL, pg_catalog.current_setting('lo_compat_privileges')
    FROM pg_catalog.pg_largeobject_metadata l
   WHERE pg_catalog.current_setting('lo_compat_privileges')::boolean OR l.lomowner = $1::oid
      OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(l.lomacl) a
                  WHERE a.grantee = 0 OR pg_catalog.pg_has_role($1::oid, a.grantee, 'USAGE'))
  UNION ALL
  SELECT 'foreign data wrapper', w.fdwname, true, ARRAY['USAGE'], NULL, NULL, NULL
    FROM pg_catalog.pg_foreign_data_wrapper w WHERE pg_catalog.has_foreign_data_wrapper_privilege($1::oid, w.oid, 'USAGE')
  UNION ALL
  SELECT 'foreign server', s.srvname, true, ARRAY['USAGE'], NULL, NULL, NULL
    FROM pg_catalog.pg_foreign_server s WHERE pg_catalog.has_server_privilege($1::oid, s.oid, 'USAGE')
  UNION ALL
  SELECT 'user mapping', um.srvname || ' FOR ' || CASE WHEN um.umuser = 0 THEN 'PUBLIC' ELSE um.usename::text END,
         true, ARRAY['USAGE'], NULL, NULL, NULL
    FROM pg_catalog.pg_user_mappings um WHERE um.umuser = 0 OR um.umuser = $1::oid
`;

interface OutwardRow {
  kind: string;
  object: string;
  usable: boolean;
  privileges: string[];
  public_privileges: string[] | null;
  defaults: string[] | null;
  note: string | null;
}

function via(row: OutwardRow, privilege: string): string {
  return row.public_privileges?.includes(privilege) ? `${privilege} via PUBLIC` : privilege;
}

function describe(row: OutwardRow, privileges = row.privileges): string {
  return `${row.object} (${privileges.map((p) => via(row, p)).join(", ")})`;
}

/** Why a reachable relation exposes no data, or null when it may. */
function harmless(row: OutwardRow): string | null {
  if (row.note === "invoker") {
    return "security_invoker view over a relation the role holds nothing on: every query on it is denied";
  }
  const extension = row.note?.startsWith("extension ") ? row.note.slice("extension ".length) : null;
  if (!extension) return null;
  const why = EXTENSION_NOTES[extension] ?? "it holds the extension's own data, not the application's";
  return `extension ${extension}'s own grant (pg_init_privs): ${why}`;
}

/** What known extensions' PUBLIC objects show (their documentation's word). */
const EXTENSION_NOTES: Record<string, string> = {
  pg_stat_statements:
    "statement statistics; other roles' statement text reads <insufficient privilege> unless the reader has pg_read_all_stats",
};

/**
 * The statements that take one relation's reach away, as written: REVOKE from PUBLIC or the role, the
 * ownership finding for what the role owns, the membership finding for what it inherits.
 */
function relationRemedy(row: OutwardRow, role: string): string {
  const kind = row.kind === "sequence" ? "SEQUENCE" : "TABLE";
  const targets = row.defaults ?? [];
  const steps = targets.filter((t) => t !== "OWNER").map((t) => `REVOKE ALL ON ${kind} ${row.object} FROM ${t};`);
  if (targets.includes("OWNER")) steps.push(`(${row.object} is owned by ${role}: see "outward: objects owned outside the schema")`);
  if (steps.length === 0) steps.push(`(${row.object} is reached through a role ${role} is a member of: see "outward: role memberships")`);
  return steps.join(" ");
}

function functionRemedy(row: OutwardRow, role: string): string {
  if (row.note === role) return `(${row.object} is owned by ${role}: see "outward: objects owned outside the schema")`;
  return `REVOKE EXECUTE ON FUNCTION ${row.object} FROM ${row.public_privileges?.includes("EXECUTE") ? "PUBLIC" : role};`;
}

/**
 * Objects in usable schemas fail; the same privileges behind a schema without USAGE are latent (warn), and
 * so are grants that expose no data (said why).
 */
function reachFinding(check: string, rows: OutwardRow[], what: string, role: string, intro: string, remedy: (row: OutwardRow) => string): Finding {
  const live = rows.filter((r) => r.usable && !harmless(r));
  const latent = rows.filter((r) => !r.usable && !harmless(r));
  const safe = rows.filter((r) => harmless(r));
  const objects = [
    ...live.map((r) => describe(r)),
    ...latent.map((r) => `${describe(r)} — latent: no USAGE on its schema`),
    ...safe.map((r) => `${describe(r)} — no data exposed: ${harmless(r)}`),
  ];
  const risky = [...live, ...latent];
  return finding(
    check,
    live.length > 0 ? "fail" : "warn",
    objects,
    risky.length > 0
      ? `${intro} Grant to the application role only: ${risky.map(remedy).join(" ")}`
      : `Nothing listed exposes application data (see why on each); to hide them anyway: ${safe.map(remedy).join(" ")}`,
    `${role} holds no privilege on any ${what} outside its schema (direct, via PUBLIC or via membership).`,
  );
}

/** Runs the outward checks: one query, one finding per check. `skipSchema` defaults to the Umami schema. */
export async function auditOutward(ctx: AuditContext, options: { skipSchema?: string } = {}): Promise<Finding[]> {
  const { spec } = ctx;
  const role = spec.role.name;
  if (!ctx.roleOid || !ctx.role) {
    return [{ check: "outward isolation", severity: "warn", objects: [], remedy: `Not checked: role ${role} does not exist.` }];
  }
  const rows = await ctx.query<OutwardRow>(OUTWARD_SQL, [
    ctx.roleOid,
    options.skipSchema ?? spec.schema,
    ALL_PRIVILEGES.table,
    ALL_PRIVILEGES.sequence,
    ALL_PRIVILEGES.schema,
    ALL_PRIVILEGES.database,
    COLUMN_PRIVILEGES,
    ALL_PRIVILEGES.table.join(", "),
    ALL_PRIVILEGES.sequence.join(", "),
    COLUMN_PRIVILEGES.join(", "),
    LARGE_OBJECTS_LISTED,
  ]);
  const of = (kind: string) => rows.filter((r) => r.kind === kind && r.privileges.length > 0);
  const schemas = rows.filter((r) => r.kind === "schema");
  const creatable = schemas.filter((r) => r.privileges.includes("CREATE"));
  const defaults = of("default");
  const databases = of("database");
  const isDefault = (r: OutwardRow, p: string) => Boolean(r.public_privileges?.includes(p) && r.defaults?.includes(p));
  const grantedDb = databases.filter((r) => r.privileges.some((p) => !isDefault(r, p)));
  const attributes = Object.entries({
    SUPERUSER: ctx.role.superuser,
    CREATEDB: ctx.role.createDb,
    CREATEROLE: ctx.role.createRole,
    REPLICATION: ctx.role.replication,
    BYPASSRLS: ctx.role.bypassRls,
  }).filter(([, on]) => on);
  const largeObjects = rows.find((r) => r.kind === "large objects");
  const loCount = Number(largeObjects?.object ?? 0);
  const foreign = rows.filter((r) => ["foreign data wrapper", "foreign server", "user mapping"].includes(r.kind));

  return [
    reachFinding("outward: tables and views", of("relation"), "table, view or foreign table", role,
      `${role} can use application tables or views.`, (r) => relationRemedy(r, role)),
    reachFinding("outward: sequences", of("sequence"), "sequence", role,
      `${role} can read or advance application sequences.`, (r) => relationRemedy(r, role)),
    reachFinding("outward: SECURITY DEFINER functions", of("function"), "SECURITY DEFINER function", role,
      `${role} can execute functions that run with their owner's privileges.`, (r) => functionRemedy(r, role)),
    finding(
      "outward: CREATE on other schemas",
      "fail",
      creatable.map((r) => describe(r, ["CREATE"])),
      `${role} can create objects in application schemas (PUBLIC keeps CREATE on public in databases created before PostgreSQL 15): ${creatable
        .map((r) => `REVOKE CREATE ON SCHEMA ${r.object} FROM ${r.public_privileges?.includes("CREATE") ? "PUBLIC" : role};`)
        .join(" ")}`,
      `${role} cannot create objects in any schema but ${spec.schema}.`,
    ),
    finding(
      "outward: USAGE on other schemas",
      "warn",
      schemas.filter((r) => r.privileges.includes("USAGE")).map((r) => describe(r, ["USAGE"])),
      `${role} can look up names in these schemas (no data: the table checks above decide that). To hide them, REVOKE USAGE ON SCHEMA <schema> FROM PUBLIC and grant USAGE to the application role.`,
      `${role} has USAGE on no schema but ${spec.schema}.`,
    ),
    finding(
      "outward: other databases (granted access)",
      "fail",
      grantedDb.map((r) => describe(r, r.privileges.filter((p) => !isDefault(r, p)))),
      `${role} holds privileges on another database beyond PostgreSQL's defaults (CREATE lets it create schemas there): ${grantedDb
        .flatMap((r) => r.privileges.filter((p) => !isDefault(r, p)).map((p) => `REVOKE ${p} ON DATABASE ${r.object} FROM ${r.public_privileges?.includes(p) ? "PUBLIC" : role};`))
        .join(" ")}`,
      `${role} holds nothing on other databases beyond PostgreSQL's defaults.`,
    ),
    finding(
      "outward: role attributes",
      "fail",
      attributes.map(([name]) => `${role} ${name}`),
      `A superuser must remove them: ALTER ROLE ${role} NO${attributes.map(([n]) => n).join(" NO")} (the spec says all are off).`,
      `${role} has none of SUPERUSER, CREATEDB, CREATEROLE, REPLICATION, BYPASSRLS.`,
    ),
    finding(
      "outward: role memberships",
      "fail",
      of("membership").map((r) => `${r.object} (${r.privileges[0]})`),
      `${role} inherits the privileges of the roles listed (the spec grants it no membership): ${of("membership")
        .filter((r) => r.privileges[0] === "direct")
        .map((r) => `REVOKE ${r.object} FROM ${role};`)
        .join(" ")}`,
      `${role} is a member of no role (neither application roles nor predefined ones such as pg_read_all_data, pg_monitor or rds_superuser).`,
    ),
    finding(
      "outward: default privileges in application schemas",
      "fail",
      defaults.map((r) => `${r.object} (${r.privileges.join(", ")})`),
      `Objects the application creates later will be granted to PUBLIC or ${role}: ${defaults.map((r) => r.note).join(" ")}`,
      `No default privilege outside ${spec.schema} grants future objects to PUBLIC or ${role}.`,
    ),
    finding(
      "outward: large objects",
      "fail",
      loCount === 0 ? [] : [`${loCount} large object(s)${largeObjects?.note === "on" ? " (lo_compat_privileges = on)" : ""}: ${largeObjects!.privileges.join(", ")}`],
      `${role} can read or write these large objects: REVOKE ALL ON LARGE OBJECT <oid> FROM PUBLIC, and turn lo_compat_privileges off.`,
      `${role} can reach no large object.`,
    ),
    finding(
      "outward: foreign servers",
      "fail",
      foreign.map((r) => `${r.kind} ${r.object}`),
      `${role} can use foreign data wrappers, servers or user mappings (a path to other databases): REVOKE USAGE ON FOREIGN SERVER <server> FROM PUBLIC and drop PUBLIC user mappings.`,
      `${role} can use no foreign data wrapper, server or user mapping.`,
    ),
  ];
}
