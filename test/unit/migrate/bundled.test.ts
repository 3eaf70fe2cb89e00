/**
 * The releases that ship with the tool (vendor/umami): every file is byte-identical to what known-releases.json
 * pins, nothing is there that is not pinned, and the licence and provenance travel with them.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { BUNDLED_DIR } from "../../../scripts/migrate/sources.js";
import { KNOWN_RELEASES } from "../../../scripts/migrate/sources/releases.js";

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();

describe("vendor/umami", () => {
  it("holds one folder per known release, and the licence and README beside them", () => {
    expect(readdirSync(BUNDLED_DIR).sort()).toEqual(
      ["LICENSE", "README.md", ...KNOWN_RELEASES.map((r) => r.tag)].sort(),
    );
  });

  it.each(
    KNOWN_RELEASES.map((r) => [r.tag, r] as const),
  )("%s: every file matches the SHA-256 pinned in known-releases.json, and none is unpinned", (tag, release) => {
    const root = join(BUNDLED_DIR, tag);
    const pinned = {
      ...release.files,
      ...Object.fromEntries(
        Object.entries(release.checksums).map(([name, sum]) => [`${release.layout}/${name}/migration.sql`, sum]),
      ),
    };
    const onDisk = Object.fromEntries(filesUnder(root).map((path) => [path, sha256(join(root, path))]));
    expect(onDisk).toEqual(pinned);
    expect(Object.keys(release.files)).toContain(`${release.layout}/migration_lock.toml`);
  });

  it("carries Umami's MIT licence and a README naming each tag's commit", () => {
    expect(readFileSync(join(BUNDLED_DIR, "LICENSE"), "utf8")).toMatch(
      /^MIT License\n\nCopyright \(c\) \d{4} Umami Software/,
    );
    const readme = readFileSync(join(BUNDLED_DIR, "README.md"), "utf8");
    for (const release of KNOWN_RELEASES)
      expect(readme).toMatch(new RegExp(`\\| ${release.tag.replaceAll(".", "\\.")} \\| ${release.commit} \\|`));
  });
});
