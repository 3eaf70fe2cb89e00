import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataCommandOutput } from "@aws-sdk/client-cloudwatch";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import {
  AURORA_METRICS,
  buildMetricQueries,
  fetchAuroraMetrics,
  resolveWindow,
} from "../../../scripts/evidence/cloudwatch.js";
import { UserError } from "../../../scripts/kernel/errors.js";
import { baselineWindow } from "../../../scripts/evidence/cloudwatch-period.js";
import { cloudWatchOptions } from "../../../scripts/commands/cloudwatch-options.js";

const cw = mockClient(CloudWatchClient);
afterEach(() => cw.reset());

const client = () =>
  new CloudWatchClient({
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "example" },
  });
const request = {
  clusterId: "app-aurora-dev",
  instanceId: "app-aurora-dev-instance-1",
  start: new Date("2026-11-24T00:00:00Z"),
  end: new Date("2026-11-25T00:00:00Z"),
};
const t = (minutes: number) => new Date(Date.parse("2026-11-24T00:00:00Z") + minutes * 60_000);

// Shaped like AWS's documented GetMetricData output: MetricDataResults[{Id, Label, Timestamps, Values, StatusCode,
// Messages}], NextToken, Messages — Timestamps[x] belongs to Values[x].
function result(
  id: string,
  values: number[],
  status: "Complete" | "PartialData" | "InternalError" | "Forbidden" = "Complete",
) {
  return {
    Id: id,
    Label: id,
    Timestamps: values.map((_, i) => t(5 * i)),
    Values: values,
    StatusCode: status,
    Messages: [],
  };
}
function page(results: ReturnType<typeof result>[], nextToken?: string): GetMetricDataCommandOutput {
  return { MetricDataResults: results, NextToken: nextToken, Messages: [], $metadata: { httpStatusCode: 200 } };
}
const everySeries = (avg: number[], max: number[]) =>
  AURORA_METRICS.flatMap((m) => [
    result(`avg_${m.name.toLowerCase()}`, avg),
    result(`max_${m.name.toLowerCase()}`, max),
  ]);

describe("buildMetricQueries", () => {
  it("asks for Average and Maximum of each metric with the dimension of its level", () => {
    const queries = buildMetricQueries(request, 300);
    expect(queries).toHaveLength(AURORA_METRICS.length * 2);
    const cpu = queries.find((q) => q.Id === "avg_cpuutilization")!;
    expect(cpu.MetricStat).toEqual({
      Metric: {
        Namespace: "AWS/RDS",
        MetricName: "CPUUtilization",
        Dimensions: [{ Name: "DBInstanceIdentifier", Value: "app-aurora-dev-instance-1" }],
      },
      Period: 300,
      Stat: "Average",
    });
    const volume = queries.find((q) => q.Id === "max_volumebytesused")!;
    expect(volume.MetricStat?.Metric?.Dimensions).toEqual([{ Name: "DBClusterIdentifier", Value: "app-aurora-dev" }]);
    expect(volume.MetricStat?.Stat).toBe("Maximum");
    for (const q of queries) expect(q.Id).toMatch(/^[a-z][a-zA-Z0-9_]*$/);
  });
});

describe("resolveWindow", () => {
  it("defaults to the 24 hours before now with 5-minute points", () => {
    const now = new Date("2026-11-25T12:00:00Z");
    expect(resolveWindow({}, now)).toEqual({ start: new Date("2026-11-24T12:00:00Z"), end: now, periodSeconds: 300 });
  });
  it("rejects an empty window and a period that is not a multiple of 60", () => {
    expect(() => resolveWindow({ start: t(10), end: t(10) })).toThrow(UserError);
    expect(() => resolveWindow({ periodSeconds: 90 })).toThrow(/multiple of 60/);
  });
});

describe('baselineWindow: where post-deploy\'s "after" window starts', () => {
  const end = new Date("2026-12-04T12:00:00.000Z");
  it('is the 24 hours before now with 5-minute points when there is no "before" (preflight)', () => {
    expect(baselineWindow(end, 24)).toEqual({ start: new Date("2026-12-03T12:00:00.000Z"), end, periodSeconds: 300 });
  });
  it('starts where the "before" window ended, with 1-minute points over a deploy\'s few minutes', () => {
    expect(baselineWindow(end, 24, new Date("2026-12-04T11:48:00.000Z"))).toEqual({
      start: new Date("2026-12-04T11:48:00.000Z"),
      end,
      periodSeconds: 60,
    });
  });
  it("goes back at most --window-hours after a preflight days ago, and covers at least one minute", () => {
    expect(baselineWindow(end, 24, new Date("2026-12-01T09:00:00.000Z"))).toEqual({
      start: new Date("2026-12-03T12:00:00.000Z"),
      end,
      periodSeconds: 300,
    });
    expect(baselineWindow(end, 24, new Date("2026-12-04T11:59:50.000Z")).start).toEqual(
      new Date("2026-12-04T11:59:00.000Z"),
    );
  });
});

describe("cloudWatchOptions", () => {
  const resolved = {
    admin: { host: "app.cluster-abc.us-east-1.rds.amazonaws.com" },
    cloudwatch: { region: "us-east-1", clusterId: "app", instanceId: "app-instance-1" },
  };
  const flags = { cloudwatch: true, windowHours: 24 };
  it("gives post-deploy a window that starts where preflight's ended, not the 24 hours that overlap it", async () => {
    const since = new Date(Date.now() - 10 * 60_000);
    const options = await cloudWatchOptions(resolved, flags, since);
    expect(options).toMatchObject({ clusterId: "app", instanceId: "app-instance-1", start: since, periodSeconds: 60 });
    expect(options!.end!.getTime() - since.getTime()).toBeGreaterThanOrEqual(10 * 60_000);
  });
  it("reads nothing for a database on this machine or with --no-cloudwatch", async () => {
    expect(
      await cloudWatchOptions({ ...resolved, admin: { host: "127.0.0.1" } } as typeof resolved, flags),
    ).toBeUndefined();
    expect(await cloudWatchOptions(resolved, { ...flags, cloudwatch: false })).toBeUndefined();
  });
});

describe("fetchAuroraMetrics", () => {
  it("sends one request for every series and summarises average and maximum", async () => {
    cw.on(GetMetricDataCommand).resolves(page(everySeries([10, 20, 30], [15, 45, 35])));
    const summaries = await fetchAuroraMetrics(client(), request);
    expect(cw.commandCalls(GetMetricDataCommand)).toHaveLength(1);
    const input = cw.commandCalls(GetMetricDataCommand)[0].args[0].input;
    expect(input.MetricDataQueries).toHaveLength(16);
    expect(input.StartTime).toEqual(request.start);
    expect(input.EndTime).toEqual(request.end);
    expect(summaries.map((s) => s.metric)).toEqual(AURORA_METRICS.map((m) => m.name));
    const cpu = summaries.find((s) => s.metric === "CPUUtilization")!;
    expect(cpu).toEqual({
      metric: "CPUUtilization",
      level: "instance",
      dimension: { name: "DBInstanceIdentifier", value: request.instanceId },
      unit: "Percent",
      average: 20,
      maximum: 45,
      datapoints: 3,
      // The series itself, for the charts: each period's Average and Maximum joined on their timestamp.
      points: [
        { t: t(0).toISOString(), average: 10, maximum: 15 },
        { t: t(5).toISOString(), average: 20, maximum: 45 },
        { t: t(10).toISOString(), average: 30, maximum: 35 },
      ],
    });
    expect(summaries.find((s) => s.metric === "VolumeWriteIOPs")!.dimension).toEqual({
      name: "DBClusterIdentifier",
      value: request.clusterId,
    });
  });

  it("follows NextToken and merges the pages of each series", async () => {
    cw.on(GetMetricDataCommand)
      .resolvesOnce(page(everySeries([10, 20], [11, 21]), "token-1"))
      .resolvesOnce(page(everySeries([30], [99]), "token-2"))
      .resolvesOnce(page(everySeries([40], [12])));
    const summaries = await fetchAuroraMetrics(client(), request);
    const calls = cw.commandCalls(GetMetricDataCommand);
    expect(calls.map((c) => c.args[0].input.NextToken)).toEqual([undefined, "token-1", "token-2"]);
    const conn = summaries.find((s) => s.metric === "DatabaseConnections")!;
    expect(conn).toMatchObject({ average: 25, maximum: 99, datapoints: 4 });
    expect(conn.note).toBeUndefined();
  });

  it("reports a series without data points as null with a note, and partial data", async () => {
    const results = everySeries([1, 2], [3, 4]).map((r) =>
      r.Id.endsWith("volumebytesused")
        ? result(r.Id, [])
        : r.Id === "avg_readiops"
          ? result(r.Id, [5], "PartialData")
          : r,
    );
    cw.on(GetMetricDataCommand).resolves(page(results));
    const summaries = await fetchAuroraMetrics(client(), request);
    const bytes = summaries.find((s) => s.metric === "VolumeBytesUsed")!;
    expect(bytes).toMatchObject({ average: null, maximum: null, datapoints: 0 });
    expect(bytes.note).toMatch(/no data points .* DBClusterIdentifier "app-aurora-dev"/);
    expect(summaries.find((s) => s.metric === "ReadIOPS")!.note).toMatch(/avg_readiops: status PartialData/);
  });

  it("says to check the region and identifiers when no series has any data point", async () => {
    cw.on(GetMetricDataCommand).resolves(page(everySeries([], [])));
    const failure = await fetchAuroraMetrics(client(), request).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UserError);
    expect((failure as Error).message).toMatch(
      /no Aurora metrics for cluster "app-aurora-dev" \/ instance "app-aurora-dev-instance-1" in us-east-1 .* Check --region/,
    );
  });

  it("turns AccessDenied, throttling, unknown regions and bad parameters into one-line UserErrors", async () => {
    const cases: [Error & { code?: string }, RegExp][] = [
      [
        Object.assign(new Error("User is not authorized to perform: cloudwatch:GetMetricData"), {
          name: "AccessDenied",
        }),
        /Grant cloudwatch:GetMetricData/,
      ],
      [Object.assign(new Error("Rate exceeded"), { name: "Throttling" }), /throttled .* after the SDK's retries/],
      [
        Object.assign(new Error("getaddrinfo ENOTFOUND monitoring.us-east-9.amazonaws.com"), { code: "ENOTFOUND" }),
        /Check --region/,
      ],
      [
        Object.assign(new Error("The security token included in the request is invalid."), {
          name: "InvalidClientTokenId",
        }),
        /credentials/,
      ],
      [
        Object.assign(new Error("The parameter Period must be a multiple of 60."), { name: "InvalidParameterValue" }),
        /Check --cluster-id/,
      ],
    ];
    for (const [error, message] of cases) {
      cw.reset();
      cw.on(GetMetricDataCommand).rejects(error);
      const failure = await fetchAuroraMetrics(client(), request).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(UserError);
      expect((failure as Error).message).toMatch(message);
      expect((failure as Error).message).not.toContain("\n");
    }
  });

  it("keeps an unknown failure as a bug", async () => {
    cw.on(GetMetricDataCommand).rejects(new TypeError("boom"));
    const failure = await fetchAuroraMetrics(client(), request).catch((e: unknown) => e);
    expect(failure).not.toBeInstanceOf(UserError);
  });
});
