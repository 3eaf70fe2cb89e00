/**
 * The bundled copy: Umami's release files for the tags the tool knows ship with it in `vendor/umami/<tag>/`,
 * byte-identical to the tag (the repository's own paths inside, as in the mirror), pinned in
 * known-releases.json. A known release therefore loads with no network, no mirror and no cache, and the SQL a
 * deploy runs is reviewable in the repository.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UMAMI_LAYOUTS } from "./mirror.js";

/** Where the releases ship: `<project>/vendor/umami`. */
export const BUNDLED_DIR = fileURLToPath(new URL("../../../vendor/umami", import.meta.url));

/** The migrations directory of `tag` in the bundled copy, or undefined when the tool does not ship that tag. */
export function findBundled(bundledDir: string, tag: string): string | undefined {
  return UMAMI_LAYOUTS.map((layout) => join(bundledDir, tag, layout)).find((dir) =>
    existsSync(join(dir, "migration_lock.toml")),
  );
}
