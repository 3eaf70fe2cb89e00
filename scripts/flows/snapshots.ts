/**
 * Where the "before" of a deploy is kept between `preflight` (which captures it) and `post-deploy` (which
 * compares against it): `.umami-db/<stage>/before/{baseline,fingerprint}.json`, git-ignored.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { validateStage } from "../../sst/database/spec.js";
import type { Baseline } from "../evidence/baseline.js";
import type { BeforeSnapshot } from "./checks.js";
import { UserError } from "../kernel/errors.js";
import { interrupted } from "../kernel/interrupt.js";
import { projectRoot } from "../kernel/project-root.js";
import { fingerprintProblem, type Fingerprint } from "../evidence/fingerprint.js";

/** The directory holding a stage's "before" snapshot. */
export function beforeDir(stage: string, root: string = projectRoot()): string {
  return resolve(root, ".umami-db", validateStage(stage), "before");
}

/** Where a snapshot was taken: post-deploy compares only against its own stage's database. */
interface SnapshotOrigin {
  stage?: string;
  host?: string;
  port?: number;
  database?: string;
}

/** Writes the snapshot and where it was taken (each file atomically); returns the paths written. */
export function saveBefore(dir: string, snapshot: BeforeSnapshot, origin: SnapshotOrigin): string[] {
  if (interrupted()) throw new UserError(`Interrupted: no snapshot written to ${dir}.`);
  const files = { "baseline.json": snapshot.baseline, "fingerprint.json": snapshot.fingerprint, "origin.json": origin };
  return Object.entries(files).map(([name, value]) => {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
    renameSync(`${path}.tmp`, path);
    return path;
  });
}

/** Reads whatever part of a snapshot exists in `dir`; a present but unreadable file is a one-line error. */
export function loadBefore(dir: string): Partial<BeforeSnapshot> & { origin?: SnapshotOrigin } {
  const read = (name: string): unknown => {
    const path = join(dir, name);
    if (!existsSync(path)) return undefined;
    try {
      return JSON.parse(readFileSync(path, "utf8"));
    } catch (error) {
      throw new UserError(
        `${path} is not valid JSON (${(error as Error).message}). Delete it or run \`umami-db preflight\` again.`,
      );
    }
  };
  const baseline = read("baseline.json") as Baseline | undefined;
  const fingerprint = read("fingerprint.json") as Fingerprint | undefined;
  if (
    baseline !== undefined &&
    (typeof baseline !== "object" || baseline === null || typeof baseline.capturedAt !== "string" || !baseline.sizes)
  ) {
    throw new UserError(
      `${join(dir, "baseline.json")} is not a baseline written by umami-db. Delete it or run \`umami-db preflight\` again.`,
    );
  }
  const problem = fingerprint === undefined ? null : fingerprintProblem(fingerprint);
  if (problem)
    throw new UserError(`${join(dir, "fingerprint.json")}: ${problem}. Delete it or run \`umami-db preflight\` again.`);
  const written = read("origin.json") as SnapshotOrigin | undefined;
  // A snapshot from before origin.json: its baseline names host, port and database.
  const origin =
    written ??
    (baseline || fingerprint
      ? { ...baseline?.target, database: baseline?.target.database ?? fingerprint?.database }
      : undefined);
  return { baseline, fingerprint, origin };
}

/**
 * Why a snapshot cannot serve as this run's "before" (taken on another stage, host, port or database), in one
 * line naming both; null when it can. Host names compare case-insensitively, as DNS does.
 */
export function snapshotMismatch(
  dir: string,
  origin: SnapshotOrigin | undefined,
  here: Required<SnapshotOrigin>,
): string | null {
  if (!origin) return null;
  const differs =
    (origin.stage !== undefined && origin.stage !== here.stage) ||
    (origin.host !== undefined && origin.host.toLowerCase() !== here.host.toLowerCase()) ||
    (origin.port !== undefined && origin.port !== here.port) ||
    (origin.database !== undefined && origin.database !== here.database);
  if (!differs) return null;
  const where = (o: SnapshotOrigin) =>
    `${o.stage ? `stage ${o.stage} at ` : ""}${o.host ?? "?"}:${o.port ?? "?"}/${o.database ?? "?"}`;
  return (
    `The "before" snapshot in ${dir} was taken on ${where(origin)}, but post-deploy runs on ${where(here)}: it cannot prove this database untouched. ` +
    `Run \`umami-db preflight --stage ${here.stage}\` against this database before \`sst deploy\`, pass --before-dir with its snapshot, or --no-before.`
  );
}
