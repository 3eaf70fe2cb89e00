/**
 * `05_add_visit_id` online. The release adds `website_event.visit_id`, gives every (session, hour) one random
 * uuid in one UPDATE of every row, sets NOT NULL and builds two indexes — all in one transaction, so ACCESS
 * EXCLUSIVE on website_event from the first statement to commit. Here:
 * - expand: the column (nullable) and a BEFORE INSERT trigger that gives a row inserted without a visit_id (the
 *   old version's shape) the visit of its (session, hour), in one short transaction;
 * - backfill: the (session, hour) → visit map (a scratch table, so batches and the trigger agree on one uuid per
 *   visit), then `visit_id` by event_id range;
 * - contract: CHECK (visit_id IS NOT NULL) NOT VALID, VALIDATE, then SET NOT NULL (which trusts the validated
 *   CHECK instead of scanning), the CHECK and the trigger dropped in the same short transaction; the release's
 *   two indexes CONCURRENTLY; the map and the function dropped.
 */
import { quoteIdent, quoteLiteral } from "../../../sst/database/quote.js";
import { countOldWrite, qualified, TOOL_PREFIX } from "./objects.js";
import type { OnlinePlan, PlanTemplate } from "./plan.js";

const MAP = `${TOOL_PREFIX}05_visit`;
const FUNCTION = `${TOOL_PREFIX}05_visit_id`;
const TRIGGER = `${TOOL_PREFIX}05_visit_id`;
const CHECK = `${TOOL_PREFIX}05_visit_id_not_null`;

/** The visit of a (session, hour), as 05 computes it: `date_trunc('hour', created_at)` in the session's time zone. */
function build(schema: string): OnlinePlan {
  const event = qualified(schema, "website_event");
  const map = qualified(schema, MAP);
  const fn = qualified(schema, FUNCTION);
  const fill = {
    label: "visit_id",
    table: "website_event",
    key: "event_id",
    sql: [
      `INSERT INTO ${map} (session_id, visit_time, visit_id)
       SELECT k.session_id, k.visit_time, pg_catalog.gen_random_uuid()
         FROM (SELECT DISTINCT session_id, pg_catalog.date_trunc('hour', created_at) AS visit_time
                 FROM ${event}
                WHERE ($1::uuid IS NULL OR event_id > $1::uuid) AND event_id <= $2::uuid
                  AND visit_id IS NULL AND created_at IS NOT NULL) k
       ON CONFLICT DO NOTHING`,
      `UPDATE ${event} AS w
          SET visit_id = v.visit_id
         FROM ${map} AS v
        WHERE ($1::uuid IS NULL OR w.event_id > $1::uuid) AND w.event_id <= $2::uuid AND w.visit_id IS NULL
          AND v.session_id = w.session_id AND v.visit_time = pg_catalog.date_trunc('hour', w.created_at)`,
    ],
  };
  return {
    name: "05_add_visit_id",
    checksum: VISIT_ID.checksum,
    tables: ["website_event"],
    oldShape: "a website_event row inserted without visit_id",
    expand: [
      {
        kind: "sql",
        label: "visit map and trigger function",
        sql: [
          `CREATE TABLE IF NOT EXISTS ${map} (session_id UUID NOT NULL, visit_time TIMESTAMPTZ NOT NULL, visit_id UUID NOT NULL, PRIMARY KEY (session_id, visit_time))`,
          // SECURITY DEFINER: it runs as its owner, the Umami role, whoever inserts; an administrator's insert
          // never runs the Umami role's code with the administrator's rights (the audit's planted-code class).
          `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
           BEGIN
             ${countOldWrite(schema)};
             IF NEW.created_at IS NULL THEN RETURN NEW; END IF;
             INSERT INTO ${map} (session_id, visit_time, visit_id)
             VALUES (NEW.session_id, date_trunc('hour', NEW.created_at), gen_random_uuid())
             ON CONFLICT DO NOTHING;
             SELECT v.visit_id INTO NEW.visit_id FROM ${map} v
              WHERE v.session_id = NEW.session_id AND v.visit_time = date_trunc('hour', NEW.created_at);
             RETURN NEW;
           END $fn$`,
        ],
      },
      {
        kind: "short",
        label: "ADD COLUMN visit_id + trigger",
        table: "website_event",
        sql: [
          `ALTER TABLE ${event} ADD COLUMN IF NOT EXISTS "visit_id" UUID NULL`,
          `CREATE OR REPLACE TRIGGER ${quoteIdent(TRIGGER)} BEFORE INSERT ON ${event} FOR EACH ROW WHEN (NEW.visit_id IS NULL) EXECUTE FUNCTION ${fn}()`,
        ],
        doneWhen: `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = ${quoteLiteral(event)}::pg_catalog.regclass AND attname = 'visit_id' AND NOT attisdropped) AS done`,
      },
    ],
    backfill: [fill],
    contract: [
      {
        kind: "short",
        label: "ADD CHECK (visit_id IS NOT NULL) NOT VALID",
        table: "website_event",
        sql: [`ALTER TABLE ${event} ADD CONSTRAINT ${quoteIdent(CHECK)} CHECK (visit_id IS NOT NULL) NOT VALID`],
        doneWhen: `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = ${quoteLiteral(event)}::pg_catalog.regclass AND conname = ${quoteLiteral(CHECK)})
                       OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = ${quoteLiteral(event)}::pg_catalog.regclass AND attname = 'visit_id' AND attnotnull) AS done`,
      },
      { kind: "validate", label: "VALIDATE the CHECK", table: "website_event", constraint: CHECK, catchUp: fill },
      {
        kind: "short",
        label: "SET NOT NULL, drop the CHECK and the trigger",
        table: "website_event",
        sql: [
          `ALTER TABLE ${event} ALTER COLUMN "visit_id" SET NOT NULL`,
          `ALTER TABLE ${event} DROP CONSTRAINT IF EXISTS ${quoteIdent(CHECK)}`,
          `DROP TRIGGER IF EXISTS ${quoteIdent(TRIGGER)} ON ${event}`,
        ],
        doneWhen: `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = ${quoteLiteral(event)}::pg_catalog.regclass AND attname = 'visit_id' AND attnotnull)
                      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = ${quoteLiteral(event)}::pg_catalog.regclass AND tgname = ${quoteLiteral(TRIGGER)}) AS done`,
      },
      {
        kind: "index",
        label: "website_event_visit_id_idx",
        table: "website_event",
        name: "website_event_visit_id_idx",
        columns: ["visit_id"],
      },
      {
        kind: "index",
        label: "website_event_website_id_visit_id_created_at_idx",
        table: "website_event",
        name: "website_event_website_id_visit_id_created_at_idx",
        columns: ["website_id", "visit_id", "created_at"],
      },
      {
        kind: "sql",
        label: "drop the visit map and the function",
        sql: [`DROP FUNCTION IF EXISTS ${fn}()`, `DROP TABLE IF EXISTS ${map}`],
      },
    ],
    proof: [
      {
        sql: `SELECT 'website_event.visit_id is not NOT NULL' AS problem
               WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = $1::pg_catalog.regclass AND attname = 'visit_id' AND attnotnull AND atttypid = 'uuid'::pg_catalog.regtype)`,
        params: [event],
      },
    ],
  };
}

/** The plan for Umami's release file `05_add_visit_id` (v2.11 onwards, unchanged to 3.1.0). */
export const VISIT_ID: PlanTemplate = {
  name: "05_add_visit_id",
  checksum: "12e5b277e41da871b0768118937cef221c4d4f9c3206b719fffba86324df7a11",
  build,
};
