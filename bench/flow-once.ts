/**
 * Runs exactly one full deploy flow (bench/flow.ts `fullDeployFlow`) in its own process, so its JavaScript
 * work never shares an event loop with the application being measured. Reads the administrator's URL from
 * BENCH_ADMIN_URL (never argv), the stage from BENCH_STAGE and the migrations from BENCH_MIGRATIONS; loads
 * them, prints `ready`, starts the flow when a line arrives on stdin (so the process's start-up is not in the
 * measured window) and prints one JSON line `{ "ms", "ok" }`.
 */
import { once } from "node:events";
import { createInterface } from "node:readline";
import { parseDatabaseUrl } from "../scripts/kernel/db.js";
import { loadMigrations } from "../scripts/migrate/sources.js";
import { migrationLoadOptions } from "../scripts/commands/migration-source.js";
import { fullDeployFlow } from "./flow.js";

const admin = parseDatabaseUrl(process.env.BENCH_ADMIN_URL ?? "", { applicationName: "umami-db bench-flow" });
const migrations = await loadMigrations(process.env.BENCH_MIGRATIONS ?? "", migrationLoadOptions(process.env));
process.stdout.write("ready\n");
await once(createInterface({ input: process.stdin }), "line");
const result = await fullDeployFlow(admin, process.env.BENCH_STAGE ?? "bench-once", migrations);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
