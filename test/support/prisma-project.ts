/**
 * A project directory laid out as Umami's (`prisma.config.ts`, `prisma/schema.prisma`, `prisma/migrations/`)
 * and Prisma's own migrate commands run in it through test/support/prisma-cli.ts, as a child process, so exit
 * codes and output are the real CLI's. Directories live under tmp/ (git-ignored) so that the config's
 * `import … from "@prisma/config"` resolves to this repository's node_modules.
 */
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT, runNode, type CliRun } from "./reliability.js";
import { RELEASE_SCHEMA_3_1_0 } from "./migrations.js";

const CONTRACT_TMP = join(PROJECT_ROOT, "tmp", "prisma-contract");
const HARNESS = join(PROJECT_ROOT, "test", "support", "prisma-cli.ts");
const TSX = join(PROJECT_ROOT, "node_modules", "tsx", "dist", "cli.mjs");

// Umami's own prisma.config.ts, minus dotenv: the URL comes from DATABASE_URL.
const PRISMA_CONFIG = `import { defineConfig, env } from "@prisma/config";

export default defineConfig({
  datasource: { url: env("DATABASE_URL") },
});
`;

// Answers the one native-engine call 7.10 makes before the Wasm engine (see prisma-cli.ts).
const ENGINE_STUB = `#!/bin/sh
# Stand-in for Prisma's native schema engine, used only for "cli can-connect-to-database".
exit 0
`;

/** A throwaway Umami-shaped project. */
export interface PrismaProject {
  dir: string;
  migrationsDir: string;
  /** Runs `prisma <args>` (e.g. `migrate status`) against `databaseUrl`. */
  run(args: string[], databaseUrl: string): Promise<CliRun>;
  remove(): void;
}

/** Creates a project whose `prisma/migrations` is a copy of `migrationsDir`. */
export function createPrismaProject(migrationsDir: string): PrismaProject {
  mkdirSync(CONTRACT_TMP, { recursive: true });
  const dir = mkdtempSync(join(CONTRACT_TMP, "project-"));
  const prismaDir = join(dir, "prisma");
  mkdirSync(prismaDir);
  cpSync(RELEASE_SCHEMA_3_1_0, join(prismaDir, "schema.prisma"));
  cpSync(migrationsDir, join(prismaDir, "migrations"), { recursive: true });
  writeFileSync(join(dir, "prisma.config.ts"), PRISMA_CONFIG);
  const stub = join(dir, "schema-engine-stub");
  writeFileSync(stub, ENGINE_STUB);
  chmodSync(stub, 0o755);
  return {
    dir,
    migrationsDir: join(prismaDir, "migrations"),
    run: (args, databaseUrl) => runHarness(dir, args, { DATABASE_URL: databaseUrl, PRISMA_SCHEMA_ENGINE_BINARY: stub }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function runHarness(cwd: string, args: string[], env: Record<string, string>): Promise<CliRun> {
  // No colours, no telemetry, no update check: the output is compared as text.
  return runNode([TSX, HARNESS, ...args], {
    cwd,
    env: { NO_COLOR: "1", CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1", ...env },
  });
}
