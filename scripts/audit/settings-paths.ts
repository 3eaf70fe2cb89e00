/**
 * What the settings stored in the cluster (`pg_db_role_setting`: ALTER ROLE/DATABASE … SET) open, in one query:
 *
 * - **search-path-shadowing** (CVE-2018-1058): a login role whose effective search_path — its setting in this
 *   database, else its own, else the database's, else ALTER ROLE ALL's, else the server's, with `"$user"`
 *   read as its name — reaches a schema it may use and where the Umami role can create objects. Whatever that
 *   role then names without a schema (a table, a view, an overloaded function or operator) may be the Umami
 *   role's, and runs with the victim's rights: an administrator's included. Schemas the victim has no USAGE
 *   on are skipped by PostgreSQL, so they are skipped here.
 * - the same for an **administrator's** path (class search-path-shadowing too): a schema on it where a login
 *   role outside the administrators can create objects. That role's overload of what the administrator calls
 *   (`pg_total_relation_size('x')` picks a text overload over pg_catalog's regclass one) runs with the
 *   administrator's rights, which grant any role, umami_user included. Superusers are left out (on Aurora,
 *   AWS's rdsadmin, which nobody else can log in as or alter).
 * - **database-wide-settings**: custom settings (`app.jwt_secret`, names no loaded module defines) stored for
 *   a database, for all roles or for any role. Every session of the database reads a database-wide one with
 *   current_setting(), and every role reads all of them in pg_db_role_setting, which PostgreSQL lets PUBLIC
 *   read: no per-role override hides one. Values are never read here, nor printed.
 */
import { alterSetting, PUBLIC, revoke, script } from "../../sst/database/statements.js";
import { finding, type AuditContext, type Finding } from "./types.js";

// $1 Umami role oid, $2 Umami schema, $3 the administrators' oids. Ranks follow PostgreSQL's precedence (role in database > role > database > all roles >
// server). The server's value is the session's reset value when no stored setting shaped it, else the
// compiled default (a non-superuser cannot read the parameter group's file).
const SETTINGS_PATHS_SQL = `
  WITH db AS (SELECT oid, datname FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()),
  stored AS (
    SELECT s.setrole, s.setdatabase, pg_catalog.split_part(c.setting, '=', 1) AS name,
           pg_catalog.substr(c.setting, pg_catalog.strpos(c.setting, '=') + 1) AS value
      FROM pg_catalog.pg_db_role_setting s CROSS JOIN LATERAL pg_catalog.unnest(s.setconfig) AS c(setting)
  ), paths AS (
    SELECT r.oid AS role_oid, r.rolname::text AS rolname, pg_catalog.quote_ident(r.rolname) AS role, p.value, p.source
      FROM pg_catalog.pg_roles r
      CROSS JOIN LATERAL (
        SELECT x.value, x.source FROM (
          SELECT st.value, (st.setrole <> 0)::int * 2 + (st.setdatabase <> 0)::int AS rank,
                 CASE WHEN st.setrole <> 0 AND st.setdatabase <> 0 THEN 'role in database' WHEN st.setrole <> 0 THEN 'role'
                      WHEN st.setdatabase <> 0 THEN 'database' ELSE 'all roles' END AS source
            FROM stored st
           WHERE st.name = 'search_path' AND st.setrole IN (r.oid, 0) AND st.setdatabase IN ((SELECT oid FROM db), 0)
          UNION ALL
          SELECT CASE WHEN g.source IN ('default', 'configuration file', 'command line', 'environment variable')
                      THEN g.reset_val ELSE g.boot_val END, -1, 'server'
            FROM pg_catalog.pg_settings g WHERE g.name = 'search_path'
        ) x ORDER BY x.rank DESC LIMIT 1
      ) p
     WHERE r.rolcanlogin AND r.oid <> $1::oid
  ), entries AS (
    SELECT paths.*, e.raw,
           CASE WHEN e.raw IN ('"$user"', '$user') THEN paths.rolname
                WHEN pg_catalog.left(e.raw, 1) = '"' THEN pg_catalog.replace(pg_catalog.substr(e.raw, 2, pg_catalog.length(e.raw) - 2), '""', '"')
                ELSE pg_catalog.lower(e.raw) END AS schema
      FROM paths
      CROSS JOIN LATERAL (SELECT m[1] AS raw FROM pg_catalog.regexp_matches(paths.value, '\\s*("(?:[^"]|"")*"|[^\\s,]+)\\s*,?', 'g') AS t(m)) e
  )
  SELECT 'search path' AS kind, e.role, e.source, e.value, pg_catalog.quote_ident(n.nspname) AS schema, e.raw,
         pg_catalog.has_schema_privilege('public', n.oid, 'CREATE') AS public_create, n.nspname = $2 AS umami,
         NULL AS name, NULL AS reset_name, (SELECT pg_catalog.quote_ident(datname) FROM db) AS database, NULL::text[] AS creators,
         NULL::text[] AS owners, e.rolname AS role_name, (SELECT datname::text FROM db) AS database_name, n.nspname::text AS schema_name
    FROM entries e JOIN pg_catalog.pg_namespace n ON n.nspname = e.schema
   WHERE pg_catalog.has_schema_privilege(e.role_oid, n.oid, 'USAGE')
     AND (pg_catalog.has_schema_privilege($1::oid, n.oid, 'CREATE') OR n.nspowner = $1::oid)
  UNION ALL
  -- An administrator's path into a schema where login roles outside the administrators create (the Umami
  -- role's own schemas are the branch above's).
  SELECT 'admin path', e.role, e.source, e.value, pg_catalog.quote_ident(n.nspname), e.raw, NULL, false, NULL, NULL,
         (SELECT pg_catalog.quote_ident(datname) FROM db), c.creators, c.owners, e.rolname, (SELECT datname::text FROM db), n.nspname::text
    FROM entries e JOIN pg_catalog.pg_namespace n ON n.nspname = e.schema
    CROSS JOIN LATERAL (
      SELECT pg_catalog.array_agg(w.name ORDER BY w.name) FILTER (WHERE w.granted) AS creators,
             pg_catalog.array_agg(w.name || CASE WHEN n.nspowner = 'pg_database_owner'::pg_catalog.regrole
                                                 THEN ' (the database''s owner, through pg_database_owner)'
                                                 ELSE ' (the schema''s owner)' END ORDER BY w.name) FILTER (WHERE NOT w.granted) AS owners
        FROM (SELECT pg_catalog.quote_ident(r.rolname) AS name,
                     -- CREATE granted (to it, a role it can become, or PUBLIC), not only held as the owner.
                     EXISTS (SELECT 1 FROM pg_catalog.aclexplode(n.nspacl) a
                              WHERE a.privilege_type = 'CREATE' AND a.grantee <> n.nspowner
                                AND (a.grantee = 0 OR pg_catalog.pg_has_role(r.oid, a.grantee, 'MEMBER'))) AS granted
                FROM pg_catalog.pg_roles r
               WHERE r.rolcanlogin AND r.oid <> ALL ($3::oid[]) AND r.oid <> $1::oid
                 AND pg_catalog.has_schema_privilege(r.oid, n.oid, 'CREATE')) w) c
   WHERE e.role_oid = ANY ($3::oid[]) AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = e.role_oid)
     AND pg_catalog.has_schema_privilege(e.role_oid, n.oid, 'USAGE')
     AND NOT (pg_catalog.has_schema_privilege($1::oid, n.oid, 'CREATE') OR n.nspowner = $1::oid)
     AND (c.creators IS NOT NULL OR c.owners IS NOT NULL)
  UNION ALL
  -- A name no schema has yet ("$user" for a role without its schema, a schema dropped since): whoever may create
  -- schemas in the database (CREATE on it) takes the name, and grants the victim USAGE itself. The Umami role
  -- for every login role's path; login roles outside the administrators for an administrator's (superusers
  -- aside, as above). Names under pg_ are the system's: nobody creates them.
  SELECT 'unclaimed path', e.role, e.source, e.value, pg_catalog.quote_ident(e.schema), e.raw, NULL, c.umami, NULL, NULL,
         (SELECT pg_catalog.quote_ident(datname) FROM db), c.creators, c.owners, e.rolname, (SELECT datname::text FROM db), e.schema::text
    FROM entries e
    CROSS JOIN LATERAL (
      SELECT pg_catalog.bool_or(w.oid = $1::oid) AS umami,
             pg_catalog.array_agg(w.name ORDER BY w.name) FILTER (WHERE w.granted) AS creators,
             pg_catalog.array_agg(w.name || ' (the database''s owner)' ORDER BY w.name) FILTER (WHERE NOT w.granted) AS owners
        FROM (SELECT r.oid, pg_catalog.quote_ident(r.rolname) AS name,
                     NOT pg_catalog.pg_has_role(r.oid, (SELECT d.datdba FROM pg_catalog.pg_database d JOIN db ON db.oid = d.oid), 'MEMBER') AS granted
                FROM pg_catalog.pg_roles r
               WHERE r.rolcanlogin AND pg_catalog.has_database_privilege(r.oid, (SELECT oid FROM db), 'CREATE')
                 AND (r.oid = $1::oid
                      OR (r.oid <> ALL ($3::oid[]) AND e.role_oid = ANY ($3::oid[])
                          AND NOT (SELECT v.rolsuper FROM pg_catalog.pg_roles v WHERE v.oid = e.role_oid)))) w) c
   WHERE e.schema !~ '^pg_' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = e.schema)
     AND (c.creators IS NOT NULL OR c.owners IS NOT NULL)
  UNION ALL
  SELECT 'custom setting', CASE WHEN st.setrole = 0 THEN NULL ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(st.setrole)) END,
         CASE WHEN st.setrole <> 0 AND st.setdatabase <> 0 THEN 'role in database' WHEN st.setrole <> 0 THEN 'role'
              WHEN st.setdatabase <> 0 THEN 'database' ELSE 'all roles' END,
         NULL, NULL, NULL, NULL, NULL, st.name,
         (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(p.part), '.' ORDER BY p.i)
            FROM pg_catalog.unnest(pg_catalog.string_to_array(st.name, '.')) WITH ORDINALITY AS p(part, i)),
         pg_catalog.quote_ident(d.datname), NULL, NULL,
         CASE WHEN st.setrole = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(st.setrole)::text END, d.datname::text, NULL
    FROM stored st LEFT JOIN pg_catalog.pg_database d ON d.oid = st.setdatabase
   WHERE pg_catalog.strpos(st.name, '.') > 0 AND st.setrole <> $1::oid
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_settings g WHERE g.name = st.name)
   ORDER BY 1, 2, 3, 5, 9
`;

interface SettingsRow {
  kind: "search path" | "admin path" | "unclaimed path" | "custom setting";
  role: string | null;
  source: "role in database" | "role" | "database" | "all roles" | "server";
  value: string | null;
  schema: string | null;
  raw: string | null;
  public_create: boolean | null;
  /** The schema is the Umami role's (a search path), or the Umami role may create it (an unclaimed one). */
  umami: boolean | null;
  name: string | null;
  /** The name as RESET accepts it (each dotted part quoted where needed). */
  reset_name: string | null;
  /** The database a setting is stored for, quoted where needed (null: all databases). */
  database: string | null;
  /** For an administrator's path: the login roles outside the administrators granted CREATE on the schema. */
  creators: string[] | null;
  /** …and those that create there only as its owner (or the database's, through pg_database_owner), with how. */
  owners: string[] | null;
  /** The role, the database and the schema as stored (remedies are built from these; null: every role, every database). */
  role_name: string | null;
  database_name: string | null;
  schema_name: string | null;
}

/** Names that say a custom setting holds a secret; any other is reported as readable, with a warning. */
const SECRET_NAME = /secret|passw|pwd|token|key|credential|salt|private|auth|jwt|dsn|url|conn/i;

/** The ALTER … statement that stores or resets a setting at `row`'s scope, e.g. `ALTER ROLE x IN DATABASE d`. */
function scope(row: Pick<SettingsRow, "source" | "role" | "database">, database: string): string {
  const role = row.role ?? "";
  const db = row.database ?? database;
  if (row.source === "role in database") return `ALTER ROLE ${role} IN DATABASE ${db}`;
  if (row.source === "role" || row.source === "server") return `ALTER ROLE ${role}`;
  if (row.source === "database") return `ALTER DATABASE ${db}`;
  return "ALTER ROLE ALL";
}

/** Where a search_path came from, as the statement that set it. */
function origin(row: SettingsRow, database: string): string {
  return row.source === "server" ? "the server's default (parameter group)" : `${scope(row, database)} SET`;
}

/**
 * The statement that stores or resets a setting at `row`'s scope. A search_path is stored for one database
 * (`role in database`) or for the role wherever it connects; a server default is overridden on the role.
 */
function store(row: SettingsRow, database: string, change: Parameters<typeof alterSetting>[1]): string {
  const db = row.database_name ?? database;
  switch (row.source) {
    case "role in database":
      return alterSetting({ role: row.role_name, database: db }, change);
    case "role":
    case "server":
      return alterSetting({ role: row.role_name }, change);
    case "database":
      return alterSetting({ database: db }, change);
    default:
      return alterSetting({}, change);
  }
}

/** The path's schemas without the entries that reach the Umami role's schemas, unquoted as the server reads them. */
function without(value: string, raws: string[]): string[] {
  const kept = (value.match(/"(?:[^"]|"")*"|[^\s,]+/g) ?? []).filter((entry) => !raws.includes(entry));
  const names = kept.map((e) => (e.startsWith('"') ? e.slice(1, -1).replace(/""/g, '"') : e.toLowerCase()));
  return names.length > 0 ? names : ["pg_catalog"];
}

function isUser(row: SettingsRow): boolean {
  return row.raw === '"$user"' || row.raw === "$user";
}

function searchPathFinding(rows: SettingsRow[], ctx: AuditContext): Finding {
  const role = ctx.spec.role.name;
  const remedies = new Set<string>();
  for (const r of rows) {
    if (!r.umami) {
      // Another schema: the path is the application's; what goes is umami_user's CREATE there.
      remedies.add(
        revoke({
          privileges: ["CREATE"],
          on: { kind: "SCHEMA", name: [r.schema_name!] },
          from: r.public_create ? PUBLIC : role,
        }),
      );
      continue;
    }
    const raws = rows.filter((x) => x.role === r.role && x.umami).map((x) => x.raw!);
    // "$user" is this role's own entry: fixed on the role, so that other roles' "$user" schemas keep working.
    const at = isUser(r) && r.source !== "role in database" ? { ...r, source: "role" as const } : r;
    remedies.add(store(at, ctx.database, { set: "search_path", to: { identifiers: without(r.value!, raws) } }));
  }
  return finding(
    "search-path-shadowing",
    "inward: search_path into schemas umami_user can create in",
    "fail",
    rows.map(
      (r) =>
        `${r.role}: search_path = ${r.value} (from ${origin(r, ctx.database)}) reaches schema ${r.schema}${isUser(r) ? ' through "$user"' : ""}, where ${role} can create objects`,
    ),
    `Whatever these roles name without a schema may be ${role}'s (a table, a view, an overloaded function or operator), and it runs with their rights (CVE-2018-1058). Take ${ctx.spec.schema} out of their path, or ${role}'s CREATE out of the others: ${script([...remedies])} Reconnect for a role setting to apply.`,
    `No login role's effective search_path reaches a schema ${role} can create in.`,
  );
}

/**
 * An administrator's path into a schema other roles create in. The remedy is on the administrator's own path
 * (never the database's or the application's: the application keeps creating where it does). A role granted
 * CREATE there fails; one that creates there only as the owner (a database the application owns: public is
 * pg_database_owner's) warns: PostgreSQL's secure schema usage pattern trusts the database owner, and the
 * threat model says so — unless the schema is the administrator's own "$user" entry: owned by another role, that
 * name was taken, and it fails.
 */
function adminPathFinding(rows: SettingsRow[], ctx: AuditContext): Finding {
  const remedies = new Set<string>();
  for (const r of rows) {
    const raws = rows.filter((x) => x.role === r.role).map((x) => x.raw!);
    const at = r.source === "role in database" ? r : { ...r, source: "role" as const };
    remedies.add(store(at, ctx.database, { set: "search_path", to: { identifiers: without(r.value!, raws) } }));
  }
  // A schema named for the administrator ("$user") that another role owns was taken, not trusted: it fails too.
  const granted = rows.some((r) => r.creators || (isUser(r) && r.owners));
  const who = (r: SettingsRow) =>
    [...(r.creators ?? []).map((c) => `${c} (granted CREATE)`), ...(r.owners ?? [])].join(", ");
  return finding(
    "search-path-shadowing",
    "inward: administrators' search_path into schemas other roles can create in",
    granted ? "fail" : "warn",
    rows.map(
      (r) =>
        `${r.role}: search_path = ${r.value} (from ${origin(r, ctx.database)}) reaches schema ${r.schema}, where ${who(r)} can create objects`,
    ),
    `Whatever an administrator names without a schema may be one of these roles' (a function overload that matches better than pg_catalog's, an operator), and it runs with the administrator's rights, which grant any role, ${ctx.spec.role.name} included (CVE-2018-1058). Take the schema out of the administrators' own path and name its objects with their schema: ${script([...remedies])} Reconnect for a role setting to apply. (Or, where the application creates nothing at runtime, take its login roles' CREATE on the schema.)${granted ? "" : " Only owners create there, whom PostgreSQL's secure schema usage pattern trusts: a warning, as long as the owner is not compromised."}`,
    `No administrator's effective search_path reaches a schema where a login role outside the administrators can create.`,
  );
}

/**
 * A path entry no schema answers to: the first role that may create schemas in the database takes the name and
 * grants the victim USAGE, and what the victim names without a schema resolves there (CVE-2018-1058). Fails when
 * the Umami role, or a role granted CREATE on the database, may take it; warns when only the database's owner
 * may (trusted, as for schemas it owns). The remedy takes the name out of the victim's own path.
 */
function unclaimedFinding(rows: SettingsRow[], ctx: AuditContext): Finding {
  const remedies = new Set<string>();
  for (const r of rows) {
    const raws = rows.filter((x) => x.role === r.role).map((x) => x.raw!);
    const at = r.source === "role in database" ? r : { ...r, source: "role" as const };
    remedies.add(`${scope(at, ctx.database)} SET search_path TO ${without(r.value!, raws)};`);
  }
  const failing = rows.some((r) => r.umami || r.creators);
  const who = (r: SettingsRow) => [...(r.creators ?? []), ...(r.owners ?? [])].join(", ");
  return finding(
    "search-path-shadowing",
    "inward: search_path entries no schema answers to yet",
    failing ? "fail" : "warn",
    rows.map(
      (r) =>
        `${r.role}: search_path = ${r.value} (from ${origin(r, ctx.database)}) names schema ${r.schema}${isUser(r) ? ' through "$user"' : ""}, which does not exist: ${who(r)} may create it (CREATE on database ${ctx.database})`,
    ),
    `A search_path entry is a name, not an object: whoever creates that schema first decides what these roles' unqualified names mean, with their rights (CVE-2018-1058). Take the name out of their own path: ${[...remedies].join(" ")} Reconnect for a role setting to apply. (Or, as an administrator, create the schema first for its role, so that nobody else can.)${failing ? "" : " Only the database's owner may create it, whom PostgreSQL's secure schema usage pattern trusts: a warning."}`,
    `Every schema named in a login role's effective search_path exists, or no role outside the administrators may create it.`,
  );
}

function customSettingsFinding(rows: SettingsRow[], ctx: AuditContext): Finding {
  const role = ctx.spec.role.name;
  const secrets = rows.filter((r) => SECRET_NAME.test(r.name!));
  const where = (r: SettingsRow) =>
    r.source === "database" || r.source === "all roles"
      ? `every session${r.database ? ` in ${r.database}` : ""} reads it with current_setting(), ${role}'s included`
      : `${role} reads it in pg_db_role_setting, which every role may read`;
  return finding(
    "database-wide-settings",
    "outward: custom settings stored in the cluster",
    secrets.length > 0 ? "fail" : "warn",
    rows.map(
      (r) =>
        `${r.name} (${scope(r, ctx.database)} SET) — ${where(r)}${SECRET_NAME.test(r.name!) ? "; its name says it holds a secret" : ""}`,
    ),
    `${role} can read these values (no per-role setting hides them: pg_db_role_setting is readable by every role). Move each secret to the application's secret store and have the application read it there first — resetting it before would break the application — then: ${script(rows.map((r) => store(r, ctx.database, { reset: r.name! })))}${secrets.length < rows.length ? " (A setting that holds no secret may stay: that is why it only warns.)" : ""}`,
    `No custom setting is stored for a database or a role (${role} would read it).`,
  );
}

/** Search paths that reach the Umami role's schemas, and custom settings it can read. */
export async function auditSettingsPaths(ctx: AuditContext): Promise<Finding[]> {
  if (!ctx.roleOid) return [];
  const rows = await ctx.query<SettingsRow>(SETTINGS_PATHS_SQL, [ctx.roleOid, ctx.spec.schema, ctx.allowedOids]);
  return [
    searchPathFinding(
      rows.filter((r) => r.kind === "search path"),
      ctx,
    ),
    adminPathFinding(
      rows.filter((r) => r.kind === "admin path"),
      ctx,
    ),
    unclaimedFinding(
      rows.filter((r) => r.kind === "unclaimed path"),
      ctx,
    ),
    customSettingsFinding(
      rows.filter((r) => r.kind === "custom setting"),
      ctx,
    ),
  ];
}
