/**
 * Renders step progress on stderr: on a terminal a line per step as it starts and ends; elsewhere (CI,
 * pipes) plain lines only when a step ends. `--json` keeps stdout for the one JSON object.
 */
import type { StepObserver, StepRecord } from "../flows/steps.js";

/**
 * A progress observer writing to `stream` (default stderr); silent when `quiet`. A running step's progress
 * rewrites its line on a terminal; elsewhere it is a line of its own, at most one per `progressEveryMs` per step
 * (a CI log of a ten-minute migration stays readable).
 */
export function progressObserver(
  options: { quiet?: boolean; stream?: NodeJS.WriteStream; progressEveryMs?: number } = {},
): StepObserver {
  const stream = options.stream ?? process.stderr;
  if (options.quiet) return {};
  const tty = stream.isTTY;
  const every = options.progressEveryMs ?? 10_000;
  const lastLine = new Map<string, number>();
  return {
    start(name) {
      if (tty) stream.write(`  … ${name}\r`);
    },
    progress(name, detail) {
      if (tty) {
        stream.write(`\x1b[2K  … ${name} — ${detail}\r`);
        return;
      }
      const now = performance.now();
      const last = lastLine.get(name);
      if (last !== undefined && now - last < every) return;
      lastLine.set(name, now);
      stream.write(`  … ${name} — ${detail}\n`);
    },
    end(record) {
      stream.write(`${tty ? "\x1b[2K" : ""}${formatStep(record)}\n`);
    },
  };
}

/** One line for a finished step: mark, name, time, detail or error. */
function formatStep(record: StepRecord): string {
  const mark = record.ok ? "ok  " : "FAIL";
  const tail = record.ok
    ? record.detail
      ? ` — ${record.detail}`
      : ""
    : ` — ${record.error ?? record.detail ?? "failed"}`;
  return `${mark} ${record.name} (${formatMs(record.ms)})${tail}`;
}

/** Milliseconds as "840 ms" or "2.4 s". */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
