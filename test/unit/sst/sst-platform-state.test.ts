/**
 * The pretest hook reinstalls `.sst/platform` when it no longer matches the repository (scripts/
 * sst-platform-state.mjs): missing, built by another SST, or holding other provider versions than
 * sst.config.ts pins. Checked on the real config and on throwaway directories shaped like a checkout.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pinnedProviders, platformProblem } from "../../../scripts/sst-platform-state.mjs";

const CONFIG = `export default $config({
  app() {
    return { name: "x", providers: { aws: { version: "7.48.0", region: "eu-west-1" }, "postgresql": "3.18.1", random: '4.21.2' } };
  },
});`;

const dirs: string[] = [];
function checkout(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "sst-platform-"));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}
const pkg = (version: string) => JSON.stringify({ version });
const FRESH = {
  "sst.config.ts": CONFIG,
  "node_modules/sst/package.json": pkg("4.17.1"),
  ".sst/platform/config.d.ts": "",
  ".sst/platform/version": "4.17.1",
  ".sst/platform/node_modules/@pulumi/aws/package.json": pkg("7.48.0"),
  ".sst/platform/node_modules/@pulumi/postgresql/package.json": pkg("3.18.1"),
  ".sst/platform/node_modules/@pulumi/random/package.json": pkg("4.21.2"),
};

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("pinnedProviders", () => {
  it("reads the repository's own sst.config.ts", () => {
    expect(pinnedProviders(readFileSync("sst.config.ts", "utf8"))).toEqual({
      aws: "7.48.0",
      postgresql: "3.18.1",
      random: "4.21.2",
    });
  });

  it("reads object and string pins, quoted or not, and ignores other settings", () => {
    expect(pinnedProviders(CONFIG)).toEqual({ aws: "7.48.0", postgresql: "3.18.1", random: "4.21.2" });
    expect(pinnedProviders("export default $config({ app() { return { name: 'x' }; } });")).toEqual({});
  });
});

describe("platformProblem", () => {
  it("is null when the platform matches SST and every pin", () => {
    expect(platformProblem(checkout(FRESH))).toBeNull();
  });

  it("names a missing platform", () => {
    const { ".sst/platform/config.d.ts": _, ...rest } = FRESH;
    expect(platformProblem(checkout(rest))).toBe(".sst/platform is missing");
  });

  it("names another SST version", () => {
    expect(platformProblem(checkout({ ...FRESH, "node_modules/sst/package.json": pkg("4.18.0") }))).toBe(
      ".sst/platform was built by SST 4.17.1, node_modules has SST 4.18.0",
    );
  });

  it("names a provider pin the platform does not hold", () => {
    const bumped = CONFIG.replace('"3.18.1"', '"3.19.0"');
    expect(platformProblem(checkout({ ...FRESH, "sst.config.ts": bumped }))).toBe(
      "sst.config.ts pins @pulumi/postgresql 3.19.0, .sst/platform has 3.18.1",
    );
    const { ".sst/platform/node_modules/@pulumi/random/package.json": _, ...withoutRandom } = FRESH;
    expect(platformProblem(checkout(withoutRandom))).toBe(
      "sst.config.ts pins @pulumi/random 4.21.2, .sst/platform has none",
    );
  });

  it("finds a provider's package through SST's provider lock", () => {
    const config = CONFIG.replace("random: '4.21.2'", "vercel: '4.6.0'");
    const files = {
      ...FRESH,
      "sst.config.ts": config,
      ".sst/provider-lock.json": JSON.stringify([{ name: "vercel", package: "@pulumiverse/vercel", version: "4.6.0" }]),
    };
    expect(platformProblem(checkout(files))).toBe(
      "sst.config.ts pins @pulumiverse/vercel 4.6.0, .sst/platform has none",
    );
    expect(
      platformProblem(
        checkout({ ...files, ".sst/platform/node_modules/@pulumiverse/vercel/package.json": pkg("4.6.0") }),
      ),
    ).toBeNull();
  });
});
