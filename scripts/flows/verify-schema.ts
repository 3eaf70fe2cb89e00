/**
 * `umami-db migrate verify-schema`: does the live Umami schema have the structure the release's migrations
 * produce? The migrations the live `_prisma_migrations` records as applied are applied again, from the
 * source, to a schema of the same name on a throwaway embedded PostgreSQL 15 (one server per run, removed
 * afterwards), and the two are compared from the catalogs. A checksum says which file was applied; this
 * says what the database holds — e.g. a database migrated from npm's pre-release `04_team_redesign`
 * (`docs/design.md` § "Umami's releases and Prisma") lacks `user.display_name`, which breaks Umami 3.1.0's client.
 */
import { parseDatabaseUrl, withClient, type ConnectionSettings } from "../kernel/db.js";
import { UserError } from "../kernel/errors.js";
import { startEmbeddedPostgres, type EmbeddedServer } from "../local/embedded.js";
import { inspectSchema, MIGRATIONS_TABLE, readMigrationRows } from "../migrate/bookkeeping.js";
import { applyMigrations } from "../migrate/runner.js";
import { compareSchemas, type SchemaDifference } from "../migrate/schema-compare.js";
import { readSchemaSnapshot } from "../migrate/schema-snapshot.js";
import type { Migration, MigrationSet } from "../migrate/sources.js";

/** What verify-schema found. */
export interface VerifySchemaResult {
  /** True when the live schema has exactly the release's structure. */
  ok: boolean;
  schema: string;
  source: string;
  /** The migrations applied to the scratch schema: those the live database records as applied. */
  compared: string[];
  /** In the source but not applied live (not part of the comparison). */
  pending: string[];
  differences: SchemaDifference[];
  /** The SQL of every difference that has one, in order, to bring the live schema to the release. */
  sql: string[];
  /** What to do, in one line; null when the schemas match. */
  remedy: string | null;
  /** Where the time went: starting the scratch server, migrating it, reading and comparing both. */
  ms: { scratchServer: number; scratchMigrations: number; compare: number; total: number };
}

/** Progress lines for long steps (the command prints them to stderr). */
type VerifySchemaProgress = (line: string) => void;

/** The scratch server of the schema check, by the name an interrupt's line gives it. */
export function startScratchServer(): Promise<EmbeddedServer> {
  return startEmbeddedPostgres({ name: "scratch PostgreSQL of the schema check" });
}

/**
 * Compares the live schema of `umami` with what `set`'s applied migrations build on a scratch server: `scratch`
 * when the caller started it (a fresh one, which stays the caller's to stop), else one of its own.
 */
export async function verifySchema(
  umami: ConnectionSettings,
  set: MigrationSet,
  onProgress: VerifySchemaProgress = () => undefined,
  given?: EmbeddedServer,
): Promise<VerifySchemaResult> {
  const t0 = performance.now();
  const schema = umami.schema;
  const live = await withClient(umami, async (client) => {
    const { exists, tables } = await inspectSchema(client, schema);
    if (!exists)
      throw new UserError(
        `Schema ${schema} does not exist, so there is nothing to verify. Check ?schema= in the URL, or provision and migrate the stage first.`,
      );
    if (!tables.includes(MIGRATIONS_TABLE)) {
      throw new UserError(
        `Schema ${schema} has no ${MIGRATIONS_TABLE}: Umami's migrations were never applied here. Run \`umami-db migrate deploy\` first.`,
      );
    }
    return { rows: await readMigrationRows(client, schema), snapshot: await readSchemaSnapshot(client, schema) };
  });
  const applied = new Set(
    live.rows.filter((r) => r.finished_at !== null && r.rolled_back_at === null).map((r) => r.migration_name),
  );
  const known = new Set(set.migrations.map((m) => m.name));
  const unknown = [...applied].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new UserError(
      `${schema}._prisma_migrations records ${unknown.join(", ")} as applied, but ${set.source} does not have ${unknown.length === 1 ? "it" : "them"}, so the release's schema cannot be rebuilt. ` +
        `Pass --migrations with the release the database was migrated to (e.g. the Umami version its container runs).`,
    );
  }
  const toApply = set.migrations.filter((m) => applied.has(m.name));

  if (!given) onProgress("starting a scratch PostgreSQL 15…");
  const tServer = performance.now();
  const scratch = given ?? (await startScratchServer());
  const ms = { scratchServer: performance.now() - tServer, scratchMigrations: 0, compare: 0, total: 0 };
  let expected;
  try {
    const settings = {
      ...parseDatabaseUrl(scratch.superuserUrl, { applicationName: "umami-db verify-schema" }),
      schema,
    };
    onProgress(`applying ${toApply.length} migration(s) to scratch schema ${schema}…`);
    const tMigrate = performance.now();
    await applyMigrations(settings, { ...set, migrations: toApply });
    ms.scratchMigrations = performance.now() - tMigrate;
    expected = await withClient(settings, (client) => readSchemaSnapshot(client, schema));
  } finally {
    if (!given) await scratch.stop();
  }
  const tCompare = performance.now();
  const differences = compareSchemas(expected, live.snapshot).map((d) => withDataSteps(d, toApply));
  ms.compare = performance.now() - tCompare;
  ms.total = performance.now() - t0;
  const sql = differences.flatMap((d) => (d.sql ? [d.sql] : []));
  return {
    ok: differences.length === 0,
    schema,
    source: set.source,
    compared: toApply.map((m) => m.name),
    pending: set.migrations.filter((m) => !applied.has(m.name)).map((m) => m.name),
    differences,
    sql,
    remedy: differences.length === 0 ? null : remedyLine(schema, umami.user, differences),
    ms,
  };
}

/**
 * A missing column that the release's migrations also fill (`UPDATE "website" SET created_by = user_id …` in
 * 04_team_redesign) gets that statement after its ADD COLUMN: the column alone would leave it empty.
 */
function withDataSteps(difference: SchemaDifference, migrations: Migration[]): SchemaDifference {
  if (difference.kind !== "column" || difference.change !== "missing" || !difference.sql) return difference;
  const [table, column] = difference.object.split(".");
  const fills = new RegExp(`^UPDATE\\s+"?${escapeRegExp(table)}"?\\s+SET\\s+"?${escapeRegExp(column)}"?\\s*=`, "i");
  const steps = migrations.flatMap((m) =>
    m.sql
      .split(";")
      .map((statement) =>
        statement
          .split("\n")
          .filter((line) => !line.trim().startsWith("--"))
          .join("\n")
          .trim(),
      )
      .filter((statement) => fills.test(statement))
      .map((statement) => `${statement}; -- data step of ${m.name}`),
  );
  return steps.length ? { ...difference, sql: [difference.sql, ...steps].join("\n") } : difference;
}

function remedyLine(schema: string, user: string, differences: SchemaDifference[]): string {
  const fixable = differences.filter((d) => d.sql).length;
  const rest = differences.length - fixable;
  return (
    `The live schema ${schema} differs from the release in ${differences.length} place(s). ` +
    (fixable
      ? `Review the SQL above and run it as ${user} (whose search_path is ${schema}) in one transaction, `
      : "") +
    (rest ? `${fixable ? "then " : ""}resolve the ${rest} difference(s) without SQL by hand, ` : "") +
    "then run `umami-db migrate verify-schema` again."
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
