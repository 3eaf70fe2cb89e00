/**
 * A bench's server: an embedded PostgreSQL 15, an administrator shaped like Aurora's master, and stage dev
 * provisioned as the stack would; the Umami role's connection settings. Stops the server when setting up fails.
 */
import { buildSpec } from "../sst/database/spec.js";
import { parseDatabaseUrl, toUrl, withClient } from "../scripts/kernel/db.js";
import { generatePassword } from "../scripts/kernel/password.js";
import { startEmbeddedPostgres } from "../scripts/local/embedded.js";
import { createAuroraLikeAdmin } from "../scripts/local/sample-app.js";
import { provisionStage } from "../scripts/flows/provision.js";

/** Starts the server and provisions stage dev in database `app`; `applicationName` labels every connection. */
export async function startProvisionedStage(applicationName: string) {
  const server = await startEmbeddedPostgres();
  try {
    const superuser = parseDatabaseUrl(server.superuserUrl);
    const admin = { ...superuser, user: "app_admin", password: generatePassword(), database: "app", applicationName };
    await withClient(superuser, (c) =>
      createAuroraLikeAdmin(c, { name: admin.user, password: admin.password, database: admin.database }),
    );
    const spec = buildSpec("dev");
    const password = generatePassword();
    await withClient(admin, (c) => provisionStage(c, spec, { admin: admin.user, password }));
    const umami = parseDatabaseUrl(toUrl({ ...admin, schema: spec.schema }, { user: spec.role.name, password }), {
      applicationName,
    });
    return { server, superuser, spec, umami };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
