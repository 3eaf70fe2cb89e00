/**
 * Headless Chromium (Debian's `chromium` package) looking at what the product renders: a screenshot (PNG) and the
 * DOM after rendering (--dump-dom). Tests skip, saying why, where it is not installed.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The Chromium binary, or null (CHROMIUM_PATH, when set, is the only one tried: a wrong path shows the skip). */
export const CHROMIUM: string | null = (() => {
  for (const candidate of process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : ["chromium", "chromium-browser"]) {
    try {
      execFileSync(candidate, ["--version"], { stdio: "ignore", timeout: 20_000 });
      return candidate;
    } catch {
      // not this one
    }
  }
  return null;
})();

/** Why the browser tests are skipped, for the test's name. */
export const CHROMIUM_SKIP_REASON =
  "Chromium is not installed (Debian: apt-get install -y chromium; .ci/run tries it): the browser check is skipped";

async function chromium(args: string[]): Promise<string> {
  // A profile of its own per run, removed after: nothing left in /tmp or $HOME.
  const profile = mkdtempSync(join(tmpdir(), "umami-chromium-"));
  try {
    const { stdout } = await run(
      CHROMIUM!,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        `--user-data-dir=${profile}`,
        "--virtual-time-budget=2000",
        ...args,
      ],
      { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
    );
    return stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The page's DOM after rendering, as HTML text. */
export function dumpDom(file: string): Promise<string> {
  return chromium(["--dump-dom", `file://${file}`]);
}

/** Saves a PNG screenshot of the page at `width` × `height`. */
export async function screenshot(file: string, png: string, width = 1000, height = 4000): Promise<void> {
  await chromium([`--screenshot=${png}`, `--window-size=${width},${height}`, `file://${file}`]);
}
