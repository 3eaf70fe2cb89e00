/**
 * The offline mirror (UMAMI_MIGRATIONS_MIRROR): a directory of Umami's release files laid out by tag, with
 * the repository's own paths inside (`<dir>/v3.1.0/prisma/migrations`, `<dir>/v2.10.0/db/postgresql/migrations`).
 * Air-gapped runners and the tests read releases from there before any download.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../../kernel/errors.js";

/** Where Umami keeps its PostgreSQL migrations: 3.x first, then 2.x. */
export const UMAMI_LAYOUTS = ["prisma/migrations", "db/postgresql/migrations"] as const;

/** The migrations directory of `tag` in the mirror; a mirror without it is a one-line error naming the paths looked for. */
export function findInMirror(mirrorDir: string, tag: string): string {
  if (!existsSync(mirrorDir) || !statSync(mirrorDir).isDirectory()) {
    throw new UserError(
      `UMAMI_MIGRATIONS_MIRROR names ${mirrorDir}, which is not a directory. Point it at a directory of Umami release files laid out by tag (<dir>/${tag}/prisma/migrations), or unset it to download from GitHub.`,
    );
  }
  const candidates = UMAMI_LAYOUTS.map((layout) => join(mirrorDir, tag, layout));
  const found = candidates.find((dir) => existsSync(join(dir, "migration_lock.toml")));
  if (found) return found;
  throw new UserError(
    `The mirror ${mirrorDir} (UMAMI_MIGRATIONS_MIRROR) has no Umami ${tag}: looked for ${candidates.join(" and ")}. ` +
      `Copy the release's files there from the tag, or unset UMAMI_MIGRATIONS_MIRROR to download from GitHub.`,
  );
}
