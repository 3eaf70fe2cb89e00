/**
 * The Umami role's limits against the spec: CONNECTION LIMIT (derived from Umami's pools, `connectionBudget`)
 * and the settings `ALTER ROLE … SET` gives it (search_path, the statement-timeout guard, the idle-in-transaction
 * timeout). Read from the context's one role query; no extra round trip.
 */
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { finding, type AuditContext, type Finding } from "./types.js";

/** The settings provisioning gives the role, as PostgreSQL stores them in `pg_roles.rolconfig`. */
function expectedConfig(spec: UmamiDatabaseSpec): Record<string, string> {
  return {
    search_path: spec.role.searchPath.join(", "),
    statement_timeout: String(spec.role.statementTimeoutMs),
    idle_in_transaction_session_timeout: String(spec.role.idleInTransactionTimeoutMs),
  };
}

/** Connection limit and settings: a limit below the spec's fails (a rolling deploy would exhaust it), settings that differ warn. */
export function roleSettingsFindings(ctx: AuditContext): Finding[] {
  const { spec, role } = ctx;
  if (!role) return [];
  const budget = spec.role.connectionBudget;
  const limit = role.connectionLimit;
  const limitFinding = finding(
    "umami role: connection limit",
    "fail",
    limit === budget.total ? [] : [`${spec.role.name} CONNECTION LIMIT ${limit === -1 ? "none (-1)" : limit}, the spec says ${budget.total}`],
    limit !== -1 && limit < budget.total
      ? `Umami's pools need ${budget.formula}: with fewer, a rolling deploy fails queries with "too many connections for role". Redeploy the stack (sst deploy) so the role gets the spec's limit.`
      : `Without the spec's limit Umami's pools could take connections the application needs: redeploy the stack (sst deploy) so the role gets ${budget.total}.`,
    `${spec.role.name} may hold ${budget.total} connections: ${budget.formula}.`,
  );
  // rolconfig holds "name=value" entries; search_path as written by ALTER ROLE (quoted when needed).
  const found = Object.fromEntries((role.config ?? []).map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1).replace(/"/g, "")]));
  const differing = Object.entries(expectedConfig(spec))
    .filter(([name, value]) => found[name] !== value)
    .map(([name, value]) => `${name} = ${found[name] ?? "unset"} (spec: ${value})`);
  const settingsFinding = finding(
    "umami role: settings",
    "warn",
    differing,
    `Someone changed ${spec.role.name}'s settings; the statement timeout is Umami's only guard against runaway queries (its migrations lift it through DIRECT_DATABASE_URL). Redeploy the stack (sst deploy) to restore them.`,
    `${spec.role.name} has search_path ${spec.schema}, statement_timeout ${spec.role.statementTimeoutMs} ms (lifted for migrations by DIRECT_DATABASE_URL) and idle_in_transaction_session_timeout ${spec.role.idleInTransactionTimeoutMs} ms.`,
  );
  return [limitFinding, settingsFinding];
}
