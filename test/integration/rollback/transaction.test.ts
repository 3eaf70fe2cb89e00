import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, withClient, type ConnectionSettings } from "../../../scripts/kernel/db.js";
import { MultiDatabaseTransaction } from "../../../scripts/rollback/transaction.js";
import { startTestServer, type TestServer } from "../../support/server.js";

let server: TestServer;
let other: ConnectionSettings;

beforeAll(async () => {
  server = await startTestServer({ sampleApp: false });
  other = await server.createDatabase("tx_other");
  for (const settings of [server.admin, other])
    await withClient(settings, (c) => c.query("CREATE TABLE public.tx_marks (label text)"));
});
afterAll(async () => server?.stop());

const marks = (settings: ConnectionSettings) =>
  withClient(settings, async (c) =>
    (await c.query<{ label: string }>("SELECT label FROM public.tx_marks ORDER BY label")).rows.map((r) => r.label),
  );

describe("MultiDatabaseTransaction", () => {
  it("keeps what was committed, rolls back the rest on close, and closes the connections it opened", async () => {
    const main = await connect(server.admin);
    const transaction = new MultiDatabaseTransaction(server.admin, 1_500);
    try {
      await transaction.join("app", main);
      const client = await transaction.openIn("tx_other");
      // Both began with the lock timeout, each in its own database.
      expect((await main.query<{ lock_timeout: string }>("SHOW lock_timeout")).rows[0].lock_timeout).toBe("1500ms");
      expect((await client.query<{ lock_timeout: string }>("SHOW lock_timeout")).rows[0].lock_timeout).toBe("1500ms");
      await main.query("INSERT INTO public.tx_marks VALUES ('main')");
      await client.query("INSERT INTO public.tx_marks VALUES ('other')");
      await transaction.commit("tx_other");
      // The opened connection is closed by the commit; the joined one stays the caller's.
      await expect(client.query("SELECT 1")).rejects.toThrow();
      await transaction.close();
      expect((await main.query<{ one: number }>("SELECT 1 AS one")).rows[0].one).toBe(1);
    } finally {
      await main.end();
    }
    expect({ app: await marks(server.admin), other: await marks(other) }).toEqual({ app: [], other: ["other"] });
  });

  it("commits a joined transaction and refuses a database it has no transaction in", async () => {
    const main = await connect(server.admin);
    const transaction = new MultiDatabaseTransaction(server.admin, 1_000);
    try {
      await transaction.join("app", main);
      await main.query("INSERT INTO public.tx_marks VALUES ('committed')");
      await transaction.commit("app");
      await expect(transaction.commit("app")).rejects.toThrow("No transaction is open in database app");
      await transaction.close();
    } finally {
      await main.end();
    }
    expect(await marks(server.admin)).toEqual(["committed"]);
  });
});
