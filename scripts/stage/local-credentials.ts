/**
 * What only the local credentials file has (`.umami-db/<stage>/credentials.json`, 0600): the secret's keys, plus a
 * URL psql accepts, and a mark once the server it describes is gone. Each file describes one role on one server
 * and database; a run never writes another's credentials over it. Beside it, for a kept embedded server, a libpq
 * service file (0600) lets psql connect as its administrator, umami_user and superuser without a password on
 * the command line.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { formatDatabaseUrl, parseDatabaseUrlParts } from "../../sst/database/url.js";
import { UserError } from "../kernel/errors.js";
import { parseCredentialsSecret, writePrivateFile, type CredentialsSecret } from "./credentials.js";

/** Whose credentials a file holds, and where they log in. */
export interface SecretTarget {
  username: string;
  host: string;
  port: number;
  database: string;
}

/** The local file's own keys, beside the secret's. */
interface LocalKeys {
  /** DATABASE_URL as psql takes it: libpq refuses Prisma's `schema=`; `options` sets the search_path instead. */
  PSQL_URL: string;
  /** When the server it describes was removed (a later run may then write over it). */
  SERVER_REMOVED?: string;
}

const describeTarget = (t: SecretTarget) => `${t.username} on ${t.host}:${t.port}/${t.database}`;
const sameTarget = (a: SecretTarget, b: SecretTarget) =>
  a.username === b.username && a.host === b.host && a.port === b.port && a.database === b.database;

/** `url` (a secret's DATABASE_URL) as psql accepts it: no `schema=`, the schema as the session's search_path. */
export function psqlUrl(url: string, schema?: string): string {
  const parts = parseDatabaseUrlParts(url);
  const { schema: fromUrl, ...params } = parts.params;
  const path = schema ?? fromUrl;
  return formatDatabaseUrl({ ...parts, params: { ...params, ...(path ? { options: `-c search_path=${path}` } : {}) } });
}

/** Writes the local credentials file: the secret, and its psql URL (0600, directory 0700, atomically). */
export function writeLocalSecretFile(path: string, secret: CredentialsSecret): void {
  const local: LocalKeys = { PSQL_URL: psqlUrl(secret.DATABASE_URL, secret.schema) };
  writePrivateFile(path, `${JSON.stringify({ ...secret, ...local }, null, 2)}\n`);
}

/**
 * Refuses, before anything is changed, a run that would write credentials for `target` (undefined: a server not
 * started yet) over a file holding another role's or server's — unless that file is marked as describing a
 * removed server. One line naming both and what to do.
 */
export function refuseOtherTarget(path: string, target: SecretTarget | undefined): void {
  if (!existsSync(path)) return;
  const text = readFileSync(path, "utf8");
  const held = parseCredentialsSecret(text, `file ${path}`);
  if ((JSON.parse(text) as Partial<LocalKeys>).SERVER_REMOVED) return;
  if (target && sameTarget(held, target)) return;
  throw new UserError(
    `The credentials file ${path} holds the credentials of ${describeTarget(held)}; this run would write ` +
      `${target ? `those of ${describeTarget(target)}` : "a new embedded server's"} over them. Pass --secret-file with another path, ` +
      `or remove ${path} if that server or role is gone. Nothing was changed.`,
  );
}

/** Marks the file as describing a server that is gone (a run without --keep removed it). */
export function markServerRemoved(path: string, when: Date, why: string): void {
  const value = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  writePrivateFile(path, `${JSON.stringify({ ...value, SERVER_REMOVED: `${when.toISOString()}: ${why}` }, null, 2)}\n`);
}

/** Removes the file when it holds `target`'s credentials (its role was dropped); says whether it did. */
export function removeIfDescribes(path: string, target: SecretTarget): boolean {
  if (!existsSync(path)) return false;
  let held: CredentialsSecret;
  try {
    held = parseCredentialsSecret(readFileSync(path, "utf8"), `file ${path}`);
  } catch {
    return false; // not a credentials file this tool wrote: not ours to remove
  }
  if (!sameTarget(held, target)) return false;
  rmSync(path, { force: true });
  return true;
}

/** One libpq service: a name psql takes as `service=<name>`, and its connection's parts. */
export interface PsqlService {
  name: string;
  /** What it connects as, for the line that prints it. */
  what: string;
  url: string;
}

/** The service file beside the credentials file (`pg_service.conf`). */
export function serviceFilePath(secretFile: string): string {
  return join(dirname(secretFile), "pg_service.conf");
}

/**
 * Writes a libpq service file (0600) with one section per service, every part of each URL a keyword, the
 * password included: psql then connects with `PGSERVICEFILE=<file> psql service=<name>`, and no password is
 * printed.
 */
export function writeServiceFile(path: string, services: PsqlService[]): void {
  const sections = services.map((s) => {
    const p = parseDatabaseUrlParts(s.url);
    const keys = {
      host: p.host,
      port: String(p.port),
      dbname: p.database,
      user: p.user,
      password: p.password,
      ...p.params,
    };
    return [`# ${s.what}`, `[${s.name}]`, ...Object.entries(keys).map(([k, v]) => `${k}=${v}`)].join("\n");
  });
  writePrivateFile(
    path,
    `# Written by umami-db local --keep (a kept embedded server, local only).\n\n${sections.join("\n\n")}\n`,
  );
}
