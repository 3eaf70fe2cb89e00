/**
 * `umami-db plan --stage <stage> [--json]`: the offline preview no SST command gives without AWS
 * credentials — every resource of the stack, then the exact SQL the database will receive.
 */
import { Command } from "commander";
import { buildSpec } from "../../sst/database/spec.js";
import { action, EXIT } from "./run.js";

/** The `plan` command. */
export function planCommand(): Command {
  return new Command("plan")
    .description("Show the stack's resources and the SQL they issue for a stage, offline (Pulumi mocks, no AWS).")
    .requiredOption("--stage <stage>", "SST stage, e.g. dev or pr-42")
    .option("--json", "print one JSON object: { stage, resources: [{ type, name, inputs }], sql: [string] }")
    .action(
      action(async (options: { stage: string; json?: boolean }) => {
        // A bad stage fails here, before Pulumi and the providers load (which takes seconds).
        buildSpec(options.stage);
        const { buildPlan, renderPlan } = await import("../plan/plan.js");
        const plan = await buildPlan(options.stage);
        process.stdout.write(options.json ? `${JSON.stringify(plan, null, 2)}\n` : renderPlan(plan));
        return EXIT.ok;
      }),
    );
}
