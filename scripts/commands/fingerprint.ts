/**
 * `umami-db fingerprint`: captures the application's fingerprint (schemas and roles, the stage's Umami schema
 * and role left out) before a deploy, for `umami-db verify --baseline-fingerprint`. Exit codes per run.ts.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { UserError } from "../kernel/errors.js";
import type { Fingerprint } from "../evidence/fingerprint.js";
import { action, EXIT, writeOutputFile } from "./run.js";
import { stageContext, stageOptions, type StageFlags } from "./context.js";

/** Reads and checks a baseline written by `umami-db fingerprint`; a one-line UserError when it cannot be used. */
export async function readFingerprintFile(path: string): Promise<Fingerprint> {
  const { fingerprintProblem } = await import("../evidence/fingerprint.js");
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "it does not exist" : "it is not valid JSON";
    throw new UserError(
      `Cannot read the baseline fingerprint ${path}: ${reason}. Pass the file \`umami-db fingerprint --out\` (or preflight) wrote before the deploy; one captured now would prove nothing about the deploy.`,
      { cause: error },
    );
  }
  const problem = fingerprintProblem(value);
  if (problem)
    throw new UserError(
      `The baseline fingerprint ${path} cannot be used: ${problem}. Pass the file \`umami-db fingerprint --out\` (or preflight) wrote before the deploy; one captured now would prove nothing about the deploy.`,
    );
  return value as Fingerprint;
}

/** The `fingerprint` command. */
export function fingerprintCommand(): Command {
  const command = new Command("fingerprint").description(
    "Capture a digest of the application's schemas (tables, columns, indexes, functions, owners, ACLs…) and roles, " +
      "to prove after the deploy that nothing the application owns changed.",
  );
  stageOptions(command, ["admin"])
    .option("--out <file>", "write the fingerprint JSON here (default: print it)")
    .option("--json", "print the fingerprint JSON on stdout even with --out", false)
    .action(
      action(async (flags: StageFlags & { out?: string; json: boolean }) => {
        const context = await stageContext(flags, ["admin"]);
        const { applicationOf, captureFingerprint } = await import("../evidence/fingerprint.js");
        const fingerprint = await captureFingerprint(context.admin, applicationOf(context.spec));
        const json = `${JSON.stringify(fingerprint, null, 2)}\n`;
        if (flags.out) writeOutputFile(flags.out, json);
        if (flags.json || !flags.out) {
          process.stdout.write(json);
          return EXIT.ok;
        }
        const objects = Object.values(fingerprint.schemas).reduce((n, s) => n + Object.keys(s.objects).length, 0);
        process.stdout.write(
          `Fingerprint of database ${fingerprint.database}: ${Object.keys(fingerprint.schemas).length} schemas, ${objects} objects, ` +
            `${Object.keys(fingerprint.roles.objects).length} role entries (left out: schema ${context.spec.schema}, role ${context.spec.role.name}) → ${flags.out}\n`,
        );
        return EXIT.ok;
      }),
    );
  return command;
}
