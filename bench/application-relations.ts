/** What the impact benchmark and the never-blocks test lock as "the application": one query for both. */
import type { Client } from "../scripts/kernel/db.js";

/**
 * The application's relations: all schemas but the system's and the Umami stages', and not an extension's
 * (pg_stat_statements' view is the superuser's: the application could not lock it, and it is not its data).
 */
export async function applicationRelations(c: Client): Promise<{ names: string; oids: string[] }> {
  const { rows } = await c.query<{ name: string; oid: string }>(`
    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS name, c.oid::text AS oid
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname !~ '^(pg_|umami)' AND n.nspname <> 'information_schema'
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                        WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
     ORDER BY 1`);
  return { names: rows.map((r) => r.name).join(", "), oids: rows.map((r) => r.oid) };
}
