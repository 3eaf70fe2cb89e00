/**
 * Inward isolation: nobody but the Umami role and the administrators reaches into the Umami schema — by a
 * privilege, by owning one of its objects, by membership in the role, or by a default privilege that grants
 * the objects created later (in the schema, or anywhere the role creates them). Each object comes with the
 * statement that removes it: REVOKE for a privilege, ALTER … OWNER TO for an owner (a REVOKE from an owner
 * is undone by the owner at will), `FUNCTION name(args)` for functions.
 */
import {
  alterOwner,
  revoke,
  revokeDefault,
  revokeRole,
  script,
  type DefaultObjects,
} from "../../sst/database/statements.js";
import { finding, type AuditContext, type Finding } from "./types.js";

// $1 Umami schema oid, $2 Umami role oid, $3 allowed role oids. Every ACL entry (the owner's implicit ones
// via acldefault, except the owner's own: an owner is reported as owner), every owner, every member of the
// role, and every default ACL in the schema or global for the role whose grantee is not allowed (nor the
// row's own role: its implicit entry). EXECUTE granted to PUBLIC on functions is PostgreSQL's default and
// useless without USAGE on the schema (which the schema entry would show), so function ACLs count only for
// named roles.
const INWARD_SQL = `
  WITH s AS (SELECT oid, pg_catalog.quote_ident(nspname) AS nspname, nspname::text AS raw, nspowner, nspacl FROM pg_catalog.pg_namespace WHERE oid = $1::oid),
  rel AS (
    SELECT c.oid, s.nspname || '.' || pg_catalog.quote_ident(c.relname) AS object, ARRAY[s.raw, c.relname::text] AS names, c.relkind, c.relowner, c.relacl,
           CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                          WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS otype
      FROM pg_catalog.pg_class c JOIN s ON s.oid = c.relnamespace
     -- The schema's relations through their namespace dependency (pg_depend's index), not a scan of pg_class:
     -- every relation but a TOAST table, an index or a composite type records one (measured on 15.18).
     WHERE c.oid IN (SELECT d.objid FROM pg_catalog.pg_depend d
                      WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.refobjid = $1::oid
                        AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'n')
       AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  ), fn AS (
    SELECT p.oid, s.nspname || '.' || pg_catalog.quote_ident(p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS object,
           ARRAY[s.raw, p.proname::text] AS names, ARRAY[pg_catalog.pg_get_function_identity_arguments(p.oid)] AS args,
           CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END AS otype,
           p.proowner, p.proacl
      FROM pg_catalog.pg_proc p JOIN s ON s.oid = p.pronamespace
  ), entries AS (
    SELECT 'object' AS kind, 'SCHEMA' AS otype, s.nspname AS object, ARRAY[s.raw] AS names, NULL::text[] AS args, NULL::text AS col, a.grantee, a.privilege_type
      FROM s CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(s.nspacl, pg_catalog.acldefault('n', s.nspowner))) a
     WHERE a.grantee <> s.nspowner
    UNION ALL
    SELECT 'owner', 'SCHEMA', s.nspname, ARRAY[s.raw], NULL, NULL, s.nspowner, 'OWNER' FROM s
    UNION ALL
    SELECT 'object', rel.otype, rel.object, rel.names, NULL, NULL, a.grantee, a.privilege_type
      FROM rel CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(rel.relacl,
             pg_catalog.acldefault((CASE WHEN rel.relkind = 'S' THEN 's' ELSE 'r' END)::"char", rel.relowner))) a
     WHERE a.grantee <> rel.relowner
    UNION ALL
    SELECT 'column', rel.otype, rel.object || '.' || pg_catalog.quote_ident(att.attname), rel.names, NULL, att.attname::text, a.grantee, a.privilege_type
      FROM rel JOIN pg_catalog.pg_attribute att ON att.attrelid = rel.oid AND att.attnum > 0 AND NOT att.attisdropped
      CROSS JOIN LATERAL pg_catalog.aclexplode(att.attacl) a
    UNION ALL
    SELECT 'owner', rel.otype, rel.object, rel.names, NULL, NULL, rel.relowner, 'OWNER' FROM rel
    UNION ALL
    SELECT 'owner', fn.otype, fn.object, fn.names, fn.args, NULL, fn.proowner, 'OWNER' FROM fn
    UNION ALL
    SELECT 'object', fn.otype, fn.object, fn.names, fn.args, NULL, a.grantee, a.privilege_type
      FROM fn CROSS JOIN LATERAL pg_catalog.aclexplode(fn.proacl) a
     WHERE a.grantee <> 0 AND a.grantee <> fn.proowner
    UNION ALL
    SELECT 'member', 'ROLE', pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(am.roleid)), ARRAY[pg_catalog.pg_get_userbyid(am.roleid)::text],
           NULL, NULL, am.member, 'MEMBER'
      FROM pg_catalog.pg_auth_members am WHERE am.roleid = $2::oid
    UNION ALL
    SELECT 'default', CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'
                      WHEN 'f' THEN 'FUNCTIONS' WHEN 'n' THEN 'SCHEMAS' ELSE 'TYPES' END,
           'FOR ROLE ' || pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(d.defaclrole))
             || COALESCE(' IN SCHEMA ' || pg_catalog.quote_ident(n.nspname), ''),
           ARRAY[pg_catalog.pg_get_userbyid(d.defaclrole)::text, n.nspname::text], NULL, NULL, a.grantee, a.privilege_type
      FROM pg_catalog.pg_default_acl d
      LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
      CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) a
     WHERE (d.defaclnamespace = $1::oid OR (d.defaclnamespace = 0 AND d.defaclrole = $2::oid))
       AND a.grantee <> d.defaclrole
       -- EXECUTE on functions and USAGE on types go to PUBLIC by PostgreSQL's own default.
       AND NOT (a.grantee = 0 AND d.defaclobjtype IN ('f', 'T'))
  )
  SELECT kind, otype, object, names, args, col, CASE grantee WHEN 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(grantee)) END AS grantee,
         CASE grantee WHEN 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(grantee)::text END AS grantee_name,
         pg_catalog.array_agg(DISTINCT privilege_type ORDER BY privilege_type) AS privileges,
         g.rolcanlogin IS NOT FALSE AS can_login, m.through, m.through_names,
         EXISTS (SELECT 1 FROM pg_catalog.pg_shdepend o
                  WHERE o.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass AND o.refobjid = grantee AND o.deptype = 'o'
                    AND o.dbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())) AS owns
    FROM entries
    LEFT JOIN pg_catalog.pg_roles g ON g.oid = grantee
    -- The login roles outside the allowed ones that can SET ROLE to the grantee (members, however indirect).
    CROSS JOIN LATERAL (SELECT CASE WHEN grantee = 0 THEN '{}'::text[] ELSE ARRAY(
                                 SELECT pg_catalog.quote_ident(u.rolname) FROM pg_catalog.pg_roles u
                                  WHERE u.rolcanlogin AND u.oid <> grantee AND u.oid <> ALL ($3::oid[])
                                    AND pg_catalog.pg_has_role(u.oid, grantee, 'MEMBER') ORDER BY 1) END AS through,
                               CASE WHEN grantee = 0 THEN '{}'::text[] ELSE ARRAY(
                                 SELECT u.rolname::text FROM pg_catalog.pg_roles u
                                  WHERE u.rolcanlogin AND u.oid <> grantee AND u.oid <> ALL ($3::oid[])
                                    AND pg_catalog.pg_has_role(u.oid, grantee, 'MEMBER') ORDER BY pg_catalog.quote_ident(u.rolname)) END AS through_names) m
   WHERE grantee <> ALL ($3::oid[])
   GROUP BY kind, otype, object, names, args, col, grantee, g.rolcanlogin, m.through, m.through_names
   ORDER BY kind, object, grantee
`;

interface InwardRow {
  kind: "object" | "owner" | "column" | "member" | "default";
  otype: string;
  object: string;
  /**
   * The object's name in parts, as stored (remedies are built from these): [schema] or [schema, name]; the
   * role, for a member; [owner, schema or null], for default privileges.
   */
  names: string[];
  /** A routine's identity arguments, as one string. */
  args: string[] | null;
  /** The column, for a column grant. */
  col: string | null;
  grantee: string;
  /** The grantee's name as stored; null for PUBLIC. */
  grantee_name: string | null;
  privileges: string[];
  /** False only for a role that cannot log in (PUBLIC counts as able). */
  can_login: boolean;
  /** Login roles outside the administrators that are members of the grantee. */
  through: string[];
  /** The same, as stored. */
  through_names: string[];
  /** The grantee owns something in this database (a SECURITY DEFINER function or a view acts as it). */
  owns: boolean;
}

/**
 * A privilege held by a group nobody outside the administrators can act as: it cannot log in, no login role
 * outside them is its member, and it owns nothing here that would act as it. pgaudit's object-audit role is
 * one (RDS: `GRANT SELECT ON … TO rds_pgaudit` marks a table's reads for the audit log). No path until the
 * group is granted to someone: named, not failed — as privileged-roles does for such groups.
 */
const dormant = (r: InwardRow) =>
  (r.kind === "object" || r.kind === "column") && !r.can_login && r.through.length === 0 && !r.owns;
const DORMANT = " — NOLOGIN, no member outside the administrators, owns nothing here: no path until one is granted it";

/** The statement that removes one entry. */
function remedyFor(r: InwardRow, role: string, admin: string): string {
  const on = { kind: r.otype, name: r.names, args: r.args ?? [] };
  switch (r.kind) {
    case "owner":
      return alterOwner(on, r.otype === "SCHEMA" ? admin : role);
    case "column":
      return revoke({ privileges: r.privileges, columns: [r.col!], on, from: r.grantee_name });
    case "member":
      return revokeRole(r.names[0], r.grantee_name);
    case "default":
      return revokeDefault({
        forRole: r.names[0],
        inSchema: r.names[1],
        privileges: "ALL",
        on: r.otype as DefaultObjects,
        from: r.grantee_name,
      });
    default:
      return revoke({ privileges: "ALL", on, from: r.grantee_name });
  }
}

function describe(r: InwardRow): string {
  if (r.kind === "owner") return `${r.otype.toLowerCase()} ${r.object} owned by ${r.grantee}`;
  if (r.kind === "member") return `member of ${r.object} → ${r.grantee} (MEMBER)`;
  if (r.kind === "default") return `${r.otype} ${r.object} → ${r.grantee} (${r.privileges.join(", ")})`;
  const through = !r.can_login && r.through.length > 0 ? ` (and through it: ${r.through.join(", ")})` : "";
  return `${r.object} → ${r.grantee} (${r.privileges.join(", ")})${through}${dormant(r) ? DORMANT : ""}`;
}

/** For a group reached only through its members, taking the membership away keeps what the group is for. */
function memberRemedy(list: InwardRow[]): string {
  const groups = list.filter((r) => !dormant(r) && !r.can_login && r.through.length > 0 && !r.owns);
  const pairs = [...new Set(groups.flatMap((r) => r.through_names.map((m) => revokeRole(r.grantee_name!, m))))];
  return pairs.length > 0
    ? ` Or, where a group must keep its grant (pgaudit's object-audit role), take the group from the login roles that act as it: ${script(pairs)}`
    : "";
}

/** Runs the inward checks: one query, one finding per check. */
export async function auditInward(ctx: AuditContext): Promise<Finding[]> {
  const { spec } = ctx;
  const rows =
    ctx.schemaOid || ctx.roleOid
      ? await ctx.query<InwardRow>(INWARD_SQL, [ctx.schemaOid, ctx.roleOid, ctx.allowedOids])
      : [];
  const admins = `${spec.role.name} and the administrators (${ctx.administrators.join(", ")})`;
  const of = (...kinds: InwardRow["kind"][]) => rows.filter((r) => kinds.includes(r.kind));
  const remedies = (list: InwardRow[]) => script(list.map((r) => remedyFor(r, spec.role.name, ctx.adminUser)));
  const objects = of("object", "column", "owner");
  const members = of("member");
  const defaults = of("default");
  const open = objects.some((r) => !dormant(r));
  return [
    finding(
      "inward-grants",
      "inward: privileges on the Umami schema and its objects",
      open ? "fail" : "warn",
      objects.map(describe),
      open
        ? `Another role can use or change Umami's data; only ${admins} may hold privileges or own objects there: ${remedies(objects)}${memberRemedy(objects)}`
        : `No role outside the administrators can act as these groups today; the first GRANT of one to such a role opens the path (pgaudit's object-audit role may keep its grant: it only marks what is logged). To take them away: ${remedies(objects)}`,
      `Only ${admins} hold privileges on schema ${spec.schema} and its objects, or own them; PUBLIC holds none.`,
    ),
    finding(
      "inward-members",
      "inward: members of the Umami role",
      "fail",
      members.map(describe),
      `These roles inherit everything ${spec.role.name} can do: ${remedies(members)}`,
      `No role but the administrators is a member of ${spec.role.name}.`,
    ),
    finding(
      "inward-grants",
      "inward: default privileges in the Umami schema",
      "fail",
      defaults.map(describe),
      `Objects created later in ${spec.schema} (or anywhere by ${spec.role.name}) would be granted to other roles: ${remedies(defaults)}`,
      `Default privileges in ${spec.schema}, and ${spec.role.name}'s own, grant future objects to no other role.`,
    ),
  ];
}
