/**
 * Runs the deploy flow back to back in its own process, so its JavaScript work never shares an event loop
 * with the application workload being measured (as in production, where the deploy runner is another
 * machine). Reads the administrator's URL from BENCH_ADMIN_URL (never argv: the password would show in `ps`),
 * prints `ready`, runs flows on stages bench-<BENCH_FIRST_STAGE>, bench-<n+1>, … until a line arrives on stdin, then prints one
 * JSON line `{ "flows": [{ "ms", "ok" }] }`.
 */
import { createInterface } from "node:readline";
import { parseDatabaseUrl } from "../scripts/kernel/db.js";
import { deployFlow } from "./flow.js";
import { loadBenchMigrations } from "./migrate.js";

const admin = parseDatabaseUrl(process.env.BENCH_ADMIN_URL ?? "", { applicationName: "umami-db bench-flow" });
const migrations = await loadBenchMigrations();
let stop = false;
createInterface({ input: process.stdin }).once("line", () => {
  stop = true;
});
process.stdout.write("ready\n");
const flows: { ms: number; ok: boolean }[] = [];
for (let i = Number(process.env.BENCH_FIRST_STAGE ?? 1); !stop; i += 1)
  flows.push(await deployFlow(admin, `bench-${i}`, migrations));
process.stdout.write(`${JSON.stringify({ flows })}\n`);
process.exit(0);
