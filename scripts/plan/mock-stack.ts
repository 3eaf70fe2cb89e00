/**
 * Evaluates the `UmamiDatabase` component under `pulumi.runtime.setMocks`: no AWS account, no database, no
 * Pulumi CLI. The cluster lookup and the master secret are answered with stand-ins shaped like AWS's own
 * responses; every resource the component registers is recorded with its inputs (secrets marked), its
 * `dependsOn` and its protection. `setMocks` is process-global: evaluate one stack at a time.
 */
import { randomBytes, randomInt } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { UmamiDatabaseSpec } from "../../sst/database/spec.js";

/** Account id used in the stand-in ARNs. */
const MOCK_ACCOUNT_ID = "123456789012";

/** The mocks' stand-ins for what only AWS knows, as the plan marks them: the cluster's endpoint and the account. */
export function mockStandIns(spec: UmamiDatabaseSpec): string[] {
  const cluster = mockCluster(spec);
  return [
    `host ${cluster.endpoint} and account ${MOCK_ACCOUNT_ID} (ARNs, secrets): the offline plan's stand-ins; sst deploy reads the real ones from AWS`,
  ];
}
/** Aurora PostgreSQL's default master user name, which the stand-in cluster reports. */
export const MOCK_MASTER_USERNAME = "postgres";
/** The stand-in master password; it must never appear in a plan (tests check). */
export const MOCK_MASTER_PASSWORD = "mock-master-password-0f9e8d7c";

/** One resource as the component registered it. */
export interface EvaluatedResource {
  /** Pulumi type token, e.g. `postgresql:index/role:Role`. */
  type: string;
  /** Logical name, e.g. `UmamiRole`. */
  name: string;
  /** Whether it is a custom (cloud or provider) resource rather than a component. */
  custom: boolean;
  /** Inputs as the engine received them, secrets unwrapped (see `secretInputs`). */
  inputs: Record<string, unknown>;
  /** Input keys whose value was a Pulumi secret. */
  secretInputs: string[];
  /** Logical names of the resources in its `dependsOn` option. */
  dependsOn: string[];
  /** Logical name of the explicit provider, if any. */
  provider?: string;
  protect: boolean;
  retainOnDelete: boolean;
  /** Whether a replacement deletes the old resource before creating the new one. */
  deleteBeforeReplace: boolean;
  /** Inputs whose changes Pulumi ignores. */
  ignoreChanges: string[];
}

/** One provider function call (data source lookup) the component made. */
export interface EvaluatedCall {
  token: string;
  inputs: Record<string, unknown>;
}

/** The component's recorded resources, lookups and resolved outputs. */
export interface EvaluatedStack<O> {
  resources: EvaluatedResource[];
  calls: EvaluatedCall[];
  outputs: O;
}

/** The stand-in cluster for a spec's settings, shaped like `aws.rds.getCluster`'s result. */
export function mockCluster(spec: UmamiDatabaseSpec) {
  const region = spec.cluster.region;
  const id = spec.cluster.clusterIdentifier;
  return {
    id,
    clusterIdentifier: id,
    engine: "aurora-postgresql",
    engineVersion: "15.8",
    endpoint: `${id}.cluster-c0ffee000000.${region}.rds.amazonaws.com`,
    readerEndpoint: `${id}.cluster-ro-c0ffee000000.${region}.rds.amazonaws.com`,
    port: 5432,
    masterUsername: MOCK_MASTER_USERNAME,
    masterUserSecrets: [
      {
        secretArn: `arn:aws:secretsmanager:${region}:${MOCK_ACCOUNT_ID}:secret:rds!cluster-0c0ffee0-0000-4000-8000-000000000000-Ab12Cd`,
        kmsKeyId: `arn:aws:kms:${region}:${MOCK_ACCOUNT_ID}:key/00000000-0000-4000-8000-000000000000`,
        secretStatus: "active",
      },
    ],
  };
}

/** A password with the alphabet `random.RandomPassword` would use for these inputs. */
function fakePassword(inputs: Record<string, unknown>): string {
  const special = typeof inputs.overrideSpecial === "string" ? inputs.overrideSpecial : "";
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + special;
  const length = Number(inputs.length ?? 32);
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join("");
}

type Registered = Map<string, { inputs: Record<string, unknown>; secretInputs: string[]; custom: boolean }>;

function mocks(spec: UmamiDatabaseSpec, registered: Registered, calls: EvaluatedCall[]): pulumi.runtime.Mocks {
  const cluster = mockCluster(spec);
  const region = spec.cluster.region;
  return {
    newResource(args) {
      const inputs: Record<string, unknown> = {};
      const secretInputs: string[] = [];
      for (const [key, value] of Object.entries(args.inputs as Record<string, unknown>)) {
        if (pulumi.runtime.isRpcSecret(value)) secretInputs.push(key);
        inputs[key] = pulumi.runtime.unwrapRpcSecret(value);
      }
      registered.set(args.name, { inputs, secretInputs, custom: args.custom ?? true });
      switch (args.type) {
        case "random:index/randomPassword:RandomPassword":
          return { id: args.name, state: { ...inputs, result: fakePassword(inputs) } };
        case "random:index/randomBytes:RandomBytes": {
          const bytes = randomBytes(Number(inputs.length ?? 16));
          return { id: args.name, state: { ...inputs, base64: bytes.toString("base64"), hex: bytes.toString("hex") } };
        }
        case "aws:secretsmanager/secret:Secret": {
          const arn = `arn:aws:secretsmanager:${region}:${MOCK_ACCOUNT_ID}:secret:${String(inputs.name)}-AbCdEf`;
          return { id: arn, state: { ...inputs, arn } };
        }
        default:
          return { id: `${args.name}-id`, state: inputs };
      }
    },
    call(args) {
      const inputs = args.inputs as Record<string, unknown>;
      calls.push({ token: args.token, inputs: { ...inputs } });
      switch (args.token) {
        case "aws:rds/getCluster:getCluster":
          return cluster;
        case "aws:secretsmanager/getSecretVersion:getSecretVersion":
          return {
            arn: inputs.secretId,
            secretId: inputs.secretId,
            secretString: JSON.stringify({ username: MOCK_MASTER_USERNAME, password: MOCK_MASTER_PASSWORD }),
            versionId: "00000000-0000-4000-8000-000000000001",
            versionStages: ["AWSCURRENT"],
          };
        default:
          throw new Error(`The plan's mocks do not answer ${args.token}.`);
      }
    },
  };
}

/** Resolves an Output, rejecting when it fails (Output exposes no public promise). */
function settle<T>(output: pulumi.Output<T>): Promise<T> {
  return (output as unknown as { promise(): Promise<T> }).promise();
}

/**
 * Builds the stack's component for `spec` under mocks and returns every resource it registered, in
 * registration order, with the outputs `pickOutputs` selects from the component.
 */
export async function evaluateUnderMocks<C extends pulumi.Resource, O>(
  spec: UmamiDatabaseSpec,
  construct: (opts: pulumi.ComponentResourceOptions) => C,
  pickOutputs: (component: C) => pulumi.Output<O>,
): Promise<EvaluatedStack<O>> {
  const registered: Registered = new Map();
  const calls: EvaluatedCall[] = [];
  await pulumi.runtime.setMocks(mocks(spec, registered, calls), "umami-aurora-schema", spec.stage, false);

  const names = new Map<pulumi.Resource, string>();
  const recorded: Array<{ type: string; name: string; resource: pulumi.Resource; opts: pulumi.CustomResourceOptions }> =
    [];
  // A (legacy) transformation sees every child's options, dependsOn included; it runs in-process, so it
  // works under mocks, where the newer `transforms` would need the engine.
  const record: pulumi.ResourceTransformation = ({ type, name, resource, opts }) => {
    names.set(resource, name);
    recorded.push({ type, name, resource, opts: opts as pulumi.CustomResourceOptions });
    return undefined;
  };
  const component = construct({ transformations: [record] });
  const outputs = await settle(pickOutputs(component));
  await Promise.all(recorded.map(({ resource }) => settle(resource.urn)));

  const nameOf = (r: unknown) => names.get(r as pulumi.Resource) ?? "(outside the component)";
  return {
    outputs,
    calls,
    resources: recorded.map(({ type, name, opts }) => {
      const seen = registered.get(name);
      const dependsOn = opts.dependsOn === undefined ? [] : ([] as unknown[]).concat(opts.dependsOn);
      return {
        type,
        name,
        custom: seen?.custom ?? true,
        inputs: seen?.inputs ?? {},
        secretInputs: seen?.secretInputs ?? [],
        dependsOn: dependsOn.map(nameOf),
        provider: opts.provider ? nameOf(opts.provider) : undefined,
        protect: opts.protect === true,
        retainOnDelete: opts.retainOnDelete === true,
        deleteBeforeReplace: opts.deleteBeforeReplace === true,
        ignoreChanges: [...(opts.ignoreChanges ?? [])],
      };
    }),
  };
}
