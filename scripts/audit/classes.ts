/**
 * The path classes of the threat model (docs/threat-model.md): every finding names one, so that a reviewer can
 * go from a line of `verify --json` to the class, its verdict rule and the test that proves it. One list; the
 * ids are stable (reports, CI and the threat model quote them).
 */

/** Class id → one-line title: the grant checks first, then the paths no grant shows, in the threat model's order. */
export const AUDIT_CLASSES = {
  existence: "The Umami role and schema exist, in the database the stage names",
  "outward-privileges":
    "Umami's role holds privileges on application objects (tables, columns, sequences, functions, schemas, defaults, large objects, foreign servers)",
  "other-databases": "Umami's role reaches other databases of the cluster, audited there as deeply",
  ownership: "Umami's role owns objects outside its schema (an owner keeps every privilege)",
  "role-attributes":
    "Umami's role has attributes beyond the spec (SUPERUSER, CREATEDB, CREATEROLE, REPLICATION, BYPASSRLS, connection limit)",
  memberships: "Umami's role inherits other roles' privileges (application and predefined roles)",
  "role-settings": "Umami's role carries settings beyond the spec's (search_path, timeouts), in any database",
  "inward-grants":
    "Roles outside the administrators hold privileges on, or own, Umami's schema and objects, or get its future objects",
  "inward-members": "Roles outside the administrators are members of Umami's role",
  "privileged-roles":
    "Roles outside the administrators bypass privileges (pg_read_all_data…) or can grant themselves any role (CREATEROLE)",
  triggers: "Code that runs inside Umami's statements: triggers and rules on its tables, event triggers",
  "intended-grants": "Umami's role holds exactly the spec's privileges: missing and extra",
  probes: "Live probes as Umami's role agree with the catalogs",
  fingerprint: "The application's schemas and roles are unchanged since the baseline",
  "search-path-shadowing":
    "A role's effective search_path reaches a schema Umami's role can create in, or an administrator's one where other login roles can: their code runs with that role's rights (CVE-2018-1058)",
  "admin-by-membership":
    "Roles that are members of an administrator hold its powers without being declared administrators",
  "inward-via-objects":
    "Views, materialized views and functions owned by others read Umami's tables for non-administrators",
  "inward-via-replication":
    "Replication roles, publications and logical slots ship Umami's rows without a SELECT privilege",
  "database-wide-settings":
    "Settings stored in the cluster (ALTER DATABASE/ROLE … SET) are readable by Umami's role: secrets in custom settings",
  "foreign-objects-in-schema":
    "Objects in Umami's schema that Umami's role does not own: granted to it by provisioning, or reading elsewhere with their owner's rights",
  "definer-escalation":
    "SECURITY DEFINER functions of administrators or CREATEROLE roles executable by non-administrators",
  "latent-grants":
    "Privileges behind a schema without USAGE, reachable through paths that never check the schema (pg_stats, sequence functions by OID)",
  "planted-code":
    "Views, policies and SECURITY INVOKER functions in Umami's schema run with the rights of whoever reads or writes its data, administrators included",
  "cross-schema-links":
    "Inheritance, partitions and foreign keys link Umami's tables with tables outside its schema: rows read, checked or deleted across without a privilege",
  "parameter-privileges":
    "Umami's role may set superuser-only parameters or write the server's configuration (GRANT SET / ALTER SYSTEM ON PARAMETER); ALTER SYSTEM held outside the administrators",
  "live-effects":
    "Code that Umami's own DDL and writes set off (event triggers, triggers, constraints, defaults, policies), observed live in a rolled-back transaction: privileges, owners and objects changed, rows written and NOTIFY sent outside its schema",
  notifications:
    "Application functions and documented C triggers (contrib tcn) send NOTIFY payloads beyond a surrogate key, which Umami's role receives on LISTEN without any privilege (same database)",
  "foreign-logins":
    "User mappings (postgres_fdw, dblink) log roles outside the administrators in to this cluster as an administrator or as Umami's role",
  "opaque-code":
    "Code whose effect the catalogs cannot show (function bodies, SQL passed as text, views', rules' and triggers' text, pinned search_paths) runs with other roles' rights and names a schema Umami's role creates in",
} as const satisfies Record<string, string>;

/** A path class id (see `AUDIT_CLASSES`). */
export type AuditClass = keyof typeof AUDIT_CLASSES;
