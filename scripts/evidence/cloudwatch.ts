/**
 * Aurora's CloudWatch figures for a baseline: every series in ONE `GetMetricData` request (paged with
 * `NextToken`), summarised as average and maximum over the window. Instance-level metrics use the
 * `DBInstanceIdentifier` dimension, cluster-volume metrics `DBClusterIdentifier` — Aurora publishes
 * `VolumeBytesUsed`/`Volume*IOPs` only per cluster, and has no `FreeStorageSpace` for cluster storage.
 * @see https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.AuroraMonitoring.Metrics.html
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
 */
import {
  GetMetricDataCommand,
  type CloudWatchClient,
  type MetricDataQuery,
  type MetricDataResult,
} from "@aws-sdk/client-cloudwatch";
import { UserError } from "../kernel/errors.js";
import { sdkClientRegion } from "../kernel/aws-region.js";
import { isCloudWatchPeriod } from "./cloudwatch-period.js";

/** Which dimension a metric is published under. */
export type MetricLevel = "instance" | "cluster";

/** The Aurora metrics a baseline reads, with their level and unit. */
export const AURORA_METRICS = [
  { name: "CPUUtilization", level: "instance", unit: "Percent" },
  { name: "DatabaseConnections", level: "instance", unit: "Count" },
  { name: "ReadIOPS", level: "instance", unit: "Count/Second" },
  { name: "WriteIOPS", level: "instance", unit: "Count/Second" },
  { name: "FreeableMemory", level: "instance", unit: "Bytes" },
  // Billed I/O operations of the cluster volume, reported per 5-minute interval.
  { name: "VolumeReadIOPs", level: "cluster", unit: "Count" },
  { name: "VolumeWriteIOPs", level: "cluster", unit: "Count" },
  { name: "VolumeBytesUsed", level: "cluster", unit: "Bytes" },
] as const satisfies readonly { name: string; level: MetricLevel; unit: string }[];

/** One of the metric names in `AURORA_METRICS`. */
export type AuroraMetricName = (typeof AURORA_METRICS)[number]["name"];

/** What to read and over which window. */
export interface AuroraMetricsRequest {
  clusterId: string;
  instanceId: string;
  /** @default 24 hours before `end` (the story's baseline window) */
  start?: Date;
  /** @default now */
  end?: Date;
  /** Seconds per data point; 60 or a multiple of it. @default 300 */
  periodSeconds?: number;
}

/** Average and maximum of one series over the window; `null` when CloudWatch returned no data point. */
export interface MetricSummary {
  metric: AuroraMetricName;
  level: MetricLevel;
  dimension: { name: "DBInstanceIdentifier" | "DBClusterIdentifier"; value: string };
  unit: string;
  average: number | null;
  maximum: number | null;
  datapoints: number;
  /** The series itself, one point per period (oldest first), for the charts; absent in baselines of older versions. */
  points?: MetricPoint[];
  /** Why a figure is missing or incomplete. */
  note?: string;
}

/** One period of a series: its Average and Maximum. */
export interface MetricPoint {
  t: string;
  average: number | null;
  maximum: number | null;
}

/** The default window, in hours. */
const DEFAULT_WINDOW_HOURS = 24;
const DEFAULT_PERIOD_SECONDS = 300;

/** The resolved window of a request (defaults applied, validated). */
export function resolveWindow(
  request: Pick<AuroraMetricsRequest, "start" | "end" | "periodSeconds">,
  now: Date = new Date(),
): {
  start: Date;
  end: Date;
  periodSeconds: number;
} {
  const end = request.end ?? now;
  const start = request.start ?? new Date(end.getTime() - DEFAULT_WINDOW_HOURS * 3_600_000);
  const periodSeconds = request.periodSeconds ?? DEFAULT_PERIOD_SECONDS;
  if (!(start.getTime() < end.getTime())) {
    throw new UserError(
      `The CloudWatch window starts (${start.toISOString()}) at or after it ends (${end.toISOString()}). Give a start before the end.`,
    );
  }
  if (!isCloudWatchPeriod(periodSeconds)) {
    throw new UserError(`The CloudWatch period must be a multiple of 60 seconds (got ${periodSeconds}). Use e.g. 300.`);
  }
  return { start, end, periodSeconds };
}

// Query ids must start with a lower-case letter and contain only letters, digits and underscores.
const queryId = (metric: string, stat: "avg" | "max") => `${stat}_${metric.toLowerCase()}`;

/** The `MetricDataQueries` of the one request: an Average and a Maximum query per metric. */
export function buildMetricQueries(
  request: Pick<AuroraMetricsRequest, "clusterId" | "instanceId">,
  periodSeconds: number,
): MetricDataQuery[] {
  return AURORA_METRICS.flatMap((m) => {
    const dimension =
      m.level === "instance"
        ? { Name: "DBInstanceIdentifier", Value: request.instanceId }
        : { Name: "DBClusterIdentifier", Value: request.clusterId };
    return (["Average", "Maximum"] as const).map((stat) => ({
      Id: queryId(m.name, stat === "Average" ? "avg" : "max"),
      Label: `${m.name} ${stat}`,
      MetricStat: {
        Metric: { Namespace: "AWS/RDS", MetricName: m.name, Dimensions: [dimension] },
        Period: periodSeconds,
        Stat: stat,
      },
      ReturnData: true,
    }));
  });
}

/** Reads every Aurora series in one paged GetMetricData request and summarises each. */
export async function fetchAuroraMetrics(
  client: CloudWatchClient,
  request: AuroraMetricsRequest,
): Promise<MetricSummary[]> {
  const { start, end, periodSeconds } = resolveWindow(request);
  const queries = buildMetricQueries(request, periodSeconds);
  const values = new Map<string, number[]>();
  const times = new Map<string, string[]>();
  const statuses = new Map<string, MetricDataResult["StatusCode"]>();
  const messages = new Map<string, string[]>();
  let nextToken: string | undefined;
  do {
    let page;
    try {
      page = await client.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          StartTime: start,
          EndTime: end,
          ScanBy: "TimestampAscending",
          NextToken: nextToken,
        }),
      );
    } catch (error) {
      throw describeCloudWatchError(error);
    }
    for (const result of page.MetricDataResults ?? []) {
      if (!result.Id) continue;
      values.set(result.Id, [...(values.get(result.Id) ?? []), ...(result.Values ?? [])]);
      times.set(result.Id, [
        ...(times.get(result.Id) ?? []),
        ...(result.Timestamps ?? []).map((t) => new Date(t).toISOString()),
      ]);
      statuses.set(result.Id, result.StatusCode);
      const texts = (result.Messages ?? []).map((m) => [m.Code, m.Value].filter(Boolean).join(": "));
      if (texts.length) messages.set(result.Id, [...(messages.get(result.Id) ?? []), ...texts]);
    }
    nextToken = page.NextToken;
  } while (nextToken);

  if (queries.every((q) => !(values.get(q.Id!) ?? []).length)) {
    // A live cluster always has CPUUtilization; nothing at all means the wrong region or identifiers.
    const region = await sdkClientRegion(client);
    throw new UserError(
      `CloudWatch has no Aurora metrics for cluster "${request.clusterId}" / instance "${request.instanceId}"${region ? ` in ${region}` : ""} ` +
        `between ${start.toISOString()} and ${end.toISOString()}. Check --region (the cluster's region), --cluster-id and --instance-id.`,
    );
  }
  return AURORA_METRICS.map((m) => {
    const avgId = queryId(m.name, "avg");
    const maxId = queryId(m.name, "max");
    const averages = values.get(avgId) ?? [];
    const maxima = values.get(maxId) ?? [];
    const summary: MetricSummary = {
      metric: m.name,
      level: m.level,
      dimension:
        m.level === "instance"
          ? { name: "DBInstanceIdentifier", value: request.instanceId }
          : { name: "DBClusterIdentifier", value: request.clusterId },
      unit: m.unit,
      // Each point is one period's Average; periods are equal, so their mean is the window's average.
      average: averages.length ? averages.reduce((a, b) => a + b, 0) / averages.length : null,
      maximum: maxima.length ? Math.max(...maxima) : null,
      datapoints: averages.length,
      points: seriesPoints(times.get(avgId) ?? [], averages, times.get(maxId) ?? [], maxima),
    };
    const notes: string[] = [];
    if (!averages.length) {
      notes.push(
        `no data points between ${start.toISOString()} and ${end.toISOString()} — check the region, the ${summary.dimension.name} "${summary.dimension.value}" and the window`,
      );
    }
    for (const id of [avgId, maxId]) {
      const status = statuses.get(id);
      if (status && status !== "Complete") notes.push(`${id}: status ${status}`);
      notes.push(...(messages.get(id) ?? []).map((t) => `${id}: ${t}`));
    }
    if (notes.length) summary.note = notes.join("; ");
    return summary;
  });
}

/** Joins the Average and Maximum series on their timestamps, oldest first. */
function seriesPoints(avgTimes: string[], averages: number[], maxTimes: string[], maxima: number[]): MetricPoint[] {
  const byTime = new Map<string, MetricPoint>();
  const at = (t: string) => byTime.get(t) ?? byTime.set(t, { t, average: null, maximum: null }).get(t)!;
  avgTimes.forEach((t, i) => (at(t).average = averages[i] ?? null));
  maxTimes.forEach((t, i) => (at(t).maximum = maxima[i] ?? null));
  return [...byTime.values()].sort((a, b) => a.t.localeCompare(b.t));
}

/** Turns an SDK failure into a one-line UserError with the remedy; unknown failures stay bugs. */
function describeCloudWatchError(error: unknown): Error {
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? e.code ?? "";
  const detail = (e.message ?? String(error)).split("\n")[0];
  if (/AccessDenied|NotAuthorized|UnauthorizedOperation/i.test(name)) {
    return new UserError(
      `CloudWatch refused GetMetricData (${name}: ${detail}). Grant cloudwatch:GetMetricData to the caller's IAM role, or leave out --cluster-id to capture PostgreSQL figures only.`,
      { cause: error },
    );
  }
  if (/Throttl|TooManyRequests|RequestLimitExceeded/i.test(name)) {
    return new UserError(
      `CloudWatch throttled GetMetricData even after the SDK's retries (${name}). Wait a minute and capture again, or capture with a longer --period-seconds.`,
      { cause: error },
    );
  }
  if (/UnrecognizedClient|InvalidClientTokenId|ExpiredToken|CredentialsProviderError|InvalidSignature/i.test(name)) {
    return new UserError(
      `AWS credentials were not accepted or not found (${name}). Log in (aws sso login / AWS_PROFILE) and retry.`,
      { cause: error },
    );
  }
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo/i.test(`${e.code ?? ""} ${detail}`)) {
    return new UserError(
      `The CloudWatch endpoint could not be resolved (${detail}). Check --region: it must be the cluster's AWS region, e.g. us-east-1.`,
      { cause: error },
    );
  }
  if (/InvalidParameter|ValidationError|InvalidNextToken/i.test(name)) {
    return new UserError(
      `CloudWatch rejected the request (${name}: ${detail}). Check --cluster-id, --instance-id and the window.`,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}
