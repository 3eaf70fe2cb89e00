/**
 * Logins stored in user mappings (threat model class foreign-logins). A postgres_fdw or dblink user mapping holds
 * the role and password a local role connects with; on a server that points back at this cluster, the local role
 * then acts as that role: `dblink('loopback', 'SELECT … FROM umami.website')`, `IMPORT FOREIGN SCHEMA umami`, or a
 * foreign table over Umami's table (measured on 15.18: app_user, mapped to the administrator, read Umami's rows
 * through dblink with no privilege on the schema). The audit reads every mapping for a role outside the
 * administrators, or for PUBLIC:
 * - fail when it logs in as an administrator or as Umami's role on a server that connects to this cluster (no
 *   host, a Unix socket, a loopback address, or the server's own address);
 * - warn when it does so on another host (if that host is this cluster by another name, the same path is open),
 *   and when the audit cannot read the role it logs in as: PostgreSQL shows a mapping's options only to its own
 *   user and to superusers (`pg_user_mappings`), so a per-role mapping is opaque to Aurora's administrator.
 * One query over `pg_user_mappings`, batched with the other checks.
 */
import { dropUserMapping, script } from "../../sst/database/statements.js";
import { finding, type AuditContext, type Finding } from "./types.js";

// $1 the oids of the role and the administrators. Every mapping for PUBLIC or for a role outside them, with the
// server's host and wrapper, the options' `user` (null when the mapping has none: it logs in as its own role), and
// whether the administrator may read the options at all (the view's own rule).
const FOREIGN_LOGINS_SQL = `
  SELECT um.srvname::text AS server, CASE WHEN um.umuser = 0 THEN NULL ELSE um.usename::text END AS local_user,
         w.fdwname::text AS wrapper,
         (SELECT pg_catalog.substr(o, 6) FROM pg_catalog.unnest(um.umoptions) o WHERE pg_catalog.starts_with(o, 'user=')) AS remote_user,
         (SELECT pg_catalog.substr(o, 6) FROM pg_catalog.unnest(s.srvoptions) o WHERE pg_catalog.starts_with(o, 'host=')) AS host,
         pg_catalog.host(pg_catalog.inet_server_addr()) AS server_addr,
         (um.umuser = 0 AND pg_catalog.pg_has_role(s.srvowner, 'USAGE'))
           OR (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER) AS readable
    FROM pg_catalog.pg_user_mappings um
    JOIN pg_catalog.pg_foreign_server s ON s.oid = um.srvid
    JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
   WHERE um.umuser = 0 OR um.umuser <> ALL ($1::oid[])
   ORDER BY 1, 2
`;

interface MappingRow {
  server: string;
  local_user: string | null;
  wrapper: string;
  remote_user: string | null;
  host: string | null;
  server_addr: string | null;
  readable: boolean;
}

/** Whether a server's `host` option connects to this cluster: none (the default socket), a socket path, loopback, or its own address. */
function pointsHere(row: MappingRow): boolean {
  const host = (row.host ?? "").trim().toLowerCase();
  if (host === "" || host.startsWith("/") || host === "localhost" || host === "::1" || host.startsWith("127."))
    return true;
  return row.server_addr !== null && host === row.server_addr;
}

function mappingName(row: MappingRow): string {
  return `user mapping FOR ${row.local_user ?? "PUBLIC"} SERVER ${row.server} (${row.wrapper}, host ${row.host ?? "default"})`;
}

/** User mappings that log roles outside the administrators in as an administrator or as Umami's role. */
export async function auditForeignLogins(ctx: AuditContext): Promise<Finding[]> {
  const role = ctx.spec.role.name;
  const rows = await ctx.query<MappingRow>(FOREIGN_LOGINS_SQL, [ctx.allowedOids]);
  const powerful = new Set([...ctx.administrators, role]);
  const failing: MappingRow[] = [];
  const warnings: string[] = [];
  for (const row of rows) {
    if (!row.readable) {
      if (pointsHere(row))
        warnings.push(
          `${mappingName(row)} — the role it logs in as is shown only to ${row.local_user} and to superusers: if it is an administrator or ${role}, ${row.local_user} acts as that role here`,
        );
      continue;
    }
    if (!row.remote_user || !powerful.has(row.remote_user)) continue;
    if (pointsHere(row)) failing.push(row);
    else
      warnings.push(
        `${mappingName(row)} — logs in as ${row.remote_user} on host ${row.host}: if that host is this cluster, ${row.local_user ?? "every role"} acts as ${row.remote_user} here`,
      );
  }
  const objects = [
    ...failing.map(
      (r) =>
        `${mappingName(r)} — logs in to this cluster as ${r.remote_user}, so ${r.local_user ?? "every role"} acts as ${r.remote_user}`,
    ),
    ...warnings,
  ];
  return [
    finding(
      "foreign-logins",
      "inward: user mappings that log in as an administrator",
      failing.length > 0 ? "fail" : "warn",
      objects,
      failing.length > 0
        ? `Whoever a mapping serves connects back as the role it names, with that role's rights: ${script(failing.map((r) => dropUserMapping(r.local_user, r.server)))} Then, as the server's owner, map each role to a login of its own (CREATE USER MAPPING FOR … SERVER … OPTIONS (user '…', password '…')).`
        : `Check each with its own role (SELECT umoptions FROM pg_user_mappings) or a superuser; a mapping that logs in as its own role opens nothing.`,
      `No user mapping logs a role outside the administrators in to this cluster as an administrator or as ${role}.`,
    ),
  ];
}
