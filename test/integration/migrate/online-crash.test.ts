/**
 * An online upgrade interrupted at its three riskiest moments, each then completed by a rerun of the same
 * command, to the release's end state with nothing of the tool's left:
 * - the tool SIGKILLed mid-backfill (a child process running `migrate deploy --online`): the batch in flight
 *   rolls back, the cursor of the last committed batch stays, the rerun resumes after it;
 * - the tool's backend terminated mid-VALIDATE (held waiting by a session's SHARE UPDATE EXCLUSIVE, then
 *   pg_terminate_backend): the CHECK stays NOT VALID, the rerun validates it;
 * - a failed CREATE INDEX CONCURRENTLY under the release's index name (an invalid index left behind): the
 *   rerun drops it and builds the release's index;
 * - the tool stopped between 06_session_data's two short swaps (event_data's done, session_data's not): the
 *   rerun skips the first and does the second.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient, type ConnectionSettings } from "../../../scripts/kernel/db.js";
import { readMigrationRows } from "../../../scripts/migrate/bookkeeping.js";
import { deployOnline, type OnlineOptions } from "../../../scripts/migrate/online/deploy.js";
import { LEFTOVERS_SQL } from "../../../scripts/migrate/online/objects.js";
import { applyMigrations } from "../../../scripts/migrate/runner.js";
import type { MigrationSet } from "../../../scripts/migrate/sources.js";
import { seedUmami210 } from "../../../bench/online-load.js";
import { loadRelease, releaseSource } from "../../support/migrations.js";
import { PROJECT_ROOT } from "../../support/reliability.js";
import { devStageIn, startTestServer, type TestServer, type UmamiStage } from "../../support/server.js";

const PASSWORD = "Online-Crash-Password-0123456789abcdef";
const OPTIONS: OnlineOptions = {
  lock: { lockTimeoutMs: 200, budgetMs: 2_000, retryPauseMs: 100 },
  backfill: { batchSize: 500, pauseMs: 0, targetBatchMs: 500 },
  quietMs: 0,
};

let server: TestServer;
let release3: MigrationSet;

beforeAll(async () => {
  server = await startTestServer({ sampleApp: false });
  release3 = await loadRelease("3.1.0");
});
afterAll(async () => server?.stop());

async function seededStage(database: string, events: number): Promise<UmamiStage> {
  const stage = await devStageIn(server, database, PASSWORD);
  await applyMigrations(stage.umami, await loadRelease("2.10.0"));
  await withClient(stage.umami, (c) => seedUmami210(c, "umami", events));
  return stage;
}

/** The superuser on `database` (to terminate a backend, or to do what a failed build leaves). */
const superuserOn = (database: string): ConnectionSettings => ({ ...server.superuser, database });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The release's end state: every migration recorded, visit_id complete, nothing of the tool's left. */
async function expectFinished(umami: ConnectionSettings): Promise<void> {
  const rows = await withClient(umami, (c) => readMigrationRows(c, "umami"));
  expect(rows.map((r) => [r.migration_name, r.checksum, r.finished_at !== null])).toEqual(
    release3.migrations.map((m) => [m.name, m.checksum, true]),
  );
  const facts = await withClient(umami, async (c) => ({
    nulls: (await c.query("SELECT count(*)::int AS n FROM umami.website_event WHERE visit_id IS NULL")).rows[0].n,
    split: (
      await c.query(
        "SELECT count(*)::int AS n FROM (SELECT 1 FROM umami.website_event GROUP BY session_id, date_trunc('hour', created_at) HAVING count(DISTINCT visit_id) > 1) x",
      )
    ).rows[0].n,
    leftovers: (await c.query(LEFTOVERS_SQL, ["umami"])).rows,
    indexes: (
      await c.query(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'umami' AND indexname IN ('website_event_visit_id_idx', 'website_event_website_id_visit_id_created_at_idx') ORDER BY indexname",
      )
    ).rows.map((r) => r.indexdef),
  }));
  expect(facts).toEqual({
    nulls: 0,
    split: 0,
    leftovers: [],
    indexes: [
      "CREATE INDEX website_event_visit_id_idx ON umami.website_event USING btree (visit_id)",
      "CREATE INDEX website_event_website_id_visit_id_created_at_idx ON umami.website_event USING btree (website_id, visit_id, created_at)",
    ],
  });
}

describe("a crash at any point leaves a state that a rerun completes", () => {
  it("SIGKILL of the tool mid-backfill: the rerun resumes after the last committed batch", async () => {
    const stage = await seededStage("crash_backfill", 6_000);
    const child = spawn(
      process.execPath,
      [
        resolve(PROJECT_ROOT, "bin/umami-db.js"),
        "migrate",
        "deploy",
        "--online",
        "--batch-size",
        "100",
        "--batch-pause",
        "100",
        "--migrations",
        releaseSource("3.1.0"),
      ],
      {
        cwd: PROJECT_ROOT,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
          DATABASE_URL: stage.url,
          AWS_EC2_METADATA_DISABLED: "true",
        },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    let running = true;
    const exited = new Promise((r) => child.on("exit", r)).finally(() => (running = false));
    // Killed once a few batches of visit_id have committed, and before the backfill ends.
    let cursor: { after: string; done: boolean } | undefined;
    // Up to three minutes: on a loaded machine the child takes a while to reach 05's backfill.
    for (let i = 0; i < 3_600 && !cursor && running; i++) {
      await sleep(50);
      cursor = await withClient(stage.umami, async (c) => {
        const { rows } = await c
          .query(
            "SELECT cursors -> 'visit_id' AS v FROM umami._umami_db_online WHERE migration_name = '05_add_visit_id'",
          )
          .catch(() => ({ rows: [] as { v: null }[] }));
        const filled = rows[0]?.v
          ? (await c.query("SELECT count(visit_id)::int AS n FROM umami.website_event")).rows[0].n
          : 0;
        return filled >= 300 ? rows[0].v : undefined;
      });
    }
    expect(running, stderr).toBe(true);
    child.kill("SIGKILL");
    await exited;
    expect(cursor?.done).toBe(false);
    const partial = await withClient(
      stage.umami,
      async (c) =>
        (await c.query("SELECT count(visit_id)::int AS filled, count(*)::int AS total FROM umami.website_event"))
          .rows[0],
    );
    expect(partial.filled).toBeGreaterThan(0);
    expect(partial.filled).toBeLessThan(partial.total);
    // The killed backend goes when the server notices; the rerun waits for its advisory lock to go with it.
    for (let i = 0; i < 100; i++) {
      const left = await withClient(
        stage.umami,
        async (c) =>
          (
            await c.query(
              "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'umami-db migrate online'",
            )
          ).rows[0].n,
      );
      if (left === 0) break;
      await sleep(100);
    }
    const rerun = await deployOnline(stage.umami, release3, { ...OPTIONS, finish: true });
    expect(rerun.finished).toBe(true);
    await expectFinished(stage.umami);
  });

  it("a terminated backend mid-VALIDATE: the CHECK stays NOT VALID, the rerun validates and finishes", async () => {
    const stage = await seededStage("crash_validate", 2_000);
    await deployOnline(stage.umami, release3, OPTIONS);
    await withClient(superuserOn("crash_validate"), async (blocker) => {
      let holding = false;
      const run = deployOnline(stage.umami, release3, {
        ...OPTIONS,
        finish: true,
        // Right after the NOT VALID CHECK: a session takes SHARE UPDATE EXCLUSIVE, so VALIDATE waits on it.
        onEvent: async (e) => {
          if (e.type === "step" && e.label.startsWith("ADD CHECK") && !holding) {
            holding = true;
            await blocker.query("BEGIN");
            await blocker.query("LOCK TABLE umami.website_event IN SHARE UPDATE EXCLUSIVE MODE");
          }
        },
      });
      const failed = run.then(
        () => undefined,
        (error: unknown) => error,
      );
      let terminated = false;
      // Up to 20 s: on a loaded machine (load 12, three runs of this file at once) it took over 5 s to reach VALIDATE.
      for (let i = 0; i < 800 && !terminated; i++) {
        await sleep(25);
        const { rows } = await blocker.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE query LIKE 'ALTER TABLE % VALIDATE CONSTRAINT %' AND wait_event_type = 'Lock'",
        );
        if (rows[0])
          terminated = (await blocker.query("SELECT pg_terminate_backend($1) AS ok", [rows[0].pid])).rows[0].ok;
      }
      await blocker.query("ROLLBACK");
      expect(terminated).toBe(true);
      expect(await failed).toBeInstanceOf(Error);
    });
    const state = await withClient(
      stage.umami,
      async (c) =>
        (
          await c.query(
            "SELECT conname, convalidated FROM pg_constraint WHERE contype = 'c' AND conname LIKE '\\_umami\\_db\\_%'",
          )
        ).rows,
    );
    expect(state).toEqual([{ conname: "_umami_db_05_visit_id_not_null", convalidated: false }]);
    const rerun = await deployOnline(stage.umami, release3, { ...OPTIONS, finish: true });
    expect(rerun.finished).toBe(true);
    await expectFinished(stage.umami);
  });

  it("a failed concurrent index build under the release's name: the rerun drops the invalid index and builds the release's", async () => {
    const stage = await seededStage("crash_index", 2_000);
    await deployOnline(stage.umami, release3, OPTIONS);
    // What a failed CREATE INDEX CONCURRENTLY leaves: an index of that name, indisvalid false.
    await withClient(superuserOn("crash_index"), async (c) => {
      await expect(
        c.query("CREATE UNIQUE INDEX CONCURRENTLY website_event_visit_id_idx ON umami.website_event (website_id)"),
      ).rejects.toThrow(/could not create unique index/);
      expect(
        (
          await c.query(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'umami.website_event_visit_id_idx'::regclass",
          )
        ).rows,
      ).toEqual([{ indisvalid: false }]);
    });
    const rerun = await deployOnline(stage.umami, release3, { ...OPTIONS, finish: true });
    expect(rerun.finished).toBe(true);
    await expectFinished(stage.umami);
  });

  it("the tool stopped between 06_session_data's two swaps: the rerun swaps the second and finishes, the keys kept", async () => {
    const stage = await seededStage("crash_swap", 2_000);
    await deployOnline(stage.umami, release3, OPTIONS);
    const stopped = new Error("the tool stops here");
    await expect(
      deployOnline(stage.umami, release3, {
        ...OPTIONS,
        finish: true,
        onEvent: (e) => {
          if (e.type === "step" && e.label === "event_data: event_key → data_key" && !e.skipped) throw stopped;
        },
      }),
    ).rejects.toBe(stopped);
    const columns = (table: string) =>
      withClient(stage.umami, async (c) =>
        (
          await c.query<{ name: string }>(
            "SELECT attname::text AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attname LIKE '%key' ORDER BY attnum",
            [`umami.${table}`],
          )
        ).rows.map((r) => r.name),
      );
    // Half-contracted: event_data swapped, session_data still both names.
    expect(await columns("event_data")).toEqual(["data_key"]);
    expect(await columns("session_data")).toEqual(["session_key", "data_key"]);
    const rerun = await deployOnline(stage.umami, release3, { ...OPTIONS, finish: true });
    expect(rerun.finished).toBe(true);
    await expectFinished(stage.umami);
    expect(await columns("session_data")).toEqual(["data_key"]);
    const facts = await withClient(stage.umami, async (c) => ({
      keys: (
        await c.query(
          "SELECT (SELECT count(*)::int FROM umami.event_data WHERE data_key ~ '^key[0-9]+$') AS events, (SELECT count(*)::int FROM umami.session_data WHERE data_key ~ '^key[0-9]+$') AS sessions",
        )
      ).rows[0],
      indexes: (
        await c.query(
          "SELECT indexname FROM pg_indexes WHERE schemaname = 'umami' AND tablename IN ('event_data', 'session_data') AND indexname LIKE '%key_idx' ORDER BY 1",
        )
      ).rows.map((r) => r.indexname),
    }));
    expect(facts).toEqual({
      keys: { events: 200, sessions: 200 },
      indexes: ["event_data_website_id_created_at_data_key_idx", "session_data_website_id_created_at_data_key_idx"],
    });
  });
});
