/**
 * `umami-db rollback --stage <stage>` (or `--admin-url`): removes the stage's schema, role, default privileges
 * and, with `--delete-secret`, its credentials secret — after a confirmation unless `--yes`. Exit 1 when
 * something of the stage is left afterwards.
 */
import { existsSync, rmSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { Command } from "commander";
import { isLocalHost } from "../kernel/db.js";
import { UserError } from "../kernel/errors.js";
import { ProtectedStageError, rollbackStage, type RollbackResult } from "../flows/rollback.js";
import { localSecretPath } from "../stage/stage.js";
import { action, EXIT } from "./run.js";
import { resolveFromFlags, stageOptions, type StageFlags } from "./stage-options.js";

interface RollbackFlags extends StageFlags {
  yes: boolean;
  force: boolean;
  json: boolean;
  deleteSecret: boolean;
  secretFile?: string;
  secretId?: string;
}

async function confirm(question: string, expected: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim() === expected;
  } finally {
    rl.close();
  }
}

/** Deletes the credentials secret (local file and/or Secrets Manager); returns what was removed and left. */
async function deleteSecrets(
  flags: RollbackFlags,
  resolved: Awaited<ReturnType<typeof resolveFromFlags<"admin">>>,
  result: RollbackResult,
): Promise<void> {
  const file = flags.secretFile ?? process.env.UMAMI_SECRET_FILE ?? localSecretPath(resolved.spec.stage);
  if (existsSync(file)) {
    rmSync(file, { force: true });
    result.removed.push(`secret file ${file}`);
  }
  if (existsSync(file)) result.leftovers.push(`secret file ${file}`);
  // A local database (umami-db local) has no Secrets Manager secret.
  if (isLocalHost(resolved.admin.host)) return;
  const { deleteCredentialsSecret } = await import("../stage/secrets-manager.js");
  const { SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
  const secretId = flags.secretId ?? resolved.secretArn ?? resolved.spec.secretName;
  const outcome = await deleteCredentialsSecret(new SecretsManagerClient({ region: resolved.region, maxAttempts: 5 }), secretId, {
    recoveryWindowDays: resolved.spec.protect ? 30 : undefined,
  });
  if (outcome === "deleted") result.removed.push(`secret ${secretId}${resolved.spec.protect ? " (recoverable for 30 days)" : ""}`);
  if (outcome === "remains") result.leftovers.push(`secret ${secretId}`);
}

/** The `rollback` command. */
export function rollbackCommand(): Command {
  const command = new Command("rollback").description(
    "Remove a stage's schema (with Umami's data), role and default privileges from the database, in the order that works on Aurora; " +
      "never another stage's objects nor a pgcrypto the database already had.",
  );
  stageOptions(command, ["admin"])
    .option("--yes", "do not ask for confirmation (required when not on a terminal)", false)
    .option("--force", "allow rolling back a protected (production-like) stage", false)
    .option("--delete-secret", "also delete the stage's credentials secret (Secrets Manager and the local file)", false)
    .option("--secret-file <path>", "local credentials file to delete with --delete-secret (default .umami-db/<stage>/credentials.json)")
    .option("--secret-id <id>", "Secrets Manager secret to delete with --delete-secret (default: the stage's)")
    .option("--json", "print the result as JSON", false)
    .action(
      action(async (flags: RollbackFlags) => {
        const resolved = await resolveFromFlags(flags, ["admin"]);
        const { spec, admin } = resolved;
        if (spec.protect && !flags.force) throw new ProtectedStageError(spec.stage);
        if (!flags.yes) {
          if (!process.stdin.isTTY) throw new UserError("rollback deletes data and asks for confirmation; on a non-interactive shell pass --yes.");
          const where = `${admin.host}:${admin.port}/${spec.database}`;
          const ok = await confirm(
            `Remove schema ${spec.schema} (and all Umami data in it) from ${where}, and role ${spec.role.name} with everything it owns or holds in any database of that server (stage ${spec.stage})?\n` +
              `Type the stage name to confirm: `,
            spec.stage,
          );
          if (!ok) throw new UserError("Rollback cancelled: the confirmation did not match the stage name. Nothing was changed.");
        }
        const result = await rollbackStage(admin, spec, { force: flags.force });
        if (flags.deleteSecret) await deleteSecrets(flags, resolved, result);
        if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        else {
          if (result.nothingToDo && result.removed.length === 0) process.stdout.write(`rollback ${spec.stage}: nothing to do (no role, schema or default privileges of the stage)\n`);
          for (const line of result.removed) process.stdout.write(`removed  ${line}\n`);
          for (const line of result.kept) process.stdout.write(`kept     ${line}\n`);
          for (const line of result.leftovers) process.stdout.write(`LEFT     ${line}\n`);
          if (result.leftovers.length === 0) process.stdout.write(`rollback ${spec.stage}: no trace left\n`);
          if (result.removed.length > 0) {
            // Pulumi's state still lists what was just dropped; only a refresh makes SST see it.
            process.stdout.write(`next: if SST deployed stage ${spec.stage}, run \`npx sst refresh --stage ${spec.stage}\` so its state forgets the removed objects\n`);
          }
        }
        return result.leftovers.length === 0 ? EXIT.ok : EXIT.checkFailed;
      }),
    );
  return command;
}
