/**
 * `umami-db releases`: the Umami releases that ship with the tool (vendor/umami), and `releases add <tag>`,
 * which brings a new one in (run where GitHub is reachable; review and commit what it writes).
 */
import { Command } from "commander";
import { blockedBy, strongerLock, type TableOperation } from "../migrate/lock-plan.js";
import type { AddedRelease } from "../migrate/sources/add-release.js";
import { migrationLoadOptions } from "./migration-source.js";
import { action, EXIT } from "./run.js";

/** The `releases` command and its subcommands. */
export function releasesCommand(): Command {
  const releases = new Command("releases").description(
    "List the Umami releases that ship with the tool (vendor/umami), or add one from GitHub.",
  );
  releases.addCommand(
    new Command("list")
      .description("List the known releases: tag, commit, layout and number of migrations.")
      .option("--json", "print the releases as JSON")
      .action(
        action(async (options: { json?: boolean }) => {
          const { KNOWN_RELEASES } = await import("../migrate/sources/releases.js");
          if (options.json) process.stdout.write(`${JSON.stringify(KNOWN_RELEASES, null, 2)}\n`);
          else
            for (const r of KNOWN_RELEASES)
              process.stdout.write(
                `${r.tag}  ${r.commit}  ${r.layout}  ${Object.keys(r.checksums).length} migrations\n`,
              );
          return EXIT.ok;
        }),
      ),
  );
  releases.addCommand(
    new Command("add")
      .description(
        "Download Umami release <tag> through the github: source (UMAMI_GITHUB_BASE_URL), write it byte-identical to vendor/umami/<tag>/, " +
          "record its checksums as a known release, and say which migrations are new and what each would lock or destroy.",
      )
      .argument("<tag>", "the release tag, e.g. v3.4.0")
      .option("--json", "print the result as JSON")
      .action(
        action(async (tag: string, options: { json?: boolean }) => {
          const { addRelease } = await import("../migrate/sources/add-release.js");
          const { BUNDLED_DIR } = await import("../migrate/sources/bundled.js");
          const { KNOWN_RELEASES_FILE } = await import("../migrate/sources/releases.js");
          const { githubBaseUrl } = migrationLoadOptions(process.env);
          const added = await addRelease(
            tag,
            { bundledDir: BUNDLED_DIR, releasesFile: KNOWN_RELEASES_FILE },
            { githubBaseUrl },
          );
          process.stdout.write(
            options.json ? `${JSON.stringify(added, null, 2)}\n` : renderAddedRelease(added, KNOWN_RELEASES_FILE),
          );
          return EXIT.ok;
        }),
      ),
  );
  return releases;
}

/** What `releases add` did, for a terminal: where the files went, and the new migrations' plans. */
export function renderAddedRelease(r: AddedRelease, releasesFile: string): string {
  const lines = [
    `Added Umami ${r.tag} (commit ${r.commit.slice(0, 8)}): ${r.migrations} migrations in ${r.dir}; checksums recorded in ${releasesFile}.`,
    r.added.length
      ? `New since ${r.since ?? "no earlier release"}: ${r.added.length} migration(s).`
      : `No migration is new since ${r.since}.`,
  ];
  for (const m of r.added) lines.push(`  ${m.name}: ${describeOperations(m.operations)}`);
  if (r.changed.length)
    lines.push(
      `Changed by Umami since ${r.since}: ${r.changed.join(", ")} (a database that applied the old copy keeps it; migrate status names the edit).`,
    );
  lines.push(
    "Review the files and the checksums, then commit them. `umami-db migrate deploy --dry-run` against a database adds each table's row estimate.",
  );
  return `${lines.join("\n")}\n`;
}

/** Per table: the strongest lock, what it blocks, what the migration destroys, and each statement. */
function describeOperations(operations: readonly TableOperation[]): string {
  if (operations.length === 0) return "locks no existing table (creates its own objects only)";
  const tables = [...new Set(operations.map((o) => o.table))];
  return tables
    .map((table) => {
      const ops = operations.filter((o) => o.table === table);
      const lock = ops.map((o) => o.lock).reduce(strongerLock);
      const destroys = [...new Set(ops.flatMap((o) => (o.destroys ? [o.destroys] : [])))];
      return `${table} — ${lock}, blocks ${blockedBy(lock)}${destroys.length ? `; ${destroys.join(", ")}` : ""} (${ops.map((o) => `line ${o.line} ${o.what}`).join("; ")})`;
    })
    .join("; ");
}
