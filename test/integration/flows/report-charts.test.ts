/**
 * The deploy's evidence as people see it: a real post-deploy on the embedded PostgreSQL (preflight's baseline
 * before, the stage provisioned as `sst deploy` would, Umami 3.1.0's migrations, the audit, the baseline after),
 * with CloudWatch's series mocked in AWS's documented GetMetricData shape; then the report directory (report.md,
 * charts/*.svg, report.html), the job summary and the pull request's summary, rendered — and opened in headless
 * Chromium, whose DOM must show the data. KEEP_SCREENSHOTS=<dir> keeps the PNGs to look at.
 */
import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataCommandInput } from "@aws-sdk/client-cloudwatch";
import { mockClient } from "aws-sdk-client-mock";
import { Marked } from "marked";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSpec } from "../../../sst/database/spec.js";
import { stageSettings } from "../../../sst/stages.js";
import { captureBefore, type BeforeSnapshot } from "../../../scripts/flows/checks.js";
import { runPostDeploy, type PostDeployResult } from "../../../scripts/flows/post-deploy.js";
import { provisionStage } from "../../../scripts/flows/provision.js";
import { buildReportFiles, type ReportFiles } from "../../../scripts/flows/report-files.js";
import { StepRunner } from "../../../scripts/flows/steps.js";
import { parseDatabaseUrl, withClient } from "../../../scripts/kernel/db.js";
import { applyMigrations } from "../../../scripts/migrate/runner.js";
import { renderPrSummary } from "../../../scripts/ci/pr-summary.js";
import { loadRelease, releaseSource, testSourceOptions } from "../../support/migrations.js";
import { startTestServer, TEST_ADMIN, type TestServer } from "../../support/server.js";
import { CHROMIUM, CHROMIUM_SKIP_REASON, dumpDom, screenshot } from "../../support/chromium.js";
import { parseUmamiDb } from "../../support/workflow-steps.js";

const exec = promisify(execFile);
const PASSWORD = "Report-Charts-Password-0123456789abcd";
const HOUR = 3_600_000;
/** The deploy's moment: CloudWatch's "after" series rises here. */
const T = new Date(Math.floor(Date.now() / 300_000) * 300_000);

/** A day of a metric: a daily wave around `base`, `bump` higher from T on. Deterministic. */
const BASES: Record<string, { base: number; wave: number; bump: number }> = {
  CPUUtilization: { base: 20, wave: 3, bump: 1.5 },
  DatabaseConnections: { base: 40, wave: 4, bump: 1 },
  ReadIOPS: { base: 300, wave: 40, bump: 6 },
  WriteIOPS: { base: 150, wave: 20, bump: 4 },
  FreeableMemory: { base: 8 * 1024 ** 3, wave: 2e8, bump: -5e7 },
  VolumeReadIOPs: { base: 9000, wave: 900, bump: 100 },
  VolumeWriteIOPs: { base: 6000, wave: 500, bump: 80 },
  VolumeBytesUsed: { base: 50 * 1024 ** 3, wave: 1e6, bump: 3e6 },
};
const valueAt = (metric: string, t: number, stat: "avg" | "max") => {
  const b = BASES[metric];
  const v =
    b.base + b.wave * Math.sin((2 * Math.PI * (t % (24 * HOUR))) / (24 * HOUR)) + (t >= T.getTime() ? b.bump : 0);
  return stat === "max" ? v * 1.2 : v;
};

/** GetMetricData as AWS documents it: one result per query, Timestamps[i] ↔ Values[i], oldest first (ScanBy). */
function metricData(input: GetMetricDataCommandInput) {
  const start = input.StartTime!.getTime();
  const end = input.EndTime!.getTime();
  return {
    MetricDataResults: (input.MetricDataQueries ?? []).map((q) => {
      const metric = q.MetricStat!.Metric!.MetricName!;
      const stat = q.Id!.startsWith("avg") ? "avg" : "max";
      const times: Date[] = [];
      for (let t = Math.ceil(start / 300_000) * 300_000; t < end; t += 300_000) times.push(new Date(t));
      return {
        Id: q.Id,
        Label: q.Label,
        StatusCode: "Complete" as const,
        Timestamps: times,
        Values: times.map((t) => valueAt(metric, t.getTime(), stat)),
      };
    }),
    Messages: [],
    $metadata: {},
  };
}

let server: TestServer;
let dir: string;
let before: BeforeSnapshot;
let result: PostDeployResult;
let report: ReportFiles;
const cw = mockClient(CloudWatchClient);

beforeAll(async () => {
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), "umami-report-charts-"));
  cw.on(GetMetricDataCommand).callsFake(metricData);
  const client = new CloudWatchClient({
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "example" },
  });
  const ids = {
    client,
    region: "us-east-1",
    clusterId: "app-aurora-dev",
    instanceId: "app-aurora-dev-instance-1",
    periodSeconds: 300,
  };
  const spec = buildSpec("dev");
  // preflight: the day before the deploy.
  before = await captureBefore(new StepRunner(), server.admin, spec, {
    ...ids,
    start: new Date(T.getTime() - 24 * HOUR),
    end: T,
  });
  // sst deploy: the same declaration, provisioned by the Aurora-like administrator.
  await withClient(server.admin, (c) => provisionStage(c, spec, { admin: TEST_ADMIN.name, password: PASSWORD }));
  const umami = parseDatabaseUrl(
    `postgresql://umami_user:${PASSWORD}@127.0.0.1:${server.embedded.port}/app?schema=umami&sslmode=disable`,
  );
  // post-deploy: its baseline after reads the hour after the deploy.
  result = await runPostDeploy({
    spec,
    admin: server.admin,
    umami,
    secretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:observability/umami-db-credentials-AbCdEf",
    migrations: releaseSource("3.1.0"),
    sources: testSourceOptions(),
    before,
    cloudwatch: { ...ids, start: new Date(T.getTime() - 23 * HOUR), end: new Date(T.getTime() + HOUR) },
  });
  report = await buildReportFiles(result, before.baseline, "the run's artifact");
  for (const [name, text] of Object.entries(report.files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const marked = new Marked({ gfm: true });
  writeFileSync(
    join(dir, "summary.html"),
    `<!doctype html><meta charset="utf-8"><body>${marked.parse(report.summary, { async: false })}</body>`,
  );
}, 240_000);

afterAll(async () => {
  cw.restore();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("post-deploy's report with charts, from a real run", () => {
  it("passes, and writes one self-contained SVG per CloudWatch figure, the migration timeline and the audit by class", () => {
    expect(result.ok).toBe(true);
    expect(report.charts.map((c) => c.file)).toEqual([
      "cpu.svg",
      "connections.svg",
      "instance-iops.svg",
      "volume-iops.svg",
      "freeable-memory.svg",
      "volume-bytes-used.svg",
      "migrations.svg",
      "audit.svg",
    ]);
    for (const c of report.charts) {
      const svg = report.files[`charts/${c.file}`];
      expect(svg).toMatch(/^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      // Self-contained: no script, no external image, font or stylesheet.
      expect(svg).not.toMatch(/<script|<image|href="http|url\(http|@import/);
    }
    // The migrations really ran: 19 bars with their durations and the locks they take.
    expect(result.migrations.timeline).toHaveLength(19);
    expect(result.migrations.timeline.every((m) => m.ok && m.ms >= 0)).toBe(true);
    expect(result.migrations.timeline.some((m) => m.locks.some((l) => /^ACCESS EXCLUSIVE on /.test(l)))).toBe(true);
  });

  it("draws the data: the averages and thresholds CPU's chart shows are the comparison's", () => {
    const cpu = report.charts.find((c) => c.file === "cpu.svg")!;
    const row = result.checks!.comparison!.rows.find((r) => r.metric.startsWith("CPU"))!;
    const r2 = (x: number) => Math.round(x * 100) / 100;
    expect(cpu.caption).toBe(
      `CPU utilization (%): before avg ${r2(row.before!)}, after avg ${r2(row.after!)}; threshold < before + 5 points: within`,
    );
    const svg = report.files["charts/cpu.svg"];
    expect(svg).toContain(`threshold ${r2(row.before! + 5)}`);
    expect(svg).toContain("deploy");
    // Where no picture can go (GitHub's job summary), the same series as a line of text: a day before, the hour after.
    expect(report.summary).toMatch(
      /`charts\/cpu\.svg` — CPU utilization .*<br>`[▁▂▃▄▅▆▇█]{24}┃[▁▂▃▄▅▆▇█]{6}` \(before ┃ after the deploy\)/,
    );
  });

  it("links the charts from report.md, once each; one audit heading; object counts in the singular when one", () => {
    const md = report.files["report.md"];
    for (const c of report.charts) expect(md.split(`](charts/${c.file})`)).toHaveLength(2);
    expect(md.match(/^## Isolation audit$/gm)).toHaveLength(1);
    expect(result.checks!.summary.join("\n")).toContain("application unchanged");
  });

  it("a failed run's summary says what failed, what changed, and a rollback command the CLI accepts", async () => {
    const failed: PostDeployResult = {
      ...result,
      ok: false,
      failedStep: "audit isolation",
      error: 'Step "audit isolation" failed',
      migrations: {
        ...result.migrations,
        timeline: [...result.migrations.timeline.slice(0, 2), { ...result.migrations.timeline[2], ok: false }],
      },
    };
    const files = await buildReportFiles(failed, before.baseline, "the artifact");
    expect(files.summary).toContain('**Failed:** step "audit isolation"');
    expect(files.summary).toContain("**Migrations committed this run:** `01_init`");
    expect(files.summary).toContain(`**Migration \`${result.migrations.timeline[2].name}\` failed**`);
    expect(files.summary).toContain("**Nothing was rolled back automatically.**");
    const command = /```sh\n(.+)\n```/.exec(files.summary)![1];
    expect(command).toBe("npx umami-db rollback --stage dev --yes");
    expect(await parseUmamiDb(command.split(" ").slice(2))).toBeNull();
  });

  it("the pull request's summary, from the real plan and a real dry run, starts with the marker and the Umami release notice", async () => {
    const root = new URL("../../..", import.meta.url).pathname;
    const plan = (stage: string) =>
      exec(process.execPath, ["bin/umami-db.js", "plan", "--stage", stage], { cwd: root }).then((r) => r.stdout);
    // A database on Umami 2.10.0 upgraded to 3.1.0: the dry run's pending migrations and locks.
    const upgrade = await server.createDatabase("upgrade");
    await withClient(upgrade, (c) =>
      provisionStage(c, buildSpec("dev", { ...stageSettings("dev"), database: "upgrade" }), {
        admin: TEST_ADMIN.name,
        password: PASSWORD,
      }),
    );
    const umami = parseDatabaseUrl(
      `postgresql://umami_user:${PASSWORD}@127.0.0.1:${server.embedded.port}/upgrade?schema=umami&sslmode=disable`,
    );
    await applyMigrations(umami, await loadRelease("2.10.0"));
    const dryRun = await applyMigrations(umami, await loadRelease("3.1.0"), { dryRun: true });
    const summary = renderPrSummary({
      tests: "success",
      aws: "success",
      plans: [
        { stage: "dev", text: await plan("dev") },
        { stage: "production", text: await plan("production") },
      ],
      vendorChanges: ["vendor/umami/v3.1.0/prisma/migrations/15_add_share/migration.sql"],
      sstDiff: "+ UmamiRole postgresql:index/role:Role\n",
      dryRun,
    });
    expect(summary.split("\n")[0]).toBe("<!-- umami-db:pr-summary -->");
    expect(summary).toMatch(/This pull request changes `vendor\/umami\/`: a new Umami release/);
    expect(summary).toContain(`Would apply to \`umami\`: ${dryRun.pending.map((m) => `\`${m}\``).join(", ")}`);
    expect(summary).toContain("| `umami-db plan --stage dev` (offline) | Plan for stage dev: 18 resources");
    writeFileSync(
      join(dir, "pr-summary.html"),
      `<!doctype html><meta charset="utf-8"><body>${new Marked({ gfm: true }).parse(summary, { async: false })}</body>`,
    );
    const skipped = renderPrSummary({
      tests: "success",
      aws: "skipped",
      plans: [],
      vendorChanges: [],
      sstDiff: null,
      dryRun: null,
    });
    expect(skipped).toContain("skipped: AWS is not configured for pull requests");
  });
});

describe.skipIf(!CHROMIUM)(CHROMIUM ? "in headless Chromium" : CHROMIUM_SKIP_REASON, () => {
  const keep = (png: string) =>
    process.env.KEEP_SCREENSHOTS &&
    (mkdirSync(process.env.KEEP_SCREENSHOTS, { recursive: true }),
    copyFileSync(png, join(process.env.KEEP_SCREENSHOTS, png.split("/").at(-1)!)));

  it("report.html shows every chart with its data: titles, averages, thresholds, the deploy, migrations, audit classes", async () => {
    const page = join(dir, "report.html");
    const dom = await dumpDom(page);
    const text = dom.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
    for (const c of report.charts) expect(dom).toContain(`<title>${c.title}`);
    const cpu = result.checks!.comparison!.rows.find((r) => r.metric.startsWith("CPU"))!;
    expect(text).toContain(`before avg ${Math.round(cpu.before! * 100) / 100}`);
    expect(text).toContain(`threshold ${Math.round((cpu.before! + 5) * 100) / 100}`);
    expect(text).toContain("deploy");
    expect(text).toContain(result.migrations.timeline[0].name);
    expect(text).toContain("ACCESS EXCLUSIVE on");
    expect(text).toContain(result.checks!.audit.findings[0].check);
    expect(dom.match(/<svg/g)?.length).toBeGreaterThanOrEqual(report.charts.length);
    const png = join(dir, "report.png");
    await screenshot(page, png, 1000, 5200);
    expect(statSync(png).size).toBeGreaterThan(50_000);
    keep(png);
    if (process.env.KEEP_SCREENSHOTS)
      for (const name of Object.keys(report.files)) {
        mkdirSync(dirname(join(process.env.KEEP_SCREENSHOTS, "report", name)), { recursive: true });
        copyFileSync(join(dir, name), join(process.env.KEEP_SCREENSHOTS, "report", name));
      }
  }, 120_000);

  it("the deploy summary and the pull request summary render as pages", async () => {
    for (const name of ["summary", "pr-summary"]) {
      const page = join(dir, `${name}.html`);
      if (!existsSync(page)) continue;
      const text = (await dumpDom(page)).replace(/<[^>]+>/g, " ");
      expect(text).toContain(name === "summary" ? "Result: PASS" : "umami-db checks");
      const png = join(dir, `${name}.png`);
      await screenshot(page, png, 1000, 2000);
      keep(png);
    }
    expect(readFileSync(join(dir, "summary.html"), "utf8")).toContain("charts/cpu.svg");
  }, 120_000);
});
