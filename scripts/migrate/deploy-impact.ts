/**
 * `migrate deploy --dry-run`'s plan for a DBA: for each pending migration, the existing tables it locks or
 * rewrites, with the lock held until it commits, what that blocks, and each table's size. Sizes are the
 * planner's estimates from `pg_class` (`reltuples`, `relpages` × block size): reading them takes no lock, so a
 * dry run never queues behind — or in front of — Umami's sessions (pg_relation_size() would open the table).
 */
import type { Client } from "../kernel/db.js";
import {
  blockedBy,
  heavierWork,
  planStatements,
  strongerLock,
  type Destruction,
  type LockMode,
  type TableOperation,
  type Work,
} from "./lock-plan.js";
import type { Migration } from "./sources.js";

/** A table of the schema as the catalog estimates it. */
export interface TableEstimate {
  table: string;
  /** `pg_class.reltuples`; null when the table was never vacuumed or analyzed (PostgreSQL then does not know). */
  rows: number | null;
  /** Heap and TOAST pages × block size. */
  tableBytes: number;
  /** All its indexes' pages × block size. */
  indexBytes: number;
  indexes: string[];
}

/** One pending migration's effect on one existing table. */
export interface TableImpact {
  table: string;
  /** The strongest lock the migration takes on it, held until the migration commits. */
  lock: LockMode;
  blocks: "reads and writes" | "writes" | "nothing";
  /** The heaviest work on it. */
  work: Work;
  /** Rows ≥ BIG_TABLE.rows or size ≥ BIG_TABLE.bytes: the time this takes grows with the table. */
  big: boolean;
  rows: number | null;
  tableBytes: number;
  indexBytes: number;
  /** False when the table is not in the schema yet (a pending migration creates it): no estimate. */
  exists: boolean;
  /** The earlier pending migration that creates it (then it holds no data before this upgrade). */
  createdBy?: string;
  /** What its operations destroy (deleted, updated or dropped data), in the order they do it. */
  destroys: Destruction[];
  operations: Omit<TableOperation, "table">[];
}

/** One pending migration and the existing tables it touches. */
export interface MigrationImpact {
  migration: string;
  tables: TableImpact[];
  /** Whether it rewrites, updates, scans or indexes a big table (not only a catalog change). */
  long: boolean;
}

/** From which size on a table's rewrite or scan is worth a maintenance window. */
const BIG_TABLE = { rows: 100_000, bytes: 100 * 1024 * 1024 };

/** The schema's tables and their indexes, from pg_class only (no lock on any table). */
export async function readTableEstimates(client: Client, schema: string): Promise<TableEstimate[]> {
  const { rows } = await client.query<{
    table: string;
    rows: number;
    table_bytes: string;
    index_bytes: string;
    indexes: string[];
  }>(
    `
    SELECT c.relname AS table,
           c.reltuples::float8 AS rows,
           (c.relpages + COALESCE(t.relpages, 0))::bigint * pg_catalog.current_setting('block_size')::bigint AS table_bytes,
           COALESCE((SELECT sum(i.relpages) FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
                      WHERE x.indrelid = c.oid), 0)::bigint * pg_catalog.current_setting('block_size')::bigint AS index_bytes,
           ARRAY(SELECT i.relname::text FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
                  WHERE x.indrelid = c.oid ORDER BY 1) AS indexes
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_catalog.pg_class t ON t.oid = c.reltoastrelid
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
     ORDER BY c.relname
    `,
    [schema],
  );
  return rows.map((r) => ({
    table: r.table,
    rows: r.rows < 0 ? null : Math.round(r.rows),
    tableBytes: Number(r.table_bytes),
    indexBytes: Number(r.index_bytes),
    indexes: r.indexes,
  }));
}

/** The impact of `pending` (in order) on the tables in `estimates`; migrations that touch none are left out. */
export function deployImpact(pending: Migration[], estimates: TableEstimate[]): MigrationImpact[] {
  const byName = new Map(estimates.map((e) => [e.table, e]));
  const indexTables = new Map(estimates.flatMap((e) => e.indexes.map((i) => [i, e.table] as const)));
  const created = new Set<string>();
  const createdBy = new Map<string, string>();
  const impacts: MigrationImpact[] = [];
  for (const migration of pending) {
    const tables = new Map<string, TableImpact>();
    const operations = planStatements(migration.sql, indexTables, created);
    for (const table of created) if (!createdBy.has(table)) createdBy.set(table, migration.name);
    for (const op of operations) {
      // Locks on a table that does not exist yet cost nothing; destroying data is named wherever it happens.
      const estimate = byName.get(op.table);
      if (!estimate && !op.destroys) continue;
      const { table, ...operation } = op;
      const entry = tables.get(table);
      if (entry) {
        entry.lock = strongerLock(entry.lock, op.lock);
        entry.work = heavierWork(entry.work, op.work);
        entry.blocks = blockedBy(entry.lock);
        entry.operations.push(operation);
        if (op.destroys && !entry.destroys.includes(op.destroys)) entry.destroys.push(op.destroys);
      } else {
        const size = estimate ?? { rows: 0, tableBytes: 0, indexBytes: 0 };
        const big = (size.rows ?? 0) >= BIG_TABLE.rows || size.tableBytes + size.indexBytes >= BIG_TABLE.bytes;
        tables.set(table, {
          table,
          lock: op.lock,
          blocks: blockedBy(op.lock),
          work: op.work,
          big,
          rows: size.rows,
          tableBytes: size.tableBytes,
          indexBytes: size.indexBytes,
          exists: estimate !== undefined,
          ...(estimate === undefined && createdBy.has(table) && createdBy.get(table) !== migration.name
            ? { createdBy: createdBy.get(table) }
            : {}),
          destroys: op.destroys ? [op.destroys] : [],
          operations: [operation],
        });
      }
    }
    if (tables.size === 0) continue;
    const list = [...tables.values()];
    impacts.push({ migration: migration.name, tables: list, long: list.some((t) => t.big && t.work !== "catalog") });
  }
  return impacts;
}

const WORK_TEXT: Record<Work, string> = {
  rewrite: "rewrites the table",
  update: "updates rows",
  index: "builds indexes",
  scan: "reads every row",
  delete: "deletes rows",
  insert: "inserts rows",
  catalog: "catalog change only (instant once the lock is granted)",
};

/**
 * The plan as lines for a terminal: the migrations to plan a window for; each table a migration rewrites,
 * updates, indexes or scans (or any big one it locks), with its operations; then the brief locks in one line.
 */
export function describeImpact(impacts: MigrationImpact[]): string[] {
  if (impacts.length === 0) return ["No pending migration locks or changes an existing table."];
  const long = impacts.filter((i) => i.long);
  // A table an earlier pending migration creates holds no data before this upgrade: named apart.
  const destroying = impacts.flatMap((i) =>
    i.tables.filter((t) => t.destroys.length && !t.createdBy).map((t) => ({ migration: i.migration, t })),
  );
  const newTables = impacts.flatMap((i) =>
    i.tables.filter((t) => t.destroys.length && t.createdBy).map((t) => ({ migration: i.migration, t })),
  );
  const lines = [
    ...(destroying.length
      ? [
          "Data the pending migrations destroy (back it up first if it matters):",
          ...destroying.map(
            ({ migration, t }) =>
              `  ${migration} — ${t.table} (${describeSize(t)}): ${t.destroys.join(", ")}; ${t.operations
                .filter((o) => o.destroys)
                .map((o) => `line ${o.line} ${o.what}`)
                .join("; ")}`,
          ),
        ]
      : ["No pending migration deletes, updates or drops existing data."]),
    ...newTables.map(
      ({ migration, t }) =>
        `  ${migration} — ${t.table}: ${t.destroys.join(", ")} in a table ${t.createdBy} creates earlier in this upgrade, so it holds no data yet (unless a pending migration fills it); ` +
        t.operations
          .filter((o) => o.destroys)
          .map((o) => `line ${o.line} ${o.what}`)
          .join("; "),
    ),
    long.length
      ? `Plan a window for ${long
          .map(
            (i) =>
              `${i.migration} (${i.tables
                .filter((t) => t.big && t.work !== "catalog")
                .map((t) => t.table)
                .join(", ")})`,
          )
          .join(", ")}: they rewrite, update, scan or index big tables while holding these locks.`
      : "None rewrites, updates, scans or indexes a big table.",
    "Existing tables the pending migrations lock (estimates from pg_class; each lock is held until its migration commits):",
  ];
  const brief: string[] = [];
  for (const impact of impacts) {
    const existing = impact.tables.filter((t) => t.exists);
    const small = existing.filter((t) => t.work === "catalog" && !t.big && t.destroys.length === 0);
    if (small.length) brief.push(`${impact.migration} (${small.map((t) => t.table).join(", ")})`);
    for (const t of existing.filter((x) => !small.includes(x))) {
      const destroys = t.destroys.filter((d) => d !== WORK_TEXT[t.work]);
      lines.push(
        `  ${impact.migration} — ${t.table} (${describeSize(t)}${t.big ? ", big" : ""}): ${t.lock}, blocks ${t.blocks}; ${WORK_TEXT[t.work]}${destroys.length ? `; ${destroys.join(", ")}` : ""}`,
      );
      lines.push(`      ${t.operations.map((o) => `line ${o.line} ${o.what}`).join("; ")}`);
    }
  }
  if (brief.length)
    lines.push(`  Catalog changes only, on small tables (a brief ACCESS EXCLUSIVE once granted): ${brief.join(", ")}`);
  return lines;
}

function describeSize(t: Pick<TableImpact, "rows" | "tableBytes" | "indexBytes" | "exists">): string {
  if (!t.exists) return "not in the schema yet: a pending migration creates it";
  const rows =
    t.rows === null ? "rows not estimated yet: never vacuumed or analyzed" : `~${t.rows.toLocaleString("en-US")} rows`;
  return `${rows}, ${formatBytes(t.tableBytes)} + ${formatBytes(t.indexBytes)} indexes`;
}

/** Bytes as "8.0 kB", "1.1 GB" (powers of 1024, as pg_size_pretty). */
export function formatBytes(bytes: number): string {
  const units = ["bytes", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
