/**
 * The periods a baseline asks CloudWatch for: whole minutes (Aurora's metrics are standard resolution).
 * Apart from `cloudwatch.ts` so that the CLI can check the flag while parsing without loading the AWS SDK.
 */

/** Whether `seconds` is a period CloudWatch accepts here: a whole number of minutes, at least one. */
export function isCloudWatchPeriod(seconds: number): boolean {
  return Number.isInteger(seconds) && seconds >= 60 && seconds % 60 === 0;
}
