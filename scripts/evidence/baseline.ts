/**
 * A performance baseline: what PostgreSQL (and, when asked, CloudWatch) says about the database at one
 * moment, as a JSON-serialisable object a DBA keeps next to the change. Captured before and after the Umami
 * schema, two baselines are compared by `compareBaselines` (baseline-compare.ts). Read-only: it never
 * creates anything, not even the `pg_stat_statements` extension.
 */
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { AuroraMetricsRequest, MetricSummary } from "./cloudwatch.js";
import { quoteIdent } from "../../sst/database/quote.js";
import { withClient, type Client, type ConnectionSettings } from "../kernel/db.js";
import { UserError } from "../kernel/errors.js";

/** Version of the baseline format; bump it when a field changes meaning. */
const BASELINE_VERSION = 1;

/** Statements kept from `pg_stat_statements`, by total execution time. */
export const TOP_STATEMENTS = 10;
const QUERY_TEXT_LIMIT = 300;

/** Where to read CloudWatch figures from (a client, so tests can mock it). */
export interface CloudWatchOptions extends AuroraMetricsRequest {
  client: CloudWatchClient;
  /** Recorded in the baseline only. */
  region?: string;
}

/** One row of `pg_stat_activity` grouped by user, database and state. */
export interface ConnectionGroup {
  user: string | null;
  database: string | null;
  /** `null` when the capturing role may not see other roles' sessions (no `pg_read_all_stats`). */
  state: string | null;
  count: number;
}

/** A statement from `pg_stat_statements` (text truncated, passwords masked). */
export interface TopStatement {
  queryId: string | null;
  query: string;
  calls: number;
  totalMs: number;
  meanMs: number;
  rows: number;
}

/** Everything a baseline records. */
export interface Baseline {
  version: typeof BASELINE_VERSION;
  label: string;
  capturedAt: string;
  target: { host: string; port: number; database: string; user: string };
  server: { version: string; versionNum: number };
  sizes: { databaseBytes: number; schemas: { name: string; bytes: number; tables: number }[] };
  schemas: string[];
  umamiSchema: { name: string; exists: boolean; bytes: number } | null;
  connections: {
    maxConnections: number;
    superuserReserved: number;
    /** Client connections on the whole server, the capturing session excluded. */
    total: number;
    byUserAndState: ConnectionGroup[];
  };
  /** `pg_stat_database` counters for this database (cumulative since `statsReset`). */
  stats: {
    xactCommit: number;
    xactRollback: number;
    blksRead: number;
    blksHit: number;
    tupReturned: number;
    tupFetched: number;
    tupInserted: number;
    tupUpdated: number;
    tupDeleted: number;
    deadlocks: number;
    tempBytes: number;
    statsReset: string | null;
  };
  /** blks_hit / (blks_hit + blks_read); `null` before any block was read. */
  cacheHitRatio: number | null;
  statements: { available: boolean; schema: string | null; note?: string; top: TopStatement[] };
  cloudwatch: {
    region?: string;
    clusterId: string;
    instanceId: string;
    window: { start: string; end: string; periodSeconds: number };
    metrics: MetricSummary[];
  } | null;
}

/** Options for `captureBaseline`. */
interface CaptureOptions {
  label: string;
  /** The Umami schema, reported on its own (exists, size). */
  umamiSchema?: string;
  cloudwatch?: CloudWatchOptions;
  /** @default new Date() */
  now?: Date;
}

/** Captures PostgreSQL's figures (and CloudWatch's when asked) as the administrator. */
export async function captureBaseline(admin: ConnectionSettings, options: CaptureOptions): Promise<Baseline> {
  const now = options.now ?? new Date();
  const pgFigures = await withClient(admin, (client) => capturePostgres(client, options.umamiSchema));
  let cloudwatch: Baseline["cloudwatch"] = null;
  if (options.cloudwatch) {
    // Loaded only when asked for, so a PostgreSQL-only capture never loads the AWS SDK.
    const { fetchAuroraMetrics, resolveWindow } = await import("./cloudwatch.js");
    const window = resolveWindow(options.cloudwatch, now);
    const metrics = await fetchAuroraMetrics(options.cloudwatch.client, { ...options.cloudwatch, ...window });
    cloudwatch = {
      ...(options.cloudwatch.region ? { region: options.cloudwatch.region } : {}),
      clusterId: options.cloudwatch.clusterId,
      instanceId: options.cloudwatch.instanceId,
      window: { start: window.start.toISOString(), end: window.end.toISOString(), periodSeconds: window.periodSeconds },
      metrics,
    };
  }
  return {
    version: BASELINE_VERSION,
    label: options.label,
    capturedAt: now.toISOString(),
    target: { host: admin.host, port: admin.port, database: admin.database, user: admin.user },
    ...pgFigures,
    cloudwatch,
  };
}

type PostgresFigures = Omit<Baseline, "version" | "label" | "capturedAt" | "target" | "cloudwatch">;

async function capturePostgres(client: Client, umamiSchema: string | undefined): Promise<PostgresFigures> {
  const server = await client.query<{ version: string; num: string; max: string; reserved: string; db_bytes: string }>(`
    SELECT pg_catalog.current_setting('server_version') AS version,
           pg_catalog.current_setting('server_version_num') AS num,
           pg_catalog.current_setting('max_connections') AS max,
           pg_catalog.current_setting('superuser_reserved_connections') AS reserved,
           pg_catalog.pg_database_size(pg_catalog.current_database()) AS db_bytes
  `);
  // The Umami schema: tables and materialized views with their indexes and TOAST (pg_total_relation_size),
  // plus sequences. Every other schema is the application's, and pg_total_relation_size opens each relation
  // with a lock — it would wait behind an application holding ACCESS EXCLUSIVE, and the application would
  // then wait behind it. Their sizes come lock-free from pg_class.relpages × block size (table,
  // indexes, TOAST and its index), as of the last VACUUM or ANALYZE.
  const schemas = await client.query<{ name: string; bytes: string; tables: string }>(
    `
    SELECT n.nspname AS name,
           coalesce(sum(CASE
             WHEN n.nspname = $1 THEN CASE WHEN c.relkind IN ('r', 'm') THEN pg_catalog.pg_total_relation_size(c.oid)
                                           WHEN c.relkind = 'S' THEN pg_catalog.pg_relation_size(c.oid) ELSE 0 END
             WHEN c.relkind IN ('r', 'm', 'i', 'S') THEN
               (c.relpages::bigint + coalesce(t.relpages, 0) + coalesce(ti.relpages, 0)) * pg_catalog.current_setting('block_size')::bigint
             ELSE 0 END), 0) AS bytes,
           count(c.oid) FILTER (WHERE c.relkind IN ('r', 'p')) AS tables
      FROM pg_catalog.pg_namespace n
      LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid
      LEFT JOIN pg_catalog.pg_class t ON t.oid = c.reltoastrelid
      LEFT JOIN pg_catalog.pg_index tx ON tx.indrelid = t.oid
      LEFT JOIN pg_catalog.pg_class ti ON ti.oid = tx.indexrelid
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
       AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
     GROUP BY n.nspname
     ORDER BY n.nspname
    `,
    [umamiSchema ?? ""],
  );
  const activity = await client.query<{
    user: string | null;
    database: string | null;
    state: string | null;
    count: string;
  }>(`
    SELECT usename AS "user", datname AS database, state, count(*) AS count
      FROM pg_catalog.pg_stat_activity
     WHERE backend_type = 'client backend' AND pid <> pg_catalog.pg_backend_pid()
     GROUP BY usename, datname, state
     ORDER BY count(*) DESC, usename, datname, state
  `);
  const stats = await client.query<Record<string, string | null>>(`
    SELECT xact_commit, xact_rollback, blks_read, blks_hit, tup_returned, tup_fetched, tup_inserted,
           tup_updated, tup_deleted, deadlocks, temp_bytes, stats_reset
      FROM pg_catalog.pg_stat_database
     WHERE datname = pg_catalog.current_database()
  `);
  const s = stats.rows[0] ?? {};
  const n = (v: string | null | undefined) => Number(v ?? 0);
  const blksRead = n(s.blks_read);
  const blksHit = n(s.blks_hit);
  const schemaRows = schemas.rows.map((r) => ({ name: r.name, bytes: Number(r.bytes), tables: Number(r.tables) }));
  const byUserAndState = activity.rows.map((r) => ({
    user: r.user,
    database: r.database,
    state: r.state,
    count: Number(r.count),
  }));
  const umami = umamiSchema === undefined ? null : schemaRows.find((r) => r.name === umamiSchema);
  const row = server.rows[0];
  return {
    server: { version: row.version, versionNum: Number(row.num) },
    sizes: { databaseBytes: Number(row.db_bytes), schemas: schemaRows },
    schemas: schemaRows.map((r) => r.name),
    umamiSchema:
      umamiSchema === undefined ? null : { name: umamiSchema, exists: umami !== undefined, bytes: umami?.bytes ?? 0 },
    connections: {
      maxConnections: Number(row.max),
      superuserReserved: Number(row.reserved),
      total: byUserAndState.reduce((sum, g) => sum + g.count, 0),
      byUserAndState,
    },
    stats: {
      xactCommit: n(s.xact_commit),
      xactRollback: n(s.xact_rollback),
      blksRead,
      blksHit,
      tupReturned: n(s.tup_returned),
      tupFetched: n(s.tup_fetched),
      tupInserted: n(s.tup_inserted),
      tupUpdated: n(s.tup_updated),
      tupDeleted: n(s.tup_deleted),
      deadlocks: n(s.deadlocks),
      tempBytes: n(s.temp_bytes),
      statsReset: s.stats_reset ? new Date(s.stats_reset).toISOString() : null,
    },
    cacheHitRatio: blksRead + blksHit > 0 ? blksHit / (blksRead + blksHit) : null,
    statements: await topStatements(client),
  };
}

/** The top statements when `pg_stat_statements` is installed in this database; never creates it. */
async function topStatements(client: Client): Promise<Baseline["statements"]> {
  const ext = await client.query<{ schema: string }>(`
    SELECT n.nspname AS schema
      FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_stat_statements'
  `);
  if (ext.rowCount === 0) {
    return {
      available: false,
      schema: null,
      note: "pg_stat_statements is not installed in this database (not created by this tool)",
      top: [],
    };
  }
  const schema = ext.rows[0].schema;
  try {
    const top = await client.query<{
      queryid: string | null;
      query: string | null;
      calls: string;
      total: number;
      mean: number;
      rows: string;
    }>(
      `
      SELECT queryid::text AS queryid, query, calls, total_exec_time AS total, mean_exec_time AS mean, rows
        FROM ${quoteIdent(schema)}.pg_stat_statements
       WHERE dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
       ORDER BY total_exec_time DESC
       LIMIT $1
    `,
      [TOP_STATEMENTS],
    );
    return {
      available: true,
      schema,
      top: top.rows.map((r) => ({
        queryId: r.queryid,
        query: maskStatement(r.query ?? ""),
        calls: Number(r.calls),
        totalMs: r.total,
        meanMs: r.mean,
        rows: Number(r.rows),
      })),
    };
  } catch (error) {
    // Installed but unusable, e.g. not in shared_preload_libraries: a finding, not a crash.
    return {
      available: false,
      schema,
      note: `pg_stat_statements is installed but could not be read: ${(error as Error).message}`,
      top: [],
    };
  }
}

/**
 * Masks passwords in statement text and truncates it. pg_stat_statements keeps utility statements
 * (`CREATE/ALTER ROLE … PASSWORD '…'`) verbatim, so a provisioning run would otherwise put a password in the baseline.
 */
export function maskStatement(query: string): string {
  const masked = query.replace(/\b(PASSWORD\s+)('(?:[^']|'')*'|\$([A-Za-z_]*)\$[\s\S]*?\$\3\$|[^\s;]+)/gi, "$1'****'");
  const oneLine = masked.replace(/\s+/g, " ").trim();
  return oneLine.length > QUERY_TEXT_LIMIT ? `${oneLine.slice(0, QUERY_TEXT_LIMIT - 1)}…` : oneLine;
}

/** Parses a baseline file's text; a one-line UserError names the file and what is wrong with it. */
export function parseBaseline(text: string, source: string): Baseline {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(
      `${source} is not JSON (${(error as Error).message}). Give a file written by \`umami-db baseline capture --out\`.`,
      { cause: error },
    );
  }
  const b = value as Partial<Baseline> | null;
  if (!b || typeof b !== "object" || Array.isArray(b))
    throw new UserError(
      `${source} is not a baseline (expected a JSON object). Give a file written by \`umami-db baseline capture --out\`.`,
    );
  if (b.version !== BASELINE_VERSION) {
    throw new UserError(
      `${source} has baseline format version ${JSON.stringify(b.version ?? null)}; this tool reads version ${BASELINE_VERSION}. Capture it again with this version.`,
    );
  }
  const missing = (["label", "capturedAt", "sizes", "connections", "stats", "statements"] as const).filter(
    (k) => b[k] === undefined || b[k] === null,
  );
  if (missing.length)
    throw new UserError(
      `${source} is missing ${missing.join(", ")}. Capture it again with \`umami-db baseline capture\`.`,
    );
  if (
    typeof b.sizes?.databaseBytes !== "number" ||
    !Array.isArray(b.sizes.schemas) ||
    typeof b.connections?.total !== "number"
  ) {
    throw new UserError(
      `${source} has malformed sizes or connections. Capture it again with \`umami-db baseline capture\`.`,
    );
  }
  return { ...b, umamiSchema: b.umamiSchema ?? null, cloudwatch: b.cloudwatch ?? null } as Baseline;
}
