/**
 * `umami-db verify`: the isolation audit (outward, inward, intended grants, live probes as the Umami role when
 * its credentials are given) and the comparison with a baseline fingerprint. Prints a table, `--json`, or
 * writes Markdown with `--report`. Exit 0 when nothing fails, 1 when a check fails, 2 when it could not run.
 */
import { Command } from "commander";
import { readStageInputs } from "../stage/stage-inputs.js";
import { readFingerprintFile } from "./fingerprint.js";
import { action, EXIT, writeOutputFile } from "./run.js";
import { resolveFromFlags, stageOptions, type StageFlags } from "./stage-options.js";

interface VerifyFlags extends StageFlags {
  baselineFingerprint?: string;
  adminRole?: string[];
  json?: boolean;
  report?: string;
}

/** The `verify` command. */
export function verifyCommand(): Command {
  const command = new Command("verify").description(
    "Audit the Umami role's isolation from the catalogs (outward, inward, exact grants), run live probes as the role " +
      "when its credentials are given, and compare the application's fingerprint with a baseline.",
  );
  stageOptions(command)
    .option("--baseline-fingerprint <file>", "fingerprint captured before the deploy (umami-db fingerprint --out …)")
    .option(
      "--admin-role <role...>",
      "roles that count as administrators besides the connecting user, superusers and members of rds_superuser (owning the database does not make one)",
    )
    .option("--json", "print { ok, findings, fingerprint } as JSON")
    .option("--report <file>", "also write the audit as Markdown to this file")
    .action(
      action(async (flags: VerifyFlags) => {
        // Everything the user typed is checked before connecting.
        const baseline = flags.baselineFingerprint ? await readFingerprintFile(flags.baselineFingerprint) : undefined;
        // The probes need the Umami role's credentials: from a URL, a secret file or id, or — for a deployed
        // stage reached without --admin-url — the stage's own secret. With only --admin-url they are skipped.
        const given = readStageInputs(flags, process.env).values;
        const probes = Boolean(given.umamiUrl ?? given.secretFile ?? given.secretId) || !given.adminUrl;
        const resolved = await resolveFromFlags(flags, probes ? ["admin", "umami"] : ["admin"]);
        const { auditIsolation } = await import("../audit/audit.js");
        const { auditJson, renderAuditMarkdown, renderAuditTable } = await import("../audit/report.js");
        const result = await auditIsolation({
          admin: resolved.admin,
          umami: resolved.umami,
          spec: resolved.spec,
          baselineFingerprint: baseline,
          adminRoles: flags.adminRole,
        });
        // A report pasted into a ticket must say what it is about.
        const { admin, spec } = resolved;
        const about = `stage ${spec.stage}, database ${spec.database} at ${admin.host}:${admin.port}, ${new Date().toISOString()}`;
        if (flags.report) writeOutputFile(flags.report, renderAuditMarkdown(result, about));
        process.stdout.write(
          flags.json ? `${JSON.stringify(auditJson(result), null, 2)}\n` : renderAuditTable(result, about),
        );
        return result.ok ? EXIT.ok : EXIT.checkFailed;
      }),
    );
  return command;
}
