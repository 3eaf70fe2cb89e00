#!/usr/bin/env node
// Extracts SST's platform (.sst/platform: config.d.ts types, the providers' npm packages) when it is missing,
// so `sst.config.ts` can be type-checked offline (DESIGN.md fact 4). Used as npm `pretest`; a no-op when
// the platform is already there. Telemetry off; no Bun; no network beyond npm.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const marker = join(root, ".sst", "platform", "config.d.ts");

if (existsSync(marker)) process.exit(0);

process.stderr.write("SST platform types missing: running `sst install` (offline, ~30 s)…\n");
const result = spawnSync("npx", ["--no", "sst", "install"], {
  cwd: root,
  stdio: ["ignore", "inherit", "inherit"],
  env: {
    ...process.env,
    SST_TELEMETRY_DISABLED: "1",
    SST_SKIP_DEPENDENCY_CHECK: "1",
    SST_NO_BUN: "1",
    SST_STAGE: process.env.SST_STAGE ?? "dev",
  },
});
if (result.status !== 0 || !existsSync(marker)) {
  process.stderr.write(`sst install did not produce ${marker} (exit ${result.status ?? result.signal}).\n`);
  process.exit(result.status || 1);
}
