/** Baselines for unit tests: every figure set, overridable one by one. */
import type { Baseline } from "../../scripts/evidence/baseline.js";
import { AURORA_METRICS, type AuroraMetricName } from "../../scripts/evidence/cloudwatch.js";

export const MiB = 1024 * 1024;

/** The figures a test may set. */
interface Figures {
  cpu?: number;
  connections?: number;
  cwConnections?: number;
  readIops?: number;
  writeIops?: number;
  volumeRead?: number;
  volumeWrite?: number;
  dbBytes?: number;
  schemas?: Record<string, number>;
  cloudwatch?: boolean;
  /** The CloudWatch window. @default the 24 hours before capturedAt */
  window?: { start: string; end: string };
}

/** A complete baseline labelled `label` with `f` applied. */
export function baseline(label: string, f: Figures = {}): Baseline {
  const averages: Record<AuroraMetricName, number> = {
    CPUUtilization: f.cpu ?? 20,
    DatabaseConnections: f.cwConnections ?? 12,
    ReadIOPS: f.readIops ?? 60,
    WriteIOPS: f.writeIops ?? 40,
    FreeableMemory: 8 * 1024 * MiB,
    VolumeReadIOPs: f.volumeRead ?? 300,
    VolumeWriteIOPs: f.volumeWrite ?? 700,
    VolumeBytesUsed: 10 * 1024 * MiB,
  };
  const schemas = f.schemas ?? { public: 50 * MiB, billing: 2 * MiB };
  return {
    version: 1,
    label,
    capturedAt: "2026-11-25T10:00:00.000Z",
    target: { host: "db.example", port: 5432, database: "app", user: "admin" },
    server: { version: "15.8", versionNum: 150008 },
    sizes: {
      databaseBytes: f.dbBytes ?? 60 * MiB,
      schemas: Object.entries(schemas).map(([name, bytes]) => ({ name, bytes, tables: 1 })),
    },
    schemas: Object.keys(schemas),
    umamiSchema: { name: "umami", exists: "umami" in schemas, bytes: schemas.umami ?? 0 },
    connections: { maxConnections: 1600, superuserReserved: 3, total: f.connections ?? 12, byUserAndState: [] },
    stats: {
      xactCommit: 1,
      xactRollback: 0,
      blksRead: 1,
      blksHit: 99,
      tupReturned: 0,
      tupFetched: 0,
      tupInserted: 0,
      tupUpdated: 0,
      tupDeleted: 0,
      deadlocks: 0,
      tempBytes: 0,
      statsReset: null,
    },
    cacheHitRatio: 0.99,
    statements: { available: false, schema: null, top: [] },
    cloudwatch:
      f.cloudwatch === false
        ? null
        : {
            clusterId: "c",
            instanceId: "i",
            window: {
              ...(f.window ?? { start: "2026-11-24T10:00:00.000Z", end: "2026-11-25T10:00:00.000Z" }),
              periodSeconds: 300,
            },
            metrics: AURORA_METRICS.map((m) => ({
              metric: m.name,
              level: m.level,
              dimension: { name: m.level === "instance" ? "DBInstanceIdentifier" : "DBClusterIdentifier", value: "x" },
              unit: m.unit,
              average: averages[m.name],
              maximum: averages[m.name],
              datapoints: 288,
            })),
          },
  };
}
