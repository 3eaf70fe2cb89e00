/**
 * `umami-db rollback --stage <stage>` (or `--admin-url`): removes the stage's schema, role, default privileges
 * and, with `--delete-secret`, its credentials secret — after a confirmation unless `--yes`. Exit 1 when
 * something of the stage is left afterwards, or when it refused because the rollback would touch the
 * application (nothing changed; each blocker printed with the statement that clears it).
 */
import { existsSync, rmSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { Command } from "commander";
import { isLocalHost } from "../kernel/db.js";
import { UserError } from "../kernel/errors.js";
import { ProtectedStageError, rollbackStage, type RollbackResult } from "../flows/rollback.js";
import { removeIfDescribes } from "../stage/local-credentials.js";
import { action, EXIT } from "./run.js";
import { stageContext, stageOptions, type StageContext, type StageFlags } from "./context.js";

interface RollbackFlags extends StageFlags {
  yes: boolean;
  force: boolean;
  json: boolean;
  deleteSecret: boolean;
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
async function deleteSecrets(context: StageContext<"admin">, result: RollbackResult): Promise<void> {
  const file = context.files.secretFile;
  if (existsSync(file)) {
    rmSync(file, { force: true });
    result.removed.push(`secret file ${file}`);
  }
  if (existsSync(file)) result.leftovers.push(`secret file ${file}`);
  // A local database (umami-db local) has no Secrets Manager secret.
  if (isLocalHost(context.admin.host)) return;
  const { deleteCredentialsSecret } = await import("../stage/secrets-manager.js");
  const { SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
  const secretId = context.secretArn ?? context.spec.secretName;
  const outcome = await deleteCredentialsSecret(
    new SecretsManagerClient({ region: context.region, maxAttempts: 5 }),
    secretId,
    {
      recoveryWindowDays: context.spec.protect ? 30 : undefined,
    },
  );
  if (outcome === "deleted")
    result.removed.push(`secret ${secretId}${context.spec.protect ? " (recoverable for 30 days)" : ""}`);
  if (outcome === "remains") result.leftovers.push(`secret ${secretId}`);
}

/** A refusal as text: each blocker, why, and the statement that clears it. */
function renderBlockers(stage: string, result: RollbackResult): string {
  const lines = result.blockers.map((b) => {
    const who = b.asRole ? ` (run as ${b.asRole})` : "";
    return `BLOCKED  ${b.object} [database ${b.database}]: ${b.reason}\n         clear it with${who}: ${b.remedy};\n`;
  });
  return (
    lines.join("") +
    `rollback ${stage}: refused, nothing was changed (${result.blockers.length} blocker${result.blockers.length === 1 ? "" : "s"}). ` +
    "These objects belong to the application: clear each as shown (or change it so it no longer uses the stage), then run rollback again.\n"
  );
}

/** The `rollback` command. */
export function rollbackCommand(): Command {
  const command = new Command("rollback").description(
    "Remove a stage's schema (with Umami's data), role and default privileges from the database, in the order that works on Aurora; " +
      "never another stage's objects nor a pgcrypto the database already had. All or nothing: when an application object depends " +
      "on the stage (a view, policy, trigger, default, statistics…) or a grant to its role cannot be revoked by the administrator, " +
      "it changes nothing and names each blocker with the statement that clears it (exit 1).",
  );
  stageOptions(command, ["admin"])
    .option("--yes", "do not ask for confirmation (required when not on a terminal)", false)
    .option("--force", "allow rolling back a protected (production-like) stage", false)
    .option("--delete-secret", "also delete the stage's credentials secret (Secrets Manager and the local file)", false)
    .option(
      "--secret-file <path>",
      "local credentials file: deleted with --delete-secret, or when it holds the dropped role's credentials (default .umami-db/<stage>/credentials.json)",
    )
    .option("--secret-id <id>", "Secrets Manager secret to delete with --delete-secret (default: the stage's)")
    .option("--json", "print the result as JSON", false)
    .action(
      action(async (flags: RollbackFlags) => {
        const context = await stageContext(flags, ["admin"]);
        const { spec, admin } = context;
        if (spec.protect && !flags.force) throw new ProtectedStageError(spec.stage);
        if (!flags.yes) {
          if (!process.stdin.isTTY)
            throw new UserError(
              "rollback deletes data and asks for confirmation; on a non-interactive shell pass --yes.",
            );
          const where = `${admin.host}:${admin.port}/${spec.database}`;
          const ok = await confirm(
            `Remove schema ${spec.schema} (and all Umami data in it) from ${where}, and role ${spec.role.name} with everything it owns or holds in any database of that server (stage ${spec.stage})?\n` +
              `Type the stage name to confirm: `,
            spec.stage,
          );
          if (!ok)
            throw new UserError(
              "Rollback cancelled: the confirmation did not match the stage name. Nothing was changed.",
            );
        }
        const result = await rollbackStage(admin, spec, { force: flags.force });
        const refused = result.blockers.length > 0;
        // A refused rollback keeps the secret too: the role it opens is still there.
        if (flags.deleteSecret && !refused) await deleteSecrets(context, result);
        else if (!refused) {
          // The local credentials file of the role just dropped opens nothing any more.
          const file = context.files.secretFile;
          const target = { username: spec.role.name, host: admin.host, port: admin.port, database: spec.database };
          if (removeIfDescribes(file, target)) result.removed.push(`secret file ${file} (its role is gone)`);
        }
        if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        else if (refused) process.stdout.write(renderBlockers(spec.stage, result));
        else {
          if (result.nothingToDo && result.removed.length === 0)
            process.stdout.write(
              `rollback ${spec.stage}: nothing to do (no role, schema or default privileges of the stage)\n`,
            );
          for (const line of result.removed) process.stdout.write(`removed  ${line}\n`);
          for (const line of result.kept) process.stdout.write(`kept     ${line}\n`);
          for (const line of result.leftovers) process.stdout.write(`LEFT     ${line}\n`);
          if (result.leftovers.length === 0) process.stdout.write(`rollback ${spec.stage}: no trace left\n`);
          if (result.removed.length > 0) {
            // Pulumi's state still lists what was just dropped; only a refresh makes SST see it.
            process.stdout.write(
              `next: if SST deployed stage ${spec.stage}, run \`npx sst refresh --stage ${spec.stage}\` so its state forgets the removed objects\n`,
            );
          }
        }
        return result.leftovers.length === 0 && !refused ? EXIT.ok : EXIT.checkFailed;
      }),
    );
  return command;
}
