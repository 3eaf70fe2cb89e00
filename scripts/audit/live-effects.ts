/**
 * What Umami's own statements set off, observed live (threat model class live-effects). Some paths open only
 * when Umami's role acts: an event trigger that grants every new table to a reporting role, a trigger, a CHECK
 * constraint, a default or a policy someone attached to Umami's tables that copies rows elsewhere, a NOTIFY in
 * such code. Logged in as the Umami role, in one REPEATABLE READ transaction that is always rolled back, the
 * probe does what a migration does (creates, alters, indexes, writes and drops a table of its own in Umami's
 * schema) and what the tracker does (inserts, reads, updates and deletes one row of each Umami table), then reads
 * what changed outside what it did: catalog rows the transaction wrote (grants, owners, new objects, memberships,
 * role settings: by their xmin), rows written in other relations (pg_stat_xact counters), and the functions that
 * ran (only where track_functions counts them; otherwise the NOTIFY of the code its statements set off is read
 * from that code's source). It never waits for a lock (NOWAIT on Umami's tables, a short lock_timeout for the
 * rest), touches only the row it wrote, and holds Umami's tables only while it writes (measured, reported).
 */
import type { Client } from "../kernel/db.js";
import { quoteIdent } from "../../sst/database/quote.js";
import { alterTable, drop, script } from "../../sst/database/statements.js";
import { finding, type AuditContext, type Finding } from "./types.js";
import { SENDS_NOTIFY } from "./notifications.js";
import {
  buildDdl,
  changedSql,
  FUNCTION_NAME,
  liveProbeTable,
  PLAN_SQL,
  RESULT_SETTING,
  type PlanTable,
  type SetOffCode,
} from "./live-effects-sql.js";
import { buildWritesBlock, type BlockResult, type Written } from "./live-writes.js";

/** A catalog row the probe's transaction wrote (live-effects-sql.ts changedSql). */
interface Change {
  catalog: string;
  oid: string;
  sub: number;
  owner: string | null;
  type: string;
  schema: string | null;
  identity: string;
  acl: { grantee: string; name: string; privilege: string }[];
}

// After the rollback: the changed objects as they are (absent: the probe created them), who outside the
// administrators can read each relation written, and what each function that ran is. $1 changed oids, $2 written
// relation oids, $3 allowed role oids, $4 called function oids, $5 the NOTIFY pattern.
function afterSql(schema: string): string {
  return `
    SELECT (SELECT COALESCE(pg_catalog.jsonb_agg(b), '[]') FROM (${changedSql(schema, "listed")}) b) AS before,
           (SELECT COALESCE(pg_catalog.jsonb_object_agg(c.oid::text, ARRAY(
              SELECT r.rolname::text FROM pg_catalog.pg_roles r
               WHERE r.oid <> ALL ($3::oid[]) AND r.rolname !~ '^pg_'
                 AND (r.oid = c.relowner OR pg_catalog.has_any_column_privilege(r.oid, c.oid, 'SELECT')) ORDER BY 1)), '{}')
              FROM pg_catalog.pg_class c WHERE c.oid = ANY ($2::oid[])) AS readers,
           (SELECT COALESCE(pg_catalog.jsonb_object_agg(p.oid::text, pg_catalog.jsonb_build_object('name', ${FUNCTION_NAME},
                   'notifies', p.prosrc ~* $5, 'inSchema', p.pronamespace::pg_catalog.regnamespace::text = pg_catalog.quote_ident($6))), '{}')
              FROM pg_catalog.pg_proc p WHERE p.oid = ANY ($4::oid[])) AS functions
  `;
}

const LOCK_TIMEOUT = "50ms";

/** What one run of the probe saw. */
interface Observed {
  tables: PlanTable[];
  code: SetOffCode[];
  trackFunctions: string;
  trackCounts: boolean;
  ddlError: string | null;
  block: BlockResult | null;
  blockError: string | null;
  skipped: { table: string; reason: string }[];
  before: Change[];
  readers: Record<string, string[]>;
  functions: Record<string, { name: string; notifies: boolean; inSchema: boolean }>;
}

function message(error: unknown): string {
  const e = error as { code?: string; message?: string; where?: string };
  return `${e.code ?? "?"}: ${e.message ?? String(error)}${e.where ? ` (${e.where.split("\n")[0]})` : ""}`;
}

async function observe(ctx: AuditContext, client: Client): Promise<Observed> {
  const { spec } = ctx;
  const probeTable = liveProbeTable();
  // Simple-query protocol: several statements in one round trip. SET CONSTRAINTS fires deferred constraint
  // triggers at each statement's end, as a commit would.
  await client.query(
    `BEGIN ISOLATION LEVEL REPEATABLE READ; SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'; SET LOCAL statement_timeout = '10s'; SET CONSTRAINTS ALL IMMEDIATE`,
  );
  try {
    const [plan] = (
      await client.query<{ track_functions: string; track_counts: boolean; tables: PlanTable[]; code: SetOffCode[] }>(
        PLAN_SQL,
        [spec.schema, probeTable, SENDS_NOTIFY],
      )
    ).rows;
    let ddlError: string | null = null;
    try {
      await client.query(["SAVEPOINT live_ddl", ...buildDdl(spec.schema, probeTable)].join(";\n"));
    } catch (error) {
      ddlError = message(error);
      await client.query("ROLLBACK TO SAVEPOINT live_ddl");
    }
    const track = {
      functions: plan.track_functions !== "none",
      counts: plan.track_counts,
      eventTriggers: plan.code.some((c) => c.table === null),
    };
    const { sql, skipped } = buildWritesBlock(spec.schema, plan.tables, track);
    let block: BlockResult | null = null;
    let blockError: string | null = null;
    try {
      await client.query(sql);
      const [row] = (
        await client.query<{ result: string }>("SELECT pg_catalog.current_setting($1) AS result", [RESULT_SETTING])
      ).rows;
      block = JSON.parse(row.result) as BlockResult;
    } catch (error) {
      blockError = message(error);
    }
    await client.query("ROLLBACK");
    const changes = block ? ([...block.ddlChanges, ...block.dmlChanges] as Change[]) : [];
    const called = block?.calls ? Object.keys(block.calls) : [];
    let after = {
      before: [] as Change[],
      readers: {} as Record<string, string[]>,
      functions: {} as Observed["functions"],
    };
    if (changes.length > 0 || (block?.written.length ?? 0) > 0 || called.length > 0) {
      after = (
        await client.query<typeof after>(afterSql(spec.schema), [
          [...new Set(changes.map((c) => c.oid))],
          block!.written.map((w) => w.oid),
          ctx.allowedOids,
          called,
          SENDS_NOTIFY,
          spec.schema,
        ])
      ).rows[0];
    }
    return {
      tables: plan.tables,
      code: plan.code,
      trackFunctions: plan.track_functions,
      trackCounts: plan.track_counts,
      ddlError,
      block,
      blockError,
      skipped,
      ...after,
    };
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
  }
}

const key = (c: { catalog: string; oid: string; sub: number }) => `${c.catalog}/${c.oid}/${c.sub}`;
const entry = (e: Change["acl"][number]) => `${e.privilege} to ${e.name}`;

/** What the catalog changes did that Umami's statements must not: each named, with what changed. */
function privilegeProblems(ctx: AuditContext, seen: Observed): { text: string; phase: SetOffKind }[] {
  const { spec } = ctx;
  const allowed = new Set(ctx.allowedOids);
  const before = new Map(seen.before.map((b) => [key(b), b]));
  const changes = new Map<string, Change & { phase: SetOffKind }>();
  for (const c of (seen.block?.ddlChanges ?? []) as Change[]) changes.set(key(c), { ...c, phase: "event" });
  for (const c of (seen.block?.dmlChanges ?? []) as Change[]) changes.set(key(c), { ...c, phase: "attached" });
  const problems: { text: string; phase: SetOffKind }[] = [];
  const push = (c: { phase: SetOffKind }, text: string) => problems.push({ text, phase: c.phase });
  for (const c of changes.values()) {
    const what = `${c.type} ${c.identity}`;
    if (c.catalog === "pg_auth_members" || c.catalog === "pg_db_role_setting") {
      push(c, `${what}: written by code ${spec.role.name}'s statements set off`);
      continue;
    }
    const prior = before.get(key(c));
    const had = new Set((prior?.acl ?? []).map(entry));
    const now = new Set(c.acl.map(entry));
    const added = c.acl.filter((e) => !had.has(entry(e)));
    const removed = (prior?.acl ?? []).filter((e) => !now.has(entry(e)));
    // pg_identify_object quotes the schema where its name needs it (a derived stage's umami_Feature_X).
    const inUmami =
      c.schema === spec.schema ||
      c.schema === quoteIdent(spec.schema) ||
      (c.catalog === "pg_namespace" && c.oid === ctx.schemaOid);
    const ownerChanged = c.owner !== null && (prior ? prior.owner !== c.owner : !allowed.has(c.owner));
    if (inUmami) {
      const foreign = added.filter((e) => !allowed.has(e.grantee));
      if (foreign.length > 0) push(c, `${what}: ${foreign.map(entry).join(", ")} granted`);
      if (ownerChanged && !allowed.has(c.owner!))
        push(c, `${what}: owner changed to a role outside the administrators`);
      if (!prior && ["trigger", "rule", "policy"].includes(c.type)) push(c, `${what}: added`);
      if (c.catalog.startsWith("pg_publication")) push(c, `${what}: published`);
      continue;
    }
    // Outside Umami's schema, any new object or privilege changes the application (a real migration commits it).
    if (!prior) push(c, `${what}: created`);
    else if (added.length > 0 || removed.length > 0 || ownerChanged) {
      const diff = [
        ...added.map((e) => `+${entry(e)}`),
        ...removed.map((e) => `-${entry(e)}`),
        ...(ownerChanged ? ["owner changed"] : []),
      ];
      push(c, `${what}: ${diff.join(", ")}`);
    }
  }
  return problems.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
}

/** The code Umami's statements run, for a remedy: event triggers to make skip the schema, attached code to drop. */
/** Which code a change came from: event triggers (the DDL), code attached to Umami's tables (the row writes), or both. */
type SetOffKind = "event" | "attached" | "both";

function kindOf(items: { phase: SetOffKind }[]): SetOffKind {
  if (items.every((i) => i.phase === "event")) return "event";
  return items.every((i) => i.phase === "attached") ? "attached" : "both";
}

/** The statement that removes code Umami's statements set off: its DROP, or its table's ALTER. */
function removal(schema: string, d: SetOffCode["drop"]): string {
  if (d.table === null) return drop({ kind: "EVENT TRIGGER", name: [d.name] });
  const table = [schema, d.table];
  if (d.kind === "constraint") return alterTable(table, { dropConstraint: d.name });
  if (d.kind === "default") return alterTable(table, { dropDefault: d.name });
  return drop({ kind: d.kind.toUpperCase(), name: [...table, d.name] });
}

function setOffRemedy(ctx: AuditContext, seen: Observed, kind: SetOffKind): string {
  const { spec } = ctx;
  const events = seen.code.filter((c) => c.table === null);
  const attached = seen.code.filter((c) => c.table !== null);
  const parts: string[] = [];
  if (kind !== "attached" && events.length > 0) {
    parts.push(
      `Event triggers run on ${spec.role.name}'s DDL: ${events.map((e) => `${e.code} → ${e.function}`).join("; ")}. Make each function leave ${spec.schema} alone (skip the commands of pg_event_trigger_ddl_commands() whose schema_name is '${spec.schema}'), or remove the trigger: ${script(events.map((e) => removal(spec.schema, e.drop)))}`,
    );
  }
  if (kind !== "event" && attached.length > 0) {
    parts.push(
      `Code attached to Umami's tables runs on its writes: ${attached.map((a) => `${a.code} → ${a.function}`).join("; ")}. Remove it (as ${spec.role.name}, the tables' owner): ${script(attached.map((a) => removal(spec.schema, a.drop)))}`,
    );
  }
  if (parts.length === 0)
    parts.push(
      `No enabled event trigger, and no code attached to Umami's tables calls a function outside pg_catalog: look for default privileges (inward-grants) and for functions called by others' code.`,
    );
  return parts.join(" ");
}

/** The live probe's findings: privileges and objects, rows written elsewhere, notifications, and whether it ran. */
export async function auditLiveEffects(ctx: AuditContext, client: Client): Promise<Finding[]> {
  const { spec } = ctx;
  const role = spec.role.name;
  if (!ctx.schemaOid || !ctx.roleOid) return [];
  const seen = await observe(ctx, client);
  const block = seen.block;
  const written = block?.written ?? [];
  // Rows the DDL wrote (event triggers) apart from those the row writes did (code attached to Umami's tables).
  const byDdl = new Map((block?.writtenByDdl ?? []).map((w) => [w.oid, w]));
  const rowsOut = written.map((w) => {
    const readers = seen.readers[w.oid] ?? [];
    const counts = [
      w.inserted && `${w.inserted} inserted`,
      w.updated && `${w.updated} updated`,
      w.deleted && `${w.deleted} deleted`,
    ]
      .filter(Boolean)
      .join(", ");
    const who = readers.length > 0 ? `readable by ${readers.join(", ")}` : "readable by administrators only";
    const ddl = byDdl.get(w.oid);
    const total = (x: Written) => x.inserted + x.updated + x.deleted;
    const phase: SetOffKind = !ddl ? "attached" : total(ddl) === total(w) ? "event" : "both";
    return {
      fail: w.updated > 0 || w.deleted > 0 || readers.length > 0,
      phase,
      text: `${w.relation}: rows written (${counts}), ${who}`,
    };
  });
  const calledDuringWrites = Object.entries(block?.calls ?? {})
    .filter(([oid, n]) => n > (block?.callsBeforeWrites?.[oid] ?? 0))
    .map(([oid]) => oid);
  const notifying = [
    ...Object.entries(seen.functions)
      .filter(([, f]) => f.notifies && !f.inSchema)
      .map(([oid, f]) => ({
        fail: calledDuringWrites.includes(oid),
        text: `${f.name} ran ${calledDuringWrites.includes(oid) ? "on Umami's row writes" : "on Umami's DDL"} and sends NOTIFY`,
      })),
    ...seen.code
      .filter((c) => c.notifies && !Object.values(seen.functions).some((f) => f.name === c.function))
      .map((c) => ({ fail: c.table !== null, text: `${c.function} (${c.code}) sends NOTIFY` })),
  ];
  const privileges = privilegeProblems(ctx, seen);
  const runProblems = [
    ...(seen.ddlError ? [`the DDL of a migration failed: ${seen.ddlError}`] : []),
    ...(seen.blockError ? [`the writes could not run: ${seen.blockError}`] : []),
    ...(block?.locked ?? []).map(
      (t) => `${spec.schema}.${t} not written: another session holds a lock on it (a migration?); run verify again`,
    ),
    ...seen.skipped.map((s) => `${spec.schema}.${s.table} not written: ${s.reason}`),
    ...Object.entries(block?.errors ?? {}).map(([t, e]) => `${spec.schema}.${t} not written: ${e}`),
  ];
  const exercised =
    seen.tables.length - seen.skipped.length - Object.keys(block?.errors ?? {}).length - (block?.locked.length ?? 0);
  const held =
    block?.heldMs != null
      ? ` (each table held ROW EXCLUSIVE, which blocks only DDL, for at most ${Math.round(block.heldMs * 10) / 10} ms)`
      : "";
  const tracking =
    seen.trackFunctions !== "none"
      ? `functions that ran counted (track_functions = ${seen.trackFunctions})`
      : "the functions that ran were not counted, as track_functions = none (a superuser's setting): the NOTIFY of the code its statements set off was read from that code's source";
  return [
    finding(
      "live-effects",
      "live: privileges and objects changed by Umami's statements",
      "fail",
      privileges.map((p) => p.text),
      `As ${role}, a migration's DDL or the tracker's writes set off code that granted, created or changed the objects named (a real migration commits it). ${setOffRemedy(ctx, seen, kindOf(privileges))}`,
      `As ${role}, a migration's DDL and one row written in each Umami table changed no privilege, owner or object outside what they did (read from the catalog rows the transaction wrote).`,
    ),
    finding(
      "live-effects",
      "live: rows written outside Umami's schema by Umami's statements",
      rowsOut.some((r) => r.fail) ? "fail" : "warn",
      rowsOut.map((r) => r.text),
      `${role}'s statements set off code that writes rows in the relations named${rowsOut.some((r) => r.fail) ? ": what it writes from Umami's rows reaches their readers, or it changes the application's rows" : " (only administrators can read them)"}. ${setOffRemedy(ctx, seen, kindOf(rowsOut))}`,
      seen.trackCounts
        ? `As ${role}, a migration's DDL and one row written in each Umami table wrote no row outside ${spec.schema} (pg_stat_xact counters).`
        : `track_counts is off: rows written elsewhere could not be counted.`,
    ),
    finding(
      "live-effects",
      "live: NOTIFY set off by Umami's statements",
      notifying.some((n) => n.fail) ? "fail" : "warn",
      notifying.map((n) => n.text),
      `Every session may LISTEN on any channel: a payload sent while Umami's rows are written can carry them to any role. Send only a key that means nothing outside Umami, or nothing, from code that runs on Umami's tables. ${setOffRemedy(ctx, seen, notifying.some((n) => n.fail) ? "attached" : "event")}`,
      `No code that ${role}'s statements set off sends NOTIFY; ${tracking}.`,
    ),
    finding(
      "live-effects",
      "live: a migration's DDL and the tracker's writes run",
      seen.ddlError ? "fail" : "warn",
      runProblems,
      seen.ddlError
        ? `Umami's next migration would fail the same way: ${setOffRemedy(ctx, seen, "event")}`
        : `The tables named were not exercised, so what their writes set off is unknown: review the code attached to them (triggers, constraints, defaults, policies).`,
      `As ${role}, in a rolled-back transaction: created, altered, indexed, wrote and dropped a table in ${spec.schema}, and wrote, read, updated and deleted one row of each of its ${exercised} tables${held}.`,
    ),
  ];
}
