/**
 * One transaction per database, for a change that spans databases: PostgreSQL has no transaction across
 * databases, so each database gets its own client and its own transaction, begun with a lock timeout and
 * committed in the order the caller chooses. Whatever has not committed when `close` runs is rolled back, in
 * the order it began, and every connection this helper opened is closed: a failure part-way leaves only what
 * the caller committed on purpose.
 */
import { connect, type Client, type ConnectionSettings } from "../kernel/db.js";

interface Part {
  database: string;
  client: Client;
  /** Opened here (closed here), or joined (the caller's to close). */
  owned: boolean;
}

/** Transactions in several databases, ended together (see the file's comment). */
export class MultiDatabaseTransaction {
  private readonly open: Part[] = [];

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly lockTimeoutMs: number,
  ) {}

  /** Begins a transaction on `client`, connected to `database`; the client stays the caller's to close. */
  async join(database: string, client: Client): Promise<void> {
    await this.begin({ database, client, owned: false });
  }

  /** Connects to `database` and begins a transaction there; the connection is this helper's to close. */
  async openIn(database: string): Promise<Client> {
    const client = await connect({ ...this.settings, database });
    await this.begin({ database, client, owned: true });
    return client;
  }

  /** Commits `database`'s transaction (and closes the connection if this helper opened it). */
  async commit(database: string): Promise<void> {
    const part = this.open.find((p) => p.database === database);
    if (!part) throw new Error(`No transaction is open in database ${database}`);
    await part.client.query("COMMIT");
    this.open.splice(this.open.indexOf(part), 1);
    if (part.owned) await part.client.end();
  }

  /** Rolls back every transaction still open, in the order they began, and closes what it opened; never throws. */
  async close(): Promise<void> {
    for (const part of this.open.splice(0)) {
      await part.client.query("ROLLBACK").catch(() => undefined);
      if (part.owned) await part.client.end().catch(() => undefined);
    }
  }

  private async begin(part: Part): Promise<void> {
    this.open.push(part); // before BEGIN: a failure there still ends in close()
    await part.client.query("BEGIN");
    await part.client.query(`SET LOCAL lock_timeout = ${this.lockTimeoutMs}`);
  }
}
