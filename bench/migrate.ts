/**
 * The runner's overhead: Umami's migrations through `applyMigrations` (lock, bookkeeping, one transaction per
 * migration) into a fresh schema, against the same SQL sent over one plain connection with no bookkeeping —
 * measured side by side in alternating order over several rounds. Goal: ratio ≤ 1.3. The ratio is the median
 * of each round's runner ÷ raw: the two halves of a round run seconds apart, so a busy machine slows both.
 * Run directly (`npx tsx bench/migrate.ts`) it starts its own embedded PostgreSQL and prints one JSON line.
 */
import { pathToFileURL } from "node:url";
import { quoteIdent } from "../sst/database/quote.js";
import { parseDatabaseUrl, toUrl, withClient, type ConnectionSettings } from "../scripts/kernel/db.js";
import { startEmbeddedPostgres } from "../scripts/local/embedded.js";
import { applyMigrations } from "../scripts/migrate/runner.js";
import { loadMigrations, umamiReleaseSource, type MigrationSet } from "../scripts/migrate/sources.js";
import { migrationLoadOptions } from "../scripts/commands/migration-source.js";
import { createAuroraLikeAdmin } from "../scripts/local/sample-app.js";
import { median } from "./stats.js";
import { generatePassword } from "../scripts/kernel/password.js";

/** Medians over the rounds, in milliseconds, and the median of the per-round ratios runner ÷ raw. */
export interface MigrateBench {
  rounds: number;
  migrations: number;
  runnerMs: number;
  rawMs: number;
  ratio: number;
}

/**
 * What the benchmarks migrate: Umami 2.10.0's release (four migrations, so the figures stay comparable with
 * earlier runs), from the copy bundled in vendor/umami, as the commands read it.
 */
export function loadBenchMigrations(): Promise<MigrationSet> {
  return loadMigrations(umamiReleaseSource("2.10.0"), migrationLoadOptions(process.env));
}

/**
 * Measures on `admin`'s database (use a scratch one: it creates and drops `bench_*` schemas and creates
 * pgcrypto in `public` if the database has none, as Umami's 01_init needs it). Both sides include connecting.
 */
export async function benchMigrate(
  admin: ConnectionSettings,
  options: { set?: MigrationSet; rounds?: number } = {},
): Promise<MigrateBench> {
  const set = options.set ?? (await loadBenchMigrations());
  const rounds = options.rounds ?? 9;
  await withClient(admin, (c) => c.query("CREATE EXTENSION IF NOT EXISTS pgcrypto SCHEMA public"));
  const runner: number[] = [];
  const raw: number[] = [];

  const timeRunner = async (schema: string) => {
    const t0 = performance.now();
    await applyMigrations({ ...admin, schema }, set);
    runner.push(performance.now() - t0);
  };
  const timeRaw = async (schema: string) => {
    const t0 = performance.now();
    await withClient(admin, async (c) => {
      await c.query("SELECT pg_catalog.set_config('search_path', $1, false)", [`${quoteIdent(schema)}, public`]);
      for (const m of set.migrations) await c.query(m.sql);
    });
    raw.push(performance.now() - t0);
  };

  for (let round = 0; round < rounds; round++) {
    const schemas = { runner: `bench_runner_${round}`, raw: `bench_raw_${round}` };
    await withClient(admin, async (c) => {
      for (const s of Object.values(schemas)) await c.query(`CREATE SCHEMA ${quoteIdent(s)}`);
    });
    try {
      // Alternate which side goes first, so caches warmed by one side favour neither.
      if (round % 2 === 0) {
        await timeRunner(schemas.runner);
        await timeRaw(schemas.raw);
      } else {
        await timeRaw(schemas.raw);
        await timeRunner(schemas.runner);
      }
    } finally {
      await withClient(admin, async (c) => {
        for (const s of Object.values(schemas)) await c.query(`DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE`);
      });
    }
  }
  const ratio = median(runner.map((ms, i) => ms / raw[i]));
  return { rounds, migrations: set.migrations.length, runnerMs: median(runner), rawMs: median(raw), ratio };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await startEmbeddedPostgres();
  try {
    const superuser = parseDatabaseUrl(server.superuserUrl);
    const admin = { name: "bench_admin", password: generatePassword() };
    await withClient(superuser, (c) => createAuroraLikeAdmin(c, { ...admin, database: "bench" }));
    const settings = parseDatabaseUrl(
      toUrl({ ...superuser, database: "bench" }, { user: admin.name, password: admin.password }),
    );
    const result = await benchMigrate(settings, { rounds: Number(process.argv[2] ?? 9) });
    process.stdout.write(
      `${JSON.stringify({ ...result, runnerMs: Math.round(result.runnerMs * 10) / 10, rawMs: Math.round(result.rawMs * 10) / 10, ratio: Math.round(result.ratio * 100) / 100 })}\n`,
    );
  } finally {
    await server.stop();
  }
}
