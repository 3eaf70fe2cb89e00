/**
 * Inputs once: the one precedence table (flag, then variable, then fallback), applied by one pure reader, and
 * the README's environment variables checked against it in both directions.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ENVIRONMENT, flagOrEnvironment } from "../../../scripts/commands/inputs.js";
import { migrationLoadOptions } from "../../../scripts/commands/migration-source.js";
import { BUNDLED_DIR, DEFAULT_CACHE_DIR } from "../../../scripts/migrate/sources.js";
import { readStageInputs, STAGE_INPUTS } from "../../../scripts/stage/stage-inputs.js";

const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
/** The reference, where `npm run docs` writes the environment table from ENVIRONMENT. */
const cli = readFileSync(new URL("../../../docs/cli.md", import.meta.url), "utf8");

describe("the precedence table", () => {
  it("flag, then the variables in order; an empty variable counts as unset; `from` names the winner", () => {
    const env = {
      ADMIN_DATABASE_URL: "postgresql://env",
      UMAMI_DB_PORT: "6432",
      AWS_REGION: "",
      AWS_DEFAULT_REGION: "eu-central-1",
      UMAMI_SECRET_FILE: "/env.json",
    };
    expect(readStageInputs({ adminUrl: "postgresql://flag", port: 5433 }, env)).toEqual({
      values: { adminUrl: "postgresql://flag", port: "5433", region: "eu-central-1", secretFile: "/env.json" },
      from: { adminUrl: "--admin-url", port: "--port", region: "AWS_DEFAULT_REGION", secretFile: "UMAMI_SECRET_FILE" },
    });
    expect(readStageInputs({}, { ...env, AWS_REGION: "us-west-2" }).from).toMatchObject({
      adminUrl: "ADMIN_DATABASE_URL",
      port: "UMAMI_DB_PORT",
      region: "AWS_REGION",
    });
    expect(flagOrEnvironment(undefined, { DATABASE_URL: "" }, "DATABASE_URL")).toBeUndefined();
    expect(flagOrEnvironment("a", { DATABASE_URL: "b" }, "DATABASE_URL")).toBe("a");
  });

  it("gives the migration sources every place, from the environment or the defaults", () => {
    expect(migrationLoadOptions({})).toEqual({
      bundledDir: BUNDLED_DIR,
      mirrorDir: undefined,
      cacheDir: DEFAULT_CACHE_DIR,
      githubBaseUrl: undefined,
    });
    expect(
      migrationLoadOptions({
        UMAMI_MIGRATIONS_MIRROR: "/m",
        UMAMI_MIGRATIONS_CACHE: "/c",
        UMAMI_GITHUB_BASE_URL: "http://proxy:8080",
      }),
    ).toEqual({
      bundledDir: BUNDLED_DIR,
      mirrorDir: "/m",
      cacheDir: "/c",
      githubBaseUrl: "http://proxy:8080",
    });
    expect(() => migrationLoadOptions({ UMAMI_GITHUB_BASE_URL: "ftp://x" })).toThrow(
      /^UMAMI_GITHUB_BASE_URL="ftp:\/\/x" is not an http\(s\) URL: .* or unset it\.$/,
    );
  });

  it("holds every stage variable, each with its flag", () => {
    for (const input of Object.values(STAGE_INPUTS))
      for (const name of input.env) expect(ENVIRONMENT[name]?.flag, name).toBe(input.flag);
    expect(ENVIRONMENT.AWS_REGION.fallback).toBe("AWS_DEFAULT_REGION");
  });
});

describe("the documented environment", () => {
  it("docs/cli.md names every variable of the table", () => {
    expect(Object.keys(ENVIRONMENT).filter((name) => !new RegExp(`\\b${name}\\b`).test(cli))).toEqual([]);
  });

  it.each([
    ["README.md", readme],
    ["docs/cli.md", cli],
  ])("%s names no UMAMI_* variable the table lacks", (_, doc) => {
    const named = new Set(doc.match(/\bUMAMI_[A-Z_]+\b/g) ?? []);
    expect([...named].filter((name) => !(name in ENVIRONMENT))).toEqual([]);
  });
});
