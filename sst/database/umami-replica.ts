/**
 * What an Umami release does with DATABASE_REPLICA_URL, read in Umami's source (umami-software/umami, every
 * tag's src/lib/prisma.ts and src/queries/sql/sessions/createSession.ts). The connection budget counts the
 * replica pool only where the task opens it, and the handoff injects the URL only where Umami can use it.
 */

/**
 * - `ignored`: the release never reads DATABASE_REPLICA_URL (before 2.18.0): no second pool.
 * - `reads`: raw queries go to the replica, every write to the primary (2.18.0 to 2.x).
 * - `breaks-writes`: raw queries go to the replica and a write is a raw query (3.x): the reader refuses it.
 */
type UmamiReplicaUse = "ignored" | "reads" | "breaks-writes";

/** Why a 3.x release cannot run with a replica: the code path, the refusal, and the newest release read. */
export const UMAMI_REPLICA_WRITE_FAILURE = {
  newestRelease: "3.1.0",
  codePath:
    "src/lib/prisma.ts's rawQuery sends every raw query to client.$replica() when DATABASE_REPLICA_URL is set, and src/queries/sql/sessions/createSession.ts (every visitor's first write) is a raw INSERT",
  error: "cannot execute INSERT in a read-only transaction",
} as const;

/** The first release whose src/lib/prisma.ts reads DATABASE_REPLICA_URL. */
const FIRST_RELEASE_WITH_REPLICA = [2, 18] as const;

/**
 * What Umami `version` does with a replica URL. 3.0.2 to 3.1.0 route rawQuery through `$replica()` explicitly;
 * 3.0.0–3.0.1 leave it to @prisma/extension-read-replicas (whose raw routing changed between its versions) and
 * count alike. A release after 3.1.0 counts alike too: Umami's main branch (c0ea3ae, May 2026) still does it.
 */
export function umamiReplicaUse(version: string): UmamiReplicaUse {
  const [major, minor] = version.split(".").map(Number);
  if (major >= 3) return "breaks-writes";
  const [firstMajor, firstMinor] = FIRST_RELEASE_WITH_REPLICA;
  return major > firstMajor || (major === firstMajor && minor >= firstMinor) ? "reads" : "ignored";
}

/** Whether an Umami task of `version` gets DATABASE_REPLICA_URL (and so a second pool) for a stage with `readReplica`. */
export function umamiGetsReplica(readReplica: boolean, version: string): boolean {
  return readReplica && umamiReplicaUse(version) === "reads";
}

/** One line: why a `readReplica` stage's task of `version` gets no DATABASE_REPLICA_URL (undefined when it gets it). */
export function replicaWithheldReason(readReplica: boolean, version: string): string | undefined {
  if (!readReplica) return undefined;
  switch (umamiReplicaUse(version)) {
    case "reads":
      return undefined;
    case "ignored":
      return `Umami ${version} never reads DATABASE_REPLICA_URL (it came in 2.18.0): the task opens no replica pool.`;
    case "breaks-writes":
      return `Umami ${version} would send its writes to the reader (${UMAMI_REPLICA_WRITE_FAILURE.codePath}; the reader answers "${UMAMI_REPLICA_WRITE_FAILURE.error}"): every read and write goes through DATABASE_URL instead.`;
  }
}
