/** Preflight's findings without a query: the connection headroom, and readReplica against the stage's Umami release. */
import { describe, expect, it } from "vitest";
import { buildSpec } from "../../../sst/database/spec.js";
import { stageSettings } from "../../../sst/stages.js";
import { connectionHeadroomFinding, readReplicaFinding } from "../../../scripts/flows/preflight-findings.js";

const spec = (settings: { umamiTasks?: number; readReplica?: boolean; umamiVersion?: string } = {}) =>
  buildSpec("dev", { ...stageSettings("dev"), ...settings });
// db.r6g.large-like: Aurora's max_connections for 16 GiB, 3 superuser slots, 2 for rds_superuser.
const server = { max_connections: 1000, reserved: 3, rds_reserved: 2, in_use: 40 };

describe("connectionHeadroomFinding", () => {
  it("shows the arithmetic and the formula behind the role's limit", () => {
    expect(connectionHeadroomFinding(spec(), server)).toEqual({
      check: "connection-headroom",
      severity: "ok",
      detail:
        "max_connections 1000 − reserved 3 − rds_superuser reserved 2 − in use 40 − umami_user's limit 22 = 933 left " +
        "(limit: 10 per pool × 1 pool per task × 1 task × 2 (rolling deploy) + 2 (post-deploy) = 22)",
    });
  });

  it("warns under 10% left and blocks below zero, naming the stage's knobs", () => {
    const tight = connectionHeadroomFinding(spec({ umamiTasks: 20 }), { ...server, in_use: 500 });
    expect(tight.severity).toBe("warning");
    expect(tight.detail).toContain("limit 402 = 93 left");
    const over = connectionHeadroomFinding(spec({ umamiTasks: 20, readReplica: true, umamiVersion: "2.20.0" }), {
      ...server,
      in_use: 500,
    });
    expect(over).toMatchObject({ severity: "error", detail: expect.stringContaining("limit 802 = -307 left") });
    expect(over.remedy).toBe(
      "For stage dev in sst/stages.ts, lower umamiTasks (20) or turn readReplica off, or raise max_connections (a larger instance class, or the cluster parameter group's max_connections).",
    );
    expect(connectionHeadroomFinding(spec(), { ...server, max_connections: 50 }).remedy).toBe(
      "Raise max_connections (a larger instance class, or the cluster parameter group's max_connections).",
    );
  });
});

describe("readReplicaFinding", () => {
  it("warns for Umami 3.x (its writes would go to the reader) and for a release that never reads the replica", () => {
    expect(readReplicaFinding(spec({ readReplica: true }))).toMatchObject({
      check: "read-replica",
      severity: "warning",
      detail: expect.stringContaining(
        "Umami 3.1.0 cannot use a replica: src/lib/prisma.ts's rawQuery sends every raw query to client.$replica()",
      ),
      remedy: expect.stringContaining("Set readReplica: false for stage dev in sst/stages.ts"),
    });
    expect(readReplicaFinding(spec({ readReplica: true, umamiVersion: "3.0.2" }))?.severity).toBe("warning");
    expect(readReplicaFinding(spec({ readReplica: true, umamiVersion: "2.10.0" }))).toMatchObject({
      severity: "warning",
      detail: expect.stringContaining("never reads DATABASE_REPLICA_URL"),
    });
  });

  it("says nothing without readReplica, or for a release that reads through the replica and writes to the primary", () => {
    expect(readReplicaFinding(spec())).toBeUndefined();
    expect(readReplicaFinding(spec({ readReplica: true, umamiVersion: "2.18.0" }))).toBeUndefined();
  });
});
