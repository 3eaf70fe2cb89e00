/**
 * One precedence for every command, per input, held through the real commands: each command's arguments are
 * parsed by the program and its action builds its context, which is caught here before anything connects.
 * Strongest first: the flag, the environment, the stack's outputs, the stage's settings, the default.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ENVIRONMENT } from "../../../scripts/commands/inputs.js";
import { umamiDbProgram } from "../../../scripts/commands/program.js";
import { writeSecretFile } from "../../../scripts/stage/credentials.js";
import { LINKED_ENV } from "../../../scripts/stage/outputs.js";
import { localSecretPath } from "../../../scripts/stage/stage.js";
import { buildCredentialsSecret } from "../../../sst/database/secret.js";
import { configuredStages, type StageSettings } from "../../../sst/stages.js";
import { scratchDir } from "../../support/scratch.js";

type Context = Awaited<ReturnType<typeof import("../../../scripts/commands/context.js").stageContext>> & {
  given: Record<string, string | undefined>;
  files: { secretFile: string; beforeDir: string };
};

const caught: { context?: Context } = {};

// The real context, kept, and the action stopped right after it: nothing connects, nothing is written.
vi.mock("../../../scripts/commands/context.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../../scripts/commands/context.js")>();
  const stop = (context: unknown): never => {
    caught.context = context as Context;
    throw new Error("context caught");
  };
  return {
    ...real,
    stageContext: async (...args: Parameters<typeof real.stageContext>) => stop(await real.stageContext(...args)),
    localContext: (...args: Parameters<typeof real.localContext>) => stop(real.localContext(...args)),
  };
});

const ADMIN_URL = "postgresql://admin:a@127.0.0.1:5432/app";
const UMAMI_URL = "postgresql://umami_user:u@127.0.0.1:5432/app?schema=umami";
const CREDENTIALS = {
  username: "umami_user",
  host: "127.0.0.1",
  port: 5432,
  database: "app",
  schema: "umami",
  sslmode: "disable",
} as const;

/** Each command that acts on a stage, with the arguments that reach it without AWS. */
const COMMANDS: Record<string, string[]> = {
  preflight: ["preflight", "--stage", "dev"],
  "post-deploy": ["post-deploy", "--stage", "dev"],
  verify: ["verify", "--stage", "dev"],
  rollback: ["rollback", "--stage", "dev"],
  fingerprint: ["fingerprint", "--stage", "dev"],
  handoff: ["handoff", "--stage", "dev"],
  "baseline capture": ["baseline", "capture", "--label", "x", "--stage", "dev"],
  local: ["local", "--stage", "dev"],
};
const REGIONAL = Object.keys(COMMANDS).filter((c) => c !== "local");
const CLOUDWATCH = ["preflight", "post-deploy", "baseline capture"];
const SECRET_FILE_FLAG = ["post-deploy", "verify", "rollback", "local"];
const ADMIN_URL_FLAG = ["preflight", "post-deploy", "verify", "rollback", "fingerprint", "baseline capture", "local"];

let dir: string;
let outputsFile: string;
const dev: StageSettings = configuredStages.dev;
const saved = { ...dev };

beforeEach(() => {
  dir = scratchDir("umami-context-");
  // An outputs file of stage dev without values: the stack's outputs add nothing unless a case writes some.
  outputsFile = join(dir, "outputs.json");
  writeFileSync(outputsFile, JSON.stringify({ stage: "dev" }));
  for (const name of [...Object.keys(ENVIRONMENT), ...Object.values(LINKED_ENV)]) vi.stubEnv(name, "");
  vi.stubEnv("ADMIN_DATABASE_URL", ADMIN_URL);
  vi.stubEnv("UMAMI_DATABASE_URL", UMAMI_URL);
  vi.stubEnv("UMAMI_OUTPUTS_FILE", outputsFile);
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  caught.context = undefined;
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  Object.assign(dev, saved);
  for (const key of Object.keys(dev)) if (!(key in saved)) Reflect.deleteProperty(dev, key);
  process.exitCode = undefined;
});

/** The context `command` builds from `args` (after its own) and the environment as stubbed. */
async function contextOf(command: string, args: string[] = []): Promise<Context> {
  await umamiDbProgram().parseAsync([...COMMANDS[command], ...args], { from: "user" });
  expect(caught.context, `${command} built no context`).toBeDefined();
  return caught.context!;
}

const outputs = (values: Record<string, unknown>) =>
  writeFileSync(outputsFile, JSON.stringify({ stage: "dev", ...values }));

describe("the region: flag, AWS_REGION, AWS_DEFAULT_REGION, outputs, stage settings, default", () => {
  const levels: [string, () => string[], string][] = [
    ["the flag", () => (vi.stubEnv("AWS_REGION", "eu-west-1"), ["--region", "ap-south-1"]), "ap-south-1"],
    [
      "AWS_REGION",
      () => (vi.stubEnv("AWS_REGION", "eu-west-1"), vi.stubEnv("AWS_DEFAULT_REGION", "eu-central-1"), []),
      "eu-west-1",
    ],
    [
      "AWS_DEFAULT_REGION",
      () => (vi.stubEnv("AWS_DEFAULT_REGION", "eu-central-1"), outputs({ region: "us-west-2" }), []),
      "eu-central-1",
    ],
    ["the outputs", () => (outputs({ region: "us-west-2" }), (dev.region = "eu-north-1"), []), "us-west-2"],
    ["the stage settings", () => ((dev.region = "eu-north-1"), []), "eu-north-1"],
    ["the default", () => (delete dev.region, []), "us-east-1"],
  ];
  for (const command of REGIONAL) {
    it.each(levels)(`${command}: %s`, async (_, given, region) => {
      const args = given();
      const context = await contextOf(command, args);
      expect(context.region).toBe(region);
      if (CLOUDWATCH.includes(command)) expect(context.cloudwatch.region).toBe(region);
    });
  }
});

describe("the credentials file: flag, UMAMI_SECRET_FILE, .umami-db/<stage>/credentials.json", () => {
  for (const command of Object.keys(COMMANDS)) {
    it(command, async () => {
      expect((await contextOf(command)).files.secretFile).toBe(localSecretPath("dev"));
      vi.stubEnv("UMAMI_SECRET_FILE", join(dir, "env.json"));
      expect((await contextOf(command)).files.secretFile).toBe(join(dir, "env.json"));
      if (!SECRET_FILE_FLAG.includes(command)) return;
      // Given as a flag to a command that reads it, it must be a credentials file of the stage: make one.
      const flag = join(dir, "flag.json");
      writeSecretFile(flag, buildCredentialsSecret({ ...CREDENTIALS, password: "u" }));
      expect((await contextOf(command, ["--secret-file", flag])).files.secretFile).toBe(flag);
    });
  }
});

describe("the administrator's URL: flag, ADMIN_DATABASE_URL", () => {
  for (const command of ADMIN_URL_FLAG) {
    it(command, async () => {
      expect((await contextOf(command)).given.adminUrl).toBe(ADMIN_URL);
      const flag = "postgresql://flag:f@127.0.0.1:5432/app";
      expect((await contextOf(command, ["--admin-url", flag])).given.adminUrl).toBe(flag);
    });
  }
});

describe("the CloudWatch target: flags, the stage's settings, the default; one rule for the instance", () => {
  for (const command of CLOUDWATCH) {
    it(command, async () => {
      expect((await contextOf(command)).cloudwatch).toEqual({
        region: "us-east-1",
        clusterId: "app-aurora-dev",
        instanceId: "app-aurora-dev-instance-1",
      });
      dev.instanceIdentifier = "app-aurora-dev-writer";
      expect((await contextOf(command)).cloudwatch.instanceId).toBe("app-aurora-dev-writer");
      expect((await contextOf(command, ["--cluster-id", "app-aurora-dev"])).cloudwatch.instanceId).toBe(
        "app-aurora-dev-writer",
      );
      // Another cluster's instance is never the stage's: before and after measure the same one.
      expect((await contextOf(command, ["--cluster-id", "other"])).cloudwatch).toMatchObject({
        clusterId: "other",
        instanceId: "other-instance-1",
      });
      expect((await contextOf(command, ["--cluster-id", "other", "--instance-id", "i-9"])).cloudwatch.instanceId).toBe(
        "i-9",
      );
    });
  }
});

describe("the commands", () => {
  it("leave the stage's inputs to the context: none reads the table, the settings or the resolver itself", () => {
    const commands = join(import.meta.dirname, "../../../scripts/commands");
    const readers = readdirSync(commands)
      .filter((f) => f !== "context.ts")
      .filter((f) => /\b(readStageInputs|stageSettings|resolveStage)\b/.test(readFileSync(join(commands, f), "utf8")));
    expect(readers).toEqual([]);
  });
});
