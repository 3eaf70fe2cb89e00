/**
 * Inputs once (STYLE.md rule 4): every environment variable the commands read, in one table with the flag that
 * wins over it and what applies when neither is given. The stage's inputs come from their own table
 * (stage/stage-inputs.ts, which the command context applies: context.ts); the migration sources' and `migrate`'s are here. Only
 * the commands read `process.env`, and only through these readers (test/unit/layout.test.ts enforces it); the
 * README's environment variables are checked against this table (test/unit/commands/inputs.test.ts).
 */
import { STAGE_INPUTS } from "../stage/stage-inputs.js";

/** The process environment, or a test's stand-in. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** One environment variable the commands read. */
interface EnvironmentInput {
  /** The flag that wins over the variable, when there is one. */
  flag?: string;
  /** What applies when neither flag nor variable is given. */
  fallback: string;
  /** What it is for, in a few words. */
  what: string;
}

const OWN = {
  DATABASE_URL: {
    flag: "--database-url",
    fallback: "none (`migrate` requires one)",
    what: "umami_user's URL for `migrate`, with ?schema=",
  },
  UMAMI_MIGRATIONS_MIRROR: {
    fallback: "none",
    what: "offline mirror of release files laid out by tag, for tags not bundled in vendor/umami",
  },
  UMAMI_GITHUB_BASE_URL: { fallback: "https://codeload.github.com", what: "where tag tarballs are downloaded" },
  UMAMI_MIGRATIONS_CACHE: { fallback: ".umami-db/cache", what: "the download cache" },
} as const satisfies Record<string, EnvironmentInput>;

/** Precedence, strongest first: the flag, then the variable, then the fallback. */
export const ENVIRONMENT: Readonly<Record<string, EnvironmentInput>> = {
  ...Object.fromEntries(
    Object.values(STAGE_INPUTS).flatMap((input) =>
      input.env.map((name, i) => [
        name,
        { flag: input.flag, fallback: input.env[i + 1] ?? input.fallback, what: input.what },
      ]),
    ),
  ),
  ...OWN,
};

/** A variable of this module's part of the table. */
type EnvironmentName = keyof typeof OWN;

/** The variable's value; an empty string counts as unset (as a shell's `VAR=` means). */
export function environmentValue(env: Environment, name: EnvironmentName): string | undefined {
  return env[name] || undefined;
}

/** The flag's value if given, else the variable's (the table's precedence). */
export function flagOrEnvironment(
  flag: string | undefined,
  env: Environment,
  name: EnvironmentName,
): string | undefined {
  return flag ?? environmentValue(env, name);
}
