/**
 * The pull request's summary: what reviewers read in the job summary and in the one PR comment. Built from the
 * files the `plan` and `aws` jobs of .github/workflows/pr.yml leave in one directory (docs/ci.md, "Pull requests").
 * `renderPrSummary` is pure; the script around it reads the files and prints the Markdown.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { describeImpact } from "../migrate/deploy-impact.js";
import type { MigrateResult } from "../migrate/runner.js";
import { PR_COMMENT_MARKER } from "./pr-comment-marker.js";

/** The files the pull request's jobs leave, read (null when a job did not run or did not write it). */
export interface PrSummaryInputs {
  /** `needs.<job>.result` of the test and AWS jobs: success, failure, cancelled or skipped. */
  tests: string;
  aws: string;
  plans: { stage: string; text: string | null }[];
  /** Files under vendor/umami/ the pull request changes. */
  vendorChanges: string[];
  sstDiff: string | null;
  dryRun: Pick<MigrateResult, "schema" | "pending" | "alreadyApplied" | "impact"> | null;
}

/** A block longer than this is cut (a comment holds at most 65,536 characters). */
const BLOCK_LIMIT = 12_000;

function block(text: string): string {
  const cut =
    text.length > BLOCK_LIMIT
      ? `${text.slice(0, BLOCK_LIMIT)}\n… cut at ${BLOCK_LIMIT} characters: the whole text is in the run's artifact`
      : text;
  return ["```text", cut.trimEnd().replace(/```/g, "'''"), "```"].join("\n");
}

function details(summary: string, body: string): string[] {
  return ["<details>", `<summary>${summary}</summary>`, "", body, "", "</details>", ""];
}

function dryRunLines(dryRun: PrSummaryInputs["dryRun"]): string[] {
  if (!dryRun) return [];
  if (dryRun.pending.length === 0)
    return [`No pending migration for \`${dryRun.schema}\` (${dryRun.alreadyApplied.length} already applied).`];
  return [
    `Would apply to \`${dryRun.schema}\`: ${dryRun.pending.map((m) => `\`${m}\``).join(", ")}`,
    "",
    block(describeImpact(dryRun.impact ?? []).join("\n")),
  ];
}

/** The summary's Markdown; starts with the marker that finds the comment again. */
export function renderPrSummary(inputs: PrSummaryInputs): string {
  const awsRan = inputs.aws === "success" || inputs.aws === "failure";
  const awsLine = (done: unknown, what: string) =>
    inputs.aws === "skipped"
      ? "skipped: AWS is not configured for pull requests (variable AWS_PR_ROLE_ARN, docs/ci.md)"
      : done
        ? what
        : `**${inputs.aws}**: see the job's log`;
  const out = [PR_COMMENT_MARKER];
  if (inputs.vendorChanges.length) {
    out.push(
      `> [!IMPORTANT]`,
      `> **This pull request changes \`vendor/umami/\`: a new Umami release** (${inputs.vendorChanges.length} file(s)). The upgrade plan — the migrations dev would apply, the tables each locks and their size — is ${awsRan && inputs.dryRun ? "below" : "not available: the dry run against dev did not run (AWS not configured or the job failed)"}.`,
      "",
    );
    if (awsRan && inputs.dryRun)
      out.push("### Upgrade plan (migrate deploy --dry-run against dev)", "", ...dryRunLines(inputs.dryRun), "");
    out.push(...details("Files changed under vendor/umami/", inputs.vendorChanges.map((f) => `- \`${f}\``).join("\n")));
  }
  out.push(
    "## umami-db checks",
    "",
    "| Check | Result |",
    "|---|---|",
    `| \`npm test\` | ${inputs.tests === "success" ? "passed" : `**${inputs.tests}**`} |`,
    ...inputs.plans.map(
      (p) =>
        `| \`umami-db plan --stage ${p.stage}\` (offline) | ${p.text ? p.text.split("\n")[0].replace(/\|/g, "\\|") : "**not produced**"} |`,
    ),
    `| \`sst diff --stage dev\` | ${awsLine(inputs.sstDiff, "below")} |`,
    `| \`umami-db migrate deploy --dry-run\` (dev) | ${awsLine(inputs.dryRun, inputs.dryRun ? `${inputs.dryRun.pending.length} pending` : "")} |`,
    "",
  );
  if (!inputs.vendorChanges.length && inputs.dryRun)
    out.push("### Pending migrations on dev (dry run)", "", ...dryRunLines(inputs.dryRun), "");
  if (inputs.sstDiff) out.push(...details("sst diff --stage dev", block(inputs.sstDiff)));
  for (const p of inputs.plans)
    if (p.text) out.push(...details(`Plan: ${p.stage} (resources and the exact SQL)`, block(p.text)));
  return `${out.join("\n").trimEnd()}\n`;
}

/** The script's flags, exported so the workflow test parses a step's arguments with them. */
export const PR_SUMMARY_OPTIONS = {
  dir: { type: "string" },
  tests: { type: "string" },
  aws: { type: "string" },
} as const;

function readOptional(path: string): string | null {
  return existsSync(path) ? readFileSync(path, "utf8") : null;
}

/** Reads the jobs' files from `dir`. */
export function readPrSummaryInputs(dir: string, results: { tests: string; aws: string }): PrSummaryInputs {
  const dryRun = readOptional(join(dir, "dry-run.json"));
  return {
    ...results,
    plans: ["dev", "production"].map((stage) => ({ stage, text: readOptional(join(dir, `plan-${stage}.txt`)) })),
    vendorChanges: (readOptional(join(dir, "vendor-changes.txt")) ?? "").split("\n").filter(Boolean),
    sstDiff: readOptional(join(dir, "sst-diff.txt")),
    // umami-db's own `migrate deploy --dry-run --json` output, written by the aws job.
    dryRun: dryRun ? (JSON.parse(dryRun) as PrSummaryInputs["dryRun"]) : null,
  };
}

/** The script's edge: flags and environment in, Markdown or one status line out; a problem is one line, exit 2. */
function main(): void {
  const { values } = parseArgs({ options: PR_SUMMARY_OPTIONS, strict: true });
  if (!values.dir) throw new Error("--dir <directory> is required: the directory the plan and aws jobs uploaded.");
  process.stdout.write(
    renderPrSummary(
      readPrSummaryInputs(values.dir, { tests: values.tests ?? "unknown", aws: values.aws ?? "skipped" }),
    ),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main();
  } catch (error: unknown) {
    process.stderr.write(
      `${process.argv[1].split("/").at(-1)}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 2;
  }
}
