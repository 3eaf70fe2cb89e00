/**
 * Support for the reliability tests: the CLI as a child process, a snapshot of everything in the
 * catalog a run could change, and checksums of every application table's rows.
 */
import { spawn } from "node:child_process";
import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { quoteIdent } from "../../sst/database/quote.js";
import { type Client } from "../../scripts/kernel/db.js";

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = resolve(PROJECT_ROOT, "bin/umami-db.js");

/** The outcome of one CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node <args>` with `env` added to a clean environment (PATH, HOME and TMPDIR only: nothing leaks in from the
 * test runner), `stdin` as its whole input, and collects its output.
 */
export function runNode(
  args: string[],
  options: { cwd: string; env: Record<string, string>; stdin?: string },
): Promise<CliRun> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: options.cwd,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
        ...options.env,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => done({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.stdin ?? "");
  });
}

/**
 * Runs `umami-db <args>` with `env` added to a clean environment (no AWS or SST variables leak in from the
 * test runner). Passwords go through `env`, never `args`, so they are not visible in the process list.
 */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  options: { cwd?: string; stdin?: string } = {},
): Promise<CliRun> {
  return runNode([BIN, ...args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    // Umami's release files come from the copy bundled in vendor/umami: no mirror, no GitHub.
    env: { AWS_EC2_METADATA_DISABLED: "true", ...env },
    stdin: options.stdin,
  });
}

/** The `error: …` lines a run printed on stderr (progress lines are not errors). */
export function errorLines(run: CliRun): string[] {
  return run.stderr.split("\n").filter((l) => /^(error|internal error)/.test(l));
}

/** Runs `tasks` with at most `limit` at a time (CLI processes are heavy on a small machine). */
export async function inBatches<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/**
 * Everything provisioning, migrations or rollback can change, as text: roles and their settings, schemas,
 * default privileges, database ACLs, extensions, every relation outside the system schemas (kind, owner,
 * ACL, columns), functions, and the rows of every `_prisma_migrations`.
 */
export async function catalogSnapshot(c: Client): Promise<string> {
  const queries = [
    `SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls,
            rolconnlimit, rolpassword IS NULL AS nopassword
       FROM pg_catalog.pg_authid WHERE rolname !~ '^pg_' ORDER BY rolname`,
    `SELECT roleid::regrole::text, member::regrole::text FROM pg_catalog.pg_auth_members ORDER BY 1, 2`,
    `SELECT r.rolname, s.setconfig FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_roles r ON r.oid = s.setrole ORDER BY 1`,
    `SELECT nspname, nspowner::regrole::text, nspacl::text FROM pg_catalog.pg_namespace ORDER BY nspname`,
    `SELECT defaclrole::regrole::text, defaclnamespace::regnamespace::text, defaclobjtype, defaclacl::text
       FROM pg_catalog.pg_default_acl ORDER BY 1, 2, 3`,
    `SELECT datname, datacl::text FROM pg_catalog.pg_database ORDER BY datname`,
    `SELECT extname, extnamespace::regnamespace::text FROM pg_catalog.pg_extension ORDER BY extname`,
    `SELECT n.nspname, c.relname, c.relkind, c.relowner::regrole::text, c.relacl::text,
            (SELECT string_agg(a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
               FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ORDER BY 1, 2`,
    `SELECT p.oid::regprocedure::text, p.proowner::regrole::text, p.proacl::text
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ORDER BY 1`,
  ];
  const parts: string[] = [];
  for (const q of queries) parts.push(JSON.stringify((await c.query(q)).rows));
  const migrationTables = await c.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = '_prisma_migrations' AND c.relkind = 'r' ORDER BY 1`,
  );
  for (const { schema } of migrationTables.rows) {
    const rows = await c.query(
      `SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count
         FROM ${quoteIdent(schema)}._prisma_migrations ORDER BY started_at, id`,
    );
    parts.push(`${schema}: ${JSON.stringify(rows.rows)}`);
  }
  return parts.join("\n");
}

/**
 * `count:md5` of every application table's rows (every ordinary table outside the system schemas and the
 * Umami schemas `umami*`), keyed by `schema.table`.
 */
export async function applicationDataChecksums(c: Client): Promise<Record<string, string>> {
  const { rows: tables } = await c.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname !~ '^(pg_|umami)' AND n.nspname <> 'information_schema'
      ORDER BY 1, 2`,
  );
  const sums: Record<string, string> = {};
  for (const t of tables) {
    const { rows } = await c.query<{ sum: string }>(
      `SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) AS sum
         FROM ${quoteIdent(t.schema)}.${quoteIdent(t.name)} t`,
    );
    sums[`${t.schema}.${t.name}`] = rows[0].sum;
  }
  return sums;
}

/** Whether every directory from / to `path` lets others through (as root, what the OS user postgres can reach). */
export function reachableByAll(path: string): boolean {
  const parts = path.split("/").filter(Boolean);
  return parts.every((_, i) => (statSync(`/${parts.slice(0, i + 1).join("/")}`).mode & 0o001) !== 0);
}
