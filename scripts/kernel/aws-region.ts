/**
 * The region an AWS SDK v3 client resolved, for error messages ("… in us-east-1"); undefined when it has none.
 */

/** The region an SDK client is configured with (`config.region` is a value or an async provider). */
export async function sdkClientRegion(client: { config: { region: unknown } }): Promise<string | undefined> {
  try {
    const region = client.config.region;
    const value = typeof region === "function" ? await (region as () => Promise<unknown>)() : region;
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}
