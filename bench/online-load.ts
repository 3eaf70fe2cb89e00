/**
 * What the online upgrade is measured against: a seeded Umami 2.10 database, a tracker writing at a fixed
 * rate in one version's shape, and a sampler of ACCESS EXCLUSIVE locks on the tracker's tables.
 *
 * - The seed is deterministic (md5-derived ids, timestamps from a fixed origin), so two databases seeded alike,
 *   or a copy made with CREATE DATABASE … TEMPLATE, hold the same rows.
 * - The tracker sends the statements Umami's Prisma client sends for `/api/send`: in 2.10's shape
 *   `session.create` (hostname, subdivision1, subdivision2 …) for a new session and `websiteEvent.create` without
 *   visit_id or hostname, each `INSERT … RETURNING` every column of the 2.10 model; in 3.1's shape the event
 *   carries visit_id and hostname and the session region. Inserts start on a fixed schedule (open loop, a few
 *   connections), latency counts from the scheduled start, and every id is logged with its outcome.
 * - The sampler reads pg_locks every few ms and adds the time between samples to a table while an
 *   AccessExclusiveLock on it is held or awaited; it misses episodes shorter than one interval.
 */
import { randomUUID } from "node:crypto";
import { quoteIdent } from "../sst/database/quote.js";
import { connect, type Client, type ConnectionSettings } from "../scripts/kernel/db.js";

/** The tables Umami's tracker writes. */
export const TRACKER_TABLES = ["website_event", "session", "event_data", "session_data"];

/** Seeds `schema` (Umami 2.10.0) with `events` events over `events / 10` sessions and 3 websites; returns the counts. */
export async function seedUmami210(
  client: Client,
  schema: string,
  events: number,
): Promise<{ sessions: number; events: number }> {
  const q = (table: string) => `${quoteIdent(schema)}.${quoteIdent(table)}`;
  const sessions = Math.max(1, Math.round(events / 10));
  const admin = (await client.query<{ user_id: string }>(`SELECT user_id FROM ${q("user")} WHERE username = 'admin'`))
    .rows[0].user_id;
  await client.query(
    `INSERT INTO ${q("website")} (website_id, name, domain, user_id, created_by, created_at)
     SELECT md5('w' || g)::uuid, 'Site ' || g, 'site' || g || '.example.com', $1::uuid, $1::uuid, timestamptz '2025-01-01 00:00:00+00'
       FROM generate_series(0, 2) g`,
    [admin],
  );
  // A tenth of the sessions have no hostname, a fifth no subdivision: the moves must keep NULLs as NULLs.
  await client.query(
    `INSERT INTO ${q("session")} (session_id, website_id, hostname, browser, os, device, screen, language, country, subdivision1, subdivision2, city, created_at)
     SELECT md5('s' || g)::uuid, md5('w' || (g % 3))::uuid, CASE WHEN g % 10 <> 0 THEN 'site' || (g % 3) || '.example.com' END,
            'chrome', 'Linux', 'desktop', '1920x1080', 'en-US', 'DE', CASE WHEN g % 5 <> 0 THEN 'DE-' || (g % 16) END, 'S2-' || (g % 7), 'Berlin',
            timestamptz '2025-01-01 00:00:00+00' + g * interval '7 minutes'
       FROM generate_series(0, $1::int - 1) g`,
    [sessions],
  );
  // Event g: session g % sessions, 25 minutes apart within it, so a session's events span one to three hours.
  for (let lo = 0; lo < events; lo += 100_000) {
    await client.query(
      `INSERT INTO ${q("website_event")} (event_id, website_id, session_id, created_at, url_path, page_title, event_type)
       SELECT md5('e' || g)::uuid, md5('w' || ((g % $3::int) % 3))::uuid, md5('s' || (g % $3::int))::uuid,
              timestamptz '2025-01-01 00:00:00+00' + (g % $3::int) * interval '7 minutes' + (g / $3::int) * interval '25 minutes',
              '/page/' || (g % 50), 'Page ' || (g % 50), 1
         FROM generate_series($1::int, $2::int - 1) g`,
      [lo, Math.min(events, lo + 100_000), sessions],
    );
  }
  // Custom data as 2.10 keeps it: a key for every session, and for every tenth event.
  await client.query(
    `INSERT INTO ${q("session_data")} (session_data_id, website_id, session_id, session_key, string_value, data_type, created_at)
     SELECT md5('sd' || g)::uuid, md5('w' || (g % 3))::uuid, md5('s' || g)::uuid, 'key' || (g % 7), 'value ' || g, 1,
            timestamptz '2025-01-01 00:00:00+00' + g * interval '7 minutes'
       FROM generate_series(0, $1::int - 1) g`,
    [sessions],
  );
  await client.query(
    `INSERT INTO ${q("event_data")} (event_data_id, website_id, website_event_id, event_key, string_value, data_type, created_at)
     SELECT md5('ed' || g)::uuid, md5('w' || ((g % $2::int) % 3))::uuid, md5('e' || g)::uuid, 'key' || (g % 11), 'value ' || g, 1,
            timestamptz '2025-01-01 00:00:00+00' + (g % $2::int) * interval '7 minutes'
       FROM generate_series(0, $1::int - 1, 10) g`,
    [events, sessions],
  );
  await client.query(`ANALYZE ${q("session")}, ${q("website_event")}, ${q("session_data")}, ${q("event_data")}`);
  return { sessions, events };
}

/** One insert the tracker attempted. */
export interface TrackedInsert {
  eventId: string;
  sessionId: string;
  shape: "2.10" | "3.1";
  ok: boolean;
  error?: string;
  /** From the scheduled start to the end of the insert, ms. */
  latencyMs: number;
  /** performance.now() at the scheduled start. */
  at: number;
}

/** A running tracker. */
export interface Tracker {
  /** Switches the shape of the following inserts (the new image rolled out). */
  setShape(shape: "2.10" | "3.1"): void;
  /** Stops scheduling, waits for inserts in flight, closes the connections; returns every insert. */
  stop(): Promise<TrackedInsert[]>;
}

const SESSION_COLUMNS_210 = [
  "session_id",
  "website_id",
  "hostname",
  "browser",
  "os",
  "device",
  "screen",
  "language",
  "country",
  "subdivision1",
  "subdivision2",
  "city",
  "created_at",
];
const EVENT_COLUMNS_210 = [
  "event_id",
  "website_id",
  "session_id",
  "created_at",
  "url_path",
  "url_query",
  "referrer_path",
  "referrer_query",
  "referrer_domain",
  "page_title",
  "event_type",
  "event_name",
];

/** Opens once a session's own insert has ended, so its events never race ahead of it. */
interface SessionGate {
  ready: Promise<void>;
  open: () => void;
}

function sessionGate(): SessionGate {
  const opened: (() => void)[] = [];
  const ready = new Promise<void>((resolve) => opened.push(resolve));
  return { ready, open: () => opened[0]() };
}

/** `INSERT INTO "umami"."t" (cols) VALUES ($1…) RETURNING "umami"."t"."c", …` as Prisma renders a create. */
function prismaCreate(schema: string, table: string, columns: string[], returning: string[]): string {
  const t = `${quoteIdent(schema)}.${quoteIdent(table)}`;
  return `INSERT INTO ${t} (${columns.map(quoteIdent).join(",")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(",")}) RETURNING ${returning.map((c) => `${t}.${quoteIdent(c)}`).join(", ")}`;
}

/** `INSERT INTO "umami"."t" (cols) VALUES ($1…)` as Prisma renders a createMany of one row (no RETURNING). */
function prismaCreateMany(schema: string, table: string, columns: string[]): string {
  return `INSERT INTO ${quoteIdent(schema)}.${quoteIdent(table)} (${columns.map(quoteIdent).join(",")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(",")})`;
}

/**
 * A session's and an event's custom data, as each version writes it (`data`): 2.10 names `session_key` and
 * `event_key` (its session data replaced by DELETE then INSERT), 3.1 names `data_key` (a create per key).
 */
async function insertData(
  client: Client,
  schema: string,
  s: "2.10" | "3.1",
  ids: { website: string; sessionId: string; eventId: string; newSession: boolean },
): Promise<void> {
  const key =
    s === "2.10" ? { event: "event_key", session: "session_key" } : { event: "data_key", session: "data_key" };
  if (ids.newSession) {
    const cols = ["session_data_id", "website_id", "session_id", key.session, "string_value", "data_type"];
    const values = [randomUUID(), ids.website, ids.sessionId, "plan", "pro", 1];
    if (s === "2.10") {
      await client.query(`DELETE FROM ${quoteIdent(schema)}."session_data" WHERE "session_id" = $1`, [ids.sessionId]);
      await client.query(prismaCreateMany(schema, "session_data", cols), values);
    } else await client.query(prismaCreate(schema, "session_data", cols, [...cols, "created_at"]), values);
  }
  const cols = ["event_data_id", "website_id", "website_event_id", key.event, "string_value", "data_type"];
  await client.query(prismaCreateMany(schema, "event_data", cols), [
    randomUUID(),
    ids.website,
    ids.eventId,
    "button",
    "signup",
    1,
  ]);
}

/** Starts inserting `ratePerSecond` events (a new session every fifth) on `connections` connections; with `data`, each with its custom data. */
export async function startTracker(
  settings: ConnectionSettings,
  options: { ratePerSecond: number; shape: "2.10" | "3.1"; connections?: number; data?: boolean },
): Promise<Tracker> {
  const schema = settings.schema;
  const clients: Client[] = [];
  for (let i = 0; i < (options.connections ?? 4); i++)
    clients.push(await connect({ ...settings, applicationName: "umami tracker" }));
  const idle = [...clients];
  const queue: ((client: Client) => Promise<void>)[] = [];
  const log: TrackedInsert[] = [];
  const inFlight = new Set<Promise<void>>();
  let shape = options.shape;
  let session = randomUUID();
  let gate = sessionGate();
  let n = 0;
  const website = (
    await clients[0].query<{ id: string }>(
      `SELECT website_id::text AS id FROM ${quoteIdent(schema)}."website" ORDER BY website_id LIMIT 1`,
    )
  ).rows[0].id;

  const insert =
    (client: Client, at: number, s: "2.10" | "3.1", newSession: boolean, sessionId: string, session: SessionGate) =>
    async () => {
      const eventId = randomUUID();
      const entry: TrackedInsert = { eventId, sessionId, shape: s, ok: false, latencyMs: 0, at };
      try {
        // As Umami's /api/send: a visitor's events follow the request that created its session.
        if (!newSession) await session.ready;
        if (s === "2.10") {
          if (newSession) {
            const cols = SESSION_COLUMNS_210.filter((c) => c !== "created_at");
            await client.query(prismaCreate(schema, "session", cols, SESSION_COLUMNS_210), [
              sessionId,
              website,
              "site0.example.com",
              "firefox",
              "Linux",
              "desktop",
              "1920x1080",
              "de-DE",
              "DE",
              "DE-BE",
              "S2-1",
              "Berlin",
            ]);
          }
          const cols = EVENT_COLUMNS_210.filter((c) => c !== "created_at");
          await client.query(prismaCreate(schema, "website_event", cols, EVENT_COLUMNS_210), [
            eventId,
            website,
            sessionId,
            "/tracked",
            null,
            null,
            null,
            null,
            "Tracked",
            1,
            null,
          ]);
        } else {
          if (newSession) {
            const cols = [
              "session_id",
              "website_id",
              "browser",
              "os",
              "device",
              "screen",
              "language",
              "country",
              "region",
              "city",
            ];
            await client.query(prismaCreate(schema, "session", cols, [...cols, "created_at"]), [
              sessionId,
              website,
              "firefox",
              "Linux",
              "desktop",
              "1920x1080",
              "de-DE",
              "DE",
              "DE-BE",
              "Berlin",
            ]);
          }
          const cols = [
            "event_id",
            "website_id",
            "session_id",
            "visit_id",
            "url_path",
            "page_title",
            "event_type",
            "hostname",
          ];
          await client.query(prismaCreate(schema, "website_event", cols, [...cols, "created_at"]), [
            eventId,
            website,
            sessionId,
            sessionId,
            "/tracked",
            "Tracked",
            1,
            "site0.example.com",
          ]);
        }
        if (options.data) await insertData(client, schema, s, { website, sessionId, eventId, newSession });
        entry.ok = true;
      } catch (error) {
        entry.error = (error as Error).message;
      }
      if (newSession) session.open();
      entry.latencyMs = performance.now() - at;
      log.push(entry);
    };

  const dispatch = () => {
    while (idle.length > 0 && queue.length > 0) {
      const client = idle.shift()!;
      const job = queue.shift()!;
      const p = job(client).finally(() => {
        idle.push(client);
        inFlight.delete(p);
        dispatch();
      });
      inFlight.add(p);
    }
  };
  const interval = 1000 / options.ratePerSecond;
  const t0 = performance.now();
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    // Every insert due by now, so a late timer (a busy machine) neither lowers the rate nor hides waiting.
    while (t0 + n * interval <= performance.now()) {
      const at = t0 + n * interval;
      const newSession = n % 5 === 0;
      if (newSession) {
        session = randomUUID();
        gate = sessionGate();
      }
      const g = gate;
      const s = shape;
      const sessionId = session;
      n++;
      queue.push((client) => insert(client, at, s, newSession, sessionId, g)());
    }
    dispatch();
    setTimeout(tick, Math.max(0, t0 + n * interval - performance.now()));
  };
  tick();
  return {
    setShape: (next) => {
      shape = next;
    },
    async stop() {
      stopped = true;
      while (queue.length > 0 || inFlight.size > 0)
        await Promise.race([...inFlight, new Promise((r) => setTimeout(r, 5))]);
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      return log;
    },
  };
}

/** ACCESS EXCLUSIVE time per tracker table, held or awaited, as the sampler saw it. */
export interface LockSampler {
  /**
   * Stops sampling; returns ms per table (tables never seen are 0), the same time per table and holder (the
   * session's backend type, or its application name for a client: "autovacuum worker", "umami-db", …; waiting
   * requests count for the session that waits), and the number of samples.
   */
  stop(): Promise<{
    ms: Record<string, number>;
    byHolder: Record<string, Record<string, number>>;
    samples: number;
    intervalMs: number;
  }>;
}

/** Samples pg_locks every `intervalMs` for AccessExclusiveLock (granted or not) on the tracker tables of `schema`. */
export async function startLockSampler(settings: ConnectionSettings, intervalMs = 5): Promise<LockSampler> {
  const client = await connect({ ...settings, applicationName: "umami-db lock sampler" });
  const ms: Record<string, number> = Object.fromEntries(TRACKER_TABLES.map((t) => [t, 0]));
  const byHolder: Record<string, Record<string, number>> = Object.fromEntries(TRACKER_TABLES.map((t) => [t, {}]));
  let samples = 0;
  let running = true;
  const loop = (async () => {
    let last = performance.now();
    while (running) {
      const { rows } = await client.query<{ relname: string; holders: string[] }>(
        `SELECT c.relname::text AS relname,
                pg_catalog.array_agg(DISTINCT CASE WHEN a.backend_type = 'client backend'
                  THEN COALESCE(NULLIF(a.application_name, ''), 'client') ELSE COALESCE(a.backend_type, '?') END) AS holders
           FROM pg_catalog.pg_locks l
           JOIN pg_catalog.pg_class c ON c.oid = l.relation
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
          WHERE l.mode = 'AccessExclusiveLock' AND l.locktype = 'relation' AND n.nspname = $1 AND c.relname = ANY($2::text[])
          GROUP BY c.relname`,
        [settings.schema, TRACKER_TABLES],
      );
      const now = performance.now();
      for (const r of rows) {
        ms[r.relname] += now - last;
        for (const holder of r.holders) byHolder[r.relname][holder] = (byHolder[r.relname][holder] ?? 0) + now - last;
      }
      last = now;
      samples++;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await client.end().catch(() => undefined);
      return { ms, byHolder, samples, intervalMs };
    },
  };
}
