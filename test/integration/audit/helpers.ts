/**
 * What the audit's integration tests share: a provisioned dev stage on its own server (an Aurora-like admin,
 * pg_stat_statements created, one Umami table created by umami_user as its migrations would), connections
 * as each actor, and readers for findings.
 */
import { buildSpec } from "../../../sst/database/spec.js";
import type { AuditResult, Finding } from "../../../scripts/audit/audit.js";
import { parseDatabaseUrl, toUrl, withClient, type ConnectionSettings } from "../../../scripts/kernel/db.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { startTestServer, TEST_ADMIN, TEST_APP_PASSWORD, type TestServer } from "../../support/server.js";
import { runCli } from "../../support/reliability.js";

export const spec = buildSpec("dev");

/** Who runs a statement: the Aurora-like admin, the bootstrap superuser (on `app`), umami_user, app_user. */
export type Who = "admin" | "superuser" | "umami" | "app";

export interface AuditStage {
  server: TestServer;
  umami: ConnectionSettings;
  as(who: Who, database?: string): ConnectionSettings;
  /** Runs `sql` as `who` (on `database`, default `app`). */
  run(who: Who, sql: string, database?: string): Promise<void>;
}

/**
 * Starts a server (with extra `postgres -c` settings) and provisions the dev stage on it; `beforeProvision`
 * shapes the application's database first (a brownfield database as it was before Umami arrived).
 */
export async function startAuditStage(
  password: string,
  options: { settings?: Record<string, string>; beforeProvision?: (server: TestServer) => Promise<void> } = {},
): Promise<AuditStage> {
  const server = await startTestServer({ settings: options.settings });
  await options.beforeProvision?.(server);
  await withClient(server.admin, (c) => provisionStage(c, spec, { admin: TEST_ADMIN.name, password }));
  const umami = parseDatabaseUrl(toUrl(server.admin, { user: spec.role.name, password }));
  const app = parseDatabaseUrl(toUrl(server.admin, { user: "app_user", password: TEST_APP_PASSWORD }));
  await withClient(umami, (c) =>
    c.query("CREATE TABLE umami.website (website_id uuid PRIMARY KEY, name text NOT NULL)"),
  );
  const as = (who: Who, database = server.admin.database): ConnectionSettings => {
    const base = { admin: server.admin, superuser: { ...server.superuser }, umami, app }[who];
    return { ...base, database };
  };
  return {
    server,
    umami,
    as,
    run: async (who, sql, database) => void (await withClient(as(who, database), (c) => c.query(sql))),
  };
}

/** The finding of `name`; throws when the audit has no such check. */
export function check(result: AuditResult, name: string): Finding {
  const found = result.findings.find((f) => f.check === name);
  if (!found) throw new Error(`no finding for check ${name}`);
  return found;
}

/** Checks that fail. */
export function failing(result: AuditResult): string[] {
  return result.findings.filter((f) => f.severity === "fail").map((f) => f.check);
}

/**
 * The SQL statements a remedy spells out, without the prose around them: each starts with REVOKE, GRANT, ALTER,
 * DROP or CREATE followed by a keyword or a quoted name, and ends at a semicolon outside quotes and parentheses.
 * A candidate that a closing parenthesis ends first ("(and GRANT CONNECT to the roles that use it)"), or that
 * holds an ellipsis (a template: "ALTER … SET SCHEMA"), is prose.
 */
export function statements(remedy: string): string[] {
  const found: string[] = [];
  const start = /\b(?:REVOKE|GRANT|ALTER|DROP|CREATE)\s+(?=[A-Z]{2,}\b|")/g;
  for (let m = start.exec(remedy); m; m = start.exec(remedy)) {
    const end = statementEnd(remedy, m.index);
    if (end === -1) continue;
    const sql = remedy.slice(m.index, end + 1);
    if (sql.includes("…")) continue;
    found.push(sql);
    start.lastIndex = end + 1;
  }
  return found;
}

/** The index of the semicolon that ends the statement starting at `i`, or -1 when prose ends it first. */
function statementEnd(text: string, i: number): number {
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    const c = text[j];
    if (c === '"' || c === "'") {
      j = closingQuote(text, j, c);
      if (j === -1) return -1;
    } else if (c === "(") depth++;
    else if (c === ")" && --depth < 0) return -1;
    else if (c === ";" && depth === 0) return j;
  }
  return -1;
}

/** The index of the quote that closes the one at `i` (a doubled quote is part of the name), or -1. */
function closingQuote(text: string, i: number, quote: string): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] !== quote) continue;
    if (text[j + 1] !== quote) return j;
    j++;
  }
  return -1;
}

/**
 * Runs each statement a finding's remedy spells out (those `keep` accepts) as `who`, on `database`; returns
 * them so that a test can say which ones ran. Fails the test when the remedy spells out none.
 */
export async function applyRemedy(
  stage: AuditStage,
  remedy: string,
  who: Who,
  options: { database?: string; keep?: (statement: string) => boolean } = {},
): Promise<string[]> {
  const list = statements(remedy).filter(options.keep ?? (() => true));
  if (list.length === 0) throw new Error(`the remedy spells out no statement to run: ${remedy}`);
  for (const sql of list) await stage.run(who, sql, options.database);
  return list;
}

/** Runs `sql` as `who` and returns its rows. */
export async function rows<R extends Record<string, unknown>>(
  stage: AuditStage,
  who: Who,
  sql: string,
  database?: string,
): Promise<R[]> {
  return withClient(stage.as(who, database), async (c) => (await c.query<R>(sql)).rows);
}

/** A finding as `verify --json` prints it. */
interface CliFinding {
  class: string;
  check: string;
  severity: string;
  objects: string[];
  remedy: string;
}

/**
 * `umami-db verify --json` as a DBA runs it (the administrator's URL in the environment, `args` added): exit
 * code, everything printed, the report and a finding by check.
 */
export async function verifyCli(stage: AuditStage, ...args: string[]) {
  const run = await runCli(["verify", "--json", ...args], { ADMIN_DATABASE_URL: stage.server.adminUrl() });
  const json = JSON.parse(run.stdout) as { ok: boolean; findings: CliFinding[] };
  return {
    code: run.code,
    output: `${run.stdout}${run.stderr}`,
    ok: json.ok,
    findings: json.findings,
    finding: (name: string) => json.findings.find((f) => f.check === name),
  };
}
