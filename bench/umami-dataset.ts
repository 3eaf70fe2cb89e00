/**
 * A grown Umami 2.10.0 database, generated in SQL (generate_series) as the Umami role itself: websites owned
 * by one user, sessions spread over a year, ~10 page views and events per session a few seconds apart (so a
 * session's events fall into one or two hours, as 05_add_visit_id groups them), event data on a tenth of the
 * events. Rows go in batches small enough that each INSERT stays well inside the role's statement_timeout:
 * the role's guard is in force for this session, as for Umami's own.
 */
import { quoteIdent } from "../sst/database/quote.js";
import { type Client } from "../scripts/kernel/db.js";

/** What was generated. */
export interface Dataset {
  websites: number;
  sessions: number;
  events: number;
  eventData: number;
  /** Wall time of the generation (inserts and ANALYZE), milliseconds. */
  ms: number;
}

/** Rows per INSERT: ~5–15 s each here with Umami's 11 indexes on website_event, far inside 60 s. */
const BATCH = 100_000;

/** Fills `schema` (migrated to Umami 2.10.0) with `events` website_event rows and what belongs to them. */
export async function generateUmamiDataset(
  client: Client,
  schema: string,
  events: number,
  onBatch?: (done: number) => void,
): Promise<Dataset> {
  const t0 = performance.now();
  const q = (table: string) => `${quoteIdent(schema)}.${quoteIdent(table)}`;
  const sessions = Math.max(1, Math.round(events / 10));
  const websites = Math.max(3, Math.min(50, Math.round(events / 150_000)));
  const admin = (await client.query<{ user_id: string }>(`SELECT user_id FROM ${q("user")} WHERE username = 'admin'`))
    .rows[0].user_id;

  await client.query(
    `INSERT INTO ${q("website")} (website_id, name, domain, user_id, created_by, created_at)
     SELECT md5('w' || g)::uuid, 'Site ' || g, 'site' || g || '.example.com', $2::uuid, $2::uuid, now() - interval '400 days'
       FROM generate_series(0, $1::int - 1) g`,
    [websites, admin],
  );
  // Sessions: one year, evenly spread; browser, OS, device, country drawn from short lists.
  for (let lo = 0; lo < sessions; lo += BATCH) {
    await client.query(
      `INSERT INTO ${q("session")} (session_id, website_id, hostname, browser, os, device, screen, language, country, subdivision1, city, created_at)
       SELECT md5('s' || g)::uuid, md5('w' || (g % $3::int))::uuid, 'site' || (g % $3::int) || '.example.com',
              (ARRAY['chrome', 'firefox', 'safari', 'edge', 'ios'])[1 + g % 5],
              (ARRAY['Windows 10', 'Mac OS', 'Linux', 'iOS', 'Android OS'])[1 + (g / 5) % 5],
              (ARRAY['desktop', 'laptop', 'mobile', 'tablet'])[1 + g % 4],
              (ARRAY['1920x1080', '1440x900', '390x844', '768x1024'])[1 + g % 4],
              (ARRAY['en-US', 'de-DE', 'fr-FR', 'es-ES', 'ja-JP'])[1 + g % 5],
              (ARRAY['US', 'DE', 'FR', 'ES', 'JP', 'GB', 'IN', 'BR'])[1 + g % 8],
              NULL, (ARRAY['New York', 'Berlin', 'Paris', 'Madrid', 'Tokyo'])[1 + g % 5],
              now() - interval '365 days' + (g::float8 / $4::int) * interval '365 days'
         FROM generate_series($1::int, $2::int - 1) g`,
      [lo, Math.min(sessions, lo + BATCH), websites, sessions],
    );
  }
  // Events: event g belongs to session g % sessions, the (g / sessions)-th of its ~10, 40 s apart.
  for (let lo = 0; lo < events; lo += BATCH) {
    await client.query(
      `INSERT INTO ${q("website_event")} (event_id, website_id, session_id, created_at, url_path, url_query, referrer_path,
                                          referrer_query, referrer_domain, page_title, event_type, event_name)
       SELECT md5('e' || g)::uuid, md5('w' || (s % $3::int))::uuid, md5('s' || s)::uuid,
              now() - interval '365 days' + (s::float8 / $4::int) * interval '365 days' + (g / $4::int) * interval '40 seconds',
              (ARRAY['/', '/pricing', '/blog', '/docs', '/about', '/contact', '/features', '/signup', '/login', '/changelog'])[1 + g % 10]
                || CASE WHEN g % 4 = 0 THEN '/' || (g % 997) ELSE '' END,
              CASE WHEN g % 9 = 0 THEN 'utm_source=newsletter&utm_medium=email&utm_campaign=c' || (g % 12) END,
              CASE WHEN g % 3 = 0 THEN '/search' END,
              CASE WHEN g % 3 = 0 THEN 'q=analytics+' || (g % 101) END,
              (ARRAY['google.com', 'twitter.com', 'news.ycombinator.com', 'github.com', NULL, NULL])[1 + g % 6],
              'Page ' || (g % 500) || ' — Example site',
              CASE WHEN g % 10 = 0 THEN 2 ELSE 1 END,
              CASE WHEN g % 10 = 0 THEN (ARRAY['signup-click', 'download', 'outbound-link'])[1 + (g / 10) % 3] END
         FROM generate_series($1::int, $2::int - 1) g, LATERAL (SELECT g % $4::int AS s) x`,
      [lo, Math.min(events, lo + BATCH), websites, sessions],
    );
    onBatch?.(Math.min(events, lo + BATCH));
  }
  // Event data on the custom events (every 10th), one key each.
  const eventData = Math.floor((events + 9) / 10);
  for (let lo = 0; lo < events; lo += BATCH * 10) {
    await client.query(
      `INSERT INTO ${q("event_data")} (event_data_id, website_id, website_event_id, event_key, string_value, data_type, created_at)
       SELECT md5('d' || g)::uuid, md5('w' || ((g % $4::int) % $3::int))::uuid, md5('e' || g)::uuid, 'plan',
              (ARRAY['free', 'pro', 'team'])[1 + g % 3], 1, now() - interval '365 days' + ((g % $4::int)::float8 / $4::int) * interval '365 days'
         FROM generate_series($1::int, $2::int - 1, 10) g`,
      [lo, Math.min(events, lo + BATCH * 10), websites, sessions],
    );
  }
  // What autovacuum would have done by now on a database that grew over a year: the planner's estimates.
  await client.query(`ANALYZE ${q("website")}, ${q("session")}, ${q("website_event")}, ${q("event_data")}`);
  return { websites, sessions, events, eventData, ms: performance.now() - t0 };
}

/** Rows (estimated after ANALYZE) and total size (heap, TOAST and indexes) of each table in `schema`, largest first. */
export async function schemaSizes(
  client: Client,
  schema: string,
): Promise<{ table: string; rows: number; bytes: number }[]> {
  const { rows } = await client.query<{ table: string; rows: number; bytes: string }>(
    `SELECT c.relname AS table, greatest(c.reltuples, 0)::float8 AS rows, pg_catalog.pg_total_relation_size(c.oid) AS bytes
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r'
      ORDER BY pg_catalog.pg_total_relation_size(c.oid) DESC, c.relname`,
    [schema],
  );
  return rows.map((r) => ({ table: r.table, rows: Math.round(r.rows), bytes: Number(r.bytes) }));
}
