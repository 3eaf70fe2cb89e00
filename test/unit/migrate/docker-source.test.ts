/**
 * `docker:<image>`: the Docker commands that copy `/app/prisma/migrations` out of an image, and the one-line
 * errors when the client, the engine, the image or the path is missing. No Docker engine runs here, so a fake
 * runner stands in for the client (it copies a directory where `docker cp` would); the README says this
 * source is proven only where Docker runs.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UserError } from "../../../scripts/kernel/errors.js";
import { loadMigrations, type DockerRunner } from "../../../scripts/migrate/sources.js";
import {
  buildDockerExtractCommands,
  describeDockerFailure,
  runDocker,
} from "../../../scripts/migrate/sources/docker.js";
import { tmpdir } from "node:os";
import { dockerAvailable } from "../../../scripts/migrate/docker-engine.js";
import { UMAMI_RELEASES, testSourceOptions } from "../../support/migrations.js";
import { PROJECT_ROOT } from "../../support/reliability.js";

const MIRROR = UMAMI_RELEASES;
// Where an engine runs, the real-client test would pull an image: it runs only where none answers.
const engine = await dockerAvailable();
// Every cache directory of this file lives here, removed at the end: /tmp is left as found.
const scratch = mkdtempSync(join(tmpdir(), "umami-db-docker-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const IMAGE = "ghcr.io/umami-software/umami:postgresql-v3.1.0";

describe("docker:<image>", () => {
  it("builds create, cp and rm for /app/prisma/migrations, and never runs the image", () => {
    const commands = buildDockerExtractCommands(IMAGE);
    expect(commands.create).toEqual(["create", IMAGE]);
    expect(commands.copy("c0ffee", "/tmp/x/migrations")).toEqual([
      "cp",
      "c0ffee:/app/prisma/migrations",
      "/tmp/x/migrations",
    ]);
    expect(commands.remove("c0ffee")).toEqual(["rm", "c0ffee"]);
    expect(commands.inspect).toEqual(["image", "inspect", "--format", "{{.Id}}", IMAGE]);
  });

  it("reads the image's migrations, removes the container and the copy, and names the release", async () => {
    const calls: string[][] = [];
    const docker: DockerRunner = (args) => {
      calls.push(args);
      if (args[0] === "create") return Promise.resolve({ stdout: "c0ffee\n", stderr: "" });
      if (args[0] === "cp") cpSync(join(MIRROR, "v3.1.0/prisma/migrations"), args[2], { recursive: true });
      if (args[0] === "image") return Promise.resolve({ stdout: "sha256:abc\n", stderr: "" });
      return Promise.resolve({ stdout: "", stderr: "" });
    };
    const cacheDir = mkdtempSync(join(scratch, "cache-"));
    const set = await loadMigrations(`docker:${IMAGE}`, { ...testSourceOptions(), docker, cacheDir });
    expect(calls.map((c) => c[0])).toEqual(["create", "cp", "rm", "image"]);
    expect(set).toMatchObject({ source: `docker:${IMAGE}`, origin: "docker", dir: `${IMAGE}:/app/prisma/migrations` });
    expect(set.migrations).toHaveLength(19);
    expect(set.notes).toEqual([`Copied from image ${IMAGE} (sha256:abc).`, "These are Umami v3.1.0's release files."]);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it("removes the container even when the copy fails", async () => {
    const calls: string[] = [];
    const docker: DockerRunner = (args) => {
      calls.push(args[0]);
      if (args[0] === "create") return Promise.resolve({ stdout: "c0ffee\n", stderr: "" });
      if (args[0] === "cp")
        return Promise.reject(
          Object.assign(new Error("exit 1"), {
            stderr: "Error response from daemon: Could not find the file /app/prisma/migrations in container c0ffee\n",
          }),
        );
      return Promise.resolve({ stdout: "", stderr: "" });
    };
    const error = await loadMigrations("docker:nginx:latest", {
      ...testSourceOptions(),
      docker,
      cacheDir: mkdtempSync(join(scratch, "cache-")),
    }).catch((e: unknown) => e);
    expect(calls).toEqual(["create", "cp", "rm"]);
    expect((error as Error).message).toMatch(
      /^The image nginx:latest has no \/app\/prisma\/migrations \(Error response from daemon: Could not find the file .*\): is it an Umami image\?/,
    );
  });

  it("interrupted during `docker cp` (SIGTERM to the CLI's process): removes the container and the copy, exits 143", () => {
    const cacheDir = mkdtempSync(join(scratch, "cache-"));
    const log = join(scratch, "interrupted-calls.log");
    // In a process of its own, with the CLI's handler: the copy never ends until the signal.
    const script = `
      import { appendFileSync, writeFileSync } from "node:fs";
      import { installInterruptHandlers } from ${JSON.stringify(join(PROJECT_ROOT, "scripts/kernel/interrupt.ts"))};
      import { loadDockerImage } from ${JSON.stringify(join(PROJECT_ROOT, "scripts/migrate/sources/docker.ts"))};
      installInterruptHandlers();
      setInterval(() => undefined, 1000); // as the CLI's open handles do: the signal finds the process alive
      const docker = async (args) => {
        appendFileSync(${JSON.stringify(log)}, args[0] + "\\n");
        if (args[0] === "create") return { stdout: "c0ffee\\n", stderr: "" };
        if (args[0] === "cp") { writeFileSync(args[2], "half a copy"); process.kill(process.pid, "SIGTERM"); return new Promise(() => undefined); }
        return { stdout: "", stderr: "" };
      };
      await loadDockerImage("docker:${IMAGE}", { docker, cacheDir: ${JSON.stringify(cacheDir)} });
    `;
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: PROJECT_ROOT,
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(run.status, run.stderr).toBe(143);
    expect(run.stderr.trimEnd()).toBe(
      `error: interrupted by SIGTERM: removed the scratch container and copy of ${IMAGE}.`,
    );
    expect(readFileSync(log, "utf8").trim().split("\n")).toEqual(["create", "cp", "rm"]);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it("says in one line that the Docker client is missing (the real client, absent here, or any ENOENT)", async () => {
    const real = await runDocker(["version"]).then(
      () => undefined,
      (e: unknown) => e,
    );
    const enoent =
      (real as { code?: string } | undefined)?.code === "ENOENT"
        ? (real as Error)
        : Object.assign(new Error("spawn docker ENOENT"), { code: "ENOENT" });
    const docker: DockerRunner = () => Promise.reject(enoent);
    const error = await loadMigrations(`docker:${IMAGE}`, {
      ...testSourceOptions(),
      docker,
      cacheDir: mkdtempSync(join(scratch, "cache-")),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(
      `The Docker client (docker) is not on PATH, so docker:${IMAGE} cannot be read. Install Docker, or use the release the image was built from, github:umami-software/umami@v<version>.`,
    );
  });

  it.skipIf(engine)(
    "with the real client and no engine (this machine), fails in one line and leaves nothing behind",
    async () => {
      const cacheDir = mkdtempSync(join(scratch, "cache-"));
      const error = await loadMigrations(`docker:${IMAGE}`, { ...testSourceOptions(), cacheDir }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toMatch(
        /^(No Docker engine answers \(.*\)|The Docker client \(docker\) is not on PATH), so docker:ghcr\.io\/umami-software\/umami:postgresql-v3\.1\.0 cannot be read\./,
      );
      expect(readdirSync(cacheDir)).toEqual([]);
    },
  );

  it.each([
    [
      "no engine",
      "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
      /^No Docker engine answers \(Cannot connect to the Docker daemon at .*\), so docker:img:1 cannot be read\. Start Docker, /,
    ],
    [
      "no image",
      "Unable to find image 'img:1' locally\nError response from daemon: manifest unknown",
      /^Docker could not find the image img:1 \(Unable to find image 'img:1' locally\)\. Check its name and tag/,
    ],
    ["anything else", "something odd", /^Docker failed to read docker:img:1 \(something odd\)\./],
  ])("says in one line: %s", (_name, stderr, message) => {
    const error = describeDockerFailure("img:1", Object.assign(new Error("Command failed"), { code: 1, stderr }));
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain("\n");
  });

  it("refuses a source that names no image", async () => {
    await expect(loadMigrations("docker:", testSourceOptions())).rejects.toThrow(/names no image\. Use docker:<image>/);
  });
});
