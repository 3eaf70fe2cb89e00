/**
 * The application's NOTIFY payloads (threat model, class `notifications`): PostgreSQL puts no privilege on a
 * channel, so every session of the database may `LISTEN` on any channel and receives every payload sent
 * there — umami_user's included, since Umami shares the application's database. A trigger function that
 * publishes its row (`pg_notify('orders', row_to_json(NEW)::text)`, the usual change feed) hands each new row
 * to umami_user, with no grant for any check to see. The audit reads the functions' source; a NOTIFY sent
 * from the application's own client code is stored nowhere it can read (out of scope). Run in every other
 * database umami_user can connect to as well (databases.ts): a LISTEN there receives that database's payloads.
 */
import { finding, type AuditContext, type Finding } from "./types.js";

/**
 * A NOTIFY in a function's source (pg_notify() or the statement): case-insensitive (~*), as PL/pgSQL and SQL
 * spell it either way; `\m`/`\M` are word boundaries.
 */
export const SENDS_NOTIFY = String.raw`\mpg_notify\M|\mnotify\M`;
/** A whole row serialised: row_to_json(NEW), to_jsonb(OLD), NEW::text, NEW.*, hstore(NEW)… */
const SERIALISES_ROW = String.raw`row_to_json|\mto_jsonb?\s*\(|\mhstore\s*\(|\m(new|old)\M\s*(::|\.\s*\*)`;

// $1 Umami schema oid (null in another database: no schema there is Umami's), $2 regex of a NOTIFY, $3 regex
// of a serialised row. Functions of extensions are the extension's; C and internal functions have no source.
const NOTIFY_SQL = `
  SELECT n.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS function,
         pg_catalog.pg_get_userbyid(p.proowner) AS owner,
         p.prosrc ~* $3 AS whole_rows,
         (SELECT pg_catalog.array_agg(DISTINCT tn.nspname || '.' || tc.relname)
            FROM pg_catalog.pg_trigger t
            JOIN pg_catalog.pg_class tc ON tc.oid = t.tgrelid
            JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
           WHERE t.tgfoid = p.oid AND NOT t.tgisinternal) AS tables
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
   WHERE ($1::oid IS NULL OR p.pronamespace <> $1::oid)
     AND p.pronamespace <> ALL (ARRAY['pg_catalog', 'information_schema']::pg_catalog.regnamespace[])
     AND p.prolang NOT IN (SELECT l.oid FROM pg_catalog.pg_language l WHERE l.lanname IN ('c', 'internal'))
     AND p.prosrc ~* $2
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                      WHERE e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND e.objid = p.oid AND e.deptype = 'e')
   ORDER BY 1
`;

interface NotifyRow {
  function: string;
  owner: string;
  whole_rows: boolean;
  tables: string[] | null;
}

function describe(r: NotifyRow): string {
  const on = r.tables ? `, trigger on ${r.tables.join(", ")}` : "";
  const what = r.whole_rows ? "publishes whole rows" : "sends payloads the audit cannot read";
  return `function ${r.function} (owner ${r.owner}${on}) ${what}`;
}

/** Application functions that send NOTIFY: a row they publish reaches umami_user's LISTEN. */
export async function auditNotifications(ctx: AuditContext): Promise<Finding[]> {
  const { spec } = ctx;
  const rows = await ctx.query<NotifyRow>(NOTIFY_SQL, [ctx.schemaOid, SENDS_NOTIFY, SERIALISES_ROW]);
  const rowsOut = rows.filter((r) => r.whole_rows);
  const role = spec.role.name;
  return [
    finding(
      "notifications",
      "outward: NOTIFY payloads of the application",
      rowsOut.length > 0 ? "fail" : "warn",
      rows.map(describe),
      `${role} may LISTEN on any channel of database ${ctx.database} and receives every payload sent there: PostgreSQL has no privilege on channels to take away. ${
        rowsOut.length > 0
          ? "Those that publish whole rows hand the application's data to it today. "
          : "Review what each payload holds. "
      }Have each function send only the row's key (the listener reads the row with its own rights, which ${role} lacks), in the application's next migration: e.g. PERFORM pg_notify(channel, NEW.id::text).${
        ctx.schemaOid ? " Or give Umami a database of its own (the stage's database setting)." : ""
      }`,
      `No function outside ${spec.schema} sends NOTIFY (one sent from the application's client code is not stored in the database: see the threat model).`,
    ),
  ];
}
