/**
 * Database URLs, one vocabulary for the stack and the tool: `formatDatabaseUrl` builds every URL the product
 * stores or prints, `parseDatabaseUrlParts` reads every URL it is given, and `maskUrl` / `maskPassword` are how
 * a URL or a password reaches a message. However malformed the input, an error never quotes the password: it
 * names what is wrong in words, and quotes the URL only masked.
 *
 * The parser is stricter than WHATWG's `URL` on purpose: node-pg and Prisma read a URL as WHATWG does, libpq
 * stops its user name and password at the first `@` or `/`; a URL the readers would split differently (an
 * unencoded `@ / ? #` in the password, a `#` anywhere) is refused, so no reader ever takes a piece of a
 * password for a host or a database name.
 */
import { UserError } from "../errors.js";

/** The parts of a `postgresql://` URL, by libpq's names (`user`, never `username`). */
interface DatabaseUrlParts {
  /** Empty: no user information in the URL (the credentials travel beside it). */
  user: string;
  password: string;
  host: string;
  port: number;
  database: string;
  /** Query parameters in order (`schema`, `sslmode`, `options`, …); an undefined value is left out. */
  params?: Readonly<Record<string, string | undefined>>;
}

/** A parsed URL: its parts, with every query parameter as given. */
export interface ParsedDatabaseUrl extends DatabaseUrlParts {
  params: Readonly<Record<string, string>>;
}

/** How a URL should be written, with a password that must be percent-encoded. */
const EXAMPLE = "postgresql://user:password@host:5432/database";
const ENCODE_HINT =
  "percent-encode them in the user name and password (@ as %40, : as %3A, / as %2F, ? as %3F, # as %23, % as %25, a space as %20)";

const MASK = "****";

/**
 * The URL for `parts`. Values are %-encoded with `%20` for a space (libpq does not read `+` as one, measured
 * with psql 15); an IPv6 host is bracketed. With `masked`, the password is written as `****`.
 */
export function formatDatabaseUrl(parts: DatabaseUrlParts, options: { masked?: boolean } = {}): string {
  const password = options.masked ? MASK : encodeURIComponent(parts.password);
  const userinfo = parts.user || parts.password ? `${encodeURIComponent(parts.user)}:${password}@` : "";
  const host = parts.host.includes(":") ? `[${parts.host}]` : parts.host;
  const query = Object.entries(parts.params ?? {})
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join("&");
  return `postgresql://${userinfo}${host}:${parts.port}/${encodeURIComponent(parts.database)}${query ? `?${query}` : ""}`;
}

function urlError(message: string): UserError {
  return new UserError(message);
}

/**
 * Parses a `postgresql://` (or `postgres://`) URL into its parts. Every error is one line that never quotes
 * the password; the URL appears in it only through `maskUrl`.
 */
export function parseDatabaseUrlParts(url: string): ParsedDatabaseUrl {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url);
  // Without `scheme://` nothing says where a password would end: maskUrl quotes none of such a text.
  if (!scheme) throw urlError(`The database URL is not a URL (${maskUrl(url)}). Use ${EXAMPLE}.`);
  const protocol = scheme[1].toLowerCase();
  if (protocol !== "postgresql" && protocol !== "postgres") {
    throw urlError(`The database URL must start with postgresql:// (found ${scheme[1]}://).`);
  }
  const rest = url.slice(scheme[0].length);
  if (rest.includes("#")) {
    throw urlError(
      `The database URL (${maskUrl(url)}) has a #: a PostgreSQL URL has no fragment, so it is part of a password or name; ${ENCODE_HINT}.`,
    );
  }
  const at = rest.lastIndexOf("@");
  const userinfo = at >= 0 ? rest.slice(0, at) : undefined;
  if (userinfo !== undefined && /[@/?]/.test(userinfo)) {
    throw urlError(
      `The database URL (${maskUrl(url)}) has an @, / or ? before the @ that ends its user name and password ` +
        `(node-pg and libpq would read it differently); ${ENCODE_HINT}.`,
    );
  }
  const afterUserinfo = at >= 0 ? rest.slice(at + 1) : rest;
  const authorityEnd = afterUserinfo.search(/[/?]/);
  const authority = authorityEnd >= 0 ? afterUserinfo.slice(0, authorityEnd) : afterUserinfo;
  const portText = /^(?:\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(authority)?.[1];
  if (portText !== undefined && !/^\d{1,5}$/.test(portText)) {
    // What follows the host's `:` may be a password that lost its `@` (an empty port too: `user:/pass`): never quoted.
    throw urlError(
      `The database URL (${maskUrl(url)}) has a port that is not a number. Use ${EXAMPLE}, and ${ENCODE_HINT}.`,
    );
  }
  const parsed = (() => {
    try {
      return new URL(url);
    } catch {
      throw urlError(`The database URL is not a URL (${maskUrl(url)}). Use ${EXAMPLE}, and ${ENCODE_HINT}.`);
    }
  })();
  const decode = (part: string, what: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      // The part itself is never quoted: it may be the password.
      throw urlError(
        `The database URL's ${what} has a malformed %-escape. Percent-encode special characters (% as %25, @ as %40, : as %3A).`,
      );
    }
  };
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!host) throw urlError(`The database URL has no host. Use ${EXAMPLE}.`);
  const params: Record<string, string> = {};
  // The first of a repeated parameter counts, as in URLSearchParams.get.
  for (const [key, value] of parsed.searchParams) if (!(key in params)) params[key] = value;
  const port = parsed.port ? Number(parsed.port) : 5432;
  if (!(port > 0 && port < 65536)) throw urlError(`The database URL's port must be from 1 to 65535. Use ${EXAMPLE}.`);
  return {
    user: decode(parsed.username, "user name"),
    password: decode(parsed.password, "password"),
    host,
    port,
    database: decode(parsed.pathname.replace(/^\//, ""), "database name"),
    params,
  };
}

/**
 * The URL with its password replaced by `****`, for messages; safe on any text. Whatever could be a password
 * is masked: everything between the user name's `:` and the last `@`, a `password=` parameter, whatever
 * follows a host's `:` that does not start a port (a password that lost its `@`, or typed where the port goes),
 * everything after the `@` when no host stands there, and whatever follows a `#`.
 */
export function maskUrl(url: string): string {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)/.exec(url);
  if (!scheme) return /[:@]/.test(url) ? MASK : url;
  const rest = url.slice(scheme[0].length).replace(/([?&]password=)[^&]*/gi, `$1${MASK}`);
  const at = rest.lastIndexOf("@");
  let userinfo = "";
  if (at >= 0) {
    const colon = rest.slice(0, at).indexOf(":");
    const user = colon >= 0 ? rest.slice(0, colon) : rest.slice(0, at);
    userinfo = `${/[/?#]/.test(user) ? MASK : user}${colon >= 0 ? `:${MASK}` : ""}@`;
  }
  // A URL has no fragment: from a `#` on, the text may be the rest of a password whose `@` came early.
  const hash = rest.indexOf("#", at + 1);
  const hostPart = hash >= 0 ? `${rest.slice(at + 1, hash)}#${MASK}` : rest.slice(at + 1);
  // Only a host that is one (a name, an address, a bracketed literal) is quoted: anything else after the `@`
  // (empty, a space, a `%`, an `&`…) may be the tail of a password whose own `@` ended the user information.
  const host = /^(?:\[[^\]]*\]|[^:/?#]*)/.exec(hostPart)![0];
  if (!/^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)$/.test(host)) return `${scheme[1]}${userinfo}${MASK}`;
  // After the host's `:` only a port (1 to 5 digits) is quoted; an empty one is a password's `:` as well.
  if (hostPart[host.length] === ":" && !/^\d{1,5}(?:[/?]|$)/.test(hostPart.slice(host.length + 1))) {
    return `${scheme[1]}${userinfo}${host}:${MASK}`;
  }
  return `${scheme[1]}${userinfo}${hostPart}`;
}

/**
 * Masks every occurrence of `password` in a message. Passwords shorter than 4 characters are not searched for:
 * they would match ordinary words and garble the message (our generated passwords have 40 characters).
 */
export function maskPassword(message: string, password: string): string {
  if (password.length < 4) return message;
  // Also as it would appear inside a URL (percent-encoded).
  return message.replaceAll(password, MASK).replaceAll(encodeURIComponent(password), MASK);
}
