/**
 * `umami-db migrate verify-schema` on real files: a database migrated from the npm package umami@2.10.0 (its
 * pre-release 04_team_redesign, fetched with `npm pack` and cached under tmp/) against Umami's 2.10.0 and 3.1.0
 * releases from the mirror; the SQL it prints, run as umami_user, brings the schema to the release.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDatabaseUrl, withClient, withTransaction } from "../../../scripts/kernel/db.js";
import { applyMigrations } from "../../../scripts/migrate/runner.js";
import { loadMigrations } from "../../../scripts/migrate/sources.js";
import type { VerifySchemaResult } from "../../../scripts/flows/verify-schema.js";
import { runPostDeploy } from "../../../scripts/flows/post-deploy.js";
import { renderPostDeployMarkdown } from "../../../scripts/flows/report.js";
import { buildSpec } from "../../../sst/database/spec.js";
import { stageSettings } from "../../../sst/stages.js";
import { runCli } from "../../support/reliability.js";
import { devStageIn, startTestServer, type TestServer, type UmamiStage } from "../../support/server.js";
import {
  npmUmami2100MigrationsDir,
  RELEASE_DIRS,
  TEAM_REDESIGN_CHECKSUMS,
  testSourceOptions,
} from "../../support/migrations.js";

const PASSWORD = "Verify-Schema-Password-0123456789abcdef";
let server: TestServer;
let npmDir: string;

type Stage = UmamiStage;
const stageIn = (database: string): Promise<Stage> => devStageIn(server, database, PASSWORD);

async function verify(stage: Stage, migrations: string, json = true) {
  const run = await runCli(["migrate", "verify-schema", "--migrations", migrations, ...(json ? ["--json"] : [])], {
    DATABASE_URL: stage.url,
  });
  return {
    ...run,
    result: json && run.stdout.startsWith("{") ? (JSON.parse(run.stdout) as VerifySchemaResult) : undefined,
  };
}

const FOUR = [
  {
    kind: "column",
    object: "team.deleted_at",
    change: "differs",
    aspect: "default",
    expected: "no default",
    actual: "CURRENT_TIMESTAMP",
  },
  { kind: "column", object: "user.display_name", change: "missing", expected: "character varying(255)" },
  { kind: "column", object: "website.created_by", change: "missing", expected: "uuid" },
  {
    kind: "index",
    object: "website_created_by_idx",
    change: "missing",
    expected: "CREATE INDEX website_created_by_idx ON umami.website USING btree (created_by)",
  },
];

beforeAll(async () => {
  server = await startTestServer({ sampleApp: false });
  npmDir = await npmUmami2100MigrationsDir();
});
afterAll(async () => server?.stop());

describe("a database migrated from npm's umami@2.10.0", () => {
  let stage: Stage;
  beforeAll(async () => {
    stage = await stageIn("verify_npm");
    const npm = await loadMigrations(npmDir, testSourceOptions());
    expect(npm.migrations.map((m) => m.checksum)[3]).toBe(TEAM_REDESIGN_CHECKSUMS.npmPreRelease);
    await applyMigrations(stage.umami, npm);
  });

  it("differs from the 2.10.0 release in exactly four places, each named, with its SQL and a remedy (exit 1)", async () => {
    const { code, result, stderr } = await verify(stage, RELEASE_DIRS["2.10.0"]);
    expect(code, stderr).toBe(1);
    expect(result?.ok).toBe(false);
    expect(result?.compared).toEqual([
      "01_init",
      "02_report_schema_session_data",
      "03_metric_performance_index",
      "04_team_redesign",
    ]);
    expect(
      result?.differences.map(({ kind, object, change, aspect, expected, actual }) => ({
        kind,
        object,
        change,
        aspect,
        expected,
        actual,
      })),
    ).toEqual(FOUR.map((d) => ({ aspect: undefined, actual: undefined, ...d })));
    expect(result?.sql).toEqual([
      'ALTER TABLE "umami"."team" ALTER COLUMN "deleted_at" DROP DEFAULT;',
      'ALTER TABLE "umami"."user" ADD COLUMN "display_name" character varying(255);',
      'ALTER TABLE "umami"."website" ADD COLUMN "created_by" uuid;\nUPDATE "website" SET created_by = user_id WHERE team_id IS NULL; -- data step of 04_team_redesign',
      "CREATE INDEX website_created_by_idx ON umami.website USING btree (created_by);",
    ]);
    expect(result?.remedy).toBe(
      "The live schema umami differs from the release in 4 place(s). Review the SQL above and run it as umami_user (whose search_path is umami) in one transaction, then run `umami-db migrate verify-schema` again.",
    );
    expect(stderr).toContain("starting a scratch PostgreSQL 15…");
  });

  it("prints the same four as text, with the SQL and the remedy line", async () => {
    const { code, stdout } = await verify(stage, RELEASE_DIRS["2.10.0"], false);
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /^schema umami vs .*v2\.10\.0\/db\/postgresql\/migrations: 4 difference\(s\) from the release/,
    );
    for (const line of [
      "  differs  column team.deleted_at has DEFAULT CURRENT_TIMESTAMP, the release has none",
      "  missing  column user.display_name (character varying(255)) is missing",
      "  missing  column website.created_by (uuid) is missing",
      "  missing  index website_created_by_idx is missing (CREATE INDEX website_created_by_idx ON umami.website USING btree (created_by))",
      "SQL that brings umami to the release:",
      '  ALTER TABLE "umami"."user" ADD COLUMN "display_name" character varying(255);',
    ]) {
      expect(stdout).toContain(line);
    }
    expect(stdout).toMatch(/\nremedy: The live schema umami differs from the release in 4 place\(s\)\./);
  });

  it("against 3.1.0 compares the four applied migrations only, names the 15 pending, and finds the same four", async () => {
    const { code, result } = await verify(stage, RELEASE_DIRS["3.1.0"]);
    expect(code).toBe(1);
    expect(result?.compared).toHaveLength(4);
    expect(result?.pending).toHaveLength(15);
    expect(result?.differences.map((d) => `${d.change} ${d.object}`)).toEqual(
      FOUR.map((d) => `${d.change} ${d.object}`),
    );
  });

  it("after Umami 3.1.0's 05..19 on top, the same four remain (the upgrade does not repair them)", async () => {
    const upgraded = await stageIn("verify_npm_upgraded");
    await applyMigrations(upgraded.umami, await loadMigrations(npmDir, testSourceOptions()));
    await applyMigrations(upgraded.umami, await loadMigrations(RELEASE_DIRS["3.1.0"], testSourceOptions()));
    const { code, result } = await verify(upgraded, RELEASE_DIRS["3.1.0"]);
    expect(code).toBe(1);
    expect(result?.compared).toHaveLength(19);
    expect(result?.differences.map((d) => `${d.change} ${d.object}`)).toEqual(
      FOUR.map((d) => `${d.change} ${d.object}`),
    );
  });

  it("is a step of post-deploy: a failed check there, and a section of report.md with the SQL and the remedy", async () => {
    const database = "verify_npm";
    const result = await runPostDeploy({
      spec: buildSpec("dev", { ...stageSettings("dev"), database }),
      admin: parseDatabaseUrl(server.adminUrl(database)),
      umami: stage.umami,
      migrations: RELEASE_DIRS["2.10.0"],
      sources: testSourceOptions(),
      before: {},
    });
    const step = result.steps.find((s) => s.name === "verify schema against the release");
    expect(step).toMatchObject({
      ok: false,
      detail: "4 difference(s) from the release (4 applied migration(s) rebuilt on a scratch server)",
    });
    expect(result.ok).toBe(false);
    // The other checks still ran.
    expect(result.steps.map((s) => s.name)).toContain("audit isolation");
    const md = renderPostDeployMarkdown(result);
    expect(md).toContain("## Schema against the release");
    expect(md).toContain(
      "| missing | column `user.display_name` | column user.display_name (character varying(255)) is missing |",
    );
    expect(md).toContain('```sql\nALTER TABLE "umami"."team" ALTER COLUMN "deleted_at" DROP DEFAULT;');
    expect(md).toContain("**Remedy:** The live schema umami differs from the release in 4 place(s).");
  });

  it("matches the release once its SQL has run as umami_user (exit 0)", async () => {
    const { result } = await verify(stage, RELEASE_DIRS["2.10.0"]);
    await withClient(stage.umami, (c) => withTransaction(c, async () => c.query(result!.sql.join("\n"))));
    const after = await verify(stage, RELEASE_DIRS["2.10.0"]);
    expect(after.code, after.stdout).toBe(0);
    expect(after.result).toMatchObject({ ok: true, differences: [], sql: [], remedy: null });
  });
});

describe("a database migrated from the release", () => {
  let stage: Stage;
  beforeAll(async () => {
    stage = await stageIn("verify_release");
    await applyMigrations(stage.umami, await loadMigrations(RELEASE_DIRS["3.1.0"], testSourceOptions()));
  });

  it("matches it (exit 0) and says what the scratch server cost", async () => {
    const { code, stdout, stderr } = await verify(stage, RELEASE_DIRS["3.1.0"], false);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(
      /^schema umami vs .*: matches the release \(19 applied migration\(s\) rebuilt on a scratch server\)\nScratch PostgreSQL started in \d+ ms, 19 migration\(s\) applied to it in \d+ ms, \d+ ms in all\n$/,
    );
  });

  it("names an object a person added by hand as extra", async () => {
    await withClient(stage.umami, (c) =>
      c.query('CREATE INDEX "website_event_by_hand_idx" ON "website_event" ("referrer_domain")'),
    );
    try {
      const { code, result } = await verify(stage, RELEASE_DIRS["3.1.0"]);
      expect(code).toBe(1);
      expect(result?.differences).toEqual([
        {
          kind: "index",
          object: "website_event_by_hand_idx",
          change: "extra",
          actual: "CREATE INDEX website_event_by_hand_idx ON umami.website_event USING btree (referrer_domain)",
          message:
            "index website_event_by_hand_idx is not in the release (CREATE INDEX website_event_by_hand_idx ON umami.website_event USING btree (referrer_domain))",
        },
      ]);
    } finally {
      await withClient(stage.umami, (c) => c.query('DROP INDEX "website_event_by_hand_idx"'));
    }
  });

  it("could not run (exit 2, one line) when the database has migrations the source lacks", async () => {
    const { code, stderr, stdout } = await verify(stage, RELEASE_DIRS["2.10.0"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(
      /^error: umami\._prisma_migrations records 05_add_visit_id, .*19_add_session_replay as applied, but .* does not have them/,
    );
  });

  it("could not run (exit 2) on a schema that was never migrated", async () => {
    const empty = await stageIn("verify_empty");
    const { code, stderr } = await verify(empty, RELEASE_DIRS["3.1.0"]);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      "error: Schema umami has no _prisma_migrations: Umami's migrations were never applied here. Run `umami-db migrate deploy` first.",
    );
  });
});
