/**
 * Few round trips on one connection: a query issued while the connection is idle goes out at once; the ones
 * issued while it is busy wait, and go out together as one statement when it is free again — each as a
 * subquery whose rows come back as one jsonb array, its `$n` parameters renumbered. The checks that start
 * together therefore cost one round trip, not one each (a round trip costs more than the query on a remote cluster); the server does the
 * same work. Rows read through jsonb keep the shapes the audit's queries return (text, arrays, booleans,
 * int4 numbers); a query that returns oid, int8 or numeric columns must cast them to text.
 */
import type { Client, QueryResultRow } from "../kernel/db.js";
import type { CountedQuery } from "./types.js";

interface Pending {
  sql: string;
  params: unknown[];
  resolve: (rows: QueryResultRow[]) => void;
  reject: (error: unknown) => void;
}

/** One statement that runs every query of `batch` as a subquery; parameters renumbered in order. */
export function combineQueries(batch: { sql: string; params: unknown[] }[]): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const columns = batch.map((q, i) => {
    const offset = params.length;
    params.push(...q.params);
    // Every $n in the audit's SQL is a parameter: none of it uses dollar quoting.
    const sql = q.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
    return `(SELECT COALESCE(pg_catalog.jsonb_agg(q), '[]') FROM (${sql}) q) AS r${i}`;
  });
  return { sql: `SELECT ${columns.join(",\n")}`, params };
}

/**
 * A counted query function on `client` that batches queries issued while one is in flight. With `gather`, a
 * query issued while the connection is idle waits for the others issued in the same turn of the event loop.
 */
export function batchedQuery(
  client: Client,
  options: { gather?: boolean } = {},
): { query: CountedQuery; statements: () => number } {
  let statements = 0;
  let busy = false;
  let waiting: Pending[] = [];
  const send = async (batch: Pending[]) => {
    busy = true;
    statements += 1;
    try {
      if (batch.length === 1) {
        const [only] = batch;
        only.resolve((await client.query<QueryResultRow>(only.sql, only.params)).rows);
      } else {
        const combined = combineQueries(batch);
        const { rows } = await client.query<Record<string, QueryResultRow[]>>(combined.sql, combined.params);
        batch.forEach((p, i) => p.resolve(rows[0][`r${i}`]));
      }
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      busy = false;
      const next = waiting;
      waiting = [];
      if (next.length > 0) void send(next);
    }
  };
  const query: CountedQuery = <R extends QueryResultRow>(sql: string, params: unknown[]) =>
    new Promise<R[]>((resolve, reject) => {
      const pending: Pending = { sql, params, resolve: resolve as Pending["resolve"], reject };
      if (busy) waiting.push(pending);
      else if (!options.gather) void send([pending]);
      else {
        busy = true;
        waiting.push(pending);
        setImmediate(() => {
          const batch = waiting;
          waiting = [];
          void send(batch);
        });
      }
    });
  return { query, statements: () => statements };
}
