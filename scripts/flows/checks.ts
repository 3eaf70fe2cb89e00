/**
 * The proofs around a deploy, shared by `local` and `post-deploy`: before provisioning, a performance
 * baseline and the application's fingerprint; after the migrations, the isolation audit (both directions,
 * live probes, fingerprint comparison) and a second baseline compared with the first.
 */
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { auditIsolation, type AuditResult } from "../audit/audit.js";
import { captureBaseline, type Baseline, type CloudWatchOptions } from "../evidence/baseline.js";
import { compareBaselines, formatValue, type Comparison } from "../evidence/baseline-compare.js";
import type { ConnectionSettings } from "../kernel/db.js";
import { captureFingerprint, type Fingerprint } from "../evidence/fingerprint.js";
import type { StepRunner } from "./steps.js";

/** What is captured before the stage is provisioned. */
export interface BeforeSnapshot {
  baseline: Baseline;
  fingerprint: Fingerprint;
}

/** What the checks after the migrations found. */
export interface ChecksSummary {
  ok: boolean;
  audit: Pick<AuditResult, "ok" | "findings" | "fingerprint" | "probes" | "queries" | "ms">;
  /** The baseline comparison, or null when no "before" baseline exists. */
  comparison: Comparison | null;
  after: Baseline;
  /** Lines for a human summary. */
  summary: string[];
}

/** Captures the baseline and the fingerprint the post-migration checks compare against. */
export async function captureBefore(
  steps: StepRunner,
  admin: ConnectionSettings,
  spec: UmamiDatabaseSpec,
  cloudwatch?: CloudWatchOptions,
): Promise<BeforeSnapshot> {
  const baseline = await steps.run(
    "baseline before",
    () => captureBaseline(admin, { label: "before", umamiSchema: spec.schema, cloudwatch }),
    (b) => `${b.connections.total} connections, database ${formatValue(b.sizes.databaseBytes, "bytes")}`,
  );
  const fingerprint = await steps.run(
    "fingerprint the application",
    () => captureFingerprint(admin, { excludeSchemas: [spec.schema], excludeRoles: [spec.role.name] }),
    (f) => `${Object.keys(f.schemas).length} schema(s), ${Object.keys(f.roles.objects).length} role entries`,
  );
  return { baseline, fingerprint };
}

/** Audits isolation and compares the baseline; failed checks are recorded as failed steps, not thrown. */
export async function checkAfter(
  steps: StepRunner,
  options: {
    admin: ConnectionSettings;
    umami: ConnectionSettings;
    spec: UmamiDatabaseSpec;
    before?: Partial<BeforeSnapshot>;
    cloudwatch?: CloudWatchOptions;
  },
): Promise<ChecksSummary> {
  const audit = await steps.check(
    "audit isolation",
    () =>
      auditIsolation({
        admin: options.admin,
        umami: options.umami,
        spec: options.spec,
        baselineFingerprint: options.before?.fingerprint,
        // local always has its own; post-deploy's comes from preflight (verify's --baseline-fingerprint is not its flag).
        noBaselineRemedy: `Not compared: run \`umami-db preflight --stage ${options.spec.stage}\` before \`sst deploy\` (it saves the fingerprint post-deploy compares), then post-deploy without --no-before.`,
      }),
    (a) => ({ ok: a.ok, detail: auditLine(a) }),
  );
  const after = await steps.run("baseline after", () =>
    captureBaseline(options.admin, {
      label: "after",
      umamiSchema: options.spec.schema,
      cloudwatch: options.cloudwatch,
    }),
  );
  const before = options.before?.baseline;
  const comparison = before
    ? await steps.check(
        "compare baseline",
        () => compareBaselines(before, after),
        (c) => ({ ok: c.ok, detail: comparisonLine(c) }),
      )
    : null;
  const summary = [
    `audit:         ${auditLine(audit)}`,
    `fingerprint:   ${audit.fingerprint.compared ? (audit.fingerprint.changed.length ? `${audit.fingerprint.changed.length} application object${audit.fingerprint.changed.length === 1 ? "" : "s"} changed` : "application unchanged") : "not compared (no fingerprint from before)"}`,
    `baseline:      ${comparison ? comparisonLine(comparison) : "no baseline from before; captured after only"}`,
    // Every warning and failure with its objects and remedy: the local server is gone afterwards.
    ...audit.findings
      .filter((f) => f.severity !== "pass")
      .flatMap((f) => [
        `  ${f.severity === "fail" ? "FAIL" : "warn"} ${f.check}${f.objects.length ? `: ${f.objects.join(", ")}` : ""}`,
        `       → ${f.remedy}`,
      ]),
  ];
  const { ok, findings, fingerprint, probes, queries, ms } = audit;
  return {
    ok: audit.ok && (comparison?.ok ?? true),
    audit: { ok, findings, fingerprint, probes, queries, ms },
    comparison,
    after,
    summary,
  };
}

function auditLine(a: AuditResult): string {
  const count = (s: string) => a.findings.filter((f) => f.severity === s).length;
  const n = (k: number, word: string) => `${k} ${word}${k === 1 ? "" : "s"}`;
  return `${n(count("pass"), "check")} passed, ${n(count("warn"), "warning")}, ${n(count("fail"), "failure")} (${a.queries} catalog queries)`;
}

function comparisonLine(c: Comparison): string {
  const judged = c.rows.filter((r) => r.verdict !== "n/a");
  const failed = judged.filter((r) => r.verdict === "fail").map((r) => r.metric);
  const growth = `storage ${formatValue(c.storage.growthBytes, "bytes", true)} (Umami schema ${formatValue(c.storage.umamiSchemaBytes, "bytes")})`;
  return failed.length
    ? `threshold broken: ${failed.join(", ")}; ${growth}`
    : `${judged.length} figures within thresholds; ${growth}`;
}
