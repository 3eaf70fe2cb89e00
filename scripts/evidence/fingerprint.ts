/**
 * The "application untouched" proof: a stable digest of everything the application owns in
 * the database — per schema, of its tables, columns, types, defaults, constraints, indexes, views, functions,
 * sequences, triggers, policies, owners and ACLs — and of the application's roles (attributes, memberships).
 * Data is never read: sequence positions, row counts and statistics are left out so normal traffic does not
 * count as a change. Two fingerprints of an untouched database are identical; `diffFingerprints` names each
 * object that differs.
 *
 * Which schemas: every non-system schema except `excludeSchemas` (the commands pass the stage's own Umami
 * schema). Other stages' `umami_*` schemas are deliberately *included*: deploying one stage must not touch
 * another stage's schema either, and an explicit list cannot hide an application schema that happens to
 * start with `umami`. Compare fingerprints captured with the same `--stage`.
 */
import { createHash } from "node:crypto";
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { withClient, type Client, type ConnectionSettings } from "../kernel/db.js";

/** Format version of the JSON; bumped when what is digested changes, so old baselines are refused. */
export const FINGERPRINT_VERSION = 2;

/** Digests of a group of objects: one digest over all of them, and one per object key. */
export interface DigestGroup {
  digest: string;
  /** Object key (e.g. `column public.orders.total_cents`) → digest of its definition. */
  objects: Record<string, string>;
}

/** A JSON-serialisable fingerprint of the application's schemas and roles. */
export interface Fingerprint {
  version: number;
  capturedAt: string;
  database: string;
  excludedSchemas: string[];
  excludedRoles: string[];
  /** Schema name → digests of the objects in it (the schema itself is `schema <name>`, its ACL `acl <name>`). */
  schemas: Record<string, DigestGroup>;
  /** Application roles (`role <name>`) and their memberships (`membership <member> in <role>`). */
  roles: DigestGroup;
}

/** One object that differs between two fingerprints. */
export interface FingerprintChange {
  change: "added" | "removed" | "changed";
  /** The object's key, e.g. `index public.orders_pkey`, `acl public.customers`, `role app_user`. */
  object: string;
  /** The schema it lives in, or null for roles. */
  schema: string | null;
}

/** Options for `captureFingerprint`. */
interface FingerprintOptions {
  /** Schemas left out (the Umami schema of the stage being deployed). */
  excludeSchemas: string[];
  /** Roles left out, with their memberships (the Umami role). Predefined `pg_*` roles are always left out. */
  excludeRoles?: string[];
}

/** What the application is for `spec`: everything but the stage's own Umami schema and role. */
export function applicationOf(spec: Pick<UmamiDatabaseSpec, "schema" | "role">): FingerprintOptions {
  return { excludeSchemas: [spec.schema], excludeRoles: [spec.role.name] };
}

// Every row: the schema, an object key, and the object's definition as jsonb text (jsonb prints its keys in
// a fixed order, so the text is canonical). ACL arrays are sorted because GRANT/REVOKE may reorder entries.
// Expressions (views, defaults, CHECKs, index expressions, policies) are digested as their stored node trees,
// never deparsed: pg_get_expr, pg_get_viewdef, pg_get_indexdef and pg_get_constraintdef open the relation
// with a lock, so they wait behind an application holding ACCESS EXCLUSIVE, and it then waits behind them
// (docs/design.md § "Rollback and locks"). The node tree changes whenever the definition does. Version 2 digests these trees.
const SCHEMA_OBJECTS_SQL = `
  WITH ns AS (
    SELECT n.oid, n.nspname, n.nspowner, n.nspacl
      FROM pg_catalog.pg_namespace n
     WHERE n.nspname <> ALL ($1::text[])
       AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  ), rel AS (
    SELECT c.*, ns.nspname FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace
  )
  SELECT ns.nspname AS schema, 'schema ' || ns.nspname AS key,
         pg_catalog.jsonb_build_object('owner', pg_catalog.pg_get_userbyid(ns.nspowner))::text AS def
    FROM ns
  UNION ALL
  SELECT ns.nspname, 'acl ' || ns.nspname,
         pg_catalog.to_jsonb(ARRAY(SELECT a::text FROM pg_catalog.unnest(ns.nspacl) a ORDER BY 1))::text
    FROM ns
  UNION ALL
  SELECT rel.nspname,
         CASE rel.relkind WHEN 'r' THEN 'table ' WHEN 'p' THEN 'partitioned table ' WHEN 'v' THEN 'view '
              WHEN 'm' THEN 'materialized view ' WHEN 'S' THEN 'sequence ' WHEN 'f' THEN 'foreign table '
              ELSE 'composite type ' END || rel.nspname || '.' || rel.relname,
         pg_catalog.jsonb_build_object(
           'kind', rel.relkind, 'owner', pg_catalog.pg_get_userbyid(rel.relowner),
           'persistence', rel.relpersistence, 'options', ARRAY(SELECT o FROM pg_catalog.unnest(rel.reloptions) o ORDER BY 1),
           'rls', rel.relrowsecurity, 'forceRls', rel.relforcerowsecurity,
           'partitionBound', rel.relpartbound::text,
           'tablespace', ts.spcname,
           'view', CASE WHEN rel.relkind IN ('v', 'm') THEN (SELECT w.ev_action::text FROM pg_catalog.pg_rewrite w
                                                               WHERE w.ev_class = rel.oid AND w.rulename = '_RETURN') END,
           'sequence', CASE WHEN rel.relkind = 'S' THEN pg_catalog.jsonb_build_object('type', seq.seqtypid::regtype::text,
                          'start', seq.seqstart, 'increment', seq.seqincrement, 'max', seq.seqmax, 'min', seq.seqmin,
                          'cache', seq.seqcache, 'cycle', seq.seqcycle) END)::text
    FROM rel
    LEFT JOIN pg_catalog.pg_tablespace ts ON ts.oid = rel.reltablespace
    LEFT JOIN pg_catalog.pg_sequence seq ON seq.seqrelid = rel.oid
   WHERE rel.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
  UNION ALL
  SELECT rel.nspname, 'acl ' || rel.nspname || '.' || rel.relname,
         pg_catalog.to_jsonb(ARRAY(SELECT a::text FROM pg_catalog.unnest(rel.relacl) a ORDER BY 1))::text
    FROM rel WHERE rel.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  UNION ALL
  SELECT rel.nspname, 'column ' || rel.nspname || '.' || rel.relname || '.' || a.attname,
         pg_catalog.jsonb_build_object(
           'position', a.attnum, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod), 'notNull', a.attnotnull,
           'default', d.adbin::text, 'identity', a.attidentity,
           'generated', a.attgenerated, 'collation', co.collname)::text
    FROM rel
    JOIN pg_catalog.pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
   WHERE rel.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
  UNION ALL
  SELECT rel.nspname, 'acl ' || rel.nspname || '.' || rel.relname || '.' || a.attname,
         pg_catalog.to_jsonb(ARRAY(SELECT x::text FROM pg_catalog.unnest(a.attacl) x ORDER BY 1))::text
    FROM rel
    JOIN pg_catalog.pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
   WHERE a.attacl IS NOT NULL
  UNION ALL
  SELECT ns.nspname, 'constraint ' || ns.nspname || '.' || COALESCE(r.relname, t.typname) || '.' || con.conname,
         -- Catalog fields rather than pg_get_constraintdef() (slow on thousands of keys, and it locks the table).
         pg_catalog.jsonb_build_object('type', con.contype, 'keys', con.conkey::text,
           'references', CASE WHEN con.confrelid <> 0 THEN con.confrelid::regclass::text END,
           'referencedKeys', con.confkey::text, 'onUpdate', con.confupdtype, 'onDelete', con.confdeltype,
           'match', con.confmatchtype, 'deferrable', con.condeferrable, 'deferred', con.condeferred,
           'validated', con.convalidated, 'noInherit', con.connoinherit,
           'definition', con.conbin::text, 'exclusionOperators', con.conexclop::text)::text
    FROM pg_catalog.pg_constraint con
    JOIN ns ON ns.oid = con.connamespace
    LEFT JOIN pg_catalog.pg_class r ON r.oid = con.conrelid
    LEFT JOIN pg_catalog.pg_type t ON t.oid = con.contypid
  UNION ALL
  SELECT rel.nspname, 'index ' || rel.nspname || '.' || rel.relname,
         -- Catalog fields rather than pg_get_indexdef() (slow on thousands of indexes, and it locks the table).
         pg_catalog.jsonb_build_object('table', t.relname, 'method', am.amname, 'keys', i.indkey::text,
           'opclasses', i.indclass::text, 'collations', i.indcollation::text, 'options', i.indoption::text,
           'unique', i.indisunique, 'nullsNotDistinct', i.indnullsnotdistinct, 'primary', i.indisprimary,
           'expressions', i.indexprs::text,
           'predicate', i.indpred::text,
           'clustered', i.indisclustered, 'valid', i.indisvalid, 'tablespace', ts.spcname,
           'storage', ARRAY(SELECT o FROM pg_catalog.unnest(rel.reloptions) o ORDER BY 1))::text
    FROM rel JOIN pg_catalog.pg_index i ON i.indexrelid = rel.oid
    JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
    JOIN pg_catalog.pg_am am ON am.oid = rel.relam
    LEFT JOIN pg_catalog.pg_tablespace ts ON ts.oid = rel.reltablespace
  UNION ALL
  SELECT ns.nspname, 'function ' || ns.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
         pg_catalog.jsonb_build_object('kind', p.prokind, 'owner', pg_catalog.pg_get_userbyid(p.proowner),
           'result', pg_catalog.pg_get_function_result(p.oid), 'language', l.lanname,
           'source', pg_catalog.md5(COALESCE(p.prosrc, '') || '/' || COALESCE(p.probin, '')),
           'securityDefiner', p.prosecdef, 'volatility', p.provolatile, 'strict', p.proisstrict,
           'leakproof', p.proleakproof, 'parallel', p.proparallel,
           'config', ARRAY(SELECT c FROM pg_catalog.unnest(p.proconfig) c ORDER BY 1))::text
    FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace
    JOIN pg_catalog.pg_language l ON l.oid = p.prolang
  UNION ALL
  SELECT ns.nspname, 'acl ' || ns.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
         pg_catalog.to_jsonb(ARRAY(SELECT a::text FROM pg_catalog.unnest(p.proacl) a ORDER BY 1))::text
    FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace
  UNION ALL
  SELECT rel.nspname, 'trigger ' || rel.nspname || '.' || rel.relname || '.' || tg.tgname,
         pg_catalog.jsonb_build_object('definition', pg_catalog.pg_get_triggerdef(tg.oid), 'enabled', tg.tgenabled)::text
    FROM rel JOIN pg_catalog.pg_trigger tg ON tg.tgrelid = rel.oid AND NOT tg.tgisinternal
  UNION ALL
  SELECT rel.nspname, 'policy ' || rel.nspname || '.' || rel.relname || '.' || po.polname,
         pg_catalog.jsonb_build_object('command', po.polcmd, 'permissive', po.polpermissive,
           'roles', ARRAY(SELECT CASE r WHEN 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(r)::text END
                            FROM pg_catalog.unnest(po.polroles) r ORDER BY 1),
           'using', po.polqual::text,
           'check', po.polwithcheck::text)::text
    FROM rel JOIN pg_catalog.pg_policy po ON po.polrelid = rel.oid
  UNION ALL
  SELECT ns.nspname, 'type ' || ns.nspname || '.' || t.typname,
         pg_catalog.jsonb_build_object('kind', t.typtype, 'owner', pg_catalog.pg_get_userbyid(t.typowner),
           'base', CASE WHEN t.typbasetype <> 0 THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) END,
           'notNull', t.typnotnull, 'default', t.typdefault,
           'labels', ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder),
           'acl', ARRAY(SELECT a::text FROM pg_catalog.unnest(t.typacl) a ORDER BY 1))::text
    FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace
   WHERE t.typtype IN ('d', 'e', 'r', 'm') OR (t.typtype = 'b' AND t.typelem = 0 AND t.typarray <> 0)
  UNION ALL
  SELECT ns.nspname, 'extension ' || e.extname,
         pg_catalog.jsonb_build_object('version', e.extversion, 'owner', pg_catalog.pg_get_userbyid(e.extowner))::text
    FROM pg_catalog.pg_extension e JOIN ns ON ns.oid = e.extnamespace
`;

// Application roles: everything but the predefined pg_* roles and the excluded ones. Passwords are never read
// (pg_roles masks them anyway); memberships are keyed by both names so a new grant is an added object.
const ROLES_SQL = `
  SELECT 'role ' || r.rolname AS key,
         pg_catalog.jsonb_build_object('superuser', r.rolsuper, 'inherit', r.rolinherit, 'createRole', r.rolcreaterole,
           'createDb', r.rolcreatedb, 'login', r.rolcanlogin, 'replication', r.rolreplication,
           'bypassRls', r.rolbypassrls, 'connectionLimit', r.rolconnlimit, 'validUntil', r.rolvaliduntil,
           'config', ARRAY(SELECT c FROM pg_catalog.unnest(r.rolconfig) c ORDER BY 1))::text AS def
    FROM pg_catalog.pg_roles r
   WHERE r.rolname !~ '^pg_' AND r.rolname <> ALL ($1::text[])
  UNION ALL
  SELECT 'membership ' || m.rolname || ' in ' || g.rolname,
         pg_catalog.jsonb_build_object('admin', am.admin_option)::text
    FROM pg_catalog.pg_auth_members am
    JOIN pg_catalog.pg_roles m ON m.oid = am.member
    JOIN pg_catalog.pg_roles g ON g.oid = am.roleid
   WHERE m.rolname !~ '^pg_' AND m.rolname <> ALL ($1::text[]) AND g.rolname <> ALL ($1::text[])
`;

/** Short digest of a string: 64 bits of SHA-256 are plenty to notice a change and keep baselines small. */
export function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

function group(objects: Record<string, string>): DigestGroup {
  const sorted = Object.keys(objects).sort();
  const ordered: Record<string, string> = {};
  for (const key of sorted) ordered[key] = objects[key];
  return { digest: digest(sorted.map((k) => `${k}=${ordered[k]}\n`).join("")), objects: ordered };
}

function isClient(value: ConnectionSettings | Client): value is Client {
  return typeof (value as Client).query === "function";
}

/** The catalog queries a fingerprint costs (for the audit's query count). */
const FINGERPRINT_QUERIES = 2;

/** Captures the fingerprint of the application's schemas and roles, reading the catalogs only (2 queries). */
export async function captureFingerprint(
  admin: ConnectionSettings | Client,
  options: FingerprintOptions,
): Promise<Fingerprint> {
  if (!isClient(admin)) return withClient(admin, (client) => captureFingerprint(client, options));
  const excludedSchemas = [...new Set(options.excludeSchemas)].sort();
  const excludedRoles = [...new Set(options.excludeRoles ?? [])].sort();
  const objects = await admin.query<{ schema: string; key: string; def: string; database: string }>(
    `SELECT pg_catalog.current_database() AS database, o.* FROM (${SCHEMA_OBJECTS_SQL}) o`,
    [excludedSchemas],
  );
  const roles = await admin.query<{ key: string; def: string }>(ROLES_SQL, [excludedRoles]);
  const bySchema = new Map<string, Record<string, string>>();
  for (const row of objects.rows) {
    const entries = bySchema.get(row.schema) ?? {};
    entries[row.key] = digest(row.def);
    bySchema.set(row.schema, entries);
  }
  const schemas: Record<string, DigestGroup> = {};
  for (const name of [...bySchema.keys()].sort()) schemas[name] = group(bySchema.get(name)!);
  const roleObjects: Record<string, string> = {};
  for (const row of roles.rows) roleObjects[row.key] = digest(row.def);
  const database =
    objects.rows[0]?.database ??
    (await admin.query<{ db: string }>("SELECT pg_catalog.current_database() AS db")).rows[0].db;
  return {
    version: FINGERPRINT_VERSION,
    capturedAt: new Date().toISOString(),
    database,
    excludedSchemas,
    excludedRoles,
    schemas,
    roles: group(roleObjects),
  };
}

// The same digests, computed by the server: per schema and for the roles, each group's digest exactly as
// group() computes it (keys sorted bytewise, "key=digest\n" lines, SHA-256 cut to 16 hex digits), so an
// untouched database is proven so by 52 short rows instead of every object's definition sent and hashed here.
// $1 excluded schemas, $2 excluded roles.
const DIGESTS_SQL = `
  SELECT pg_catalog.current_database() AS database,
         (SELECT pg_catalog.jsonb_object_agg(g.schema, g.digest) FROM (
            SELECT o.schema, ${groupDigest("o")} AS digest FROM (${SCHEMA_OBJECTS_SQL}) o GROUP BY o.schema) g) AS schemas,
         (SELECT ${groupDigest("r")} FROM (${ROLES_SQL.replace(/\$1/g, () => "$2")}) r) AS roles
`;

function groupDigest(alias: string): string {
  const line = `${alias}.key || '=' || pg_catalog.substr(pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(${alias}.def, 'UTF8')), 'hex'), 1, 16) || E'\\n'`;
  const text = `COALESCE(pg_catalog.string_agg(${line}, '' ORDER BY ${alias}.key COLLATE "C"), '')`;
  return `pg_catalog.substr(pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(${text}, 'UTF8')), 'hex'), 1, 16)`;
}

/**
 * What changed in the application since `baseline`: the server's group digests first (one query); only when
 * one differs is the whole fingerprint captured and compared object by object. `queries` counts them.
 */
export async function fingerprintChanges(
  admin: ConnectionSettings | Client,
  baseline: Fingerprint,
): Promise<{ changed: FingerprintChange[]; queries: number }> {
  if (!isClient(admin)) return withClient(admin, (client) => fingerprintChanges(client, baseline));
  const options = { excludeSchemas: baseline.excludedSchemas, excludeRoles: baseline.excludedRoles };
  const { rows } = await admin.query<{ database: string; schemas: Record<string, string> | null; roles: string }>(
    DIGESTS_SQL,
    [options.excludeSchemas, options.excludeRoles],
  );
  const now = rows[0];
  const schemas = now.schemas ?? {};
  const names = Object.keys(baseline.schemas);
  const same =
    now.database === baseline.database &&
    now.roles === baseline.roles.digest &&
    names.length === Object.keys(schemas).length &&
    names.every((name) => schemas[name] === baseline.schemas[name].digest);
  if (same) return { changed: [], queries: 1 };
  return {
    changed: diffFingerprints(baseline, await captureFingerprint(admin, options)),
    queries: 1 + FINGERPRINT_QUERIES,
  };
}

function flatten(fp: Fingerprint): Map<string, { digest: string; schema: string | null }> {
  const all = new Map<string, { digest: string; schema: string | null }>();
  for (const [schema, g] of Object.entries(fp.schemas)) {
    for (const [key, d] of Object.entries(g.objects)) all.set(key, { digest: d, schema });
  }
  for (const [key, d] of Object.entries(fp.roles.objects)) all.set(key, { digest: d, schema: null });
  return all;
}

/** Names every object added, removed or changed between two fingerprints (sorted by object key). */
export function diffFingerprints(before: Fingerprint, after: Fingerprint): FingerprintChange[] {
  const a = flatten(before);
  const b = flatten(after);
  const changes: FingerprintChange[] = [];
  for (const [object, old] of a) {
    const now = b.get(object);
    if (!now) changes.push({ change: "removed", object, schema: old.schema });
    else if (now.digest !== old.digest) changes.push({ change: "changed", object, schema: now.schema });
  }
  for (const [object, now] of b) if (!a.has(object)) changes.push({ change: "added", object, schema: now.schema });
  return changes.sort((x, y) => (x.object < y.object ? -1 : x.object > y.object ? 1 : 0));
}

/** Checks that parsed JSON is a fingerprint this version can compare; returns a reason when it is not. */
export function fingerprintProblem(value: unknown): string | null {
  const fp = value as Partial<Fingerprint> | null;
  if (!fp || typeof fp !== "object") return "it is not a JSON object";
  if (fp.version !== FINGERPRINT_VERSION)
    return `its version is ${JSON.stringify(fp.version)}, this tool writes ${FINGERPRINT_VERSION}`;
  if (typeof fp.database !== "string" || !fp.schemas || typeof fp.schemas !== "object")
    return "it has no database or schemas";
  if (!fp.roles || typeof fp.roles.objects !== "object") return "it has no roles";
  return null;
}
