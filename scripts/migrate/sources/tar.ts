/**
 * Reads a tag's tarball from memory with the npm `tar` package (node-tar, npm's own): gzip detected, ustar,
 * pax extended headers (long paths) and GNU long names understood, the pax global header's `comment` (where
 * GitHub and `git archive` put the commit) kept. Strict: a damaged or foreign archive is an error, never a
 * partial read. Writes nothing.
 */
import { Parser, type ReadEntry } from "tar";

/** A regular file in the archive. */
interface TarFile {
  path: string;
  data: Buffer;
}

/** What `readTarGz` found: the regular files whose path `wanted` accepts, and the archive's pax comment. */
interface TarContents {
  files: TarFile[];
  /** The pax global header's `comment` (GitHub and `git archive` put the commit id there). */
  comment?: string;
}

/** The most the kept files may add up to (GitHub's Umami tarballs hold ~1 MB of migrations). */
const MAX_KEPT_BYTES = 512 * 1024 * 1024;
const REGULAR = new Set(["File", "OldFile", "ContiguousFile"]);

/** Thrown for bytes that are not a (gzip'ed) tar archive. */
export class TarFormatError extends Error {
  override name = "TarFormatError";
}

/** Reads `archive` (gzip'ed or not), keeping the regular files whose path `wanted` accepts. */
export function readTarGz(archive: Buffer, wanted: (path: string) => boolean = () => true): Promise<TarContents> {
  return new Promise((resolve, reject) => {
    const files: TarFile[] = [];
    let comment: string | undefined;
    let kept = 0;
    let entries = 0;
    let failed = false;
    const fail = (message: string, cause?: unknown) => {
      if (failed) return;
      failed = true;
      reject(new TarFormatError(message, { cause }));
    };
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        entries++;
        comment = entry.globalExtended?.comment ?? comment;
        if (!REGULAR.has(entry.type) || !wanted(entry.path)) {
          entry.resume();
          return;
        }
        const chunks: Buffer[] = [];
        entry.on("data", (chunk: Buffer) => {
          kept += chunk.length;
          if (kept > MAX_KEPT_BYTES) fail(`more than ${MAX_KEPT_BYTES} bytes of files`);
          else chunks.push(chunk);
        });
        entry.on("end", () => files.push({ path: entry.path, data: Buffer.concat(chunks) }));
      },
    });
    parser.on("error", (error: Error & { code?: string }) => fail(error.message, error));
    parser.on("end", () => {
      // An archive with no entry at all is not a tag's tarball (node-tar accepts an empty one silently).
      if (entries === 0) fail("no entries: not a tar archive");
      else if (!failed) resolve({ files, comment });
    });
    parser.end(archive);
  });
}
