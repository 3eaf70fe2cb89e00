/**
 * Whether a stage was deployed where a command is about to work on it. Before `sst deploy` the stage's role does
 * not exist, and PostgreSQL answers a login as a missing role with "password authentication failed" (it never
 * says which roles exist): asked as the administrator first, the user hears the real next step.
 */
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { withClient, type ConnectionSettings } from "../kernel/db.js";
import { UserError } from "../kernel/errors.js";
import { readStageObjects } from "../stage/catalog.js";

/** The stage's role or schema is missing where a command was pointed: the next step is `sst deploy`. */
export class NotDeployedError extends UserError {}

/** Throws a one-line NotDeployedError naming `sst deploy --stage <stage>` when the stage's role or schema is missing. */
export async function requireDeployed(admin: ConnectionSettings, spec: UmamiDatabaseSpec): Promise<void> {
  const found = await withClient(admin, (c) => readStageObjects(c, spec));
  const missing = [found.role ? "" : `role ${spec.role.name}`, found.schema ? "" : `schema ${spec.schema}`].filter(
    Boolean,
  );
  if (missing.length === 0) return;
  throw new NotDeployedError(
    `${missing.join(" and ")} ${missing.length > 1 ? "do" : "does"} not exist in ${admin.host}:${admin.port}/${admin.database}: stage ${spec.stage} is not deployed there yet. ` +
      `Run \`sst deploy --stage ${spec.stage}\` first (or \`umami-db local --admin-url …\` for a database outside AWS), then post-deploy.`,
  );
}
