/**
 * A small reader for gzip-compressed tar archives, enough for GitHub's tag tarballs (`git archive`: ustar
 * headers, pax extended headers for long paths, a pax global header whose `comment` is the commit) and
 * GNU tar's long-name entries. Reads from memory; writes nothing. Format: POSIX.1-2001 pax / ustar.
 */
import { gunzipSync } from "node:zlib";

/** A regular file in the archive. */
export interface TarFile {
  path: string;
  data: Buffer;
}

/** What `readTarGz` found: the regular files whose path `wanted` accepts, and the archive's pax comment. */
export interface TarContents {
  files: TarFile[];
  /** The pax global header's `comment` (GitHub and `git archive` put the commit id there). */
  comment?: string;
}

/** The most a download may inflate to (GitHub's Umami tarballs are ~10 MB unpacked). */
const MAX_INFLATED_BYTES = 512 * 1024 * 1024;
const BLOCK = 512;

/** Thrown for bytes that are not a gzip'ed tar archive. */
export class TarFormatError extends Error {
  override name = "TarFormatError";
}

/** Inflates and reads `gz`, keeping the regular files whose path `wanted` accepts. */
export function readTarGz(gz: Buffer, wanted: (path: string) => boolean = () => true): TarContents {
  let tar: Buffer;
  try {
    tar = gunzipSync(gz, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (error) {
    throw new TarFormatError(`not a gzip file (${(error as Error).message})`, { cause: error });
  }
  return readTar(tar, wanted);
}

/** Reads an uncompressed tar archive. */
export function readTar(tar: Buffer, wanted: (path: string) => boolean = () => true): TarContents {
  const files: TarFile[] = [];
  let comment: string | undefined;
  let nextPath: string | undefined; // from a pax 'x' header or a GNU 'L' entry, for the entry that follows
  for (let offset = 0; offset + BLOCK <= tar.length; ) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break; // end of archive (two zero blocks; one is enough to stop)
    if (!validChecksum(header)) throw new TarFormatError(`bad header checksum at byte ${offset}`);
    const size = readSize(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] || 0x30);
    const start = offset + BLOCK;
    if (start + size > tar.length) throw new TarFormatError(`entry at byte ${offset} runs past the end of the archive`);
    const data = tar.subarray(start, start + size);
    offset = start + Math.ceil(size / BLOCK) * BLOCK;

    if (type === "g") {
      comment = readPax(data).comment ?? comment;
    } else if (type === "x") {
      nextPath = readPax(data).path ?? nextPath;
    } else if (type === "L") {
      nextPath = cString(data);
    } else {
      const path = nextPath ?? headerPath(header);
      nextPath = undefined;
      if ((type === "0" || type === "7") && wanted(path)) files.push({ path, data: Buffer.from(data) });
    }
  }
  return { files, comment };
}

function headerPath(header: Buffer): string {
  const name = cString(header.subarray(0, 100));
  const ustar = header.subarray(257, 262).toString("latin1") === "ustar";
  const prefix = ustar ? cString(header.subarray(345, 500)) : "";
  return prefix ? `${prefix}/${name}` : name;
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end === -1 ? bytes.length : end).toString("utf8");
}

/** Octal, or base-256 when the high bit of the first byte is set (GNU, for sizes over 8 GiB). */
function readSize(field: Buffer): number {
  if (field[0] & 0x80) {
    let n = field[0] & 0x7f;
    for (const b of field.subarray(1)) n = n * 256 + b;
    return n;
  }
  const text = cString(field).trim();
  return text ? parseInt(text, 8) : 0;
}

/** The header checksum: the sum of its bytes with the checksum field counted as spaces. */
function validChecksum(header: Buffer): boolean {
  const stored = parseInt(cString(header.subarray(148, 156)).trim(), 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return stored === sum;
}

/** Pax records: `<length> <key>=<value>\n`, the length counting the whole record in bytes. */
function readPax(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  for (let at = 0; at < data.length; ) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const length = parseInt(data.subarray(at, space).toString("latin1"), 10);
    if (!Number.isInteger(length) || length <= 0) break;
    const record = data.subarray(space + 1, at + length - 1).toString("utf8"); // without the trailing newline
    const eq = record.indexOf("=");
    if (eq > 0) records[record.slice(0, eq)] = record.slice(eq + 1);
    at += length;
  }
  return records;
}
