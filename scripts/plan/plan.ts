/**
 * The offline plan: what `sst deploy --stage <stage>` would create — every resource of the stack with its key
 * inputs (secrets shown as `[secret]`) — and the exact SQL the database will receive, from the same
 * generator the local mode runs (`sql.ts`). Evaluated under Pulumi mocks: no AWS credentials, no database.
 */
import * as pulumi from "@pulumi/pulumi";
import { buildProvisionSql, REDACTED } from "../../sst/database/sql.js";
import { buildSpec, type UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { UmamiDatabase } from "../../sst/database/umami.js";
import { ClusterAlarms, clusterAlarmsArgs } from "../../sst/observability/alarms.js";
import { stackTags } from "../../sst/observability/tags.js";
import { examplesIn, type StageSettings } from "../../sst/stages.js";
import { evaluateUnderMocks, mockStandIns, type EvaluatedResource, type EvaluatedStack } from "./mock-stack.js";

/** One resource of the plan. */
export interface PlannedResource {
  /** Pulumi type token, e.g. `postgresql:index/role:Role`. */
  type: string;
  /** Logical name, e.g. `UmamiRole`. */
  name: string;
  /** Inputs the resource is created with; Pulumi secrets appear as `[secret]`. */
  inputs: Record<string, unknown>;
}

/** What `umami-db plan --json` prints. */
export interface Plan {
  stage: string;
  resources: PlannedResource[];
  /** The statements the PostgreSQL provider issues, in order, with the password redacted. */
  sql: string[];
  /** Values in the plan that are not real: sst/stages.ts's examples, and the mocks' stand-ins for what AWS holds. */
  placeholders: string[];
}

/** The stack's outputs as `sst.config.ts` returns them. */
export interface UmamiDatabaseOutputs {
  secretArn: string;
  secretName: string;
  schema: string;
  role: string;
  host: string;
  port: number;
  database: string;
}

/** Logical names of the components in `sst.config.ts`, so plan names match the deployed stack's. */
const COMPONENT_NAME = "Umami";
const ALARMS_NAME = "Cluster";

/** Inputs that only restate Pulumi's bookkeeping, not what gets created. */
const NOISE_INPUTS = new Set(["__defaults", "version", "pluginDownloadURL"]);

/** Evaluates the stack's component for `spec` under mocks; for tests and `buildPlan`. */
export function evaluateUmamiDatabase(spec: UmamiDatabaseSpec): Promise<EvaluatedStack<UmamiDatabaseOutputs>> {
  return evaluateUnderMocks(
    spec,
    (opts) => new UmamiDatabase(COMPONENT_NAME, { spec }, opts),
    (db): pulumi.Output<UmamiDatabaseOutputs> => {
      const { secretArn, secretName, schema, role, host, port, database } = db;
      return pulumi.output({ secretArn, secretName, schema, role, host, port, database });
    },
  );
}

/**
 * Evaluates the whole stack as `sst.config.ts` builds it — the component and the cluster's alarms and
 * dashboard — under mocks. The outputs are the component's.
 */
function evaluateStack(spec: UmamiDatabaseSpec): Promise<EvaluatedStack<UmamiDatabaseOutputs>> {
  return evaluateUnderMocks(
    spec,
    (opts) => {
      const tags = stackTags(spec.stage, {}, spec);
      const database = new UmamiDatabase(COMPONENT_NAME, { spec, tags }, opts);
      new ClusterAlarms(ALARMS_NAME, clusterAlarmsArgs(spec.stage, spec.cluster, tags), opts);
      return database;
    },
    (db): pulumi.Output<UmamiDatabaseOutputs> => {
      const { secretArn, secretName, schema, role, host, port, database } = db;
      return pulumi.output({ secretArn, secretName, schema, role, host, port, database });
    },
  );
}

/** A resource's inputs for display: secrets replaced, bookkeeping and unset values dropped. */
function displayInputs(resource: EvaluatedResource): Record<string, unknown> {
  // Provider configuration travels JSON-encoded ("5432", "false"); show it as the values the stack set.
  const isProvider = resource.type.startsWith("pulumi:providers:");
  const inputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource.inputs)) {
    if (NOISE_INPUTS.has(key) || value === undefined) continue;
    if (resource.secretInputs.includes(key)) inputs[key] = REDACTED;
    else if (isProvider && typeof value === "string" && /^(true|false|-?\d+)$/.test(value))
      inputs[key] = JSON.parse(value);
    else inputs[key] = value;
  }
  return inputs;
}

/**
 * Builds the plan for `stage` (names from `buildSpec`; an invalid stage throws `InvalidNameError`). Uses
 * `setMocks`, which is process-global: one plan at a time per process.
 */
export async function buildPlan(stage: string, settings?: StageSettings): Promise<Plan> {
  const spec = buildSpec(stage, settings);
  const stack = await evaluateStack(spec);
  // The administrator the provider connects as (the stand-in cluster's master user) owns the schema.
  const provider = stack.resources.find((r) => r.type === "pulumi:providers:postgresql");
  const admin = String(provider?.inputs.username);
  return {
    stage,
    resources: stack.resources
      .filter((r) => r.custom)
      .map((r) => ({ type: r.type, name: r.name, inputs: displayInputs(r) })),
    sql: buildProvisionSql(spec, { admin, password: REDACTED }),
    placeholders: [
      ...examplesIn(spec.cluster).map(
        (e) => `${e}: the example in sst/stages.ts, not your cluster; set yours there before the first deploy`,
      ),
      ...mockStandIns(spec),
    ],
  };
}

/** One input as a short `key=value` for the table: lists joined, objects (in a list too) as JSON. */
function formatInput(key: string, value: unknown): string {
  if (Array.isArray(value))
    return `${key}=[${value.map((v) => (v !== null && typeof v === "object" ? JSON.stringify(v) : String(v))).join(",")}]`;
  if (value !== null && typeof value === "object") return `${key}=${JSON.stringify(value)}`;
  return `${key}=${String(value)}`;
}

/** The plan for a terminal: a table of resources (type, name, key inputs), then the SQL, one statement a line. */
export function renderPlan(plan: Plan): string {
  const rows = plan.resources.map((r) => [
    r.type,
    r.name,
    Object.entries(r.inputs)
      .map(([key, value]) => formatInput(key, value))
      .join(" "),
  ]);
  const header = ["TYPE", "NAME", "INPUTS"];
  const widths = [0, 1].map((i) => Math.max(header[i].length, ...rows.map((row) => row[i].length)));
  const line = (row: string[]) => [row[0].padEnd(widths[0]), row[1].padEnd(widths[1]), row[2]].join("  ").trimEnd();
  return [
    `Plan for stage ${plan.stage}: ${plan.resources.length} resources (secrets shown as ${REDACTED})`,
    ...plan.placeholders.map((p) => `PLACEHOLDER  ${p}`),
    "",
    line(header),
    ...rows.map(line),
    "",
    `SQL the database will receive (${plan.sql.length} statements, in order):`,
    "",
    ...plan.sql.map((statement) => `${statement};`),
    "",
  ].join("\n");
}
