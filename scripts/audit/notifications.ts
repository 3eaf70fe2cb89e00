/**
 * The application's NOTIFY payloads (threat model class `notifications`): PostgreSQL puts no privilege on a
 * channel, so every session of the database may `LISTEN` on any channel and receives every payload sent
 * there — umami_user's included, since Umami shares the application's database. A trigger function that
 * publishes its row (`pg_notify('orders', row_to_json(NEW)::text)`, the usual change feed) hands each new row
 * to umami_user, with no grant for any check to see. The audit reads the functions' source and judges each
 * payload (opaque-text.ts): anything but a key fails — a whole row through any constructor, a column that is
 * not a key, a key that is itself data; an extension's C trigger function is judged by what it is documented
 * to send (contrib tcn: the table's primary-key values). A NOTIFY sent from the application's own client code
 * is stored nowhere it can read (out of scope). Run in every other database umami_user can connect to as well
 * (databases.ts): a LISTEN there receives that database's payloads.
 */
import { judgeNotify, keyIsData, triggerArguments, worst, type KeyColumn, type PayloadVerdict } from "./opaque-text.js";
import { finding, type AuditContext, type Finding } from "./types.js";

// Case-insensitive (~*), as PL/pgSQL and SQL spell NOTIFY either way. `\m`/`\M` are word boundaries.
/** A NOTIFY in a function's source (pg_notify() or the statement); live-effects.ts reads it too. */
export const SENDS_NOTIFY = String.raw`\mpg_notify\M|\mnotify\M`;

/** C trigger functions of extensions that send NOTIFY, by their C symbol (prosrc), with what they send. */
const DOCUMENTED_SENDERS: Record<string, { extension: string; sends: "primary key" }> = {
  // contrib tcn: "the payload consists of the table name, a letter for the operation, and the primary key
  // column names and values" (PostgreSQL 15 docs, F.42), on the channel named by its argument, "tcn" by default.
  triggered_change_notification: { extension: "tcn", sends: "primary key" },
};

// $1 Umami schema oid (null in another database: no schema there is Umami's), $2 regex of a NOTIFY, $3 the
// Umami role's oid, $4 the C symbols of DOCUMENTED_SENDERS. Functions of extensions are the extension's; C and
// internal functions have no source (a documented one is judged by its triggers). Keys: the columns of each
// table's primary key (`primary`) and other unique, non-partial indexes, with whether umami_user may read them.
const NOTIFY_SQL = `
  WITH keys AS (
    SELECT i.indrelid AS rel, pg_catalog.jsonb_agg(DISTINCT pg_catalog.jsonb_build_object(
             'name', a.attname, 'type', pg_catalog.format_type(a.atttypid, NULL), 'primary', i.indisprimary,
             'readable', pg_catalog.has_column_privilege($3::oid, i.indrelid, a.attnum, 'SELECT'))) AS columns
      FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE (i.indisprimary OR i.indisunique) AND i.indpred IS NULL
     GROUP BY i.indrelid
  )
  SELECT 'function' AS kind,
         n.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' AS function,
         pg_catalog.pg_get_userbyid(p.proowner) AS owner, p.prosrc AS source, NULL AS channel,
         (SELECT pg_catalog.array_agg(DISTINCT tn.nspname || '.' || tc.relname)
            FROM pg_catalog.pg_trigger t
            JOIN pg_catalog.pg_class tc ON tc.oid = t.tgrelid
            JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
           WHERE t.tgfoid = p.oid AND NOT t.tgisinternal) AS tables,
         (SELECT pg_catalog.jsonb_agg(k.columns) FROM keys k
           WHERE k.rel IN (SELECT t.tgrelid FROM pg_catalog.pg_trigger t WHERE t.tgfoid = p.oid AND NOT t.tgisinternal)) AS keys
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
   WHERE ($1::oid IS NULL OR p.pronamespace <> $1::oid)
     AND p.pronamespace <> ALL (ARRAY['pg_catalog', 'information_schema']::pg_catalog.regnamespace[])
     AND p.prolang NOT IN (SELECT l.oid FROM pg_catalog.pg_language l WHERE l.lanname IN ('c', 'internal'))
     AND p.prosrc ~* $2
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                      WHERE e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND e.objid = p.oid AND e.deptype = 'e')
  UNION ALL
  SELECT 'trigger', pg_catalog.quote_ident(t.tgname) || ' ON ' || tn.nspname || '.' || tc.relname,
         pg_catalog.pg_get_userbyid(tc.relowner), p.prosrc, pg_catalog.encode(t.tgargs, 'hex'), ARRAY[tn.nspname || '.' || tc.relname],
         (SELECT pg_catalog.jsonb_agg(k.columns) FROM keys k WHERE k.rel = t.tgrelid)
    FROM pg_catalog.pg_trigger t
    JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
    JOIN pg_catalog.pg_class tc ON tc.oid = t.tgrelid
    JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
   WHERE NOT t.tgisinternal AND ($1::oid IS NULL OR tc.relnamespace <> $1::oid)
     AND p.prolang = (SELECT l.oid FROM pg_catalog.pg_language l WHERE l.lanname = 'c') AND p.prosrc = ANY ($4::text[])
   ORDER BY 1, 2
`;

interface NotifyRow {
  kind: "function" | "trigger";
  function: string;
  owner: string;
  source: string;
  /** A documented sender's trigger arguments, in hex. */
  channel: string | null;
  tables: string[] | null;
  /** Per table, its key columns. */
  keys: (KeyColumn & { primary: boolean })[][] | null;
}

function verdict(r: NotifyRow): PayloadVerdict {
  const keys = (r.keys ?? []).flat();
  if (r.kind === "function") {
    // A function no trigger runs has no NEW: its columns are nobody's key, so they are not judged as data.
    return judgeNotify(r.source, r.tables ? keys : null);
  }
  const primary = keys.filter((k) => k.primary);
  return worst(
    primary.map((k): PayloadVerdict => {
      const why = keyIsData(k);
      return why ? { kind: "data", why: `publishes its primary key: ${why}` } : { kind: "key" };
    }),
  );
}

function describe(r: NotifyRow, v: PayloadVerdict): string {
  if (r.kind === "trigger") {
    const sender = DOCUMENTED_SENDERS[r.source];
    const channel = triggerArguments(r.channel ?? "")[0] ?? sender.extension;
    const primary = (r.keys ?? []).flat().filter((k) => k.primary);
    const what =
      v.kind === "key"
        ? `publishes its primary key (${primary.map((k) => `${k.name} ${k.type}`).join(", ")}), a surrogate key`
        : v.why;
    return `trigger ${r.function} (contrib ${sender.extension}, channel ${channel}) ${what}`;
  }
  const on = r.tables ? `, trigger on ${r.tables.join(", ")}` : "";
  const what =
    v.kind === "key"
      ? "sends a key or a constant"
      : v.kind === "unknown"
        ? `sends payloads the audit cannot read (${v.why})`
        : v.why;
  return `function ${r.function} (owner ${r.owner}${on}) ${what}`;
}

/** Application functions and documented C triggers that send NOTIFY: a row they publish reaches umami_user's LISTEN. */
export async function auditNotifications(ctx: AuditContext): Promise<Finding[]> {
  const { spec } = ctx;
  const rows = await ctx.query<NotifyRow>(NOTIFY_SQL, [
    ctx.schemaOid,
    SENDS_NOTIFY,
    ctx.roleOid,
    Object.keys(DOCUMENTED_SENDERS),
  ]);
  const judged = rows.map((r) => ({ r, v: verdict(r) }));
  const out = judged.filter(({ v }) => v.kind === "row" || v.kind === "data");
  const role = spec.role.name;
  return [
    finding(
      "notifications",
      "outward: NOTIFY payloads of the application",
      out.length > 0 ? "fail" : "warn",
      judged.map(({ r, v }) => describe(r, v)),
      `${role} may LISTEN on any channel of database ${ctx.database} and receives every payload sent there: PostgreSQL has no privilege on channels to take away. ${
        out.length > 0
          ? "Those that publish whole rows, columns or keys that are themselves data hand the application's data to it today. "
          : "Review what each payload holds. "
      }Have each function send only a surrogate key (an integer id: the listener reads the row with its own rights, which ${role} lacks), in the application's next migration: e.g. PERFORM pg_notify(channel, NEW.id::text); a tcn trigger on a table whose primary key is data gives way to such a function.${
        ctx.schemaOid ? " Or give Umami a database of its own (the stage's database setting)." : ""
      }`,
      `No function outside ${spec.schema} sends NOTIFY, and no documented C trigger does (one sent from the application's client code is not stored in the database: see the threat model).`,
    ),
  ];
}
