/**
 * `07_add_tag` online. The release adds `website_event.tag` (a catalog change) and builds an index on it with a
 * plain CREATE INDEX, which holds SHARE on website_event for the whole build: every tracker insert waits. Here the
 * column comes in one short transaction and the index is built CONCURRENTLY under the release's name at contract.
 * Nothing to backfill, and nothing either version writes differently.
 */
import { quoteLiteral } from "../../../sst/database/quote.js";
import { qualified } from "./objects.js";
import type { OnlinePlan, PlanTemplate } from "./plan.js";

function build(schema: string): OnlinePlan {
  const event = qualified(schema, "website_event");
  return {
    name: "07_add_tag",
    checksum: ADD_TAG.checksum,
    tables: ["website_event"],
    oldShape: "none (the old version never names tag)",
    expand: [
      {
        kind: "short",
        label: "ADD COLUMN tag",
        table: "website_event",
        sql: [`ALTER TABLE ${event} ADD COLUMN IF NOT EXISTS "tag" VARCHAR(50)`],
        doneWhen: `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = ${quoteLiteral(event)}::pg_catalog.regclass AND attname = 'tag' AND NOT attisdropped) AS done`,
      },
    ],
    backfill: [],
    contract: [
      {
        kind: "index",
        label: "website_event_website_id_created_at_tag_idx",
        table: "website_event",
        name: "website_event_website_id_created_at_tag_idx",
        columns: ["website_id", "created_at", "tag"],
      },
    ],
    proof: [],
  };
}

/** The plan for Umami's release file `07_add_tag` (unchanged to 3.1.0). */
export const ADD_TAG: PlanTemplate = {
  name: "07_add_tag",
  checksum: "c38c9605d759b3b00f94076c929b6081d7dbd01a25d2955909fc8d1a6e3276b4",
  build,
};
