/**
 * `09_update_hostname_region` online. The release copies `session.hostname` into a new
 * `website_event.hostname` (an UPDATE of every event), renames `session.subdivision1` to `region`, drops
 * `subdivision2` and `hostname`, and swaps two indexes — all under ACCESS EXCLUSIVE on website_event and
 * session to commit. Both versions must write meanwhile: the old one `session.subdivision1`/`hostname` and
 * events without a hostname, the new one `session.region` and events with one. Here:
 * - expand: `website_event.hostname` with a trigger that copies the session's hostname into an event inserted
 *   without one; `session.region` (a shim of subdivision1's type) with a trigger keeping region and subdivision1
 *   equal whichever version writes;
 * - backfill: events' hostname by event_id range, sessions' region by session_id range;
 * - contract (old version gone): the two old indexes dropped CONCURRENTLY; in one short transaction on session,
 *   the trigger and the shim dropped and subdivision1 renamed to region (the release's column, in its place),
 *   subdivision2 and hostname dropped; the event trigger dropped; the release's two indexes CONCURRENTLY.
 */
import { quoteIdent, quoteLiteral } from "../../../sst/database/quote.js";
import { countOldWrite, qualified, TOOL_PREFIX } from "./objects.js";
import type { OnlinePlan, PlanTemplate } from "./plan.js";

const EVENT_FUNCTION = `${TOOL_PREFIX}09_event_hostname`;
const SESSION_FUNCTION = `${TOOL_PREFIX}09_session_region`;
const EVENT_TRIGGER = EVENT_FUNCTION;
const SESSION_TRIGGER = SESSION_FUNCTION;

function build(schema: string): OnlinePlan {
  const event = qualified(schema, "website_event");
  const session = qualified(schema, "session");
  const eventFn = qualified(schema, EVENT_FUNCTION);
  const sessionFn = qualified(schema, SESSION_FUNCTION);
  const hasColumn = (table: string, column: string) =>
    `EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = ${quoteLiteral(table)}::pg_catalog.regclass AND attname = ${quoteLiteral(column)} AND NOT attisdropped)`;
  const hasTrigger = (table: string, name: string) =>
    `EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = ${quoteLiteral(table)}::pg_catalog.regclass AND tgname = ${quoteLiteral(name)})`;
  return {
    name: "09_update_hostname_region",
    checksum: HOSTNAME_REGION.checksum,
    tables: ["website_event", "session"],
    oldShape: "a website_event row inserted without hostname, or a session row with hostname",
    expand: [
      {
        kind: "sql",
        label: "trigger functions",
        sql: [
          // SECURITY DEFINER: it runs as its owner, the Umami role, whoever inserts; an administrator's insert
          // never runs the Umami role's code with the administrator's rights (the audit's planted-code class).
          `CREATE OR REPLACE FUNCTION ${eventFn}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
           BEGIN
             ${countOldWrite(schema)};
             SELECT s.hostname INTO NEW.hostname FROM ${session} s WHERE s.website_id = NEW.website_id AND s.session_id = NEW.session_id;
             RETURN NEW;
           END $fn$`,
          `CREATE OR REPLACE FUNCTION ${sessionFn}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
           BEGIN
             IF TG_OP = 'INSERT' THEN
               IF NEW.hostname IS NOT NULL OR NEW.subdivision2 IS NOT NULL THEN ${countOldWrite(schema)}; END IF;
               IF NEW.region IS NULL THEN NEW.region := NEW.subdivision1; ELSE NEW.subdivision1 := NEW.region; END IF;
             ELSIF NEW.region IS DISTINCT FROM OLD.region THEN
               NEW.subdivision1 := NEW.region;
             ELSIF NEW.subdivision1 IS DISTINCT FROM OLD.subdivision1 THEN
               NEW.region := NEW.subdivision1;
             END IF;
             RETURN NEW;
           END $fn$`,
        ],
      },
      {
        kind: "short",
        label: "ADD COLUMN website_event.hostname + trigger",
        table: "website_event",
        sql: [
          `ALTER TABLE ${event} ADD COLUMN IF NOT EXISTS "hostname" VARCHAR(100)`,
          `CREATE OR REPLACE TRIGGER ${quoteIdent(EVENT_TRIGGER)} BEFORE INSERT ON ${event} FOR EACH ROW WHEN (NEW.hostname IS NULL) EXECUTE FUNCTION ${eventFn}()`,
        ],
        doneWhen: `SELECT ${hasColumn(event, "hostname")} AS done`,
      },
      {
        kind: "short",
        label: "ADD COLUMN session.region (shim) + trigger",
        table: "session",
        sql: [
          // The shim takes subdivision1's own type: at contract subdivision1 itself becomes region.
          `DO $do$ BEGIN
             EXECUTE pg_catalog.format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS "region" %s', ${quoteLiteral(session)},
               (SELECT pg_catalog.format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute
                 WHERE attrelid = ${quoteLiteral(session)}::pg_catalog.regclass AND attname = 'subdivision1' AND NOT attisdropped));
           END $do$`,
          `CREATE OR REPLACE TRIGGER ${quoteIdent(SESSION_TRIGGER)} BEFORE INSERT OR UPDATE ON ${session} FOR EACH ROW EXECUTE FUNCTION ${sessionFn}()`,
        ],
        doneWhen: `SELECT ${hasColumn(session, "region")} AS done`,
      },
    ],
    backfill: [
      {
        label: "hostname",
        table: "website_event",
        key: "event_id",
        sql: [
          `UPDATE ${event} AS w
              SET hostname = s.hostname
             FROM ${session} AS s
            WHERE ($1::uuid IS NULL OR w.event_id > $1::uuid) AND w.event_id <= $2::uuid AND w.hostname IS NULL
              AND s.website_id = w.website_id AND s.session_id = w.session_id AND s.hostname IS NOT NULL`,
        ],
      },
      {
        label: "region",
        table: "session",
        key: "session_id",
        sql: [
          `UPDATE ${session}
              SET region = subdivision1
            WHERE ($1::uuid IS NULL OR session_id > $1::uuid) AND session_id <= $2::uuid
              AND region IS NULL AND subdivision1 IS NOT NULL`,
        ],
      },
    ],
    contract: [
      {
        kind: "drop-index",
        label: "session_website_id_created_at_hostname_idx",
        table: "session",
        name: "session_website_id_created_at_hostname_idx",
      },
      {
        kind: "drop-index",
        label: "session_website_id_created_at_subdivision1_idx",
        table: "session",
        name: "session_website_id_created_at_subdivision1_idx",
      },
      {
        kind: "short",
        label: "session: subdivision1 → region, drop subdivision2 and hostname",
        table: "session",
        sql: [
          `DROP TRIGGER IF EXISTS ${quoteIdent(SESSION_TRIGGER)} ON ${session}`,
          `ALTER TABLE ${session} DROP COLUMN "region"`,
          `ALTER TABLE ${session} RENAME COLUMN "subdivision1" TO "region"`,
          `ALTER TABLE ${session} DROP COLUMN "subdivision2"`,
          `ALTER TABLE ${session} DROP COLUMN "hostname"`,
        ],
        doneWhen: `SELECT NOT ${hasColumn(session, "subdivision1")} AS done`,
      },
      {
        kind: "short",
        label: "drop the website_event trigger",
        table: "website_event",
        sql: [`DROP TRIGGER IF EXISTS ${quoteIdent(EVENT_TRIGGER)} ON ${event}`],
        doneWhen: `SELECT NOT ${hasTrigger(event, EVENT_TRIGGER)} AS done`,
      },
      {
        kind: "index",
        label: "website_event_website_id_created_at_hostname_idx",
        table: "website_event",
        name: "website_event_website_id_created_at_hostname_idx",
        columns: ["website_id", "created_at", "hostname"],
      },
      {
        kind: "index",
        label: "session_website_id_created_at_region_idx",
        table: "session",
        name: "session_website_id_created_at_region_idx",
        columns: ["website_id", "created_at", "region"],
      },
      {
        kind: "sql",
        label: "drop the trigger functions",
        sql: [`DROP FUNCTION IF EXISTS ${eventFn}()`, `DROP FUNCTION IF EXISTS ${sessionFn}()`],
      },
    ],
    proof: [
      {
        sql: `SELECT 'session.' || c AS problem FROM pg_catalog.unnest(ARRAY['subdivision1', 'subdivision2', 'hostname']) c
               WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = $1::pg_catalog.regclass AND attname = c AND NOT attisdropped)
              UNION ALL
              SELECT 'session.region is missing' WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = $1::pg_catalog.regclass AND attname = 'region' AND NOT attisdropped)`,
        params: [session],
      },
    ],
  };
}

/** The plan for Umami's release file `09_update_hostname_region` (unchanged to 3.1.0). */
export const HOSTNAME_REGION: PlanTemplate = {
  name: "09_update_hostname_region",
  checksum: "e94d9993b17ac5c330ae3f872fd5869fb8095a3f3a7d31d2aaade73dc45fbe9c",
  build,
};
