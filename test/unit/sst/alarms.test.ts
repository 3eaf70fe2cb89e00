import * as pulumi from "@pulumi/pulumi";
import { beforeEach, describe, expect, it } from "vitest";
import type { ClusterAlarmsArgs } from "../../../sst/observability/alarms.js";

// setMocks is process-global; vitest isolates test files, so this file owns it.
const created: pulumi.runtime.MockResourceArgs[] = [];
await pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      created.push(args);
      return {
        id: `${args.name}-id`,
        state: { ...args.inputs, arn: `arn:aws:mock:us-east-1:123456789012:${args.name}` },
      };
    },
    call: (args) => args.inputs,
  },
  "umami-aurora-schema",
  "dev",
  false,
);

// Imported once the mocks are set, as Pulumi requires.
const m = await import("../../../sst/observability/alarms.js");
beforeEach(() => {
  created.length = 0;
});

const TAGS = { Project: "UserMetrics", Component: "Database", Environment: "dev" };
const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

async function build(extra: Partial<ClusterAlarmsArgs> = {}) {
  const alarms = new m.ClusterAlarms("UmamiAlarms", {
    stage: "dev",
    clusterIdentifier: "app-aurora-dev",
    instanceIdentifier: "app-aurora-dev-instance-1",
    instanceClass: "db.r6g.large",
    tags: TAGS,
    region: "eu-west-1",
    ...extra,
  });
  await value(
    pulumi.all([
      alarms.cpuAlarm.urn,
      alarms.connectionsAlarm.urn,
      alarms.storageAlarm.urn,
      alarms.dashboard.urn,
      alarms.topic?.urn ?? pulumi.output(""),
    ]),
  );
  const ofType = (type: string) => created.filter((r) => r.type === type);
  return {
    alarms,
    ofType,
    alarm: (suffix: string) =>
      ofType("aws:cloudwatch/metricAlarm:MetricAlarm").find((r) => r.name === `UmamiAlarms${suffix}`)!.inputs,
  };
}

describe("defaultMaxConnections", () => {
  it("follows LEAST({DBInstanceClassMemory/9531392}, 5000) as AWS's worked example computes it", () => {
    expect(m.defaultMaxConnections("db.r6g.large")).toBe(Math.floor(16e9 / 9531392));
    expect(m.defaultMaxConnections("db.t3.medium")).toBe(419);
    expect(m.defaultMaxConnections("db.r6g.xlarge")).toBe(3357);
    expect(m.defaultMaxConnections("db.r6g.2xlarge")).toBe(5000);
  });
  it("refuses an unknown class with the remedy", () => {
    expect(() => m.defaultMaxConnections("db.serverless")).toThrow(/Set maxConnections/);
  });
});

describe("ClusterAlarms", () => {
  it("creates the story's three alarms with their thresholds and dimensions, tagged", async () => {
    const { alarm, ofType, alarms } = await build();
    expect(ofType("aws:cloudwatch/metricAlarm:MetricAlarm")).toHaveLength(3);

    const cpu = alarm("Cpu");
    expect(cpu).toMatchObject({
      namespace: "AWS/RDS",
      metricName: "CPUUtilization",
      dimensions: { DBInstanceIdentifier: "app-aurora-dev-instance-1" },
      statistic: "Average",
      threshold: 70,
      comparisonOperator: "GreaterThanThreshold",
      tags: TAGS,
    });

    const connections = alarm("Connections");
    expect(alarms.maxConnections).toBe(1678);
    expect(connections).toMatchObject({
      metricName: "DatabaseConnections",
      threshold: 1342,
      comparisonOperator: "GreaterThanThreshold",
      tags: TAGS,
    });
    // 1342 < 0.8 × 1678 = 1342.4 < 1343: "> 1342" fires exactly above 80 %.
    expect(connections.threshold).toBe(Math.floor(0.8 * 1678));

    const storage = alarm("StorageGrowth");
    expect(storage).toMatchObject({
      threshold: 1_000_000_000,
      comparisonOperator: "GreaterThanThreshold",
      evaluationPeriods: 4,
      datapointsToAlarm: 3,
      tags: TAGS,
    });
    expect(storage.metricQueries).toEqual([
      {
        id: "bytes",
        metric: {
          namespace: "AWS/RDS",
          metricName: "VolumeBytesUsed",
          dimensions: { DBClusterIdentifier: "app-aurora-dev" },
          period: 86400,
          stat: "Maximum",
        },
        returnData: false,
      },
      {
        id: "growth",
        expression: "RATE(bytes) * 2592000",
        label: "Volume growth (bytes per 30 days)",
        returnData: true,
      },
    ]);
    for (const a of [cpu, connections, storage]) expect(a.alarmActions).toEqual([]);
    expect(ofType("aws:sns/topic:Topic")).toHaveLength(0);
    expect(ofType("aws:sns/topicSubscription:TopicSubscription")).toHaveLength(0);
  });

  it("takes max_connections from configuration over the instance class", async () => {
    const { alarm } = await build({ maxConnections: 200 });
    expect(alarm("Connections").threshold).toBe(160);
  });

  it("takes its arguments from a stage's settings", async () => {
    const args = m.clusterAlarmsArgs(
      "production",
      { clusterIdentifier: "app-aurora-production", instanceClass: "db.r6g.xlarge", region: "us-east-1" },
      TAGS,
    );
    expect(args).toEqual({
      stage: "production",
      clusterIdentifier: "app-aurora-production",
      instanceIdentifier: undefined,
      maxConnections: undefined,
      instanceClass: "db.r6g.xlarge",
      alarmEmail: undefined,
      tags: TAGS,
      region: "us-east-1",
    });
    const alarms = new m.ClusterAlarms("Prod", args);
    await value(
      pulumi.all([alarms.cpuAlarm.urn, alarms.connectionsAlarm.urn, alarms.storageAlarm.urn, alarms.dashboard.urn]),
    );
    expect(alarms.connectionsThreshold).toBe(Math.floor(0.8 * 3357));
  });

  it("watches the cluster's writer role when no instance is named (no guessed name; follows a failover)", async () => {
    const { alarm, ofType } = await build({ instanceIdentifier: undefined });
    for (const suffix of ["Cpu", "Connections"])
      expect(alarm(suffix).dimensions).toEqual({ DBClusterIdentifier: "app-aurora-dev", Role: "WRITER" });
    const body = JSON.parse(ofType("aws:cloudwatch/dashboard:Dashboard")[0].inputs.dashboardBody as string);
    expect(body.widgets[0].properties.metrics[0].slice(0, 6)).toEqual([
      "AWS/RDS",
      "CPUUtilization",
      "DBClusterIdentifier",
      "app-aurora-dev",
      "Role",
      "WRITER",
    ]);
    expect(body.widgets[2].properties.metrics[1].slice(0, 6)).toEqual([
      "AWS/RDS",
      "WriteIOPS",
      "DBClusterIdentifier",
      "app-aurora-dev",
      "Role",
      "WRITER",
    ]);
  });

  it("refuses a stage with neither maxConnections nor instanceClass", () => {
    expect(
      () => new m.ClusterAlarms("X", { stage: "dev", clusterIdentifier: "c", instanceIdentifier: "i", tags: {} }),
    ).toThrow(/neither maxConnections nor instanceClass/);
    expect(
      () =>
        new m.ClusterAlarms("Y", {
          stage: "dev",
          clusterIdentifier: "c",
          instanceIdentifier: "i",
          maxConnections: 0,
          tags: {},
        }),
    ).toThrow(/at least 1/);
  });

  it("creates an SNS topic with an e-mail subscription when alarmEmail is set, and notifies it", async () => {
    const { ofType, alarm } = await build({ alarmEmail: "dba@example.com" });
    const topics = ofType("aws:sns/topic:Topic");
    expect(topics).toHaveLength(1);
    expect(topics[0].inputs).toMatchObject({ name: "umami-db-dev-alarms", tags: TAGS });
    const subscriptions = ofType("aws:sns/topicSubscription:TopicSubscription");
    expect(subscriptions.map((s) => s.inputs)).toEqual([
      { topic: "arn:aws:mock:us-east-1:123456789012:UmamiAlarmsTopic", protocol: "email", endpoint: "dba@example.com" },
    ]);
    for (const name of ["Cpu", "Connections", "StorageGrowth"]) {
      expect(alarm(name).alarmActions).toEqual(["arn:aws:mock:us-east-1:123456789012:UmamiAlarmsTopic"]);
      expect(alarm(name).okActions).toEqual(["arn:aws:mock:us-east-1:123456789012:UmamiAlarmsTopic"]);
    }
  });

  it("creates a dashboard with CPU, connections, IOPS and volume bytes for the cluster", async () => {
    const { ofType } = await build();
    const dashboards = ofType("aws:cloudwatch/dashboard:Dashboard");
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0].inputs.dashboardName).toBe("umami-db-dev");
    const body = JSON.parse(dashboards[0].inputs.dashboardBody as string);
    expect(body.widgets.map((w: { properties: { title: string } }) => w.properties.title)).toEqual([
      "CPU utilization (%)",
      "Database connections",
      "IOPS",
      "Cluster volume bytes used",
      "Alert rules",
    ]);
    expect(body.widgets[4]).toMatchObject({
      type: "alarm",
      properties: {
        alarms: ["Cpu", "Connections", "StorageGrowth"].map(
          (n) => `arn:aws:mock:us-east-1:123456789012:UmamiAlarms${n}`,
        ),
      },
    });
    const metrics = body.widgets
      .filter((w: { type: string }) => w.type === "metric")
      .flatMap((w: { properties: { metrics: unknown[][] } }) =>
        w.properties.metrics.map((x) => x.slice(0, 4).join(" ")),
      );
    expect(metrics).toEqual([
      "AWS/RDS CPUUtilization DBInstanceIdentifier app-aurora-dev-instance-1",
      "AWS/RDS DatabaseConnections DBInstanceIdentifier app-aurora-dev-instance-1",
      "AWS/RDS ReadIOPS DBInstanceIdentifier app-aurora-dev-instance-1",
      "AWS/RDS WriteIOPS DBInstanceIdentifier app-aurora-dev-instance-1",
      "AWS/RDS VolumeReadIOPs DBClusterIdentifier app-aurora-dev",
      "AWS/RDS VolumeWriteIOPs DBClusterIdentifier app-aurora-dev",
      "AWS/RDS VolumeBytesUsed DBClusterIdentifier app-aurora-dev",
    ]);
    for (const w of body.widgets.filter((x: { type: string }) => x.type === "metric"))
      expect(w.properties.region).toBe("eu-west-1");
    expect(body.widgets[0].properties.annotations.horizontal[0].value).toBe(70);
    expect(body.widgets[1].properties.annotations.horizontal[0].value).toBe(1342);
  });

  it("parents every resource to the component", async () => {
    const { alarms } = await build({ alarmEmail: "dba@example.com" });
    expect(created.filter((r) => r.type === m.CLUSTER_ALARMS_TYPE).map((r) => r.name)).toEqual(["UmamiAlarms"]);
    expect(created.filter((r) => r.type !== m.CLUSTER_ALARMS_TYPE)).toHaveLength(6);
    // A child's URN carries its parent's type: …::umami:observability:ClusterAlarms$aws:…
    const urns = await value(
      pulumi.all([
        alarms.cpuAlarm.urn,
        alarms.connectionsAlarm.urn,
        alarms.storageAlarm.urn,
        alarms.dashboard.urn,
        alarms.topic!.urn,
      ]),
    );
    for (const urn of urns) expect(urn).toContain(`${m.CLUSTER_ALARMS_TYPE}$aws:`);
  });
});
