/**
 * Live probes: logged in as the Umami role, try what the catalogs say it cannot do — and the
 * one thing it must do — inside a single transaction that is always rolled back, one SAVEPOINT per probe so a
 * denied statement does not abort the others. Nothing is left behind (the fingerprint test proves it).
 */
import type { AuditContext } from "./types.js";
import { quoteIdent } from "../../sst/database/quote.js";
import {
  ConnectionError,
  withClient,
  withRolledBackTransaction,
  type Client,
  type ConnectionSettings,
} from "../kernel/db.js";

/** One probe's outcome. `ok` when the outcome is the expected one. */
export interface ProbeResult {
  name: string;
  expected: "denied" | "allowed";
  outcome: "denied" | "allowed" | "error" | "skipped";
  ok: boolean;
  /** SQLSTATE and message of an unexpected error, or why the probe was skipped. */
  detail?: string;
}

/** SQLSTATE insufficient_privilege: what a denied probe must raise. */
const INSUFFICIENT_PRIVILEGE = "42501";

/** SQLSTATE lock_not_available: a NOWAIT lock another session holds. */
const LOCK_NOT_AVAILABLE = "55P03";

/** The probe table's name: unlikely to clash, and rolled back anyway. */
const PROBE_TABLE = "umami_db_audit_probe";

// An application table to read (public first) and an application schema other than public to create in.
const TARGETS_SQL = `
  SELECT
    (SELECT pg_catalog.jsonb_build_object('schema', n.nspname, 'table', c.relname)
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname <> $1 AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
      ORDER BY n.nspname = 'public' DESC, n.nspname, c.relname LIMIT 1) AS app_table,
    EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'public') AS has_public,
    (SELECT n.nspname FROM pg_catalog.pg_namespace n
      WHERE n.nspname NOT IN ($1, 'public', 'information_schema') AND n.nspname !~ '^pg_'
      ORDER BY n.nspname LIMIT 1) AS other_schema
`;

async function attempt(
  client: Client,
  name: string,
  expected: ProbeResult["expected"],
  statements: string[],
): Promise<ProbeResult> {
  await client.query("SAVEPOINT probe");
  try {
    for (const sql of statements) await client.query(sql);
    await client.query("RELEASE SAVEPOINT probe");
    return { name, expected, outcome: "allowed", ok: expected === "allowed" };
  } catch (error) {
    await client.query("ROLLBACK TO SAVEPOINT probe");
    const e = error as { code?: string; message?: string };
    if (e.code === INSUFFICIENT_PRIVILEGE) return { name, expected, outcome: "denied", ok: expected === "denied" };
    // The privilege check passed, but the application holds the table: allowed, and not waited for.
    if (e.code === LOCK_NOT_AVAILABLE) {
      return {
        name,
        expected,
        outcome: "allowed",
        ok: expected === "allowed",
        detail: "the privilege check passed; the table was locked by another session, so it was not read",
      };
    }
    return { name, expected, outcome: "error", ok: false, detail: `${e.code ?? "?"}: ${e.message ?? String(error)}` };
  }
}

function skipped(name: string, expected: ProbeResult["expected"], why: string): ProbeResult {
  return { name, expected, outcome: "skipped", ok: true, detail: why };
}

/**
 * Runs the probes as the Umami role (`umami`), choosing targets with the administrator's context; the Umami
 * role's connection opens once `after` has settled (the audit's other connections are closed by then).
 */
export async function runProbes(
  ctx: AuditContext,
  umami: ConnectionSettings,
  after: Promise<unknown> = Promise.resolve(),
  /** Runs next on the same connection once the probes' transaction is rolled back (when the role logged in). */
  next?: (client: Client) => Promise<void>,
): Promise<ProbeResult[]> {
  const { spec } = ctx;
  const [targets] = await ctx.query<{
    app_table: { schema: string; table: string } | null;
    has_public: boolean;
    other_schema: string | null;
  }>(TARGETS_SQL, [spec.schema]);
  await after.catch(() => undefined);
  let results: ProbeResult[] = [];
  try {
    await withClient(umami, async (client) => {
      await withRolledBackTransaction(client, async () => {
        const who = await client.query<{ user: string }>("SELECT current_user AS user");
        if (who.rows[0].user !== spec.role.name) {
          results = [
            {
              name: "log in",
              expected: "allowed",
              outcome: "error",
              ok: false,
              detail: `logged in as ${who.rows[0].user}, not ${spec.role.name}`,
            },
          ];
          return;
        }
        // A probe must never wait behind the application's locks.
        await client.query("SET LOCAL lock_timeout = '5s'");
        await client.query("SET LOCAL statement_timeout = '15s'");
        const table = (schema: string, name: string) => `${quoteIdent(schema)}.${quoteIdent(name)}`;
        const create = (schema: string) => `CREATE TABLE ${table(schema, PROBE_TABLE)} (id integer)`;
        const t = targets.app_table;
        results = [
          t
            ? await attempt(client, `read ${t.schema}.${t.table}`, "denied", [
                // LOCK TABLE checks the privilege before it locks, and NOWAIT never queues: a denied probe never
                // touches the application's lock, and an allowed one never waits behind it (a SELECT would
                // lock the table before checking the privilege).
                `LOCK TABLE ${table(t.schema, t.table)} IN ACCESS SHARE MODE NOWAIT`,
                `SELECT 1 FROM ${table(t.schema, t.table)} LIMIT 1`,
              ])
            : skipped("read an application table", "denied", "the database has no application table"),
          targets.has_public
            ? await attempt(client, "create a table in public", "denied", [create("public")])
            : skipped("create a table in public", "denied", "the database has no public schema"),
          targets.other_schema
            ? await attempt(client, `create a table in ${targets.other_schema}`, "denied", [
                create(targets.other_schema),
              ])
            : skipped(
                "create a table in another application schema",
                "denied",
                "the database has no other application schema",
              ),
          await attempt(client, "create a schema", "denied", [`CREATE SCHEMA ${quoteIdent(PROBE_TABLE)}`]),
          await attempt(client, `create and read a table in ${spec.schema}`, "allowed", [
            create(spec.schema),
            `INSERT INTO ${table(spec.schema, PROBE_TABLE)} (id) VALUES (1)`,
            `SELECT id FROM ${table(spec.schema, PROBE_TABLE)}`,
          ]),
        ];
      });
      if (next && results.every((r) => r.name !== "log in")) await next(client);
    });
  } catch (error) {
    // A role that cannot log in is a finding (the connection error never carries the password); others are bugs.
    if (!(error instanceof ConnectionError)) throw error;
    results = [
      { name: `log in as ${spec.role.name}`, expected: "allowed", outcome: "error", ok: false, detail: error.message },
    ];
  }
  return results;
}
