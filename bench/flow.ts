/**
 * The deploy flow the impact benchmark runs against a live application: provisioning from the spec as the
 * Aurora-like administrator, Umami's migrations as the stage's role, the isolation audit with its probes —
 * and a monitor that counts the connections the flow holds at once.
 */
import { buildSpec } from "../sst/database/spec.js";
import { auditIsolation } from "../scripts/audit/audit.js";
import { parseDatabaseUrl, toUrl, withClient, type Client, type ConnectionSettings } from "../scripts/kernel/db.js";
import { applyMigrations } from "../scripts/migrate/runner.js";
import type { MigrationSet } from "../scripts/migrate/sources.js";
import { generatePassword } from "../scripts/kernel/password.js";
import { provisionStage } from "../scripts/flows/provision.js";
import { captureBaseline } from "../scripts/evidence/baseline.js";
import { captureFingerprint } from "../scripts/evidence/fingerprint.js";

/** Provisions `stage`, migrates it as its role and audits it; returns the time taken. */
export async function deployFlow(
  admin: ConnectionSettings,
  stage: string,
  migrations: MigrationSet,
): Promise<{ ms: number; ok: boolean }> {
  const started = performance.now();
  const spec = buildSpec(stage, { clusterIdentifier: "bench", database: admin.database });
  const password = generatePassword();
  await withClient(admin, (c) => provisionStage(c, spec, { admin: admin.user, password }));
  const umami = parseDatabaseUrl(toUrl({ ...admin, schema: spec.schema }, { user: spec.role.name, password }), {
    applicationName: "umami-db migrate",
  });
  await applyMigrations(umami, migrations);
  const audit = await auditIsolation({ admin, umami, spec });
  return { ms: performance.now() - started, ok: audit.ok };
}

/**
 * One full deploy, as `local` and `sst deploy` + `post-deploy` run it: the "before" fingerprint and baseline,
 * provisioning, Umami's migrations as the stage's role, the audit (probes, fingerprint compared) and the
 * "after" baseline. Returns the time taken and whether the audit passed.
 */
export async function fullDeployFlow(
  admin: ConnectionSettings,
  stage: string,
  migrations: MigrationSet,
): Promise<{ ms: number; ok: boolean }> {
  const started = performance.now();
  const spec = buildSpec(stage, { clusterIdentifier: "bench", database: admin.database });
  const scope = { excludeSchemas: [spec.schema], excludeRoles: [spec.role.name] };
  const fingerprint = await captureFingerprint(admin, scope);
  await captureBaseline(admin, { label: "before", umamiSchema: spec.schema });
  const password = generatePassword();
  await withClient(admin, (c) => provisionStage(c, spec, { admin: admin.user, password }));
  const umami = parseDatabaseUrl(toUrl({ ...admin, schema: spec.schema }, { user: spec.role.name, password }), {
    applicationName: "umami-db migrate",
  });
  await applyMigrations(umami, migrations);
  const audit = await auditIsolation({ admin, umami, spec, baselineFingerprint: fingerprint });
  await captureBaseline(admin, { label: "after", umamiSchema: spec.schema });
  return { ms: performance.now() - started, ok: audit.ok };
}

/**
 * Samples `pg_stat_activity` every few milliseconds while `fn` runs and returns the most connections whose
 * `application_name` starts with `umami-db` seen at once (the monitor's own session is named otherwise).
 */
export async function peakConnections<T>(
  monitor: ConnectionSettings,
  fn: () => Promise<T>,
): Promise<{ result: T; peak: number; samples: number }> {
  return withClient({ ...monitor, applicationName: "bench monitor" }, async (client: Client) => {
    let peak = 0;
    let samples = 0;
    let done = false;
    const sampling = (async () => {
      while (!done) {
        const { rows } = await client.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_catalog.pg_stat_activity WHERE application_name LIKE 'umami-db%' AND application_name NOT LIKE 'umami-db bench%'",
        );
        peak = Math.max(peak, rows[0].n);
        samples += 1;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    try {
      const result = await fn();
      return { result, peak, samples };
    } finally {
      done = true;
      await sampling;
    }
  });
}
