/**
 * The stage inputs a user gives by flag or environment variable, and their one precedence table: the flag,
 * then the variable(s), strongest first. `readStageInputs` applies it, purely, for the command context
 * (commands/context.ts), which hands what was given to `resolveStage`; what comes after the variables (SST's
 * outputs, the secrets, the stage settings, the defaults) is `resolveStage`'s work.
 */

/** One input: its flag, the variables read when the flag is absent (in order), and what applies without any. */
interface StageInput {
  flag: string;
  env: readonly string[];
  fallback: string;
  what: string;
}

/** The table. */
export const STAGE_INPUTS = {
  adminUrl: {
    flag: "--admin-url",
    env: ["ADMIN_DATABASE_URL"],
    fallback: "the cluster's master secret",
    what: "the administrator's URL",
  },
  umamiUrl: {
    flag: "--umami-url",
    env: ["UMAMI_DATABASE_URL"],
    fallback: "the stage's credentials secret",
    what: "umami_user's URL",
  },
  secretFile: {
    flag: "--secret-file",
    env: ["UMAMI_SECRET_FILE"],
    fallback: "Secrets Manager (`local`, `rollback`: .umami-db/<stage>/credentials.json)",
    what: "a local credentials file",
  },
  secretId: {
    flag: "--secret-id",
    env: ["UMAMI_SECRET_ID"],
    fallback: "the SST outputs' ARN, else the stage's secret name",
    what: "the credentials secret's name or ARN",
  },
  masterSecretArn: {
    flag: "--master-secret-arn",
    env: ["UMAMI_MASTER_SECRET_ARN"],
    fallback: "the SST outputs, else sst/stages.ts",
    what: "the cluster's master user secret",
  },
  outputsFile: {
    flag: "--outputs-file",
    env: ["UMAMI_OUTPUTS_FILE"],
    fallback: ".sst/outputs.json",
    what: "SST's outputs JSON",
  },
  caFile: {
    flag: "--ca-file",
    env: ["UMAMI_CA_FILE"],
    fallback: "the system's CAs",
    what: "CA bundle for sslmode=verify-full",
  },
  host: {
    flag: "--host",
    env: ["UMAMI_DB_HOST"],
    fallback: "the SST outputs",
    what: "cluster endpoint before the first deploy",
  },
  port: { flag: "--port", env: ["UMAMI_DB_PORT"], fallback: "5432", what: "cluster port" },
  region: {
    flag: "--region",
    env: ["AWS_REGION", "AWS_DEFAULT_REGION"],
    fallback: "the SST outputs, else sst/stages.ts",
    what: "region of the secrets and metrics",
  },
} as const satisfies Record<string, StageInput>;

/** The first variable of each input, for help texts and messages. */
export const STAGE_ENV = Object.fromEntries(
  Object.entries(STAGE_INPUTS).map(([name, input]) => [name, input.env[0]]),
) as { [K in keyof typeof STAGE_INPUTS]: (typeof STAGE_INPUTS)[K]["env"][0] };

/** An input of the table. */
export type StageInputName = keyof typeof STAGE_INPUTS;

/** The inputs given, as text, and where each came from (the flag's or the variable's name, for messages). */
export interface StageInputs {
  values: Partial<Record<StageInputName, string>>;
  from: Partial<Record<StageInputName, string>>;
}

/** Applies the table to parsed flags and an environment; an empty variable counts as unset. */
export function readStageInputs(
  flags: Partial<Record<StageInputName, string | number | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
): StageInputs {
  const inputs: StageInputs = { values: {}, from: {} };
  for (const [name, input] of Object.entries(STAGE_INPUTS) as [StageInputName, StageInput][]) {
    const flag = flags[name];
    const variable = input.env.find((v) => env[v]);
    const value = flag !== undefined ? String(flag) : variable ? env[variable] : undefined;
    if (value === undefined) continue;
    inputs.values[name] = value;
    inputs.from[name] = flag !== undefined ? input.flag : variable;
  }
  return inputs;
}
