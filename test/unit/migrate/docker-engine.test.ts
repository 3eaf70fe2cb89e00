/**
 * `--engine docker`: the story's `docker run … prisma migrate deploy`, built with the URL in the environment
 * rather than on the command line. Running it needs a Docker engine, which this machine does not have.
 */
import { describe, expect, it } from "vitest";
import {
  buildDockerMigrateCommand,
  DEFAULT_UMAMI_IMAGE,
  dockerAvailable,
  runDockerCommand,
} from "../../../scripts/migrate/docker-engine.js";
import { DEFAULT_UMAMI_VERSION } from "../../../sst/stages.js";

const URL = "postgresql://umami_user:S3cret-Pa55@db.cluster-abc.eu-west-1.rds.amazonaws.com:5432/app?schema=umami";
const hasDocker = await dockerAvailable();

describe("buildDockerMigrateCommand", () => {
  it("builds the story's command with the URL passed by name only, on the pinned release's image (never the moving postgresql-latest)", () => {
    expect(buildDockerMigrateCommand(URL)).toEqual({
      command: "docker",
      args: [
        "run",
        "--rm",
        "-e",
        "DATABASE_URL",
        `ghcr.io/umami-software/umami:${DEFAULT_UMAMI_VERSION}`,
        "npx",
        "prisma",
        "migrate",
        "deploy",
      ],
      env: { DATABASE_URL: URL },
    });
    expect(DEFAULT_UMAMI_IMAGE).toBe("ghcr.io/umami-software/umami:3.1.0");
  });

  it("never puts the password on the command line", () => {
    const built = buildDockerMigrateCommand(URL);
    expect([built.command, ...built.args].join(" ")).not.toContain("S3cret-Pa55");
  });

  it("uses the host's network for a database on this machine, and another image when asked", () => {
    const built = buildDockerMigrateCommand("postgresql://u:p@127.0.0.1:5433/app?schema=umami", {
      image: "ghcr.io/umami-software/umami:postgresql-v2.10.0",
    });
    expect(built.args).toEqual([
      "run",
      "--rm",
      "--network",
      "host",
      "-e",
      "DATABASE_URL",
      "ghcr.io/umami-software/umami:postgresql-v2.10.0",
      "npx",
      "prisma",
      "migrate",
      "deploy",
    ]);
  });

  it("rejects a URL that is not PostgreSQL", () => {
    expect(() => buildDockerMigrateCommand("mysql://u:p@h/db")).toThrow(/must start with postgresql:\/\//);
  });
});

describe.skipIf(!hasDocker)("with a Docker engine (skipped: `docker info` does not answer on this machine)", () => {
  it("hands DATABASE_URL to the container through the environment", async () => {
    const built = buildDockerMigrateCommand(URL, { image: "busybox" });
    // Same flags, but print the variable instead of migrating: proves -e DATABASE_URL carries the value.
    const head = built.args.slice(0, built.args.indexOf("busybox") + 1);
    const args = ["run", "--rm", "-e", "EXPECTED", ...head.slice(2), "sh", "-c", 'test "$DATABASE_URL" = "$EXPECTED"'];
    expect(await runDockerCommand({ ...built, args, env: { ...built.env, EXPECTED: URL } }, process.env)).toBe(0);
  });
});
