/**
 * `docker:<image>`: the migrations inside the image the container will run — the exact files its own
 * `prisma migrate deploy` sees (`/app/prisma/migrations`: Umami 3 keeps them there, Umami 2's build copies
 * `db/postgresql` to `/app/prisma`). `docker create` (pulls the image if needed) + `docker cp` + `docker rm`;
 * nothing runs inside the image. Proven only where a Docker engine runs (README); the commands and the errors
 * are unit-tested.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { UserError } from "../../kernel/errors.js";
import { onInterrupt } from "../../kernel/interrupt.js";
import { readMigrationsDirectory } from "./directory.js";
import { identifyMigrations } from "./releases.js";
import type { DockerRunner, LoadOptions, MigrationSet } from "./types.js";

/** Where Umami's image keeps the migrations `prisma migrate deploy` applies at start. */
const IMAGE_MIGRATIONS_PATH = "/app/prisma/migrations";

const execFileAsync = promisify(execFile);

/** Runs the `docker` executable. */
export const runDocker: DockerRunner = async (args) =>
  execFileAsync("docker", args, { maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60_000 });

/** The three Docker commands that copy the migrations out of `image` (`id` is the created container's). */
export function buildDockerExtractCommands(image: string) {
  return {
    create: ["create", image],
    inspect: ["image", "inspect", "--format", "{{.Id}}", image],
    copy: (id: string, destination: string) => ["cp", `${id}:${IMAGE_MIGRATIONS_PATH}`, destination],
    remove: (id: string) => ["rm", id],
  };
}

/** Parses `docker:<image>`; the image is anything Docker accepts as a reference. */
function parseDockerSource(source: string): string {
  const image = source.slice("docker:".length).trim();
  if (!image || /\s/.test(image) || image.startsWith("-")) {
    throw new UserError(
      `Migration source ${JSON.stringify(source)} names no image. Use docker:<image>, e.g. docker:ghcr.io/umami-software/umami:postgresql-v3.1.0.`,
    );
  }
  return image;
}

/** Copies the image's migrations into a scratch directory under `cacheDir`, reads them, and removes both container and copy. */
export async function loadDockerImage(
  source: string,
  options: LoadOptions & { cacheDir: string },
): Promise<MigrationSet> {
  const image = parseDockerSource(source);
  const docker = options.docker ?? runDocker;
  const commands = buildDockerExtractCommands(image);
  mkdirSync(options.cacheDir, { recursive: true });
  const scratch = mkdtempSync(join(options.cacheDir, ".docker-"));
  // The container and the copy go whether the load ends, fails or is interrupted (`docker cp` of a pulled
  // image can take minutes): one removal, whoever asks first.
  let id: string | undefined;
  let removing: Promise<void> | undefined;
  const removeContainer = () =>
    (removing ??= (async () => {
      if (id) await docker(commands.remove(id)).catch(() => undefined);
    })());
  const removeAll = onInterrupt(`removed the scratch container and copy of ${image}`, async () => {
    await removeContainer();
    rmSync(scratch, { recursive: true, force: true });
  });
  try {
    id = (
      await docker(commands.create).catch((error: unknown) => Promise.reject(describeDockerFailure(image, error)))
    ).stdout.trim();
    try {
      await docker(commands.copy(id, join(scratch, "migrations"))).catch((error: unknown) =>
        Promise.reject(describeDockerFailure(image, error)),
      );
    } finally {
      await removeContainer();
    }
    const imageId = (await docker(commands.inspect).catch(() => ({ stdout: "" }))).stdout.trim();
    const read = readMigrationsDirectory(join(scratch, "migrations"));
    const known = identifyMigrations(read.migrations);
    return {
      ...read,
      source,
      dir: `${image}:${IMAGE_MIGRATIONS_PATH}`,
      origin: "docker",
      notes: [`Copied from image ${image}${imageId ? ` (${imageId})` : ""}.`, ...(known ? [known] : [])],
    };
  } finally {
    await removeAll();
  }
}

/** One line for a failed Docker command: no client, no engine, no image, no migrations in it. */
export function describeDockerFailure(image: string, error: unknown): UserError {
  const e = error as { code?: string | number; stderr?: string; message?: string };
  const instead = "or use the release the image was built from, github:umami-software/umami@v<version>";
  if (e.code === "ENOENT")
    return new UserError(
      `The Docker client (docker) is not on PATH, so docker:${image} cannot be read. Install Docker, ${instead}.`,
      { cause: error },
    );
  const text = `${e.stderr ?? ""} ${e.message ?? ""}`;
  const first = (e.stderr ?? e.message ?? String(error)).trim().split("\n")[0];
  if (
    /Cannot connect to the Docker daemon|error during connect|Is the docker daemon running|docker\.sock/i.test(text)
  ) {
    return new UserError(
      `No Docker engine answers (${first}), so docker:${image} cannot be read. Start Docker, ${instead}.`,
      { cause: error },
    );
  }
  if (
    /No such image|manifest unknown|not found|pull access denied|repository does not exist/i.test(text) &&
    !/Could not find the file/i.test(text)
  ) {
    return new UserError(
      `Docker could not find the image ${image} (${first}). Check its name and tag, and that you are logged in to its registry.`,
      { cause: error },
    );
  }
  if (/Could not find the file|No such container:path/i.test(text)) {
    return new UserError(
      `The image ${image} has no ${IMAGE_MIGRATIONS_PATH} (${first}): is it an Umami image? Umami's are ghcr.io/umami-software/umami:postgresql-<version>.`,
      { cause: error },
    );
  }
  return new UserError(`Docker failed to read docker:${image} (${first}). Check the Docker engine, ${instead}.`, {
    cause: error,
  });
}
