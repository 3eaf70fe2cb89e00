/**
 * kernel/interrupt.ts in a process of its own, signalled for real: the handler reports, and waits for, an undo
 * that the flow began itself (woken by its cancelled statement) and dropped before the handler reached it; the
 * undo runs once, whoever asks.
 * Measured before the fix: the label was missing from the line, and the process could exit under the undo.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../support/reliability.js";

const SCRIPT = `
import { writeSync } from "node:fs";
import { installInterruptHandlers, onInterrupt, setConnectionHooks } from ${JSON.stringify(join(PROJECT_ROOT, "scripts/kernel/interrupt.ts"))};
installInterruptHandlers();
let undos = 0;
const undo = onInterrupt("undid the temporary thing", () => new Promise((done) => setTimeout(() => { undos++; done(); }, 200)));
// The flow: its statement is cancelled, its finally begins the undo and drops it at once, before the handler's loop.
setConnectionHooks({
  cancel: async () => { void undo(); undo.drop(); return 1; },
  // Past the handler's muted stderr.
  close: async () => { writeSync(2, "undos=" + undos + "\\n"); },
});
process.kill(process.pid, "SIGTERM");
setInterval(() => undefined, 1000);
`;

describe("interrupt handler", () => {
  it("names and waits for an undo the flow already began and dropped", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", SCRIPT], {
      cwd: PROJECT_ROOT,
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(run.status, run.stderr).toBe(143);
    const lines = run.stderr.trimEnd().split("\n");
    expect(lines.at(-2)).toBe("undos=1");
    expect(lines.at(-1)).toBe(
      "error: interrupted by SIGTERM: cancelled 1 running statement (rolled back); undid the temporary thing.",
    );
  });
});
