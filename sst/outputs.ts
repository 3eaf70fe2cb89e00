/**
 * The stack's outputs: what `sst.config.ts` returns from `run()` and links as one resource (so that `sst shell`
 * exposes them to a command as `SST_RESOURCE_<name>`), and what `umami-db` reads back to reach a deployed
 * stage without the user typing a host. No secret among them: the secrets stay in Secrets Manager.
 */

/** Name of the linked resource whose properties `sst shell` exposes as `SST_RESOURCE_<name>`. */
export const LINKED_RESOURCE = "UmamiDatabase";

/** Each output and the kind of its value: text, or the port. */
export const STACK_OUTPUTS = {
  stage: "text",
  region: "text",
  secretArn: "text",
  secretName: "text",
  schema: "text",
  role: "text",
  host: "text",
  port: "port",
  database: "text",
  masterSecretArn: "text",
} as const;

/** The outputs, every one present: `Text` and `Port` are the values' types (Pulumi's outputs in the stack). */
export type StackOutputs<Text = string, Port = number> = {
  [K in keyof typeof STACK_OUTPUTS]: (typeof STACK_OUTPUTS)[K] extends "port" ? Port : Text;
};
