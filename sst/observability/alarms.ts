/**
 * CloudWatch alarms for the story's three alert rules on the *existing* Aurora cluster — CPU > 70 %,
 * connections > 80 % of `max_connections`, storage growth > 1 GB/month — an optional SNS topic that e-mails
 * them, and a dashboard (CPU, connections, IOPS, volume bytes) a person can look at after a deploy.
 * @see https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.AuroraMonitoring.Metrics.html
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { UserError } from "../errors.js";
import { DEFAULT_REGION, type ClusterSpec } from "../database/spec.js";

/** The component's Pulumi type token. */
export const CLUSTER_ALARMS_TYPE = "umami:observability:ClusterAlarms";

/** The story's alert rules, in one place. */
const ALERT_RULES = {
  cpuPercent: 70,
  connectionsFractionOfMax: 0.8,
  /** 1 GB as the story writes it (10^9 bytes), per 30 days. */
  storageGrowthBytesPerMonth: 1_000_000_000,
} as const;

const SECONDS_PER_MONTH = 30 * 24 * 3600;

/**
 * Memory (GiB) of the instance classes Aurora PostgreSQL runs on, for the default `max_connections`.
 * Memory depends only on the size within the memory-optimised families (r5, r6g, r6i, r7g, r7i, r8g).
 */
const INSTANCE_CLASS_MEMORY_GIB: Readonly<Record<string, number>> = {
  "db.t3.medium": 4,
  "db.t3.large": 8,
  "db.t4g.medium": 4,
  "db.t4g.large": 8,
  ...Object.fromEntries(
    ["r5", "r6g", "r6i", "r7g", "r7i", "r8g"].flatMap((family) =>
      Object.entries({
        large: 16,
        xlarge: 32,
        "2xlarge": 64,
        "4xlarge": 128,
        "8xlarge": 256,
        "12xlarge": 384,
        "16xlarge": 512,
        "24xlarge": 768,
        "32xlarge": 1024,
      }).map(([size, gib]) => [`db.${family}.${size}`, gib]),
    ),
  ),
};

/**
 * Aurora PostgreSQL's default `max_connections`: `LEAST({DBInstanceClassMemory/9531392}, 5000)`, computed
 * as AWS's own worked example does (GiB × 10^9 bytes). The instance's real `DBInstanceClassMemory` is a
 * little lower than nominal, so when precision matters set `maxConnections` from `SHOW max_connections`.
 */
export function defaultMaxConnections(instanceClass: string): number {
  const gib = INSTANCE_CLASS_MEMORY_GIB[instanceClass];
  if (gib === undefined) {
    throw new UserError(
      `Unknown instance class ${JSON.stringify(instanceClass)} for the connections alarm (known: db.t3/t4g.medium|large, db.r5/r6g/r6i/r7g/r7i/r8g.*). ` +
        "Set maxConnections in sst/stages.ts to the value of SHOW max_connections.",
    );
  }
  return Math.min(Math.floor((gib * 1e9) / 9531392), 5000);
}

/** The alarms' arguments for a stage, from its settings in sst/stages.ts (without an instance: the cluster's writer role). */
export function clusterAlarmsArgs(
  stage: string,
  settings: Pick<
    ClusterSpec,
    "clusterIdentifier" | "instanceIdentifier" | "maxConnections" | "instanceClass" | "alarmEmail" | "region"
  >,
  tags: Record<string, string>,
): ClusterAlarmsArgs {
  return {
    stage,
    clusterIdentifier: settings.clusterIdentifier,
    instanceIdentifier: settings.instanceIdentifier,
    maxConnections: settings.maxConnections,
    instanceClass: settings.instanceClass,
    alarmEmail: settings.alarmEmail,
    tags,
    region: settings.region,
  };
}

/** Arguments of {@link ClusterAlarms}. */
export interface ClusterAlarmsArgs {
  /** The stage; names the alarms and the dashboard (`umami-db-<stage>-…`). */
  stage: string;
  /** Identifier of the existing Aurora cluster (cluster-level metrics: `VolumeBytesUsed`, `Volume*IOPs`). */
  clusterIdentifier: pulumi.Input<string>;
  /**
   * Watch this instance for CPU, connections and IOPS. Without it the alarms and the dashboard read the
   * cluster's writer role (dimensions `DBClusterIdentifier` + `Role=WRITER`, AWS's documented Aurora
   * dimensions), which follows a failover and needs no instance name.
   * @default the cluster's writer role
   */
  instanceIdentifier?: pulumi.Input<string>;
  /**
   * `max_connections` of the instance; the connections alarm fires above 80 % of it.
   * @default derived from `instanceClass` with Aurora's default formula
   */
  maxConnections?: number;
  /**
   * Instance class of the writer, used when `maxConnections` is not given.
   * @example "db.r6g.large"
   */
  instanceClass?: string;
  /**
   * E-mail address for alarm notifications. When set, an SNS topic and an e-mail subscription are created
   * (the address must confirm the subscription). When unset, the alarms only change state.
   */
  alarmEmail?: string;
  /**
   * Tags for the alarms and the topic (dashboards cannot be tagged).
   * @example
   * ```ts
   * { tags: stackTags($app.stage) }
   * ```
   */
  tags: Record<string, string>;
  /** Region shown in the dashboard's widgets. @default the aws provider's region, else DEFAULT_REGION (us-east-1) */
  region?: string;
}

/**
 * The story's three alarms, an optional SNS topic, and a dashboard for the cluster.
 *
 * @example
 * ```ts
 * new ClusterAlarms("UmamiAlarms", {
 *   stage: $app.stage, clusterIdentifier: "app-aurora-dev",
 *   instanceClass: "db.r6g.large", tags: stackTags($app.stage),
 * });
 * ```
 */
export class ClusterAlarms extends pulumi.ComponentResource {
  readonly cpuAlarm: aws.cloudwatch.MetricAlarm;
  readonly connectionsAlarm: aws.cloudwatch.MetricAlarm;
  readonly storageAlarm: aws.cloudwatch.MetricAlarm;
  /** The notification topic, when `alarmEmail` was given. */
  readonly topic?: aws.sns.Topic;
  readonly dashboard: aws.cloudwatch.Dashboard;
  /** The `max_connections` the connections alarm is computed from. */
  readonly maxConnections: number;
  /** Connections above which the connections alarm fires. */
  readonly connectionsThreshold: number;

  constructor(name: string, args: ClusterAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(CLUSTER_ALARMS_TYPE, name, {}, opts);
    this.maxConnections = resolveMaxConnections(args);
    this.connectionsThreshold = Math.floor(this.maxConnections * ALERT_RULES.connectionsFractionOfMax);
    this.topic = args.alarmEmail ? this.createTopic(name, args) : undefined;
    const actions = this.topic ? [this.topic.arn] : [];
    this.cpuAlarm = this.createCpuAlarm(name, args, actions);
    this.connectionsAlarm = this.createConnectionsAlarm(name, args, actions);
    this.storageAlarm = this.createStorageAlarm(name, args, actions);
    this.dashboard = this.createDashboard(name, args);
    this.registerOutputs({ dashboardName: this.dashboard.dashboardName, topicArn: this.topic?.arn });
  }

  private createTopic(name: string, args: ClusterAlarmsArgs): aws.sns.Topic {
    const topic = new aws.sns.Topic(
      `${name}Topic`,
      { name: `umami-db-${args.stage}-alarms`, tags: args.tags },
      { parent: this },
    );
    new aws.sns.TopicSubscription(
      `${name}EmailSubscription`,
      { topic: topic.arn, protocol: "email", endpoint: args.alarmEmail! },
      { parent: this },
    );
    return topic;
  }

  private createCpuAlarm(
    name: string,
    args: ClusterAlarmsArgs,
    actions: pulumi.Input<string>[],
  ): aws.cloudwatch.MetricAlarm {
    // Three 5-minute averages in a row: a vacuum or a deploy spike should not page anyone.
    return this.writerAlarm(`${name}Cpu`, args, actions, {
      name: `umami-db-${args.stage}-cpu-above-${ALERT_RULES.cpuPercent}`,
      alarmDescription: `CPU of ${args.stage}'s Aurora writer above ${ALERT_RULES.cpuPercent} % for 15 minutes.`,
      metricName: "CPUUtilization",
      statistic: "Average",
      evaluationPeriods: 3,
      threshold: ALERT_RULES.cpuPercent,
    });
  }

  private createConnectionsAlarm(
    name: string,
    args: ClusterAlarmsArgs,
    actions: pulumi.Input<string>[],
  ): aws.cloudwatch.MetricAlarm {
    return this.writerAlarm(`${name}Connections`, args, actions, {
      name: `umami-db-${args.stage}-connections-above-80pct`,
      alarmDescription: `Connections above ${this.connectionsThreshold} (80 % of max_connections ${this.maxConnections}) for 10 minutes.`,
      metricName: "DatabaseConnections",
      statistic: "Maximum",
      evaluationPeriods: 2,
      threshold: this.connectionsThreshold,
    });
  }

  /** An alarm on one of the writer's metrics over 5-minute periods, above `threshold`; what differs is passed in. */
  private writerAlarm(
    id: string,
    args: ClusterAlarmsArgs,
    actions: pulumi.Input<string>[],
    alarm: Pick<
      aws.cloudwatch.MetricAlarmArgs,
      "name" | "alarmDescription" | "metricName" | "statistic" | "evaluationPeriods" | "threshold"
    >,
  ): aws.cloudwatch.MetricAlarm {
    return new aws.cloudwatch.MetricAlarm(
      id,
      {
        ...alarm,
        namespace: "AWS/RDS",
        dimensions: writerDimensions(args),
        period: 300,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "missing",
        alarmActions: actions,
        okActions: actions,
        tags: args.tags,
      },
      { parent: this },
    );
  }

  /**
   * Growth as a monthly rate: `RATE()` of the daily maximum of VolumeBytesUsed (bytes per second between
   * consecutive days) × 30 days. A literal "difference over 30 days" is impossible — an alarm evaluates at most
   * 7 days of daily periods — so the alarm fires when three of four days grow faster than 1 GB/30 days
   * (≈ 33 MB a day): sustained growth, not a single bulk load. Four periods, not three: `RATE()` has no value
   * for the first point of a window that holds no earlier one, and with 3 of 3 that missing day
   * (not breaching) could keep the alarm from ever firing.
   */
  private createStorageAlarm(
    name: string,
    args: ClusterAlarmsArgs,
    actions: pulumi.Input<string>[],
  ): aws.cloudwatch.MetricAlarm {
    return new aws.cloudwatch.MetricAlarm(
      `${name}StorageGrowth`,
      {
        name: `umami-db-${args.stage}-storage-growth-above-1gb-month`,
        alarmDescription: "Cluster volume growing faster than 1 GB per month (daily rate, on 3 of the last 4 days).",
        metricQueries: [
          {
            id: "bytes",
            metric: {
              namespace: "AWS/RDS",
              metricName: "VolumeBytesUsed",
              dimensions: { DBClusterIdentifier: args.clusterIdentifier },
              period: 86400,
              stat: "Maximum",
            },
            returnData: false,
          },
          {
            id: "growth",
            expression: `RATE(bytes) * ${SECONDS_PER_MONTH}`,
            label: "Volume growth (bytes per 30 days)",
            returnData: true,
          },
        ],
        evaluationPeriods: 4,
        datapointsToAlarm: 3,
        threshold: ALERT_RULES.storageGrowthBytesPerMonth,
        comparisonOperator: "GreaterThanThreshold",
        // Days without a data point (e.g. the first day) are not growth.
        treatMissingData: "notBreaching",
        alarmActions: actions,
        okActions: actions,
        tags: args.tags,
      },
      { parent: this },
    );
  }

  private createDashboard(name: string, args: ClusterAlarmsArgs): aws.cloudwatch.Dashboard {
    const region = args.region ?? aws.config.region ?? DEFAULT_REGION;
    const body = pulumi
      .all([
        args.clusterIdentifier,
        args.instanceIdentifier ?? "",
        this.cpuAlarm.arn,
        this.connectionsAlarm.arn,
        this.storageAlarm.arn,
      ])
      .apply(([cluster, instance, ...alarmArns]) =>
        JSON.stringify(
          dashboardBody({
            region,
            cluster,
            instance: instance || undefined,
            connectionsThreshold: this.connectionsThreshold,
            alarmArns,
          }),
        ),
      );
    return new aws.cloudwatch.Dashboard(
      `${name}Dashboard`,
      { dashboardName: `umami-db-${args.stage}`, dashboardBody: body },
      { parent: this },
    );
  }
}

/** The dimensions of the writer's metrics: the named instance, else the cluster's WRITER role. */
function writerDimensions(args: ClusterAlarmsArgs): Record<string, pulumi.Input<string>> {
  return args.instanceIdentifier !== undefined
    ? { DBInstanceIdentifier: args.instanceIdentifier }
    : { DBClusterIdentifier: args.clusterIdentifier, Role: "WRITER" };
}

function resolveMaxConnections(args: ClusterAlarmsArgs): number {
  if (args.maxConnections !== undefined) {
    if (!Number.isInteger(args.maxConnections) || args.maxConnections < 1) {
      throw new UserError(
        `maxConnections must be a whole number of at least 1 (got ${args.maxConnections}). Use the value of SHOW max_connections.`,
      );
    }
    return args.maxConnections;
  }
  if (!args.instanceClass) {
    throw new UserError(
      `Stage ${args.stage} sets neither maxConnections nor instanceClass, so the connections alarm has no threshold. Set one in sst/stages.ts.`,
    );
  }
  return defaultMaxConnections(args.instanceClass);
}

/** The dashboard's body: CPU, connections, IOPS and volume bytes, with the alarm thresholds drawn in. */
function dashboardBody(p: {
  region: string;
  cluster: string;
  instance?: string;
  connectionsThreshold: number;
  alarmArns: string[];
}): object {
  const instance = (metric: string) =>
    p.instance
      ? ["AWS/RDS", metric, "DBInstanceIdentifier", p.instance]
      : ["AWS/RDS", metric, "DBClusterIdentifier", p.cluster, "Role", "WRITER"];
  const cluster = (metric: string) => ["AWS/RDS", metric, "DBClusterIdentifier", p.cluster];
  const widget = (x: number, y: number, title: string, metrics: unknown[], extra: object = {}) => ({
    type: "metric",
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, region: p.region, view: "timeSeries", stacked: false, period: 300, metrics, ...extra },
  });
  return {
    widgets: [
      widget(0, 0, "CPU utilization (%)", [[...instance("CPUUtilization"), { stat: "Average" }]], {
        yAxis: { left: { min: 0, max: 100 } },
        annotations: { horizontal: [{ label: "alarm", value: ALERT_RULES.cpuPercent }] },
      }),
      widget(12, 0, "Database connections", [[...instance("DatabaseConnections"), { stat: "Maximum" }]], {
        annotations: { horizontal: [{ label: "alarm (80 % of max_connections)", value: p.connectionsThreshold }] },
      }),
      widget(0, 6, "IOPS", [
        [...instance("ReadIOPS"), { stat: "Average" }],
        [...instance("WriteIOPS"), { stat: "Average" }],
        [...cluster("VolumeReadIOPs"), { stat: "Average", yAxis: "right" }],
        [...cluster("VolumeWriteIOPs"), { stat: "Average", yAxis: "right" }],
      ]),
      widget(12, 6, "Cluster volume bytes used", [[...cluster("VolumeBytesUsed"), { stat: "Maximum" }]], {
        period: 3600,
      }),
      // The three alarms' states at a glance, first thing to look at after a deploy.
      { type: "alarm", x: 0, y: 12, width: 24, height: 2, properties: { title: "Alert rules", alarms: p.alarmArns } },
    ],
  };
}
