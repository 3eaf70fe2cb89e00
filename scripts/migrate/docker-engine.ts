/**
 * `--engine docker`: the story's own command, Umami's image running Prisma's CLI, for users who have a
 * Docker engine and want Prisma itself to apply the migrations:
 * `docker run --rm -e DATABASE_URL ghcr.io/umami-software/umami:postgresql-latest npx prisma migrate deploy`.
 * Umami's image copies `db/postgresql` to `/app/prisma` at build time (`copy-db-files`) and its own start
 * script runs `prisma migrate deploy` (package.json `update-db`, scripts/check-db.js), so the same
 * invocation with the working directory `/app` finds the schema and the migrations.
 */
import { spawn } from "node:child_process";
import { isLocalHost, parseDatabaseUrl } from "../kernel/db.js";

/** The story's image. Its migrations are the image's, which may be newer than the stage's umamiVersion. */
export const DEFAULT_UMAMI_IMAGE = "ghcr.io/umami-software/umami:postgresql-latest";

/** A child process to run: `env` holds what must not appear on the command line. */
export interface DockerCommand {
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
