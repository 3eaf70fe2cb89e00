/**
 * The only module that imports `pg`. Connection settings from a URL, and scoped resources that release in
 * `finally` (STYLE.md rule 7): `withClient`, `withTransaction`, `withAdvisoryLock`.
 */
import { existsSync, readFileSync } from "node:fs";
import { createConnection } from "node:net";
import pg from "pg";
import { NODE_PG_MISSING_CA, NODE_PG_WRONG_HOST, RDS_CA_BUNDLE_URL } from "../../sst/database/secret.js";
import { formatDatabaseUrl, maskPassword, maskUrl, parseDatabaseUrlParts } from "../../sst/database/url.js";
import { UserError } from "./errors.js";
import { setConnectionHooks } from "./interrupt.js";

export type Client = pg.Client;
export type QueryResultRow = pg.QueryResultRow;

/** libpq's `sslmode` values this tool understands. */
export type SslMode = "disable" | "prefer" | "require" | "verify-ca" | "verify-full";

/** A connection, parsed once at the edge from a `postgresql://` URL. */
export interface ConnectionSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Prisma's `?schema=` (defaults to `public`, as in Prisma). */
  schema: string;
  sslmode: SslMode;
  /** PEM bundle (e.g. the RDS CA bundle) for `verify-ca`/`verify-full`. */
  caFile?: string;
  connectTimeoutMs: number;
  applicationName: string;
  /**
   * libpq's startup `options` from the URL (e.g. `-c statement_timeout=0` in DIRECT_DATABASE_URL), sent as
   * node-pg and Prisma's engine send them, so this tool's session is the one Umami's would be.
   */
  options?: string;
}

const SSL_MODES: readonly SslMode[] = ["disable", "prefer", "require", "verify-ca", "verify-full"];

/** Whether a host is this machine (TLS is not required there). */
export function isLocalHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.") || host.startsWith("/");
}

/** Parses a `postgresql://user:password@host:port/db?schema=…&sslmode=…` URL. Never echoes the password. */
export function parseDatabaseUrl(
  url: string,
  overrides: Partial<Pick<ConnectionSettings, "caFile" | "connectTimeoutMs" | "applicationName" | "sslmode">> = {},
): ConnectionSettings {
  const parsed = parseDatabaseUrlParts(url);
  const { host, params } = parsed;
  if (!parsed.database) {
    // A URL that ends where its host does may be a password with an unencoded @ (`user:pa@ss`): its "host" is not quoted.
    const shown = url.includes("@") ? maskUrl(url).replace(/@[^@]*$/, "@****") : maskUrl(url);
    throw new UserError(`The database URL (${shown}) names no database. Add /<database> after the port.`);
  }
  const requested = (overrides.sslmode ?? params.sslmode ?? (isLocalHost(host) ? "disable" : "require")) as SslMode;
  if (!SSL_MODES.includes(requested)) {
    throw new UserError(`sslmode=${requested} is not supported. Use one of ${SSL_MODES.join(", ")}.`);
  }
  // TLS is required for anything but this machine: Aurora always offers it, and the password crosses the network.
  if (requested === "disable" && !isLocalHost(host)) {
    throw new UserError(
      `sslmode=disable is refused for ${host}: TLS is required for any host but localhost. Use sslmode=require (or sslmode=verify-full with sslrootcert=<CA bundle> in the URL, or --ca-file where the command has it).`,
    );
  }
  // libpq's sslrootcert= in the URL names the CA bundle, like --ca-file.
  const caFile = overrides.caFile ?? params.sslrootcert ?? undefined;
  if (caFile !== undefined && !existsSync(caFile)) {
    throw new UserError(
      `The CA file ${caFile} does not exist. Download the RDS bundle (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem) and pass its path.`,
    );
  }
  return {
    host,
    port: parsed.port,
    user: parsed.user,
    password: parsed.password,
    database: parsed.database,
    schema: params.schema ?? "public",
    sslmode: requested,
    caFile,
    connectTimeoutMs: overrides.connectTimeoutMs ?? 10_000,
    applicationName: overrides.applicationName ?? "umami-db",
    ...(params.options ? { options: params.options } : {}),
  };
}

/** A URL for `settings` (through the one formatter), optionally as another user on the same server. */
export function toUrl(
  settings: ConnectionSettings,
  as?: { user: string; password: string; database?: string },
): string {
  return formatDatabaseUrl({
    user: as?.user ?? settings.user,
    password: as?.password ?? settings.password,
    host: settings.host,
    port: settings.port,
    database: as?.database ?? settings.database,
    params: { schema: settings.schema, sslmode: settings.sslmode, options: settings.options },
  });
}

function sslOptions(settings: ConnectionSettings): pg.ClientConfig["ssl"] {
  // libpq semantics: require encrypts without checking the certificate; verify-* checks it against the CA.
  switch (settings.sslmode) {
    case "disable":
      return false;
    case "prefer":
    case "require":
      return { rejectUnauthorized: false };
    case "verify-ca":
    case "verify-full":
      return {
        rejectUnauthorized: true,
        ca: settings.caFile ? readFileSync(settings.caFile, "utf8") : undefined,
        ...(settings.sslmode === "verify-ca" ? { checkServerIdentity: () => undefined } : {}),
      };
  }
}

/** A database could not be reached or refused the login; the message names host, port and usual causes. */
export class ConnectionError extends UserError {
  override name = "ConnectionError";
  constructor(
    readonly host: string,
    readonly port: number,
    readonly user: string,
    readonly code: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Node's codes for a certificate that chains to a CA this process was not given: the handoff's family
 * (NODE_PG_MISSING_CA: what the server sends decides which), plus a self-signed server certificate.
 */
const MISSING_CA_CODES: ReadonlySet<string> = new Set([
  ...NODE_PG_MISSING_CA.map((e) => e.code),
  "DEPTH_ZERO_SELF_SIGNED_CERT",
]);

/** The one remedy for a missing CA, wherever this tool reads the bundle from. */
export const CA_BUNDLE_REMEDY = `Give this tool the CA bundle (RDS: ${RDS_CA_BUNDLE_URL}): --ca-file <path>, or UMAMI_CA_FILE=<path>, or NODE_EXTRA_CA_CERTS=<path> (sslrootcert=<path> in a URL does the same).`;

/** The ConnectionError for a failed connect: what went wrong at which host, and the next step. Pure. */
export function describeConnectFailure(settings: ConnectionSettings, error: unknown): ConnectionError {
  const e = error as { code?: string; message?: string };
  const where = `${settings.host}:${settings.port}`;
  const who = `as ${settings.user} to database ${settings.database}`;
  const code = e.code;
  let message: string;
  if (code === "28000" && /no encryption/.test(e.message ?? "")) {
    message = `The server at ${where} refused a connection without TLS (pg_hba.conf allows only hostssl). Use sslmode=require (or sslmode=verify-full with sslrootcert=<CA bundle> in the URL, or --ca-file where the command has it).`;
  } else if (code === "28P01")
    message = `Login ${who} at ${where} failed: wrong password. Check the secret or the URL's password.`;
  else if (code === "28000")
    message = `Login ${who} at ${where} was rejected by pg_hba.conf or the role cannot log in (${e.message}).`;
  else if (code === "3D000")
    message = `Database ${settings.database} does not exist at ${where}. Check the database name in the stage settings or URL.`;
  else if (code === "ENOTFOUND" || code === "EAI_AGAIN")
    message = `Host ${settings.host} could not be resolved. Check the host name (cluster endpoint) and your DNS/VPN.`;
  else if (code === "ECONNREFUSED")
    message = `Nothing is listening at ${where} (connection refused). Check the port and that the database is running.`;
  else if (code === "ETIMEDOUT" || /timeout/i.test(e.message ?? "")) {
    message = `Connecting to ${where} timed out after ${settings.connectTimeoutMs / 1000} s. Usual causes: the security group does not allow this runner, or the cluster is in a private subnet — run from inside the VPC or through \`sst tunnel\`.`;
  } else if (MISSING_CA_CODES.has(code ?? "")) {
    message = `The certificate of ${where} was not trusted (${e.message}, ${code}): it chains to a CA this tool was not given. ${CA_BUNDLE_REMEDY}`;
  } else if (code === NODE_PG_WRONG_HOST.code) {
    message = `The certificate of ${where} is for another host name (${e.message}). Connect to the cluster's endpoint by the name on its certificate, never an IP address or a CNAME.`;
  } else if (/CERT|SELF_SIGNED|ERR_TLS|HOSTNAME/.test(code ?? "")) {
    message = `The certificate of ${where} was not trusted (${e.message}, ${code}). ${CA_BUNDLE_REMEDY}`;
  } else if (/does not support SSL/i.test(e.message ?? "")) {
    message = `The server at ${where} does not accept TLS connections, and sslmode=${settings.sslmode} requires TLS. Point the URL at the cluster endpoint (Aurora accepts TLS), or use sslmode=disable for a database on this machine.`;
  } else if (/SSL/i.test(e.message ?? ""))
    message = `TLS negotiation with ${where} failed: ${e.message}. Check sslmode (and --ca-file for verify-full).`;
  else message = `Could not connect ${who} at ${where}: ${e.message ?? String(error)}`;
  return new ConnectionError(
    settings.host,
    settings.port,
    settings.user,
    code,
    maskPassword(message, settings.password),
    { cause: error },
  );
}

/** Connections this process holds open now, and the most it held at once since `resetConnectionPeak()`. */
export const connectionCount = { open: 0, peak: 0 };

/** Restarts the peak count at the current number of open connections (benchmarks, tests). */
export function resetConnectionPeak(): void {
  connectionCount.peak = connectionCount.open;
}

/** Every client open now, with where it is connected (an interrupt cancels their statements, then closes them). */
const openClients = new Map<Client, ConnectionSettings>();

/**
 * Sends PostgreSQL's CancelRequest for the statement running on `client` (protocol: length 16, code 80877102,
 * backend pid, secret key), on a connection of its own as libpq's PQcancel does. The server cancels it at once:
 * the transaction is aborted, the locks released. Resolves whether or not a statement was running.
 */
function cancelRunningStatement(client: Client, settings: ConnectionSettings): Promise<void> {
  const { processID, secretKey } = client as unknown as { processID?: number; secretKey?: number };
  if (processID === undefined || secretKey === undefined) return Promise.resolve();
  return new Promise((done) => {
    const packet = Buffer.alloc(16);
    packet.writeInt32BE(16, 0);
    packet.writeInt32BE(80877102, 4);
    packet.writeInt32BE(processID, 8);
    packet.writeInt32BE(secretKey, 12);
    const socket = createConnection({ host: settings.host, port: settings.port }, () => socket.end(packet));
    socket.setTimeout(2_000, () => socket.destroy());
    socket.on("close", () => done());
    socket.on("error", () => done());
  });
}

setConnectionHooks({
  async cancel() {
    const busy = [...openClients].filter(([client]) => (client as unknown as { _activeQuery?: unknown })._activeQuery);
    await Promise.all(busy.map(([client, settings]) => cancelRunningStatement(client, settings)));
    return busy.length;
  },
  async close() {
    await Promise.all([...openClients.keys()].map((client) => client.end().catch(() => undefined)));
  },
});

/** Opens a client; the caller must `end()` it. Prefer `withClient`. */
export async function connect(settings: ConnectionSettings): Promise<Client> {
  const client = new pg.Client({
    host: settings.host,
    port: settings.port,
    user: settings.user,
    password: settings.password,
    database: settings.database,
    ssl: sslOptions(settings),
    connectionTimeoutMillis: settings.connectTimeoutMs,
    application_name: settings.applicationName,
    ...(settings.options ? { options: settings.options } : {}),
  });
  // An idle client whose server goes away emits 'error'; without a listener Node would crash the process.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw describeConnectFailure(settings, error);
  }
  connectionCount.open += 1;
  connectionCount.peak = Math.max(connectionCount.peak, connectionCount.open);
  openClients.set(client, settings);
  const end = client.end.bind(client);
  let ended = false;
  client.end = (async () => {
    if (!ended) {
      ended = true;
      connectionCount.open -= 1;
      openClients.delete(client);
    }
    return end();
  }) as typeof client.end;
  return client;
}

/** Runs `fn` with a connected client and always closes it. */
export async function withClient<T>(settings: ConnectionSettings, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect(settings);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs `fn` inside BEGIN/COMMIT on one client; rolls back when it throws. */
export async function withTransaction<T>(client: Client, fn: (client: Client) => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  try {
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/** Runs `fn` inside a transaction that is always rolled back (live probes, dry runs). */
export async function withRolledBackTransaction<T>(client: Client, fn: (client: Client) => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  try {
    return await fn(client);
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
  }
}

/** Holds a session-level advisory lock while `fn` runs (`pg_advisory_lock` waits for it). */
export async function withAdvisoryLock<T>(client: Client, key: bigint, fn: () => Promise<T>): Promise<T> {
  await client.query("SELECT pg_catalog.pg_advisory_lock($1)", [key.toString()]);
  try {
    return await fn();
  } finally {
    await client.query("SELECT pg_catalog.pg_advisory_unlock($1)", [key.toString()]).catch(() => undefined);
  }
}
