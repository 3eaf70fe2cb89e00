/**
 * The periods a baseline asks CloudWatch for: whole minutes (Aurora's metrics are standard resolution).
 * Apart from `cloudwatch.ts` so that the CLI can check the flag while parsing without loading the AWS SDK.
 */

/** Whether `seconds` is a period CloudWatch accepts here: a whole number of minutes, at least one. */
export function isCloudWatchPeriod(seconds: number): boolean {
  return Number.isInteger(seconds) && seconds >= 60 && seconds % 60 === 0;
}

/** CloudWatch keeps 1-minute points of standard-resolution metrics for 15 days; a short window uses them. */
const ONE_MINUTE_POINTS_UP_TO_MS = 3 * 3_600_000;

/**
 * The window of a baseline ending at `end`: `hours` back, or, for an "after" baseline, from where the "before"
 * one's window ended (`since`: the change happened in between), never more than `hours` back and at least one
 * minute. Points of 5 minutes over a long window, of 1 minute over a short one (a deploy's few minutes).
 */
export function baselineWindow(
  end: Date,
  hours: number,
  since?: Date,
): { start: Date; end: Date; periodSeconds: number } {
  const earliest = end.getTime() - hours * 3_600_000;
  const start = since ? Math.min(Math.max(since.getTime(), earliest), end.getTime() - 60_000) : earliest;
  return { start: new Date(start), end, periodSeconds: end.getTime() - start <= ONE_MINUTE_POINTS_UP_TO_MS ? 60 : 300 };
}
