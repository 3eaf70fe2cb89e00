/**
 * The audit's cost must not grow with round trips: an application of 50 schemas ×
 * 200 tables (each with a primary key and a sequence, PUBLIC USAGE on half the schemas) in a fresh database,
 * the stage provisioned, then `auditIsolation` timed against the naive per-object loop — one
 * `has_table_privilege(role, table, 'SELECT, INSERT, …')` round trip per relation, the cheapest per-object
 * question — on the same database. Medians over a few rounds, each side warmed up once. With `delayMs`, both
 * sides are measured once more through a proxy that delays every answer (a network's round trip, measured).
 * Goals: AUDIT_GOALS below. Run directly (`npx tsx bench/audit.ts`, BENCH_DELAY_MS=0 to skip the
 * proxy) it starts its own embedded PostgreSQL and prints one JSON line.
 */
import { pathToFileURL } from "node:url";
import { ALL_PRIVILEGES, buildSpec } from "../sst/database/spec.js";
import { auditIsolation } from "../scripts/audit/audit.js";
import { quoteIdent } from "../sst/database/quote.js";
import { parseDatabaseUrl, toUrl, withClient, type ConnectionSettings } from "../scripts/kernel/db.js";
import { startEmbeddedPostgres } from "../scripts/local/embedded.js";
import { applicationOf, captureFingerprint } from "../scripts/evidence/fingerprint.js";
import { provisionStage } from "../scripts/flows/provision.js";
import { createAuroraLikeAdmin, installAuroraExtensions } from "../scripts/local/sample-app.js";
import { median } from "./stats.js";

/**
 * The audit's goals: one place for the bench's verdicts and docs/benchmarks.md's table (a test holds
 * the document to them). The ratio is the per-object loop ÷ the audit, on loopback and through the proxy.
 */
export const AUDIT_GOALS = { auditMs: 300, loopbackRatio: 20, proxyRatio: 100 } as const;
import { measureRoundTrip, startLatencyProxy } from "./latency-proxy.js";
import { generatePassword } from "../scripts/kernel/password.js";

/** Medians in milliseconds; `ratio` = loop ÷ audit. */
export interface AuditBench {
  schemas: number;
  tablesPerSchema: number;
  /** Relations outside the Umami schema the loop asks about (tables and their sequences). */
  relations: number;
  auditMs: number;
  /** The audit with live probes and a fingerprint comparison, for reference. */
  fullAuditMs: number;
  loopMs: number;
  ratio: number;
  /** Catalog queries one audit issues (without probes and fingerprint). */
  queries: number;
  /**
   * The same two sides measured once more through a proxy that delays each answer (bench/latency-proxy.ts),
   * as a network between the runner and Aurora would; null when not asked for.
   */
  delayed: {
    delayMs: number;
    roundTripMs: number;
    loopbackRoundTripMs: number;
    auditMs: number;
    loopMs: number;
    ratio: number;
  } | null;
}

const DATABASE = "bench_audit";
// Generated per run: the benchmark's throwaway server needs passwords, the repository holds none.
const ADMIN = { name: "bench_admin", password: generatePassword() };
const UMAMI_PASSWORD = generatePassword();

// One round trip builds the whole application; the sizes are parameters, the names are generated server-side.
const BUILD_SQL = `
  DO $build$
  DECLARE s integer; t integer;
  BEGIN
    FOR s IN 1..current_setting('bench.schemas')::integer LOOP
      EXECUTE format('CREATE SCHEMA %I', 'app_' || s);
      IF s % 2 = 0 THEN EXECUTE format('GRANT USAGE ON SCHEMA %I TO PUBLIC', 'app_' || s); END IF;
      FOR t IN 1..current_setting('bench.tables')::integer LOOP
        EXECUTE format('CREATE TABLE %I.%I (id serial PRIMARY KEY, payload text, created_at timestamptz DEFAULT now())',
                       'app_' || s, 't_' || t);
      END LOOP;
      -- One transaction per schema: 200 tables with their indexes and sequences fit max_locks_per_transaction.
      COMMIT;
    END LOOP;
  END
  $build$
`;

/**
 * Builds the application in a fresh database `bench_audit` on the server `superuser` reaches (dropped first
 * when it exists), provisions the dev stage as an Aurora-like administrator and measures.
 */
export async function benchAudit(
  superuser: ConnectionSettings,
  options: { schemas?: number; tablesPerSchema?: number; rounds?: number; delayMs?: number } = {},
): Promise<AuditBench> {
  const schemas = options.schemas ?? 50;
  const tablesPerSchema = options.tablesPerSchema ?? 200;
  const rounds = options.rounds ?? 3;
  const spec = buildSpec("dev", { clusterIdentifier: "bench", database: DATABASE });
  await withClient(superuser, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(DATABASE)}`);
    await createAuroraLikeAdmin(c, { ...ADMIN, database: DATABASE });
  });
  await installAuroraExtensions(superuser, DATABASE);
  const admin: ConnectionSettings = { ...superuser, user: ADMIN.name, password: ADMIN.password, database: DATABASE };
  await withClient(admin, async (c) => {
    await c.query(
      "SELECT pg_catalog.set_config('bench.schemas', $1, false), pg_catalog.set_config('bench.tables', $2, false)",
      [String(schemas), String(tablesPerSchema)],
    );
    await c.query(BUILD_SQL);
    await provisionStage(c, spec, { admin: ADMIN.name, password: UMAMI_PASSWORD });
  });
  const umami = parseDatabaseUrl(toUrl(admin, { user: spec.role.name, password: UMAMI_PASSWORD }));

  // Both sides run on a fresh connection (a new backend, cold catalog caches) and are timed once connected.
  const timeAudit = (settings = admin) =>
    withClient(settings, async (c) => {
      const started = performance.now();
      // With its settings, so that the other databases umami_user can connect to are audited too (timed).
      const result = await auditIsolation({ admin: c, adminSettings: settings, spec });
      return { ms: performance.now() - started, queries: result.queries };
    });
  const timeLoop = (settings = admin) =>
    withClient(settings, async (c) => {
      const started = performance.now();
      const { rows } = await c.query<{ oid: string }>(
        `SELECT c.oid::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND n.nspname <> $1 AND n.nspname !~ '^pg_'
            AND n.nspname <> 'information_schema'`,
        [spec.schema],
      );
      const privileges = ALL_PRIVILEGES.table.join(", ");
      for (const row of rows) {
        await c.query("SELECT pg_catalog.has_table_privilege($1, $2::oid, $3)", [spec.role.name, row.oid, privileges]);
      }
      return { ms: performance.now() - started, relations: rows.length };
    });

  const baseline = await captureFingerprint(admin, applicationOf(spec));
  await timeAudit();
  await timeLoop();
  const audits: number[] = [];
  const loops: number[] = [];
  const fulls: number[] = [];
  let queries = 0;
  let relations = 0;
  for (let i = 0; i < rounds; i++) {
    const a = await timeAudit();
    audits.push(a.ms);
    queries = a.queries;
    const l = await timeLoop();
    loops.push(l.ms);
    relations = l.relations;
    const started = performance.now();
    await auditIsolation({ admin, spec, umami, baselineFingerprint: baseline });
    fulls.push(performance.now() - started);
  }
  const auditMs = median(audits);
  const loopMs = median(loops);
  const delayed = options.delayMs ? await measureDelayed(admin, options.delayMs, timeAudit, timeLoop) : null;
  return {
    schemas,
    tablesPerSchema,
    relations,
    auditMs: Math.round(auditMs),
    fullAuditMs: Math.round(median(fulls)),
    loopMs: Math.round(loopMs),
    ratio: Math.round((loopMs / auditMs) * 10) / 10,
    queries,
    delayed,
  };
}

/**
 * Both sides once through a latency proxy (the loop costs one delayed round trip per relation, so it runs
 * once: ~20 s at 1 ms). The audit is the median of three; the round trip actually added is measured.
 */
async function measureDelayed(
  admin: ConnectionSettings,
  delayMs: number,
  timeAudit: (settings: ConnectionSettings) => Promise<{ ms: number }>,
  timeLoop: (settings: ConnectionSettings) => Promise<{ ms: number }>,
): Promise<NonNullable<AuditBench["delayed"]>> {
  const proxy = await startLatencyProxy({ host: admin.host, port: admin.port }, delayMs);
  try {
    const viaProxy: ConnectionSettings = { ...admin, host: "127.0.0.1", port: proxy.port };
    const loopbackRoundTripMs = await measureRoundTrip(admin);
    const roundTripMs = await measureRoundTrip(viaProxy);
    const audits: number[] = [];
    for (let i = 0; i < 3; i++) audits.push((await timeAudit(viaProxy)).ms);
    const auditMs = median(audits);
    const loopMs = (await timeLoop(viaProxy)).ms;
    const round = (n: number, digits = 0) => Math.round(n * 10 ** digits) / 10 ** digits;
    return {
      delayMs,
      roundTripMs: round(roundTripMs, 2),
      loopbackRoundTripMs: round(loopbackRoundTripMs, 2),
      auditMs: round(auditMs),
      loopMs: round(loopMs),
      ratio: round(loopMs / auditMs, 1),
    };
  } finally {
    await proxy.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const server = await startEmbeddedPostgres();
  try {
    const delayMs = Number(process.env.BENCH_DELAY_MS ?? 1);
    process.stdout.write(`${JSON.stringify(await benchAudit(parseDatabaseUrl(server.superuserUrl), { delayMs }))}\n`);
  } finally {
    await server.stop();
  }
}
