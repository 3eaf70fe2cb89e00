/**
 * The tar reader against archives made by GNU tar in its three formats (long paths as GNU 'L' entries, as
 * pax 'x' headers, and as ustar prefixes), and its refusals of bytes that are not an archive.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { readTar, readTarGz, TarFormatError } from "../../../scripts/migrate/sources/tar.js";

const dir = mkdtempSync(join(tmpdir(), "umami-db-tar-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const deep = `umami-3.1.0/${"d".repeat(60)}/${"e".repeat(60)}/migration.sql`;
mkdirSync(join(dir, "src", deep, ".."), { recursive: true });
writeFileSync(join(dir, "src", deep), "CREATE TABLE t ();\n");
writeFileSync(join(dir, "src/umami-3.1.0/short.txt"), "short\n");

describe("readTarGz", () => {
  it.each(["gnu", "pax", "ustar"])("reads GNU tar's %s format, long paths included", (format) => {
    const archive = join(dir, `${format}.tar.gz`);
    execFileSync("tar", [`--format=${format}`, "-czf", archive, "-C", join(dir, "src"), "umami-3.1.0"]);
    const { files } = readTarGz(readFileSync(archive));
    expect(Object.fromEntries(files.map((f) => [f.path, f.data.toString()]))).toEqual({ [deep]: "CREATE TABLE t ();\n", "umami-3.1.0/short.txt": "short\n" });
    expect(readTarGz(readFileSync(archive), (p) => p.endsWith(".sql")).files.map((f) => f.path)).toEqual([deep]);
  });

  it("refuses what is not a gzip'ed tar", () => {
    expect(() => readTarGz(Buffer.from("<html>"))).toThrow(TarFormatError);
    expect(() => readTarGz(gzipSync(Buffer.alloc(512, 1)))).toThrow(/bad header checksum at byte 0/);
    const archive = readFileSync(join(dir, "gnu.tar.gz"));
    const tar = execFileSync("gzip", ["-dc"], { input: archive });
    expect(() => readTar(tar.subarray(0, tar.indexOf("CREATE TABLE") + 5))).toThrow(/runs past the end of the archive/);
  });
});
