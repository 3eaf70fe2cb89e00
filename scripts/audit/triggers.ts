/**
 * Code that runs inside Umami's statements without a grant showing it: triggers and rewrite rules on the
 * Umami schema's tables (a trigger can copy every new row into an application table, with umami_user's own
 * privileges), and event triggers, which run on every DDL statement — Umami's migrations included — and can,
 * for instance, grant each new table to an application role. Umami's migrations create none of these.
 */
import { finding, type AuditContext, type Finding } from "./types.js";

// $1 Umami schema oid, $2 allowed role oids. Internal triggers (foreign keys) are PostgreSQL's own.
const TRIGGERS_SQL = `
  SELECT 'trigger' AS kind, t.tgname AS name, n.nspname || '.' || c.relname AS target,
         fn.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS function,
         pg_catalog.pg_get_userbyid(p.proowner) AS function_owner,
         fn.oid <> $1::oid AS outside, p.proowner <> ALL ($2::oid[]) AS foreign_owner, p.prosecdef AS definer,
         t.tgenabled <> 'D' AS enabled
    FROM pg_catalog.pg_trigger t
    JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
    JOIN pg_catalog.pg_namespace fn ON fn.oid = p.pronamespace
   WHERE c.relnamespace = $1::oid AND NOT t.tgisinternal
  UNION ALL
  SELECT 'rule', r.rulename, n.nspname || '.' || c.relname, NULL, NULL, true, true, false, r.ev_enabled <> 'D'
    FROM pg_catalog.pg_rewrite r
    JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relnamespace = $1::oid AND r.rulename <> '_RETURN'
  UNION ALL
  SELECT 'event trigger', e.evtname, e.evtevent,
         fn.nspname || '.' || p.proname || '()', pg_catalog.pg_get_userbyid(p.proowner),
         true, p.proowner <> ALL ($2::oid[]), p.prosecdef, e.evtenabled <> 'D'
    FROM pg_catalog.pg_event_trigger e
    JOIN pg_catalog.pg_proc p ON p.oid = e.evtfoid
    JOIN pg_catalog.pg_namespace fn ON fn.oid = p.pronamespace
   ORDER BY 1, 3, 2
`;

interface TriggerRow {
  kind: "trigger" | "rule" | "event trigger";
  name: string;
  target: string;
  function: string | null;
  function_owner: string | null;
  outside: boolean;
  foreign_owner: boolean;
  definer: boolean;
  enabled: boolean;
}

function describe(r: TriggerRow): string {
  const fn = r.function ? ` runs ${r.function} (owner ${r.function_owner}${r.definer ? ", SECURITY DEFINER" : ""})` : "";
  const state = r.enabled ? "" : " — disabled";
  if (r.kind === "event trigger") return `event trigger ${r.name} ON ${r.target}${fn}${state}`;
  return `${r.kind} ${r.name} ON ${r.target}${fn}${state}`;
}

/** Triggers and rules on Umami's tables, and the database's event triggers. */
export async function auditTriggers(ctx: AuditContext): Promise<Finding[]> {
  const { spec } = ctx;
  const rows = await ctx.query<TriggerRow>(TRIGGERS_SQL, [ctx.schemaOid, ctx.allowedOids]);
  const onTables = rows.filter((r) => r.kind !== "event trigger");
  // A trigger whose function lives in the Umami schema and belongs to umami_user or an administrator is
  // Umami's own business (a warning: Umami creates none); anything else runs foreign code on Umami's rows.
  const foreign = onTables.filter((r) => r.outside || r.foreign_owner);
  const own = onTables.filter((r) => !r.outside && !r.foreign_owner);
  const events = rows.filter((r) => r.kind === "event trigger" && r.enabled);
  const drop = (r: TriggerRow) => (r.kind === "rule" ? `DROP RULE ${r.name} ON ${r.target};` : `DROP TRIGGER ${r.name} ON ${r.target};`);
  return [
    finding(
      "triggers",
      "inward: triggers and rules on Umami tables",
      foreign.length > 0 ? "fail" : "warn",
      [...foreign, ...own].map(describe),
      foreign.length > 0
        ? `Code outside ${spec.schema}, or owned by another role, runs on Umami's rows (it can copy them out). As ${spec.role.name} (the tables' owner) or a superuser: ${foreign.map(drop).join(" ")}`
        : `Umami's migrations create no trigger or rule; review them, or as ${spec.role.name}: ${own.map(drop).join(" ")}`,
      `No trigger or rule on ${spec.schema}'s tables (foreign-key triggers are PostgreSQL's own).`,
    ),
    finding(
      "triggers",
      "inward: event triggers",
      "fail",
      events.map(describe),
      `Event triggers run on every DDL statement, ${spec.role.name}'s migrations included, and can grant or copy Umami's tables: ${events
        .map((r) => `DROP EVENT TRIGGER ${r.name};`)
        .join(" ")} (or ALTER EVENT TRIGGER … DISABLE; and make its function skip ${spec.role.name}'s commands before enabling it again).`,
      "No enabled event trigger in this database.",
    ),
  ];
}
