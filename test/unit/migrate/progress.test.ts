/**
 * Progress text for a long migration, and how the steps' observer renders it: on a terminal the line is
 * rewritten in place; in a log, at most one line per step every 10 s.
 */
import { describe, expect, it } from "vitest";
import { describeMigrationProgress, formatElapsed } from "../../../scripts/migrate/progress.js";
import { progressObserver } from "../../../scripts/commands/progress.js";

describe("describeMigrationProgress", () => {
  it("says how long it has run, and what it waits for or how far the index build is", () => {
    expect(describeMigrationProgress({ type: "progress", name: "05_add_visit_id", elapsedMs: 2_040 })).toBe(
      "running 2.0 s",
    );
    expect(
      describeMigrationProgress({
        type: "progress",
        name: "05_add_visit_id",
        elapsedMs: 245_000,
        index: {
          table: "website_event",
          phase: "building index: scanning table",
          blocksDone: 12_345,
          blocksTotal: 58_520,
          tuplesDone: 0,
          tuplesTotal: 0,
        },
      }),
    ).toBe(
      "running 4 min 05 s — CREATE INDEX on website_event: building index: scanning table, 12,345 of 58,520 blocks (21%)",
    );
    expect(
      describeMigrationProgress({
        type: "progress",
        name: "07_add_tag",
        elapsedMs: 61_000,
        index: {
          table: "website_event",
          phase: "building index: loading tuples in tree",
          blocksDone: 0,
          blocksTotal: 0,
          tuplesDone: 1_500_000,
          tuplesTotal: 3_000_000,
        },
      }),
    ).toBe(
      "running 1 min 01 s — CREATE INDEX on website_event: building index: loading tuples in tree, 1,500,000 of 3,000,000 tuples (50%)",
    );
    expect(
      describeMigrationProgress({
        type: "progress",
        name: "07_add_tag",
        elapsedMs: 4_000,
        waiting: {
          mode: "AccessExclusiveLock",
          object: "website_event",
          holders: [{ pid: 4242, user: "umami_user", application: "umami", state: "active", seconds: 30 }],
        },
      }),
    ).toBe('running 4.0 s — waiting for AccessExclusiveLock on website_event, held by pid 4242 umami_user "umami"');
    expect(formatElapsed(600_000)).toBe("10 min 00 s");
  });
});

describe("progressObserver", () => {
  function stream(isTTY: boolean) {
    const written: string[] = [];
    return { written, stream: { isTTY, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream };
  }

  it("in a log: the first progress line of a step at once, then at most one per interval; the end line always", () => {
    const s = stream(false);
    const observer = progressObserver({ stream: s.stream, progressEveryMs: 60_000 });
    observer.start?.("05_add_visit_id");
    observer.progress?.("05_add_visit_id", "running 2.0 s");
    observer.progress?.("05_add_visit_id", "running 4.0 s");
    observer.end?.({ name: "05_add_visit_id", ok: true, ms: 4100 });
    expect(s.written).toEqual(["  … 05_add_visit_id — running 2.0 s\n", "ok   05_add_visit_id (4.1 s)\n"]);
  });

  it("on a terminal: every progress rewrites the step's line", () => {
    const s = stream(true);
    const observer = progressObserver({ stream: s.stream });
    observer.progress?.("07_add_tag", "running 2.0 s");
    observer.progress?.("07_add_tag", "running 4.0 s");
    expect(s.written).toEqual(["\x1b[2K  … 07_add_tag — running 2.0 s\r", "\x1b[2K  … 07_add_tag — running 4.0 s\r"]);
  });
});
