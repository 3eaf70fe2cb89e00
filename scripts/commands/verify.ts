/**
 * `umami-db verify`: the isolation audit (outward, inward, intended grants, live probes as the Umami role when
 * its credentials are given) and the comparison with a baseline fingerprint. Prints a table, `--json`, or
 * writes Markdown with `--report`. Exit 0 when nothing fails, 1 when a check fails, 2 when it could not run.
 */
import { Command } from "commander";
import { readFingerprintFile } from "./fingerprint.js";
import { action, EXIT, writeOutputFile } from "./run.js";
import { stageContext, stageOptions, type Given, type StageFlags } from "./context.js";

interface VerifyFlags extends StageFlags {
  baselineFingerprint?: string;
  adminRole?: string[];
  json?: boolean;
  report?: string;
}

/**
 * The probes need the Umami role's credentials: from a URL, a secret file or id, or — for a deployed stage
 * reached without --admin-url — the stage's own secret. With only --admin-url they are skipped.
 */
function probeNeeds(given: Given): ("admin" | "umami")[] {
  return Boolean(given.umamiUrl ?? given.secretFile ?? given.secretId) || !given.adminUrl
    ? ["admin", "umami"]
    : ["admin"];
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
        const context = await stageContext(flags, probeNeeds);
        const { auditIsolation } = await import("../audit/audit.js");
        const { auditJson, renderAuditMarkdown, renderAuditTable } = await import("../audit/report.js");
        const result = await auditIsolation({
          admin: context.admin,
          umami: context.umami,
          spec: context.spec,
          baselineFingerprint: baseline,
          adminRoles: flags.adminRole,
        });
        // A report pasted into a ticket must say what it is about.
        const { admin, spec } = context;
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
