/**
 * Inputs once (STYLE.md rule 4): the one table of what the commands read from the environment, which flag
 * overrides it and what applies when neither is given; the pure readers that apply it; and the collector every
 * problem goes to, so a command reports them all together before anything runs. Only the commands call these,
 * with `process.env`; nothing below them reads the environment (test/unit/layout.test.ts enforces it). The
 * README's environment table is checked against this one (test/unit/commands/inputs.test.ts).
 */
import { UserError } from "../kernel/errors.js";

/** The process environment, or a test's stand-in. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** One environment variable the commands read. */
export interface EnvironmentInput {
  /** The flag that wins over the variable, when there is one. */
  flag?: string;
  /** What applies when neither flag nor variable is given. */
  fallback: string;
  /** What it is for, in a few words. */
  what: string;
}

/** Precedence, strongest first: the flag, then the variable, then the fallback. */
export const ENVIRONMENT = {
  DATABASE_URL: { flag: "--database-url", fallback: "none (required by `migrate`)", what: "umami_user's URL for `migrate`, with ?schema=" },
  ADMIN_DATABASE_URL: { flag: "--admin-url", fallback: "the cluster's master secret", what: "the administrator's URL" },
  UMAMI_DATABASE_URL: { flag: "--umami-url", fallback: "the stage's credentials secret", what: "umami_user's URL" },
  UMAMI_SECRET_FILE: { flag: "--secret-file", fallback: "Secrets Manager (`local`, `rollback`: .umami-db/<stage>/credentials.json)", what: "a local credentials file" },
  UMAMI_SECRET_ID: { flag: "--secret-id", fallback: "the SST outputs' ARN, else the stage's secret name", what: "the credentials secret's name or ARN" },
  UMAMI_MASTER_SECRET_ARN: { flag: "--master-secret-arn", fallback: "the outputs, else sst/stages.ts", what: "the cluster's master user secret" },
  UMAMI_OUTPUTS_FILE: { flag: "--outputs-file", fallback: ".sst/outputs.json", what: "SST's outputs JSON" },
  UMAMI_CA_FILE: { flag: "--ca-file", fallback: "the system's CAs", what: "CA bundle for sslmode=verify-full" },
  UMAMI_DB_HOST: { flag: "--host", fallback: "the SST outputs", what: "cluster endpoint before the first deploy" },
  UMAMI_DB_PORT: { flag: "--port", fallback: "5432", what: "cluster port" },
  AWS_REGION: { flag: "--region", fallback: "AWS_DEFAULT_REGION, the outputs, sst/stages.ts", what: "region of the secrets and metrics" },
  UMAMI_MIGRATIONS_MIRROR: { fallback: "none", what: "offline mirror of release files laid out by tag, for tags not bundled in vendor/umami" },
  UMAMI_GITHUB_BASE_URL: { fallback: "https://codeload.github.com", what: "where tag tarballs are downloaded" },
  UMAMI_MIGRATIONS_CACHE: { fallback: ".umami-db/cache", what: "the download cache" },
} as const satisfies Record<string, EnvironmentInput>;

/** A variable of the table. */
export type EnvironmentName = keyof typeof ENVIRONMENT;

/** The variable's value; an empty string counts as unset (as a shell's `VAR=` means). */
export function environmentValue(env: Environment, name: EnvironmentName): string | undefined {
  return env[name] || undefined;
}

/** The flag's value if given, else the variable's (the table's precedence). */
export function flagOrEnvironment(flag: string | undefined, env: Environment, name: EnvironmentName): string | undefined {
  return flag ?? environmentValue(env, name);
}

/** Collects input problems; `throwIfAny` reports every one in a single UserError. */
export class Problems {
  private readonly found: string[] = [];

  /** Records a problem (a clause without a final full stop). */
  add(problem: string): void {
    this.found.push(problem.replace(/\.$/, ""));
  }

  /** The problems so far. */
  get list(): readonly string[] {
    return this.found;
  }

  /** Throws one UserError listing every problem, `; `-separated, when there is any. */
  throwIfAny(): void {
    if (this.found.length) throw new UserError(`${this.found.join("; ")}.`);
  }
}
