/**
 * The *existing* Aurora cluster, as the PostgreSQL provider needs it: endpoint, port and the master user's
 * credentials. Nothing here creates anything in AWS; it only reads (`rds:DescribeDBClusters`,
 * `secretsmanager:GetSecretValue`).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { UserError } from "../errors.js";
import type { ClusterSpec } from "./spec.js";

/** How the stack connects to the cluster as its administrator (Aurora's master user). */
export interface ClusterAdmin {
  /** The cluster's writer endpoint. */
  host: pulumi.Output<string>;
  /** The cluster's reader endpoint (the writer itself while the cluster has no replica). */
  readerHost: pulumi.Output<string>;
  port: pulumi.Output<number>;
  /** The master user: owner of the Umami schema and grantor of the default privileges. */
  username: pulumi.Output<string>;
  /** The master password, always a Pulumi secret. */
  password: pulumi.Output<string>;
  /** The secret the password was read from. */
  masterSecretArn: pulumi.Output<string>;
}

/** The master secret's JSON: RDS-managed secrets and the documented manual format both carry these keys. */
interface MasterSecret {
  username?: string;
  password: string;
}

/**
 * Parses the master secret without ever putting its content into an error message (the password would
 * reach the deploy log).
 */
export function parseMasterSecret(secretString: string, secretArn: string): MasterSecret {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    parsed = undefined;
  }
  const value = parsed as Partial<MasterSecret> | undefined;
  if (!value || typeof value !== "object" || typeof value.password !== "string" || value.password === "") {
    throw new UserError(
      `Master secret ${secretArn} is not JSON with a string "password" key. Point masterSecretArn in sst/stages.ts at the cluster's master secret ({"username","password"}).`,
    );
  }
  return { password: value.password, username: typeof value.username === "string" ? value.username : undefined };
}

/**
 * Looks the cluster up by identifier and reads the master password from the RDS-managed master secret, or
 * from `cluster.masterSecretArn` when the cluster's password is not managed by RDS.
 */
export function lookupClusterAdmin(
  settings: Pick<ClusterSpec, "clusterIdentifier" | "region" | "masterSecretArn">,
  opts: pulumi.InvokeOutputOptions = {},
): ClusterAdmin {
  const cluster = aws.rds.getClusterOutput(
    { clusterIdentifier: settings.clusterIdentifier, region: settings.region },
    opts,
  );
  const masterSecretArn = settings.masterSecretArn
    ? pulumi.output(settings.masterSecretArn)
    : cluster.masterUserSecrets.apply((secrets) => {
        const arn = secrets?.[0]?.secretArn;
        if (!arn) {
          throw new UserError(
            `Cluster ${settings.clusterIdentifier} has no RDS-managed master secret. Set masterSecretArn in sst/stages.ts to the secret holding its master password.`,
          );
        }
        return arn;
      });
  const version = aws.secretsmanager.getSecretVersionOutput(
    { secretId: masterSecretArn, region: settings.region },
    opts,
  );
  // Under mocks (and for some provider versions) the lookup's result is not marked secret: mark it here.
  const master = pulumi.secret(
    pulumi
      .all([version.secretString, masterSecretArn])
      .apply(([secretString, arn]) => parseMasterSecret(secretString, arn)),
  );
  return {
    host: cluster.endpoint,
    readerHost: cluster.readerEndpoint,
    port: cluster.port,
    // The secret's own user pairs with its password; the cluster's master user is the fallback.
    // A user name is not a secret: unmarked, it stays readable in diffs and in the schema's owner.
    username: pulumi.unsecret(
      pulumi.all([master, cluster.masterUsername]).apply(([m, fallback]) => m.username ?? fallback),
    ),
    password: pulumi.secret(master.apply((m) => m.password)),
    masterSecretArn,
  };
}
