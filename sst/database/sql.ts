/**
 * Pure builders: spec → the SQL statements the PostgreSQL provider issues when the stack deploys, and the
 * statements that undo them. The local mode runs them, `umami-db plan` prints them, tests compare them with
 * exact strings. Nothing here touches a database.
 */
import { quoteIdent, quoteLiteral } from "./quote.js";
import { grant, grantDefault, grantRole } from "./statements.js";
import { roleSettings, type UmamiDatabaseSpec } from "./spec.js";

/** What `plan` shows instead of the generated password. */
export const REDACTED = "[secret]";

/** Who provisions and with which password. */
export interface ProvisionContext {
  /** The administrator's role (Aurora's master user): owns the schema, grantor of default privileges. */
  admin: string;
  /** umami_user's password; pass `REDACTED` to build the statements for display. */
  password: string;
}

/** What already exists, so a second provisioning issues nothing that changes the catalog. */
interface ExistingObjects {
  role: boolean;
  schema: boolean;
}

const NOTHING_EXISTS: ExistingObjects = { role: false, schema: false };

/**
 * The role's attributes. On ALTER, SUPERUSER, REPLICATION and BYPASSRLS are left out: PostgreSQL lets only a
 * superuser name them, even to switch them off ("must be superuser to alter superuser roles or change
 * superuser attribute", measured with an Aurora-like admin), and a role created without them keeps them off
 * unless a superuser intervenes — which the audit reports.
 */
function roleAttributes(spec: UmamiDatabaseSpec, forAlter: boolean): string {
  const r = spec.role;
  return [
    r.login ? "LOGIN" : "NOLOGIN",
    ...(forAlter ? [] : [r.superuser ? "SUPERUSER" : "NOSUPERUSER"]),
    r.createDatabase ? "CREATEDB" : "NOCREATEDB",
    r.createRole ? "CREATEROLE" : "NOCREATEROLE",
    "INHERIT",
    ...(forAlter ? [] : [r.replication ? "REPLICATION" : "NOREPLICATION"]),
    ...(forAlter ? [] : [r.bypassRowLevelSecurity ? "BYPASSRLS" : "NOBYPASSRLS"]),
    `CONNECTION LIMIT ${r.connectionLimit}`,
  ].join(" ");
}

function passwordClause(password: string): string {
  return password === REDACTED ? `PASSWORD '${REDACTED}'` : `PASSWORD ${quoteLiteral(password).trim()}`;
}

/** The role: created, or brought back to the spec's attributes when it exists (password set only when asked). */
export function buildRoleSql(
  spec: UmamiDatabaseSpec,
  ctx: ProvisionContext,
  exists = false,
  setPassword = !exists,
): string[] {
  const role = quoteIdent(spec.role.name);
  const password = setPassword ? ` ${passwordClause(ctx.password)}` : "";
  return [
    exists
      ? `ALTER ROLE ${role} WITH ${roleAttributes(spec, true)}${password}`
      : `CREATE ROLE ${role} WITH ${roleAttributes(spec, false)}${password}`,
    ...roleSettings(spec).map(
      ({ name, value }) =>
        `ALTER ROLE ${role} SET ${name} TO ${typeof value === "string" ? value : value.map(quoteIdent).join(", ")}`,
    ),
  ];
}

/**
 * Tables and sequences of an existing schema that the role does not own, by name. Given to `buildSchemaSql`
 * instead of `ON ALL … IN SCHEMA`: once Umami's migrations ran, umami_user owns its tables, and an
 * administrator who is neither owner nor member cannot GRANT on them (`permission denied for table
 * _prisma_migrations`, measured) — nor need it, since an owner holds every privilege.
 */
export interface GrantableObjects {
  tables: string[];
  sequences: string[];
}

/** The schema (owned by the administrator), pgcrypto inside it when the database lacks it, and the grants. */
export function buildSchemaSql(
  spec: UmamiDatabaseSpec,
  ctx: ProvisionContext,
  exists = false,
  objects?: GrantableObjects,
): string[] {
  const schema = quoteIdent(spec.schema);
  const role = quoteIdent(spec.role.name);
  const admin = quoteIdent(ctx.admin);
  const p = spec.privileges;
  const statements = exists ? [] : [`CREATE SCHEMA ${schema} AUTHORIZATION ${admin}`];
  if (spec.extension.create) {
    // IF NOT EXISTS: a pgcrypto the database already has (in any schema) is left alone (`docs/design.md` § "Facts we measured").
    statements.push(
      `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(spec.extension.name)} WITH SCHEMA ${quoteIdent(spec.extension.schema)}`,
    );
  }
  statements.push(
    grant({ privileges: p.database, on: { kind: "DATABASE", name: [spec.database] }, to: spec.role.name }),
    grant({ privileges: p.schema, on: { kind: "SCHEMA", name: [spec.schema] }, to: spec.role.name }),
  );
  const qualified = (names: string[]) => names.map((n) => `${schema}.${quoteIdent(n)}`).join(", ");
  if (!objects) {
    statements.push(
      `GRANT ${p.tables.join(", ")} ON ALL TABLES IN SCHEMA ${schema} TO ${role}`,
      `GRANT ${p.sequences.join(", ")} ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role}`,
    );
  } else {
    if (objects.tables.length)
      statements.push(`GRANT ${p.tables.join(", ")} ON TABLE ${qualified(objects.tables)} TO ${role}`);
    if (objects.sequences.length)
      statements.push(`GRANT ${p.sequences.join(", ")} ON SEQUENCE ${qualified(objects.sequences)} TO ${role}`);
  }
  statements.push(
    grantDefault({
      forRole: ctx.admin,
      inSchema: spec.schema,
      privileges: p.defaultPrivileges.tables,
      on: "TABLES",
      to: spec.role.name,
    }),
    grantDefault({
      forRole: ctx.admin,
      inSchema: spec.schema,
      privileges: p.defaultPrivileges.sequences,
      on: "SEQUENCES",
      to: spec.role.name,
    }),
  );
  return statements;
}

/** Every statement that provisions the stage, in the order the stack's `dependsOn` chain applies them. */
export function buildProvisionSql(
  spec: UmamiDatabaseSpec,
  ctx: ProvisionContext,
  existing: ExistingObjects = NOTHING_EXISTS,
): string[] {
  return [...buildRoleSql(spec, ctx, existing.role), ...buildSchemaSql(spec, ctx, existing.schema)];
}

/**
 * Removes the stage in the order measured to work (`docs/design.md` § "Facts we measured"): the administrator first joins
 * the role (Aurora's master is not a superuser and cannot drop its objects otherwise), the schema goes with
 * everything in it (a pgcrypto created there included, never one elsewhere), then whatever the role still owns
 * or is granted in this database, then the role. `DROP OWNED BY` must run in every database where the role
 * holds privileges; the executor repeats it there.
 */
export function buildRollbackSql(spec: UmamiDatabaseSpec, ctx: Pick<ProvisionContext, "admin">): string[] {
  const role = quoteIdent(spec.role.name);
  return [
    grantRole(spec.role.name, ctx.admin),
    `DROP SCHEMA IF EXISTS ${quoteIdent(spec.schema)} CASCADE`,
    `DROP OWNED BY ${role}`,
    `DROP ROLE IF EXISTS ${role}`,
  ];
}
