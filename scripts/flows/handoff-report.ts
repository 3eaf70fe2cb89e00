/**
 * The handoff as Markdown: what `umami-db handoff` prints and what post-deploy's report.md carries as its
 * handoff section. Pure: strings only.
 */
import type { Handoff } from "./handoff.js";

/** Renders the handoff; `level` is the Markdown heading level of its title (2 inside report.md). */
export function renderHandoffMarkdown(h: Handoff, level = 1): string {
  const title = "#".repeat(level);
  const sub = "#".repeat(level + 1);
  const fence = (lang: string, text: string) => ["```" + lang, text, "```"];
  return [
    `${title} Handoff for Story 4.1 — Umami ${h.umamiVersion} on ECS, stage \`${h.stage}\``,
    "",
    `Secret \`${h.secretName}\` (\`${h.secretArn}\`, ${h.region}). Each variable below comes from one JSON key of it; the task never sees the other keys.`,
    "",
    `${sub} Environment variables`,
    "",
    "| Variable | From | Why |",
    "|---|---|---|",
    ...h.variables.map(
      (v) =>
        `| \`${v.name}\` | ${v.from === "secret" ? `secret key \`${v.key}\`` : `\`${v.value}\``} | ${v.why.replace(/\|/g, "\\|")} |`,
    ),
    "",
    `${sub} Image`,
    "",
    `Release: \`${h.image.official}\`. ${h.image.why}`,
    "",
    `Build it with the RDS CA bundle (pushed as \`${h.image.build}\` below, or built by SST from \`umami-image/\`):`,
    "",
    ...fence("dockerfile", h.image.dockerfile),
    "",
    `${sub} ECS container definition (fragment)`,
    "",
    ...fence("json", JSON.stringify(h.containerDefinition, null, 2)),
    "",
    `${sub} The same with \`sst.aws.Service\``,
    "",
    ...fence("ts", h.sstService),
    "",
    `${sub} TLS`,
    "",
    `The URLs say \`sslmode=verify-full&sslaccept=strict\`: node-pg (Umami's runtime) and \`umami-db\` check certificate and host name against Node's CA store plus \`NODE_EXTRA_CA_CERTS\`; Prisma's native engine, should the task migrate, reads \`verify-full\` as \`prefer\` and checks only because of \`sslaccept=strict\`, against OpenSSL's store (hence the Dockerfile's second step). What the task logs when it goes wrong:`,
    "",
    `- RDS CA bundle missing (no \`NODE_EXTRA_CA_CERTS\`, or the file absent), one of:`,
    ...h.tls.missingCa.map((m) => `  - \`${m.log}\` (${m.code}): ${m.when}`),
    `- certificate for another host name: \`${h.tls.wrongHost}\``,
    "",
    `${sub} Connections`,
    "",
    `umami_user's CONNECTION LIMIT is ${h.connections.limit}: ${h.connections.formula}. Run ${h.connections.desiredCount} task(s) (desired count, and the autoscaling maximum), deployment minimumHealthyPercent ${h.connections.deployment.minimumHealthyPercent} / maximumPercent ${h.connections.deployment.maximumPercent}. More tasks: raise \`umamiTasks\` in sst/stages.ts and deploy the stack first.`,
    "",
    `${sub} Migrations`,
    "",
    ...h.migrations.map((m) => `- ${m}`),
    "",
    `${sub} Permissions and notes`,
    "",
    ...[...h.permissions, ...h.notes].map((m) => `- ${m}`),
    "",
  ].join("\n");
}
