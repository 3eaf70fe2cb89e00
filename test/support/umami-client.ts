/**
 * Umami 3.1.0's real data layer for the tests: its Prisma 7 client generated from its own schema (offline,
 * cached by the schema's SHA-256), its migrations from the offline mirror, and a child process that runs
 * Umami's way of connecting (umami-child.ts) with only the environment the container would have.
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { buildHandoff } from "../../scripts/flows/handoff.js";
import { loadMigrations, type MigrationSet } from "../../scripts/migrate/sources.js";
import type { CredentialsSecret } from "../../scripts/stage/credentials.js";
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";
import { PROJECT_ROOT } from "./reliability.js";
import { loadRelease, npmUmami2100MigrationsDir, RELEASE_SCHEMA_3_1_0 } from "./migrations.js";
import type { ChildOutcome } from "./umami-child.js";
import { testSourceOptions } from "../support/migrations.js";

const execFileAsync = promisify(execFile);

/** The release whose data layer the container runs (`postgresql-latest` today), and its schema. */
const UMAMI_RELEASE = "3.1.0";
const UMAMI_SCHEMA = RELEASE_SCHEMA_3_1_0;

/** Scratch space ignored by git: the generated clients and the npm tarball cache. */
const TMP = join(PROJECT_ROOT, "tmp");

/** The migrations of that release, through the product's own source from the mirror. */
export function umamiReleaseMigrations(): Promise<MigrationSet> {
  return loadRelease(UMAMI_RELEASE);
}

/**
 * What a database migrated from npm's `umami@2.10.0` and then upgraded by Prisma holds (`docs/design.md` § "Umami's releases and Prisma"):
 * npm's pre-release 01..04, then the release's 05 onwards.
 */
export async function npmPrereleaseThenRelease(): Promise<MigrationSet> {
  // The npm tarball's files, as a directory: the product refuses `npm:` sources (a pre-release copy).
  const npm = await loadMigrations(await npmUmami2100MigrationsDir(), testSourceOptions());
  const release = await umamiReleaseMigrations();
  const later = release.migrations.filter((m) => !npm.migrations.some((n) => n.name === m.name));
  return {
    ...release,
    source: `npm:umami@2.10.0 then v${UMAMI_RELEASE} 05..`,
    migrations: [...npm.migrations, ...later],
  };
}

/**
 * Generates Umami's Prisma client (Prisma 7, generator `prisma-client`) from `schema` once and returns the
 * path of its `client.ts`. The schema is copied unchanged into `tmp/umami-client/<sha256>/prisma/`, so its
 * `output = "../src/generated/prisma"` lands where Umami's build has it. `prisma generate` needs no schema
 * engine; PRISMA_SCHEMA_ENGINE_BINARY points at a stub so the CLI does not try to download one
 * (`docs/design.md` § "Umami's releases and Prisma"). Safe for concurrent test files: each generates into its own directory and renames it into place.
 */
export async function generateUmamiClient(schema = UMAMI_SCHEMA): Promise<string> {
  const sha = createHash("sha256").update(readFileSync(schema)).digest("hex");
  const target = join(TMP, "umami-client", sha);
  const client = join(target, "src", "generated", "prisma", "client.ts");
  if (existsSync(client)) return client;

  mkdirSync(dirname(target), { recursive: true });
  const scratch = mkdtempSync(`${target}.`);
  try {
    mkdirSync(join(scratch, "prisma"));
    copyFileSync(schema, join(scratch, "prisma", "schema.prisma"));
    const stub = join(scratch, "schema-engine-stub");
    writeFileSync(stub, "#!/bin/sh\necho 'schema engine stub: prisma generate must not need it' >&2\nexit 1\n");
    chmodSync(stub, 0o755);
    await execFileAsync(
      process.execPath,
      [
        join(PROJECT_ROOT, "node_modules/prisma/build/index.js"),
        "generate",
        "--schema",
        join(scratch, "prisma", "schema.prisma"),
      ],
      {
        cwd: scratch,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
          PRISMA_SCHEMA_ENGINE_BINARY: stub,
          CHECKPOINT_DISABLE: "1",
          PRISMA_HIDE_UPDATE_MESSAGE: "1",
        },
      },
    );
    try {
      renameSync(scratch, target);
    } catch (error) {
      // Another test file generated the same schema first: use its copy.
      if (!existsSync(client)) throw error;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return client;
}

/** The container's environment for one child: what the ECS task definition would give Umami. */
export type UmamiEnv = { DATABASE_URL: string; DATABASE_REPLICA_URL?: string; NODE_EXTRA_CA_CERTS?: string } & Record<
  string,
  string | undefined
>;

/** An ARN of the shape Secrets Manager gives, for the handoff (ECS references the secret by it). */
const TEST_SECRET_ARN =
  "arn:aws:secretsmanager:us-east-1:123456789012:secret:observability/umami-db-credentials-AbCdEf";

/**
 * The container's environment exactly as the handoff (`umami-db handoff`) lists it: each variable from its
 * JSON key of `secret` or with its plain value (NODE_EXTRA_CA_CERTS is the stage's `containerCaBundle`).
 */
export function handoffEnvironment(spec: UmamiDatabaseSpec, secret: CredentialsSecret): UmamiEnv {
  const env: Record<string, string | undefined> = {};
  // The release the stage pins, as `umami-db handoff` hands it (its migrated release, else the stage's umamiVersion).
  for (const variable of buildHandoff(spec, TEST_SECRET_ARN, { umamiVersion: spec.umamiVersion }).variables) {
    env[variable.name] = variable.from === "secret" ? secret[variable.key!] : variable.value;
  }
  return env as UmamiEnv;
}

/** A running child; `outcome` settles when it exits. */
interface UmamiChild {
  /** Resolves when the child says it holds its connections (scenario `hold`). */
  ready: Promise<void>;
  /** Lets a child started with `wait` go on. */
  go(): void;
  outcome: Promise<ChildOutcome>;
}

const CHILD = join(PROJECT_ROOT, "test", "support", "umami-child.ts");

/**
 * Starts umami-child.ts in a fresh Node process with `env` as its whole environment (plus PATH and HOME):
 * nothing leaks in from the test runner, and NODE_EXTRA_CA_CERTS is read at start as in the container.
 */
export function startUmami(
  client: string,
  scenario: string,
  env: UmamiEnv,
  args: Record<string, unknown> = {},
): UmamiChild {
  const clean = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, scenario], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
      ...clean,
      UMAMI_PRISMA_CLIENT: client,
      UMAMI_SCENARIO_ARGS: JSON.stringify(args),
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((done) => (markReady = done));
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes('{"ready":true}')) markReady();
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  if (!args.wait) child.stdin.end();
  const outcome = new Promise<ChildOutcome>((done, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      markReady();
      const last = stdout.trim().split("\n").at(-1) ?? "";
      try {
        done(JSON.parse(last) as ChildOutcome);
      } catch {
        reject(
          new Error(`umami-child ${scenario} exited ${code} without an outcome.\nstdout: ${stdout}\nstderr: ${stderr}`),
        );
      }
    });
  });
  return { ready, go: () => child.stdin.end("go\n"), outcome };
}

/** Runs one scenario to its end. */
export function runUmami(
  client: string,
  scenario: string,
  env: UmamiEnv,
  args: Record<string, unknown> = {},
): Promise<ChildOutcome> {
  return startUmami(client, scenario, env, args).outcome;
}
