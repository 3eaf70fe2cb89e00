/**
 * The tar reader (node-tar underneath) against archives made by GNU tar in its three formats (long paths as
 * GNU 'L' entries, as pax 'x' headers, and as ustar prefixes) and by `git archive` (the commit in the pax global
 * header), and its refusals of bytes that are not an archive.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { readTarGz, TarFormatError } from "../../../scripts/migrate/sources/tar.js";

const dir = mkdtempSync(join(tmpdir(), "umami-db-tar-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const deep = `umami-3.1.0/${"d".repeat(60)}/${"e".repeat(60)}/migration.sql`;
mkdirSync(join(dir, "src", deep, ".."), { recursive: true });
writeFileSync(join(dir, "src", deep), "CREATE TABLE t ();\n");
writeFileSync(join(dir, "src/umami-3.1.0/short.txt"), "short\n");

describe("readTarGz", () => {
  it.each(["gnu", "pax", "ustar"])("reads GNU tar's %s format, long paths included", async (format) => {
    const archive = join(dir, `${format}.tar.gz`);
    execFileSync("tar", [`--format=${format}`, "-czf", archive, "-C", join(dir, "src"), "umami-3.1.0"]);
    const { files } = await readTarGz(readFileSync(archive));
    expect(Object.fromEntries(files.map((f) => [f.path, f.data.toString()]))).toEqual({
      [deep]: "CREATE TABLE t ();\n",
      "umami-3.1.0/short.txt": "short\n",
    });
    expect((await readTarGz(readFileSync(archive), (p) => p.endsWith(".sql"))).files.map((f) => f.path)).toEqual([
      deep,
    ]);
  });

  it("keeps git archive's commit (the pax global header's comment), as GitHub's tag tarballs carry it", async () => {
    const repo = join(dir, "repo");
    mkdirSync(repo);
    writeFileSync(join(repo, "a.sql"), "SELECT 1;\n");
    const git = (...args: string[]) =>
      execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: repo });
    git("init", "-q", ".");
    git("add", "-A");
    git("commit", "-qm", "one");
    const contents = await readTarGz(git("archive", "--format=tar.gz", "--prefix=umami-3.1.0/", "HEAD"));
    expect(contents.comment).toBe(git("rev-parse", "HEAD").toString().trim());
    expect(contents.files.map((f) => f.path)).toEqual(["umami-3.1.0/a.sql"]);
  });

  it("refuses what is not a gzip'ed tar, a damaged header and a truncated archive", async () => {
    await expect(readTarGz(Buffer.from("<html>login</html>"))).rejects.toThrow(TarFormatError);
    await expect(readTarGz(gzipSync(Buffer.alloc(512, 1)))).rejects.toThrow(TarFormatError);
    await expect(readTarGz(gzipSync(Buffer.from("<html>login</html>")))).rejects.toThrow(TarFormatError);
    const archive = readFileSync(join(dir, "gnu.tar.gz"));
    const tar = execFileSync("gzip", ["-dc"], { input: archive });
    await expect(readTarGz(tar.subarray(0, tar.indexOf("CREATE TABLE") + 5))).rejects.toThrow(TarFormatError);
    await expect(readTarGz(archive.subarray(0, archive.length / 2))).rejects.toThrow(TarFormatError);
  });
});
