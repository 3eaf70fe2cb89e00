/**
 * Whether a stage was deployed where a command is about to work on it. Before `sst deploy` the stage's role does
 * not exist, and PostgreSQL answers a login as a missing role with "password authentication failed" (it never
 * says which roles exist): asked as the administrator first, the user hears the real next step.
 */
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { withClient, type ConnectionSettings } from "../kernel/db.js";
import { UserError } from "../kernel/errors.js";

/** The stage's role or schema is missing where a command was pointed: the next step is `sst deploy`. */
export class NotDeployedError extends UserError {}

/** Throws a one-line NotDeployedError naming `sst deploy --stage <stage>` when the stage's role or schema is missing. */
export async function requireDeployed(admin: ConnectionSettings, spec: UmamiDatabaseSpec): Promise<void> {
  const { rows } = await withClient(admin, (c) =>
    c.query<{ role: boolean; schema: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1) AS role,
              EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $2) AS schema`,
      [spec.role.name, spec.schema],
    ),
  );
  const missing = [rows[0].role ? "" : `role ${spec.role.name}`, rows[0].schema ? "" : `schema ${spec.schema}`].filter(
    Boolean,
  );
  if (missing.length === 0) return;
  throw new NotDeployedError(
    `${missing.join(" and ")} ${missing.length > 1 ? "do" : "does"} not exist in ${admin.host}:${admin.port}/${admin.database}: stage ${spec.stage} is not deployed there yet. ` +
      `Run \`sst deploy --stage ${spec.stage}\` first (or \`umami-db local --admin-url …\` for a database outside AWS), then post-deploy.`,
  );
}
