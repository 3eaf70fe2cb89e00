/**
 * Code that runs inside Umami's statements without a grant showing it: triggers and rewrite rules on the
 * Umami schema's tables (a trigger can copy every new row into an application table, with umami_user's own
 * privileges), and event triggers, which run on every DDL statement — Umami's migrations included — and can,
 * for instance, grant each new table to an application role. Umami's migrations create none of these.
 * An event trigger whose function an administrator owns and whose search_path is pinned is an administrator's
 * own tool (a DDL audit, say) and passes: it cannot be called directly (PostgreSQL refuses "trigger functions
 * can only be called as triggers"), and umami_user, who runs DDL under its own search_path, cannot make it
 * resolve a name in its schema. Unpinned and SECURITY DEFINER, it can: that fails.
 */
import { alterOwner, drop as dropObject, pinSearchPath, script } from "../../sst/database/statements.js";
import { finding, type AuditContext, type Finding } from "./types.js";

// $1 Umami schema oid, $2 allowed role oids. Internal triggers (foreign keys) are PostgreSQL's own. `pinned`:
// the function carries its own search_path (proconfig), so the caller's cannot redirect its names.
const TRIGGERS_SQL = `
  SELECT 'trigger' AS kind, t.tgname AS name, n.nspname || '.' || c.relname AS target,
         fn.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS function,
         pg_catalog.pg_get_userbyid(p.proowner) AS function_owner,
         fn.oid <> $1::oid AS outside, p.proowner <> ALL ($2::oid[]) AS foreign_owner, p.prosecdef AS definer,
         t.tgenabled <> 'D' AS enabled, NULL::boolean AS pinned,
         ARRAY[n.nspname::text, c.relname::text, t.tgname::text] AS names,
         ARRAY[fn.nspname::text, p.proname::text] AS fn_names, ARRAY[pg_catalog.pg_get_function_identity_arguments(p.oid)] AS fn_args
    FROM pg_catalog.pg_trigger t
    JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
    JOIN pg_catalog.pg_namespace fn ON fn.oid = p.pronamespace
   WHERE c.relnamespace = $1::oid AND NOT t.tgisinternal
  UNION ALL
  SELECT 'rule', r.rulename, n.nspname || '.' || c.relname, NULL, NULL, true, true, false, r.ev_enabled <> 'D', NULL,
         ARRAY[n.nspname::text, c.relname::text, r.rulename::text], NULL, NULL
    FROM pg_catalog.pg_rewrite r
    JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relnamespace = $1::oid AND r.rulename <> '_RETURN'
  UNION ALL
  SELECT 'event trigger', e.evtname, e.evtevent,
         fn.nspname || '.' || p.proname || '()', pg_catalog.pg_get_userbyid(p.proowner),
         true, p.proowner <> ALL ($2::oid[]), p.prosecdef, e.evtenabled <> 'D',
         EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) c WHERE pg_catalog.starts_with(c, 'search_path=')),
         ARRAY[e.evtname::text], ARRAY[fn.nspname::text, p.proname::text], ARRAY[]::text[]
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
  pinned: boolean | null;
  /** As stored (remedies are built from these): [schema, table, name] for a trigger or rule, [name] for an event trigger. */
  names: string[];
  /** The function's [schema, name] and identity arguments. */
  fn_names: string[] | null;
  fn_args: string[] | null;
}

function describe(r: TriggerRow): string {
  const fn = r.function
    ? ` runs ${r.function} (owner ${r.function_owner}${r.definer ? ", SECURITY DEFINER" : ""})`
    : "";
  const state = r.enabled
    ? r.kind === "event trigger" && !r.pinned
      ? " — search_path not pinned"
      : ""
    : " — disabled";
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
  const enabled = rows.filter((r) => r.kind === "event trigger" && r.enabled);
  // Another role's function fails (it can rewrite the body); an administrator's fails when SECURITY DEFINER
  // and unpinned (umami_user's search_path decides what it runs, with the owner's rights), warns when only
  // unpinned (it runs with the rights of whoever runs DDL), passes when pinned.
  const events = enabled.filter((r) => r.foreign_owner || (r.definer && !r.pinned));
  const unpinned = enabled.filter((r) => !r.foreign_owner && !r.definer && !r.pinned);
  const fn = (r: TriggerRow) => ({ kind: "FUNCTION", name: r.fn_names!, args: r.fn_args! });
  const pin = (r: TriggerRow) => script([pinSearchPath(fn(r), ["pg_catalog", r.fn_names![0], "pg_temp"])]);
  const drop = (r: TriggerRow) => script([dropObject({ kind: r.kind === "rule" ? "RULE" : "TRIGGER", name: r.names })]);
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
      events.length > 0 ? "fail" : "warn",
      [...events, ...unpinned].map(describe),
      events.length > 0
        ? `Event triggers run on every DDL statement, ${spec.role.name}'s migrations included, and can grant or copy Umami's tables. If it is an administrator's own tool, give its function to an administrator and pin its search_path: ${events
            .map((r) => `${r.foreign_owner ? `${script([alterOwner(fn(r), ctx.adminUser)])} ` : ""}${pin(r)}`)
            .join(
              " ",
            )} Otherwise remove it: ${script(events.map((r) => dropObject({ kind: "EVENT TRIGGER", name: r.names })))} (or ALTER EVENT TRIGGER … DISABLE; and make its function skip ${spec.role.name}'s commands before enabling it again).`
        : `An administrator's event trigger runs with the rights of whoever runs DDL, under their search_path; pin it so that no caller's path decides what it runs: ${unpinned.map(pin).join(" ")}`,
      enabled.length > 0
        ? `Every enabled event trigger runs an administrator's function with a pinned search_path (${enabled.map((r) => r.name).join(", ")}).`
        : "No enabled event trigger in this database.",
    ),
  ];
}
