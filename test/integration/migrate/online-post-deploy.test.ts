/**
 * `post-deploy --online`, then `post-deploy --online --finish`, through the CLI, on stage dev at Umami 2.10.0
 * while a small tracker writes in 2.10's shape (then 3.1's, once the "new image" rolls): the first run leaves
 * the online migrations backfilled and says what is left, the second contracts, records and proves the schema;
 * no insert is lost, and the end state equals the offline path's on the same seed.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec } from "../../../sst/database/spec.js";
import { buildCredentialsSecret } from "../../../sst/database/secret.js";
import { parseDatabaseUrl, withClient, type ConnectionSettings } from "../../../scripts/kernel/db.js";
import type { PostDeployResult } from "../../../scripts/flows/post-deploy.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { applyMigrations } from "../../../scripts/migrate/runner.js";
import { compareSchemas } from "../../../scripts/migrate/schema-compare.js";
import { readSchemaSnapshot } from "../../../scripts/migrate/schema-snapshot.js";
import { LEFTOVERS_SQL } from "../../../scripts/migrate/online/objects.js";
import { writeSecretFile } from "../../../scripts/stage/credentials.js";
import { seedUmami210, startTracker, type TrackedInsert } from "../../../bench/online-load.js";
import { loadRelease } from "../../support/migrations.js";
import { readEndState } from "../../support/online-end-state.js";
import { scratchDir } from "../../support/scratch.js";
import { devStageIn, startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";

const exec = promisify(execFile);
const root = new URL("../../..", import.meta.url).pathname;
const PASSWORD = "Online-Post-Deploy-Password-0123456789";
const EVENTS = 3_000;

let server: TestServer;
let dir: string;
let umami: ConnectionSettings;
let offline: ConnectionSettings;

beforeAll(async () => {
  server = await startTestServer();
  dir = scratchDir("umami-online-post-deploy-");
  const spec = buildSpec("dev");
  await withClient(server.admin, (c) => provisionStage(c, spec, { admin: TEST_ADMIN.name, password: PASSWORD }));
  writeSecretFile(
    join(dir, "credentials.json"),
    buildCredentialsSecret({
      username: spec.role.name,
      password: PASSWORD,
      host: "127.0.0.1",
      port: server.embedded.port,
      database: "app",
      schema: spec.schema,
      sslmode: "disable",
    }),
  );
  umami = parseDatabaseUrl(
    `postgresql://umami_user:${PASSWORD}@127.0.0.1:${server.embedded.port}/app?schema=umami&sslmode=disable`,
  );
  await applyMigrations(umami, await loadRelease("2.10.0"));
  await withClient(umami, (c) => seedUmami210(c, "umami", EVENTS));
}, 180_000);
afterAll(async () => server?.stop());

/** Runs the CLI with the admin URL in the environment (never in argv). */
async function cli(args: string[]) {
  const env = { ...process.env, ADMIN_DATABASE_URL: server.adminUrl() };
  return exec(process.execPath, ["bin/umami-db.js", ...args], { cwd: root, env, timeout: 240_000 })
    .then((r) => ({ code: 0, ...r }))
    .catch((error: unknown) => {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    });
}

function latestReport(): { json: PostDeployResult; md: string } {
  const stageDir = join(dir, "reports", "dev");
  const latest = readdirSync(stageDir).sort().at(-1) as string;
  return {
    json: JSON.parse(readFileSync(join(stageDir, latest, "report.json"), "utf8")) as PostDeployResult,
    md: readFileSync(join(stageDir, latest, "report.md"), "utf8"),
  };
}

/** Each table's ACCESS EXCLUSIVE total (the lock budget's ledger) is the sum of what the phases held on it. */
function expectLedgerIsSumOfHolds(json: PostDeployResult): void {
  const online = json.migrations.online!;
  for (const l of online.locks) {
    const sum = online.held
      .filter((h) => h.table === l.table && h.lock === "ACCESS EXCLUSIVE")
      .reduce((a, h) => a + h.ms, 0);
    expect(sum, l.table).toBeCloseTo(l.ms, 3);
  }
}

const postDeploy = (...extra: string[]) =>
  cli([
    "post-deploy",
    "--stage",
    "dev",
    "--secret-file",
    join(dir, "credentials.json"),
    "--no-before",
    "--reports-dir",
    join(dir, "reports"),
    "--migrations",
    "github:umami-software/umami@v3.1.0",
    "--online",
    "--batch-size",
    "500",
    "--batch-pause",
    "5",
    ...extra,
  ]);

describe("post-deploy --online, then --online --finish, under a tracker's load", () => {
  let log: TrackedInsert[] = [];

  it("backfills, says what is left, then finishes: the schema proven, nothing lost", async () => {
    const tracker = await startTracker(umami, { ratePerSecond: 40, shape: "2.10", connections: 2, data: true });
    try {
      const first = await postDeploy();
      expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(0);
      const { json, md } = latestReport();
      expect(json.ok).toBe(true);
      expect(json.migrations.online?.migrations).toEqual([
        { name: "05_add_visit_id", phase: "backfilled" },
        { name: "06_session_data", phase: "backfilled" },
        { name: "07_add_tag", phase: "backfilled" },
        { name: "09_update_hostname_region", phase: "backfilled" },
      ]);
      expect(json.migrations.online?.next.at(-1)).toContain("umami-db post-deploy --online --finish");
      // The schema is between releases until --finish: checked then, not now; Prisma's status names them.
      expect(json.schemaCheck).toBeNull();
      expect(json.steps.find((s) => s.name === "migration status")?.detail).toBe(
        "up to date; 4 under way online, recorded by --finish after the old image is drained",
      );
      // What each phase held, measured: a few ms of ACCESS EXCLUSIVE per expand, and the ledger's totals are their sums.
      const held = json.migrations.online?.held ?? [];
      const expand05 = held.find((h) => h.migration === "05_add_visit_id" && h.phase === "expand");
      expect(expand05).toMatchObject({ table: "website_event", lock: "ACCESS EXCLUSIVE" });
      expect(expand05!.ms).toBeGreaterThan(0);
      expect(expand05!.ms).toBeLessThan(1_000);
      expect(held.find((h) => h.migration === "09_update_hostname_region" && h.table === "session")).toMatchObject({
        phase: "expand",
        lock: "ACCESS EXCLUSIVE",
      });
      expectLedgerIsSumOfHolds(json);
      expect(md).toMatch(
        /\| `05_add_visit_id` \| expanded and backfilled[^|]*\| expand: ACCESS EXCLUSIVE on website_event \d+ ms<br>backfill: ROW EXCLUSIVE on website_event (\d+ ms|\d+\.\d s) \|/,
      );
      expect(md).toContain("## Online migrations");
      expect(md).toContain("**Not finished.** Next, in order:");
      expect(first.stdout).toContain("online:        05_add_visit_id expanded and backfilled");
      expect(first.stdout).toContain("SKIP_DB_MIGRATION=1");

      // The old image still writes: --finish refuses with one line and contracts nothing.
      const early = await postDeploy("--finish", "--quiet", "0.5");
      expect(early.code, early.stdout).toBe(2);
      expect(early.stdout).toMatch(
        /failed: \d+ row\(s\) in Umami 2\.x's shape arrived in the last 0\.5 s: the old version still writes\. Drain it \(every old task stopped\), then rerun `umami-db post-deploy --online --finish`; nothing was contracted\./,
      );
      expect(latestReport().json.failedStep).toBe("migrate as umami_user (online, finish)");
      // The new image rolls out and the old one drains.
      tracker.setShape("3.1");
      await new Promise((r) => setTimeout(r, 300));
      const done = await postDeploy("--finish", "--quiet", "0.5");
      expect(done.code, `${done.stdout}\n${done.stderr}`).toBe(0);
      const finished = latestReport();
      expect(finished.json.ok).toBe(true);
      expect(finished.json.migrations.online).toMatchObject({ finished: true, next: [] });
      expect(finished.json.migrations.online?.migrations.map((m) => m.phase)).toEqual([
        "recorded",
        "recorded",
        "recorded",
        "recorded",
      ]);
      expect(finished.json.schemaCheck).toMatchObject({ ok: true, differences: [] });
      // The contract's figures: VALIDATE and the index builds under SHARE UPDATE EXCLUSIVE (inserts go on), the
      // swaps in short ACCESS EXCLUSIVE transactions; the timeline labels each online phase with them.
      const contract = (finished.json.migrations.online?.held ?? []).filter((h) => h.phase === "contract");
      expect(contract.map((h) => `${h.migration} ${h.lock} ${h.table}`).sort()).toEqual([
        "05_add_visit_id ACCESS EXCLUSIVE website_event",
        "05_add_visit_id SHARE UPDATE EXCLUSIVE website_event",
        "06_session_data ACCESS EXCLUSIVE event_data",
        "06_session_data ACCESS EXCLUSIVE session_data",
        "06_session_data SHARE UPDATE EXCLUSIVE session_data",
        "07_add_tag SHARE UPDATE EXCLUSIVE website_event",
        "09_update_hostname_region ACCESS EXCLUSIVE session",
        "09_update_hostname_region ACCESS EXCLUSIVE website_event",
        "09_update_hostname_region SHARE UPDATE EXCLUSIVE session",
        "09_update_hostname_region SHARE UPDATE EXCLUSIVE website_event",
      ]);
      for (const h of contract) expect(h.ms, `${h.migration} ${h.lock} ${h.table}`).toBeGreaterThan(0);
      for (const h of contract.filter((c) => c.lock === "ACCESS EXCLUSIVE")) expect(h.ms).toBeLessThan(1_000);
      expectLedgerIsSumOfHolds(finished.json);
      const timeline = finished.json.migrations.timeline.find((t) => t.name === "05_add_visit_id (contract, online)");
      expect(timeline?.locks).toEqual([
        expect.stringMatching(/^ACCESS EXCLUSIVE on website_event \d+ ms$/),
        expect.stringMatching(/^SHARE UPDATE EXCLUSIVE on website_event (\d+ ms|\d+\.\d s)$/),
      ]);
      expect(finished.json.steps.find((s) => s.name === "migration status")?.detail).toBe("up to date");
      expect(finished.md).not.toContain("**Not finished.**");
      expect(`${first.stdout}${done.stdout}${done.stderr}${md}${finished.md}`).not.toContain(PASSWORD);
    } finally {
      log = await tracker.stop();
    }
    expect(log.filter((e) => !e.ok).map((e) => e.error)).toEqual([]);
    expect(log.filter((e) => e.shape === "2.10").length).toBeGreaterThan(10);
    const found = await withClient(umami, (c) =>
      c.query("SELECT 1 FROM umami.website_event WHERE event_id = ANY($1::uuid[])", [log.map((e) => e.eventId)]),
    );
    expect(found.rowCount).toBe(log.length);
    const data = await withClient(umami, (c) =>
      c.query("SELECT 1 FROM umami.event_data WHERE website_event_id = ANY($1::uuid[]) AND data_key = 'button'", [
        log.map((e) => e.eventId),
      ]),
    );
    expect(data.rowCount).toBe(log.length);
  }, 600_000);

  it("ends where the offline path ends: schema, column order, the data moved, nothing of the tool's left", async () => {
    // The offline path on the same seed (its ids and times are computed, so the rows are identical), in a
    // database of its own made only now: before, post-deploy's audit would rightly find umami_user's tables there.
    offline = (await devStageIn(server, "offline_copy", PASSWORD)).umami;
    await applyMigrations(offline, await loadRelease("2.10.0"));
    await withClient(offline, (c) => seedUmami210(c, "umami", EVENTS));
    await applyMigrations(offline, await loadRelease("3.1.0"));
    const [a, b] = await Promise.all([umami, offline].map((s) => withClient(s, (c) => readSchemaSnapshot(c, "umami"))));
    expect(compareSchemas(b, a)).toEqual([]);
    const [endA, endB] = await Promise.all([umami, offline].map(readEndState));
    expect(endA).toEqual(endB);
    expect(endA.moved.events).toBe(EVENTS);
    expect(endA.moved.event_data).toBe(EVENTS / 10);
    expect((await withClient(umami, (c) => c.query(LEFTOVERS_SQL, ["umami"]))).rows).toEqual([]);
  }, 120_000);
});
