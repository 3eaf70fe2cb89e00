/**
 * `--engine docker`: the story's own command, Umami's image running Prisma's CLI, for users who have a
 * Docker engine and want Prisma itself to apply the migrations:
 * `docker run --rm -e DATABASE_URL ghcr.io/umami-software/umami:postgresql-latest npx prisma migrate deploy`,
 * with the pinned release's image by default instead of the moving tag (docs/container.md: a newer image's
 * migrations would run ahead of the stage's umamiVersion); `--image …:postgresql-latest` is the story's literal one.
 * Umami's image copies `db/postgresql` to `/app/prisma` at build time (`copy-db-files`) and its own start
 * script runs `prisma migrate deploy` (package.json `update-db`, scripts/check-db.js), so the same
 * invocation with the working directory `/app` finds the schema and the migrations.
 */
import { spawn } from "node:child_process";
import { DEFAULT_UMAMI_VERSION } from "../../sst/stages.js";
import { isLocalHost, parseDatabaseUrl } from "../kernel/db.js";

/**
 * The official image for a release, as Umami's release workflow tags it: from 3.0 on the bare version
 * (`3.1.0`, plus `3.1`, `3` and the moving `postgresql-latest`); up to 2.x `postgresql-v<version>`.
 */
export function officialImage(version: string): string {
  const major = Number(version.split(".")[0]);
  return `ghcr.io/umami-software/umami:${major >= 3 ? version : `postgresql-v${version}`}`;
}

/** The pinned release's image: its migrations are the ones the stage's default umamiVersion expects. */
export const DEFAULT_UMAMI_IMAGE = officialImage(DEFAULT_UMAMI_VERSION);

/** A child process to run: `env` holds what must not appear on the command line. */
interface DockerCommand {
  command: string;
  args: string[];
  /** Variables to add to the child's environment (DATABASE_URL, with its password). */
  env: Record<string, string>;
}

/**
 * Builds the `docker run` that applies Umami's migrations with Prisma. The URL travels in the environment
 * (`-e DATABASE_URL` without a value copies it from docker's own environment), so the password never shows
 * in `ps`. A database on this machine is reached through the host's network.
 */
export function buildDockerMigrateCommand(databaseUrl: string, options: { image?: string } = {}): DockerCommand {
  const { host } = parseDatabaseUrl(databaseUrl);
  return {
    command: "docker",
    args: [
      "run",
      "--rm",
      ...(isLocalHost(host) ? ["--network", "host"] : []),
      "-e",
      "DATABASE_URL",
      options.image ?? DEFAULT_UMAMI_IMAGE,
      "npx",
      "prisma",
      "migrate",
      "deploy",
    ],
    env: { DATABASE_URL: databaseUrl },
  };
}

/** Whether a Docker engine answers `docker info` (within 10 s). */
export async function dockerAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn("docker", ["info"], { stdio: "ignore", timeout: 10_000 });
    child.on("error", () => resolve(false));
    child.on("exit", (code) => resolve(code === 0));
  });
}

/** Runs a built command with inherited stdio and `baseEnv` plus its env; resolves with its exit code. */
export async function runDockerCommand(built: DockerCommand, baseEnv: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(built.command, built.args, { stdio: "inherit", env: { ...baseEnv, ...built.env } });
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
