#!/usr/bin/env node
// Extracts SST's platform (.sst/platform: config.d.ts types, the providers' npm packages) when it is missing
// or stale (another SST version, a provider pin changed in sst.config.ts: scripts/sst-platform-state.mjs), so
// `sst.config.ts` is type-checked offline against what a deploy would use (`docs/design.md` § "Facts we measured"). Used as npm
// `pretest`; a no-op when the platform matches. Telemetry off; no Bun; no network beyond npm.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { platformProblem } from "./sst-platform-state.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

const problem = platformProblem(root);
if (!problem) process.exit(0);

process.stderr.write(`${problem}: running \`sst install\` (offline, ~30 s)…\n`);
// Only the generated platform goes; .sst keeps the rest (outputs.json names the last deployed stage).
rmSync(join(root, ".sst", "platform"), { recursive: true, force: true });
// SST writes a log file into TMPDIR on every run: one of ours, removed afterwards (tests leave /tmp as found).
const logs = mkdtempSync(join(tmpdir(), "sst-install-"));
const result = spawnSync("npx", ["--no", "sst", "install"], {
  cwd: root,
  stdio: ["ignore", "inherit", "inherit"],
  env: {
    ...process.env,
    SST_TELEMETRY_DISABLED: "1",
    SST_SKIP_DEPENDENCY_CHECK: "1",
    SST_NO_BUN: "1",
    SST_STAGE: process.env.SST_STAGE ?? "dev",
    TMPDIR: logs,
  },
});
rmSync(logs, { recursive: true, force: true });
const left = result.status === 0 ? platformProblem(root) : `sst install exited with ${result.status ?? result.signal}`;
if (left) {
  process.stderr.write(`sst install did not produce a matching .sst/platform (${left}).\n`);
  process.exit(result.status || 1);
}
