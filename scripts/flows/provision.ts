/**
 * Runs what the stack's PostgreSQL provider does, from the same builders (`sst/database/sql.ts`), against a
 * database reached as the administrator. Idempotent: objects that exist are brought back to the spec rather
 * than created, so a second run changes nothing in the catalog.
 */
import { buildRoleSql, buildSchemaSql, type ProvisionContext } from "../../sst/database/sql.js";
import { missingPgcryptoMessage, type UmamiDatabaseSpec } from "../../sst/database/spec.js";
import type { Client, QueryResultRow } from "../kernel/db.js";
import { UserError } from "../kernel/errors.js";
import { scramVerifier } from "../../sst/database/scram.js";
import { describeForeignObject, queryForeignObjects } from "../audit/foreign-objects.js";
import { readGrantableObjects, readStageObjects } from "../stage/catalog.js";

/** What a provisioning run did. */
interface ProvisionResult {
  createdRole: boolean;
  createdSchema: boolean;
  /** Whether pgcrypto was already in the database (anywhere) before this run. */
  pgcryptoPreexisting: boolean;
  /** Schema holding pgcrypto after the run, or null. */
  pgcryptoSchema: string | null;
  /** Number of statements issued (the statements themselves may hold the password and are not returned). */
  statements: number;
}

/** A statement of the provisioning failed; the message names the step but never shows the SQL (it may hold the password). */
export class ProvisionError extends UserError {
  override name = "ProvisionError";
  constructor(
    readonly step: string,
    readonly code: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function describe(statement: string): string {
  // The statement's head names the step without the password or the grantee: "CREATE ROLE "umami_user"",
  // "GRANT USAGE, CREATE ON SCHEMA "umami"", "ALTER ROLE "umami_user" SET search_path".
  return statement.replace(/\s(WITH|PASSWORD|TO)\s.*$/s, "");
}

/**
 * Provisions `spec` as the administrator `ctx.admin` on `admin` (connected to `spec.database`). When the role
 * exists its password is changed only if `rotatePassword` is set.
 */
export async function provisionStage(
  admin: Client,
  spec: UmamiDatabaseSpec,
  ctx: ProvisionContext & { rotatePassword?: boolean },
): Promise<ProvisionResult> {
  const before = await readStageObjects(admin, spec);
  if (!spec.extension.create && before.pgcrypto_schema === null) {
    // Umami's first migration would fail as the stage's role (`docs/design.md` § "Facts we measured"): stop before changing anything.
    const { detail, remedy } = missingPgcryptoMessage(spec);
    throw new ProvisionError("pgcrypto", undefined, `Cannot provision: ${detail}. ${remedy}`);
  }
  if (before.schema) {
    // Objects umami_user does not own would be granted to it (class foreign-objects-in-schema): refuse the schema.
    const foreign = await queryForeignObjects(
      async <R extends QueryResultRow>(sql: string, params: unknown[]) => (await admin.query<R>(sql, params)).rows,
      spec.schema,
      spec.role.name,
    );
    if (foreign.length > 0) {
      throw new ProvisionError(
        "schema",
        undefined,
        `Cannot provision: schema ${spec.schema} in database ${spec.database} already holds objects ${spec.role.name} does not own (${foreign
          .map(describeForeignObject)
          .join(
            "; ",
          )}); provisioning would grant them to ${spec.role.name}. Move them out of ${spec.schema}, or deploy Umami under another stage name (its own schema). Nothing was changed.`,
      );
    }
  }
  // The server receives the password's SCRAM verifier, never the password (see scramVerifier).
  const hashed = { ...ctx, password: scramVerifier(ctx.password) };
  const statements = [
    ...buildRoleSql(spec, hashed, before.role, !before.role || (ctx.rotatePassword ?? false)),
    ...buildSchemaSql(spec, ctx, before.schema, before.schema ? await readGrantableObjects(admin, spec) : undefined),
  ];
  for (const statement of statements) {
    try {
      await admin.query(statement);
    } catch (error) {
      const e = error as { code?: string; message?: string };
      throw new ProvisionError(
        describe(statement),
        e.code,
        `Provisioning step "${describe(statement)}" failed as ${ctx.admin}: ${e.message}. ` +
          `The administrator needs CREATEROLE and ownership of (or CREATE on) database ${spec.database}.`,
        { cause: error },
      );
    }
  }
  const after = await readStageObjects(admin, spec);
  return {
    createdRole: !before.role,
    createdSchema: !before.schema,
    pgcryptoPreexisting: before.pgcrypto_schema !== null,
    pgcryptoSchema: after.pgcrypto_schema,
    statements: statements.length,
  };
}
