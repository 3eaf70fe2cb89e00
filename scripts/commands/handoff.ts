/**
 * `umami-db handoff --stage <stage>`: what the Umami ECS task needs — the container-definition
 * fragment with `secrets` from the stage's secret by JSON key, the `sst.aws.Service` snippet, the variables and
 * why, the image, TLS and connection figures, and what one migration run per deploy means. Reads SST's outputs
 * for the secret's ARN (else Secrets Manager's DescribeSecret, never the value); connects to no database.
 */
import { Command } from "commander";
import { UserError } from "../kernel/errors.js";
import { STAGE_ENV } from "../stage/stage-inputs.js";
import { stageContext } from "./context.js";
import { action, EXIT, writeOutputFile } from "./run.js";

interface HandoffFlags {
  stage?: string;
  outputsFile?: string;
  region?: string;
  secretId?: string;
  umamiVersion?: string;
  json: boolean;
  out?: string;
}

/** The `handoff` command. */
export function handoffCommand(): Command {
  return new Command("handoff")
    .description(
      "Print what the Umami ECS task needs for this stage: ECS secrets by JSON key, the sst.aws.Service snippet, " +
        "the environment variables and why, the image tag, TLS, connection limit and migrations. Connects to no database.",
    )
    .option("--stage <stage>", "SST stage whose secret the task reads")
    .option(
      "--outputs-file <path>",
      `SST outputs JSON with the secret's ARN (default .sst/outputs.json; env ${STAGE_ENV.outputsFile})`,
    )
    .option(
      "--region <region>",
      "AWS region for Secrets Manager when the outputs hold no ARN (default AWS_REGION, then AWS_DEFAULT_REGION, the deployed outputs, the stage settings)",
    )
    .option(
      "--secret-id <id>",
      `the credentials secret's name or ARN (env ${STAGE_ENV.secretId}; default: the outputs, else the stage's name)`,
    )
    .option(
      "--umami-version <version>",
      "the Umami release that was migrated (the image tag follows it; default: the stage's umamiVersion in sst/stages.ts)",
    )
    .option("--json", "print the handoff as JSON", false)
    .option("--out <file>", "also write the Markdown handoff to this file")
    .action(
      action(async (flags: HandoffFlags) => {
        if (!flags.stage) throw new UserError("Pass --stage <stage>: the handoff is for one stage's secret.");
        const context = await stageContext(flags, []);
        const umamiVersion = flags.umamiVersion ?? context.spec.umamiVersion;
        if (!/^\d+\.\d+\.\d+$/.test(umamiVersion)) {
          throw new UserError(`--umami-version must be a release like 3.1.0 (got ${umamiVersion}).`);
        }
        const { buildHandoff, findSecretArn } = await import("../flows/handoff.js");
        const { renderHandoffMarkdown } = await import("../flows/handoff-report.js");
        const client = async () => {
          const { SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
          return new SecretsManagerClient({ region: context.region, maxAttempts: 5 });
        };
        const arn = await findSecretArn(client, context.spec, context.secretArn);
        const handoff = buildHandoff(context.spec, arn, { umamiVersion });
        const markdown = renderHandoffMarkdown(handoff);
        if (flags.out) writeOutputFile(flags.out, markdown);
        process.stdout.write(flags.json ? `${JSON.stringify(handoff, null, 2)}\n` : markdown);
        return EXIT.ok;
      }),
    );
}
