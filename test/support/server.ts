/**
 * Integration-test support: one embedded PostgreSQL 15 per test file (roles are cluster-wide), an
 * administrator shaped like Aurora's master (member of an `rds_superuser` group), every database created
 * with Aurora's defaults (pg_stat_statements preloaded and created), and optionally the sample application.
 */
import {
  createAuroraLikeAdmin,
  installAuroraExtensions,
  SAMPLE_APP,
  seedSampleApplication,
} from "../../scripts/local/sample-app.js";
import { parseDatabaseUrl, withClient, type ConnectionSettings } from "../../scripts/kernel/db.js";
import { startEmbeddedPostgres, type EmbeddedServer } from "../../scripts/local/embedded.js";
import { provisionStage } from "../../scripts/flows/provision.js";
import { buildSpec } from "../../sst/database/spec.js";
import { stageSettings } from "../../sst/stages.js";

/** A running server for one test file. */
export interface TestServer {
  embedded: EmbeddedServer;
  /** The bootstrap superuser, database `postgres`. Use only for what an Aurora admin could not do. */
  superuser: ConnectionSettings;
  /** The Aurora-like administrator (not a superuser; member of rds_superuser), database `app`. */
  admin: ConnectionSettings;
  /** A URL for the administrator on `database` (default `app`). */
  adminUrl(database?: string): string;
  /** Creates another database owned by the administrator, with pg_stat_statements; returns the admin's settings for it. */
  createDatabase(name: string): Promise<ConnectionSettings>;
  stop(): Promise<void>;
}

export const TEST_ADMIN = { name: SAMPLE_APP.admin, password: "admin-password-for-tests" };
export const TEST_APP_PASSWORD = "app-password-for-tests";

/**
 * Starts a server with the Aurora-like admin and database `app`; seeds the sample application unless told
 * not to. `settings` are extra `postgres -c` settings (e.g. TLS from test/support/tls.ts).
 */
export async function startTestServer(
  options: { sampleApp?: boolean; settings?: Record<string, string> } = {},
): Promise<TestServer> {
  const embedded = await startEmbeddedPostgres({ settings: options.settings });
  const superuser = parseDatabaseUrl(embedded.superuserUrl);
  await withClient(superuser, (c) => createAuroraLikeAdmin(c, { ...TEST_ADMIN, database: SAMPLE_APP.database }));
  await installAuroraExtensions(superuser, SAMPLE_APP.database);
  const adminUrl = (database: string = SAMPLE_APP.database) =>
    `postgresql://${TEST_ADMIN.name}:${TEST_ADMIN.password}@127.0.0.1:${embedded.port}/${database}?sslmode=disable`;
  const admin = parseDatabaseUrl(adminUrl());
  if (options.sampleApp ?? true) await withClient(admin, (c) => seedSampleApplication(c, TEST_APP_PASSWORD));
  return {
    embedded,
    superuser,
    admin,
    adminUrl,
    async createDatabase(name) {
      await withClient(superuser, (c) => createAuroraLikeAdmin(c, { ...TEST_ADMIN, database: name }));
      await installAuroraExtensions(superuser, name);
      return parseDatabaseUrl(adminUrl(name));
    },
    stop: () => embedded.stop(),
  };
}

/** Stage dev provisioned in a database of its own: the Umami role's URL and connection settings. */
export interface UmamiStage {
  url: string;
  umami: ConnectionSettings;
}

/** Creates `database` and provisions stage dev in it, as the stack would, by the Aurora-like admin. */
export async function devStageIn(server: TestServer, database: string, password: string): Promise<UmamiStage> {
  const admin = await server.createDatabase(database);
  await withClient(admin, (c) =>
    provisionStage(c, buildSpec("dev", { ...stageSettings("dev"), database }), { admin: TEST_ADMIN.name, password }),
  );
  const url = `postgresql://umami_user:${password}@127.0.0.1:${server.embedded.port}/${database}?schema=umami&sslmode=disable`;
  return { url, umami: parseDatabaseUrl(url) };
}
