/**
 * The end state an online upgrade must share with the offline path, read the same way for both: the columns
 * of every table in order, the data 05, 06 and 09 move (seeded rows only), and the visits per (session, hour).
 */
import { withClient, type ConnectionSettings } from "../../scripts/kernel/db.js";

/** Per (session, hour) of the seeded rows: how many distinct visit_ids (05 gives exactly one). */
const VISITS_SQL = `
  SELECT count(*)::int AS visits, count(*) FILTER (WHERE n <> 1)::int AS split
    FROM (SELECT session_id, date_trunc('hour', created_at), count(DISTINCT visit_id) AS n
            FROM umami.website_event WHERE url_path <> '/tracked' GROUP BY 1, 2) v`;
/** The seeded rows' moved values, in a stable order. */
const MOVED_SQL = `
  SELECT (SELECT md5(string_agg(event_id::text || ':' || coalesce(hostname, '∅'), ',' ORDER BY event_id)) FROM umami.website_event WHERE url_path <> '/tracked') AS hostnames,
         (SELECT md5(string_agg(session_id::text || ':' || coalesce(region, '∅'), ',' ORDER BY session_id)) FROM umami.session WHERE browser = 'chrome') AS regions,
         (SELECT count(*)::int FROM umami.website_event WHERE url_path <> '/tracked') AS events,
         (SELECT count(*)::int FROM umami.session WHERE browser = 'chrome') AS sessions,
         (SELECT md5(string_agg(event_data_id::text || ':' || data_key, ',' ORDER BY event_data_id)) FROM umami.event_data WHERE string_value <> 'signup') AS event_keys,
         (SELECT md5(string_agg(session_data_id::text || ':' || data_key, ',' ORDER BY session_data_id)) FROM umami.session_data WHERE string_value <> 'pro') AS session_keys,
         (SELECT count(*)::int FROM umami.event_data WHERE string_value <> 'signup') AS event_data`;
const COLUMN_ORDER_SQL = `
  SELECT c.relname AS table, array_agg(a.attname::text ORDER BY a.attnum) AS columns
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'umami' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
   GROUP BY c.relname ORDER BY c.relname`;

/** What both paths must end with (schema `umami`). */
interface EndState {
  columns: { table: string; columns: string[] }[];
  moved: {
    hostnames: string;
    regions: string;
    events: number;
    sessions: number;
    event_keys: string;
    session_keys: string;
    event_data: number;
  };
  visits: { visits: number; split: number };
}

/** Reads the end state of `settings`' database. */
export function readEndState(settings: ConnectionSettings): Promise<EndState> {
  return withClient(settings, async (c) => ({
    columns: (await c.query(COLUMN_ORDER_SQL)).rows,
    moved: (await c.query(MOVED_SQL)).rows[0],
    visits: (await c.query(VISITS_SQL)).rows[0],
  }));
}
