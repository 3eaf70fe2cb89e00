// Whether `.sst/platform` (what `sst install` extracts: SST's config.d.ts and the providers' npm packages)
// still matches the repository: the SST version in node_modules and the provider versions `sst.config.ts`
// pins. A stale platform type-checks the config against old provider types without a word, so the npm
// `pretest` hook reinstalls it (scripts/ensure-sst-platform.mjs).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The provider versions pinned in sst.config.ts's `providers: { … }` block: `{ aws: "7.48.0", … }`. */
export function pinnedProviders(configText) {
  const start = configText.search(/providers\s*:\s*\{/);
  if (start < 0) return {};
  let depth = 0;
  let end = configText.indexOf("{", start);
  const open = end;
  for (; end < configText.length; end++) {
    if (configText[end] === "{") depth++;
    else if (configText[end] === "}" && --depth === 0) break;
  }
  const block = configText.slice(open + 1, end);
  const pins = {};
  // `name: "1.2.3"` or `name: { version: "1.2.3", … }`, names quoted or not.
  for (const m of block.matchAll(/["']?([\w-]+)["']?\s*:\s*(?:\{[^{}]*?version\s*:\s*)?["'](\d[^"']*)["']/g))
    pins[m[1]] = m[2];
  return pins;
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

/** Why `root/.sst/platform` must be (re)installed, or null when it matches the repository. */
export function platformProblem(root) {
  const platform = join(root, ".sst", "platform");
  if (!existsSync(join(platform, "config.d.ts"))) return ".sst/platform is missing";
  const sst = readJson(join(root, "node_modules", "sst", "package.json"))?.version;
  const built = existsSync(join(platform, "version"))
    ? readFileSync(join(platform, "version"), "utf8").trim()
    : undefined;
  if (sst && built !== sst)
    return `.sst/platform was built by SST ${built ?? "(unknown)"}, node_modules has SST ${sst}`;
  const lock = readJson(join(root, ".sst", "provider-lock.json")) ?? [];
  const pins = pinnedProviders(readFileSync(join(root, "sst.config.ts"), "utf8"));
  for (const [name, version] of Object.entries(pins)) {
    const pkg = lock.find((p) => p.name === name)?.package ?? `@pulumi/${name}`;
    const installed = readJson(join(platform, "node_modules", pkg, "package.json"))?.version;
    if (installed !== version) return `sst.config.ts pins ${pkg} ${version}, .sst/platform has ${installed ?? "none"}`;
  }
  return null;
}
