/**
 * The README (and the docs it sends a newcomer to) keep their promises: exactly the two set-up commands, a
 * page a newcomer reads in one go, the Node version the dependencies really need, and every shell command shown
 * is one the product has: npm scripts exist, `umami-db` lines parse with the CLI's own commander tree, `sst`
 * lines name commands and flags SST's own `--help` lists, and the cheap offline ones are run. `npm run local`
 * itself runs in test/integration/flows/local.test.ts, as the README shows it, against the README's sample.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import semver from "semver";
import { describe, expect, it } from "vitest";
import { checkCommand } from "../support/workflow-steps.js";
import { headingAnchors, readDoc, relativeLinks, sampleSteps, shellCommands, words } from "../support/markdown.js";

const run = promisify(execFile);
const root = new URL("../..", import.meta.url).pathname;
const readme = readDoc("README.md");
const pkg = JSON.parse(readDoc("package.json")) as { scripts: Record<string, string>; engines: { node: string } };

/** The manifest of every package under node_modules, nested ones included. */
function installedPackages(): { name: string; version: string; engines?: { node?: string } }[] {
  const found: { name: string; version: string; engines?: { node?: string } }[] = [];
  const visit = (dir: string): void => {
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      if (name.startsWith(".")) continue;
      if (name.startsWith("@")) visit(join(dir, name));
      const manifest = join(dir, name, "package.json");
      if (existsSync(manifest)) found.push(JSON.parse(readFileSync(manifest, "utf8")));
      visit(join(dir, name, "node_modules"));
    }
  };
  visit(join(root, "node_modules"));
  return found;
}

/** The README and the reference it moved to docs/ (other docs/ files belong to their own subjects' tests). */
const DOCS = ["README.md", "docs/cli.md", "docs/container.md", "docs/upgrades.md", "docs/deploy.md"];

describe("README", () => {
  it("gives exactly the two set-up commands, and both npm scripts exist", () => {
    const setup = readme.split("## Set up")[1].split("\n## ")[0];
    const commands = [...setup.matchAll(/^(npm ci && npm (?:run )?[a-z]+)/gm)].map((m) => m[1]);
    expect(commands).toEqual(["npm ci && npm run local", "npm ci && npm test"]);
    expect(pkg.scripts.local).toBe("node bin/umami-db.js local");
    expect(pkg.scripts.test).toBe("vitest run");
  });

  it("reads in one sitting: at most ~150 lines, the reference in docs/", () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(155);
    expect(readme).not.toContain("reference:begin");
  });

  it("states the Node version package.json declares, and every installed dependency accepts it", () => {
    const lowest = semver.minVersion(pkg.engines.node)!.version; // e.g. 22.12.0
    expect(readme).toContain(`Node ${lowest.replace(/\.0$/, "")} or later`);
    const refusing = installedPackages()
      .filter((m) => m.engines?.node && !semver.satisfies(lowest, m.engines.node))
      .map((m) => `${m.name}@${m.version} (node ${m.engines?.node})`);
    expect(refusing).toEqual([]);
  });

  it("names every installed dependency that declares more than the Node 20 it says still runs", () => {
    const paragraph = readme.split("\n\n").find((p) => /^Node 20\.\d+ and later still runs/.test(p))!;
    const node20 = /^Node (20\.\d+)/.exec(paragraph)![1] + ".0";
    const refusing = new Set(
      installedPackages()
        .filter((m) => typeof m.engines?.node === "string" && !semver.satisfies(node20, m.engines.node))
        .map((m) => m.name),
    );
    const named = [...paragraph.matchAll(/`(@?[a-z0-9-]+(?:\/[a-z0-9.-]+)?)`/g)].map((m) => m[1]);
    const words = ["zero", "one", "two", "three", "four", "five", "six"];
    expect(paragraph.replace(/\s+/g, " ")).toContain(`${words[refusing.size]} dependencies declare 22`);
    expect([...refusing].filter((n) => !named.includes(n))).toEqual([]);
  });

  it("shows a sample of npm run local with its steps (checked against a real run in flows/local.test.ts)", () => {
    const steps = sampleSteps(readme);
    expect(steps.length).toBeGreaterThanOrEqual(10);
    expect(steps[0]).toBe("load migrations");
    expect(new Set(steps).size).toBe(steps.length);
  });
});

describe.each(DOCS)("%s", (doc) => {
  const text = readDoc(doc);

  it("shows only shell commands the product has: npm scripts, umami-db lines its parser accepts, sst commands and flags", async () => {
    const commands = shellCommands(text);
    if (doc === "README.md") expect(commands.length).toBeGreaterThanOrEqual(15);
    for (const command of commands)
      expect(await checkCommand(words(command), { root, allowHelp: true }), command).toBeNull();
  }, 60_000);

  it("links only to files and headings that exist", () => {
    const dir = doc.includes("/") ? doc.slice(0, doc.lastIndexOf("/") + 1) : "";
    for (const { path, anchor } of relativeLinks(text)) {
      const target = path ? new URL(path, new URL(dir, new URL(root, "file:"))).pathname.slice(root.length) : doc;
      expect(existsSync(join(root, target)), `${doc} links to ${target}`).toBe(true);
      if (anchor) expect(headingAnchors(readDoc(target)), `${doc} links to ${target}#${anchor}`).toContain(anchor);
    }
  });
});

describe("the cheap, offline commands the README and docs show, run as shown", () => {
  const all = [...new Set(DOCS.flatMap((doc) => shellCommands(readDoc(doc))))];
  const cheap = all.filter((c) =>
    /^(npx umami-db|node bin\/umami-db\.js) (plan --stage [a-z0-9-]+$|.*--help$)/.test(c),
  );

  it("includes the offline plan and --help", () => {
    expect(cheap).toContain("npx umami-db plan --stage dev");
    expect(cheap).toContain("npx umami-db --help");
  });

  it.each(cheap)("%s exits 0 and prints what the README says it prints", async (command) => {
    const { stdout } = await run("sh", ["-c", command], { cwd: root, timeout: 60_000 });
    if (command.includes(" plan ")) {
      expect(stdout).toMatch(/^Plan for stage dev: \d+ resources/);
      expect(stdout).toContain("SQL the database will receive");
    } else expect(stdout).toMatch(/^Usage: umami-db/);
  }, 60_000);
});

describe("docs/benchmarks.md", () => {
  it("states the audit goals the bench judges by (bench/audit.ts AUDIT_GOALS; the bench printed older ones)", async () => {
    const { AUDIT_GOALS } = await import("../../bench/audit.js");
    const rows = readDoc("docs/benchmarks.md")
      .split("\n")
      .filter((l) => l.startsWith("| Audit of 20,000") || l.startsWith("| Per-object privilege loop"));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(new RegExp(`\\| < ${AUDIT_GOALS.auditMs} ms \\|$`));
    expect(rows[1]).toContain(`| ≥ ${AUDIT_GOALS.loopbackRatio}× / ≥ ${AUDIT_GOALS.proxyRatio}× (issue 17) |`);
  });
});
