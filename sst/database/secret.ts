/**
 * The credentials secret's shape — the contract with the Umami container (docs/container.md). Its URLs are used by Umami
 * as they are: node-pg (Umami's runtime, through `PrismaPg`) and Prisma's native engine (`prisma migrate
 * deploy` at the container's start) read the same text, and so does `umami-db` (libpq semantics,
 * scripts/kernel/db.ts). Every query parameter below was chosen so that all three read it alike
 * (`docs/design.md` § "The contract with the Umami container").
 */
import { formatDatabaseUrl } from "./url.js";

/** Keys every credentials secret carries: the story's six, AWS's rotation format, and the URLs Umami reads. */
export const SECRET_KEYS = [
  "username",
  "password",
  "host",
  "port",
  "database",
  "schema",
  "engine",
  "dbname",
  "DATABASE_URL",
  "DIRECT_DATABASE_URL",
] as const;

/** Keys a secret carries only for some stages: DATABASE_REPLICA_URL with `readReplica`. */
export const OPTIONAL_SECRET_KEYS = ["DATABASE_REPLICA_URL"] as const;

/** The secret's URL keys, in the order the handoff lists them. */
export const URL_KEYS = ["DATABASE_URL", "DIRECT_DATABASE_URL", "DATABASE_REPLICA_URL"] as const;
export type UrlKey = (typeof URL_KEYS)[number];

/** The credentials secret's JSON (Secrets Manager in AWS, a 0600 file locally). */
export interface CredentialsSecret {
  username: string;
  password: string;
  host: string;
  port: number;
  database: string;
  schema: string;
  engine: "postgres";
  dbname: string;
  /** Umami's runtime: the role's `statement_timeout` bounds every query. */
  DATABASE_URL: string;
  /** Migrations: the same, with the statement timeout lifted for the session (`options=-c statement_timeout=0`). */
  DIRECT_DATABASE_URL: string;
  /** Umami's read pool on the cluster's reader endpoint (stages with `readReplica`). */
  DATABASE_REPLICA_URL?: string;
}

/**
 * TLS of the secret's URLs: `verify-full` for any remote host, `disable` only for a database on this machine
 * (`umami-db local`). Never `require`: node-pg reads it as verify-full while libpq (and `umami-db`) read it as
 * "encrypt, check nothing" — the two would disagree (`docs/design.md` § "The contract with the Umami container").
 */
type SecretSslMode = "verify-full" | "disable";

/**
 * The startup `options` of DIRECT_DATABASE_URL. Options from the startup packet override the role's setting
 * (source `client` beats `user`, measured); node-pg, libpq and Prisma's native engine all send them.
 */
export const MIGRATION_SESSION_OPTIONS = "-c statement_timeout=0";

/** Where the RDS CA bundle is published (every region's roots and intermediates). */
export const RDS_CA_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem";

/** One way node-pg (pg 8.23, Node's TLS) fails when the server's certificate chains to a CA it was not given. */
interface MissingCaError {
  /** Node's `err.code` (OpenSSL's verify result). */
  code: string;
  message: string;
  /** What the server sent to cause it. */
  when: string;
}

/**
 * What the Umami container logs without the RDS bundle in NODE_EXTRA_CA_CERTS — which one depends on what the
 * server sends. Each is measured with a private CA (test/integration/container/umami-tls.test.ts); public
 * reports of node-pg against RDS show the second (brianc/node-postgres#2558).
 */
export const NODE_PG_MISSING_CA: readonly MissingCaError[] = [
  {
    code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    message: "unable to verify the first certificate",
    when: "the server sends its certificate alone",
  },
  {
    code: "SELF_SIGNED_CERT_IN_CHAIN",
    message: "self-signed certificate in certificate chain",
    when: "the server sends its chain up to the root (RDS, as reported)",
  },
  {
    code: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    message: "unable to get local issuer certificate",
    when: "the server sends its chain without the root",
  },
];

/** How Umami's Prisma client (PrismaPg) wraps node-pg's TLS error: `Error opening a TLS connection: <message>`. */
export const PRISMA_TLS_ERROR_PREFIX = "Error opening a TLS connection: ";

/** What node-pg says for a certificate issued to another host name (Node's `checkServerIdentity`). */
export const NODE_PG_WRONG_HOST = {
  code: "ERR_TLS_CERT_ALTNAME_INVALID",
  messageStart: "Hostname/IP does not match certificate's altnames",
} as const;

/** The parts the secret is built from, by the secret's own keys (`username`: AWS's rotation format). */
interface SecretParts {
  username: string;
  password: string;
  host: string;
  port: number;
  database: string;
  schema: string;
  /** @default "verify-full" */
  sslmode?: SecretSslMode;
}

/**
 * A URL Umami reads, through the one formatter (url.ts): Prisma's `?schema=` selects the schema;
 * `sslmode=verify-full` checks certificate and host name in node-pg and libpq; `sslaccept=strict` makes
 * Prisma's native engine check them too (it reads `verify-full` as `prefer` and accepts any certificate by
 * default; node-pg and libpq ignore the parameter).
 */
function secretUrl(parts: SecretParts, options?: string): string {
  const sslmode = parts.sslmode ?? "verify-full";
  return formatDatabaseUrl({
    user: parts.username,
    password: parts.password,
    host: parts.host,
    port: parts.port,
    database: parts.database,
    params: { schema: parts.schema, sslmode, sslaccept: sslmode === "verify-full" ? "strict" : undefined, options },
  });
}

/** Builds the secret's JSON from its parts; DATABASE_REPLICA_URL only when a reader host is given. */
export function buildCredentialsSecret(parts: SecretParts & { readerHost?: string }): CredentialsSecret {
  const { readerHost, ...url } = parts;
  return {
    username: parts.username,
    password: parts.password,
    host: parts.host,
    port: parts.port,
    database: parts.database,
    schema: parts.schema,
    engine: "postgres",
    dbname: parts.database,
    DATABASE_URL: secretUrl(url),
    DIRECT_DATABASE_URL: secretUrl(url, MIGRATION_SESSION_OPTIONS),
    ...(readerHost ? { DATABASE_REPLICA_URL: secretUrl({ ...url, host: readerHost }) } : {}),
  };
}
