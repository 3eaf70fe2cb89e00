/**
 * The `UmamiDatabase` component: the spec (`spec.ts`) turned into resources — a generated password, the
 * login role, the schema, pgcrypto, the grants and default privileges (PostgreSQL provider, connected to the
 * *existing* cluster as its master user), and the credentials secret in Secrets Manager. It issues the same
 * statements, in the same order, as `buildProvisionSql` in `sql.ts`.
 */
import * as aws from "@pulumi/aws";
import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { stackTags } from "../observability/tags.js";
import { lookupClusterAdmin, type ClusterAdmin } from "./cluster.js";
import { scramVerifier } from "./scram.js";
import { PASSWORD_POLICY, type UmamiDatabaseSpec } from "./spec.js";
import { buildCredentialsSecret } from "./secret.js";

/** The component's Pulumi type token. */
const UMAMI_DATABASE_TYPE = "umami:database:UmamiDatabase";

/** Arguments of {@link UmamiDatabase}. */
interface UmamiDatabaseArgs {
  /**
   * What must exist: names, privileges, role limits, extension, secret name. Build it with `buildSpec`;
   * never write one by hand (one declaration).
   *
   * Caution: changing `spec.role.name` or `spec.schema` renames the role or the schema in place (the
   * provider's `ALTER … RENAME`, per its source) and replaces every grant that names them (revoked, then
   * granted again). Try such a change on a throwaway stage first: only a live deploy shows the exact order.
   *
   * @example
   * ```ts
   * { spec: buildSpec($app.stage) }
   * ```
   */
  spec: UmamiDatabaseSpec;
  /**
   * Tags for every AWS resource the component creates.
   * @default `stackTags(spec.stage, {}, spec)`
   * @example
   * ```ts
   * { tags: stackTags("dev", { Owner: "data-team" }) }
   * ```
   */
  tags?: Record<string, string>;
}

/**
 * Umami's isolated schema in an existing Aurora PostgreSQL database, its login role and the credentials
 * secret.
 *
 * @example
 * ```ts
 * const db = new UmamiDatabase("Umami", { spec: buildSpec($app.stage) });
 * return { secretArn: db.secretArn };
 * ```
 */
export class UmamiDatabase extends pulumi.ComponentResource {
  /** ARN of the credentials secret (the Umami ECS task reads it). */
  readonly secretArn: pulumi.Output<string>;
  /** Name of the credentials secret. */
  readonly secretName: pulumi.Output<string>;
  /** The Umami schema. */
  readonly schema: pulumi.Output<string>;
  /** The login role. */
  readonly role: pulumi.Output<string>;
  /** The cluster's writer endpoint. */
  readonly host: pulumi.Output<string>;
  readonly port: pulumi.Output<number>;
  /** The application's database that holds the schema. */
  readonly database: pulumi.Output<string>;
  /** The cluster's master secret the administrator's password was read from (for `umami-db preflight`/`rollback`). */
  readonly masterSecretArn: pulumi.Output<string>;

  private readonly spec: UmamiDatabaseSpec;
  private readonly tags: Record<string, string>;
  private readonly admin: ClusterAdmin;
  private readonly childOptions: pulumi.CustomResourceOptions;

  constructor(name: string, args: UmamiDatabaseArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(UMAMI_DATABASE_TYPE, name, {}, opts);
    this.spec = args.spec;
    this.tags = args.tags ?? stackTags(args.spec.stage, {}, args.spec);
    // Protected stages: Pulumi refuses to delete or replace anything, and `sst remove` leaves it all in place.
    // SST's own `removal: "retain"` only covers SST's stateful components, not these resources.
    this.childOptions = args.spec.protect ? { parent: this, protect: true, retainOnDelete: true } : { parent: this };
    this.admin = lookupClusterAdmin(args.spec.cluster, { parent: this });

    const provider = this.createProvider(name);
    const password = this.createPassword(name);
    const salt = new random.RandomBytes(`${name}PasswordSalt`, { length: 16 }, this.childOptions);
    const role = this.createRole(name, provider, password, salt);
    const schema = this.createSchema(name, provider, role);
    const extension = this.createExtension(name, provider, schema);
    const lastGrant = this.createGrants(name, provider, role, schema, extension ?? schema);
    const secret = this.createSecret(name);
    this.createSecretVersion(name, secret, password, lastGrant);

    this.secretArn = secret.arn;
    this.secretName = secret.name;
    this.schema = schema.name;
    this.role = role.name;
    this.host = this.admin.host;
    this.port = this.admin.port;
    this.database = pulumi.output(this.spec.database);
    this.masterSecretArn = this.admin.masterSecretArn;
    this.registerOutputs({
      masterSecretArn: this.masterSecretArn,
      secretArn: this.secretArn,
      secretName: this.secretName,
      schema: this.schema,
      role: this.role,
      host: this.host,
      port: this.port,
      database: this.database,
    });
  }

  private createProvider(name: string): postgresql.Provider {
    return new postgresql.Provider(
      `${name}Provider`,
      {
        host: this.admin.host,
        port: this.admin.port,
        username: this.admin.username,
        password: pulumi.secret(this.admin.password),
        database: this.spec.database,
        // Encrypted always; the certificate is verified when the stage names a CA bundle (RDS's global bundle).
        ...(this.spec.cluster.caBundleFile
          ? { sslmode: "verify-full", sslrootcert: this.spec.cluster.caBundleFile }
          : { sslmode: "require" }),
        // Aurora's master is rds_superuser, not a superuser: the provider must not use superuser-only paths.
        superuser: false,
        connectTimeout: 15,
      },
      { parent: this },
    );
  }

  /**
   * The password. `passwordGeneration` is its keeper: changing it replaces the password, and the role and the
   * secret (all its URLs) follow in the same deploy — the supported rotation. Never protected, even in a
   * protected stage: it exists only in Pulumi's state, and protection would refuse exactly that replacement.
   */
  private createPassword(name: string): random.RandomPassword {
    const generation = this.spec.secret.passwordGeneration;
    return new random.RandomPassword(
      `${name}Password`,
      {
        // Unset: no keepers at all, so stacks deployed before the setting existed keep their password.
        ...(generation === undefined ? {} : { keepers: { passwordGeneration: String(generation) } }),
        length: PASSWORD_POLICY.length,
        special: true,
        overrideSpecial: PASSWORD_POLICY.special,
        minLower: 1,
        minUpper: 1,
        minNumeric: 1,
      },
      { ...this.childOptions, protect: false },
    );
  }

  private createRole(
    name: string,
    provider: postgresql.Provider,
    password: random.RandomPassword,
    salt: random.RandomBytes,
  ): postgresql.Role {
    const r = this.spec.role;
    return new postgresql.Role(
      `${name}Role`,
      {
        name: r.name,
        login: r.login,
        // The server receives the password's SCRAM verifier, never the password (scram.ts); the salt is a
        // stable random resource so the verifier, and so the role, does not change on every deploy.
        // Wrapped here: under mocks RandomPassword.result is not marked secret (measured).
        password: pulumi.secret(
          pulumi.all([password.result, salt.base64]).apply(([p, s]) => scramVerifier(p, Buffer.from(s, "base64"))),
        ),
        superuser: r.superuser,
        createDatabase: r.createDatabase,
        createRole: r.createRole,
        replication: r.replication,
        bypassRowLevelSecurity: r.bypassRowLevelSecurity,
        inherit: true,
        connectionLimit: r.connectionLimit,
        searchPaths: [...r.searchPath],
        statementTimeout: r.statementTimeoutMs,
        idleInTransactionSessionTimeout: r.idleInTransactionTimeoutMs,
        // On delete the provider runs REASSIGN OWNED + DROP OWNED, then DROP ROLE: the end state of
        // `umami-db rollback` (`docs/design.md` § "Facts we measured"). The schema (and Umami's tables) is gone by then.
        skipReassignOwned: false,
        skipDropRole: false,
      },
      { ...this.childOptions, provider },
    );
  }

  private createSchema(name: string, provider: postgresql.Provider, role: postgresql.Role): postgresql.Schema {
    return new postgresql.Schema(
      `${name}Schema`,
      {
        name: this.spec.schema,
        database: this.spec.database,
        // Owned by the administrator, so umami_user cannot drop or re-grant the schema itself.
        owner: this.admin.username,
        // The tables Umami's migrations create belong to umami_user: removal must take them along.
        dropCascade: true,
        // Not a guard: the provider's create checks pg_namespace first and, when the schema exists, only
        // takes ownership of it (ALTER SCHEMA … OWNER), whatever it holds — and `sst remove` would then drop
        // it with CASCADE. `umami-db preflight` (run before `sst deploy` in CI) is what refuses a schema
        // that is not this stage's.
        ifNotExists: false,
      },
      // dependsOn the role: `sst remove` drops the schema first, then the role (the measured order).
      { ...this.childOptions, provider, dependsOn: [role] },
    );
  }

  private createExtension(
    name: string,
    provider: postgresql.Provider,
    schema: postgresql.Schema,
  ): postgresql.Extension | undefined {
    const ext = this.spec.extension;
    // A pgcrypto the database already has is neither created nor ever dropped (`docs/design.md` § "Facts we measured").
    if (!ext.create) return undefined;
    return new postgresql.Extension(
      `${name}Pgcrypto`,
      {
        name: ext.name,
        schema: schema.name,
        database: this.spec.database,
        // DROP SCHEMA … CASCADE would take it anyway; this keeps the order independent of that.
        dropCascade: true,
      },
      { ...this.childOptions, provider, dependsOn: [schema] },
    );
  }

  /**
   * Database, schema, tables, sequences, then default privileges, one after the other: the provider fails
   * with "tuple concurrently updated" when two grants on one role run at once.
   */
  private createGrants(
    name: string,
    provider: postgresql.Provider,
    role: postgresql.Role,
    schema: postgresql.Schema,
    after: pulumi.Resource,
  ): pulumi.Resource {
    const p = this.spec.privileges;
    let previous = after;
    // Delete first: a grant's ID is fixed by what it grants, so Pulumi's default create-then-delete grants the
    // replacement, then revokes it with the old one (pulumi-postgresql issue 233; the provider's fix, PR 235,
    // covers Grant only — DefaultPrivileges has the same fixed ID).
    const next = <R extends pulumi.Resource>(create: (opts: pulumi.CustomResourceOptions) => R): R => {
      previous = create({ ...this.childOptions, provider, dependsOn: [previous], deleteBeforeReplace: true });
      return previous as R;
    };
    const on = { role: role.name, database: this.spec.database };
    const inSchema = { ...on, schema: schema.name };
    // Objects the administrator creates later in the schema are granted to umami_user too.
    const byAdmin = { ...inSchema, owner: this.admin.username };
    next(
      (o) =>
        new postgresql.Grant(`${name}GrantDatabase`, { ...on, objectType: "database", privileges: [...p.database] }, o),
    );
    next(
      (o) =>
        new postgresql.Grant(`${name}GrantSchema`, { ...inSchema, objectType: "schema", privileges: [...p.schema] }, o),
    );
    // `objects: []` means every table (sequence) in the schema: GRANT … ON ALL TABLES IN SCHEMA.
    next(
      (o) =>
        new postgresql.Grant(
          `${name}GrantTables`,
          { ...inSchema, objectType: "table", objects: [], privileges: [...p.tables] },
          o,
        ),
    );
    next(
      (o) =>
        new postgresql.Grant(
          `${name}GrantSequences`,
          { ...inSchema, objectType: "sequence", objects: [], privileges: [...p.sequences] },
          o,
        ),
    );
    next(
      (o) =>
        new postgresql.DefaultPrivileges(
          `${name}DefaultTables`,
          { ...byAdmin, objectType: "table", privileges: [...p.defaultPrivileges.tables] },
          o,
        ),
    );
    next(
      (o) =>
        new postgresql.DefaultPrivileges(
          `${name}DefaultSequences`,
          { ...byAdmin, objectType: "sequence", privileges: [...p.defaultPrivileges.sequences] },
          o,
        ),
    );
    return previous;
  }

  private createSecret(name: string): aws.secretsmanager.Secret {
    const s = this.spec;
    return new aws.secretsmanager.Secret(
      `${name}Secret`,
      {
        name: s.secretName,
        // Rotation: through passwordGeneration in sst/stages.ts, never Secrets Manager's (it would leave the URLs stale).
        description: `Umami's database credentials: role ${s.role.name}, schema ${s.schema} in database ${s.database} on cluster ${s.cluster.clusterIdentifier} (stage ${s.stage}). Do not turn on rotation: rotate with passwordGeneration in sst/stages.ts.`,
        kmsKeyId: s.secret.kmsKeyId,
        // 0 outside protected stages: `sst remove` + redeploy would otherwise hit the 30-day name lock.
        recoveryWindowInDays: s.protect ? 30 : 0,
        region: s.cluster.region,
        tags: this.tags,
      },
      this.childOptions,
    );
  }

  private createSecretVersion(
    name: string,
    secret: aws.secretsmanager.Secret,
    password: random.RandomPassword,
    after: pulumi.Resource,
  ): aws.secretsmanager.SecretVersion {
    return new aws.secretsmanager.SecretVersion(
      `${name}SecretVersion`,
      {
        secretId: secret.id,
        secretString: credentialsSecretString(
          this.spec,
          password.result,
          this.admin.host,
          this.admin.port,
          this.spec.container.readReplica ? this.admin.readerHost : undefined,
        ),
        region: this.spec.cluster.region,
      },
      // Published only once the role exists with this password and holds every grant.
      { ...this.childOptions, dependsOn: [after] },
    );
  }
}

/**
 * The credentials secret's JSON (`buildCredentialsSecret`), always a Pulumi secret: under mocks
 * `RandomPassword.result` is not marked secret, so secrecy must not depend on where the password came from.
 */
export function credentialsSecretString(
  spec: UmamiDatabaseSpec,
  password: pulumi.Input<string>,
  host: pulumi.Input<string>,
  port: pulumi.Input<number>,
  readerHost?: pulumi.Input<string>,
): pulumi.Output<string> {
  const json = pulumi.all([password, host, port, readerHost]).apply(([pw, h, p, reader]) =>
    JSON.stringify(
      buildCredentialsSecret({
        username: spec.role.name,
        password: pw,
        host: h,
        port: p,
        database: spec.database,
        schema: spec.schema,
        readerHost: reader,
      }),
    ),
  );
  return pulumi.secret(json);
}
