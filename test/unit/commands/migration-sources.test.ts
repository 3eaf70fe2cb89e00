/**
 * Every command that loads migrations reads them through the same options (commands/migration-source.ts): the
 * mirror reaches the loader in each (`migrate verify-schema` once forgot it), a release the tool ships loads
 * from vendor/umami with no mirror and no network, and offline an unknown tag fails in one line naming the
 * mirror. No database is needed: each command stops at its first connection, to a port nothing listens on.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, type CliRun } from "../../support/reliability.js";

const dir = mkdtempSync(join(tmpdir(), "umami-db-sources-"));
const mirror = join(dir, "mirror");
const cache = join(dir, "cache");
let closed = 0;
const runs = new Map<string, CliRun>();

const COMMANDS: Record<string, string[]> = {
  "migrate deploy": ["migrate", "deploy"],
  "migrate status": ["migrate", "status"],
  "migrate verify-schema": ["migrate", "verify-schema"],
  local: ["local", "--secret-file", join(dir, "local.json")],
  "post-deploy": ["post-deploy", "--stage", "dev", "--no-before", "--reports-dir", join(dir, "reports")],
};
const MODES = {
  mirror: { tag: "v3.8.8", mirror: true },
  bundled: { tag: "v3.1.0", mirror: true },
  offline: { tag: "v3.8.8", mirror: false },
} as const;

beforeAll(async () => {
  mkdirSync(mirror);
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
  closed = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  const db = `127.0.0.1:${closed}/app`;
  const jobs = Object.entries(COMMANDS).flatMap(([name, args]) =>
    Object.entries(MODES).map(async ([mode, m]) => {
      const run = await runCli(
        [
          ...args,
          "--migrations",
          `github:umami-software/umami@${m.tag}`,
          ...(name === "local" ? ["--admin-url", `postgresql://admin:pw@${db}`] : []),
        ],
        {
          UMAMI_GITHUB_BASE_URL: `http://127.0.0.1:${closed}`,
          UMAMI_MIGRATIONS_CACHE: cache,
          ...(m.mirror ? { UMAMI_MIGRATIONS_MIRROR: mirror } : {}),
          DATABASE_URL: `postgresql://umami_user:pw@${db}?schema=umami`,
          ADMIN_DATABASE_URL: `postgresql://admin:pw@${db}`,
          UMAMI_DATABASE_URL: `postgresql://umami_user:pw@${db}?schema=umami`,
        },
      );
      runs.set(`${name} ${mode}`, run);
    }),
  );
  await Promise.all(jobs);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(Object.keys(COMMANDS))("%s", (name) => {
  const output = (mode: keyof typeof MODES) => {
    const run = runs.get(`${name} ${mode}`)!;
    return { code: run.code, text: run.stdout + run.stderr };
  };

  it("reads the mirror: a tag it lacks is named with the mirror's paths", () => {
    const { code, text } = output("mirror");
    expect(code).toBe(2);
    expect(text).toContain(
      `The mirror ${mirror} (UMAMI_MIGRATIONS_MIRROR) has no Umami v3.8.8: looked for ${join(mirror, "v3.8.8/prisma/migrations")}`,
    );
  });

  it("loads a release the tool ships from vendor/umami: no mirror entry, no network, nothing cached; stops only at the database", () => {
    const { code, text } = output("bundled");
    expect(code).not.toBe(0);
    expect(text).not.toMatch(/The mirror|Could not download|FAIL load migrations/);
    expect(text).toContain(`Nothing is listening at 127.0.0.1:${closed}`);
    if (name === "migrate deploy")
      expect(text).toContain("19 migrations in github:umami-software/umami@v3.1.0 (from bundled)");
    if (name === "local" || name === "post-deploy")
      expect(text).toMatch(
        /ok\s+load migrations \(\d+ ms\) — 19 migrations from github:umami-software\/umami@v3\.1\.0 \(bundled\)/,
      );
  });

  it("offline, with no mirror, fails in one line naming the mirror and the cache", () => {
    const { code, text } = output("offline");
    expect(code).toBe(2);
    expect(text).toMatch(
      new RegExp(
        `Could not download github:umami-software/umami@v3\\.8\\.8 from http://127\\.0\\.0\\.1:${closed}/umami-software/umami/tar\\.gz/refs/tags/v3\\.8\\.8 \\(ECONNREFUSED\\), and it is neither in the cache \\(${cache}/github/umami-software/umami/v3\\.8\\.8\\) nor in a mirror \\(UMAMI_MIGRATIONS_MIRROR is not set\\)`,
      ),
    );
  });
});

it("wrote nothing into the cache", () => {
  expect(existsSync(cache)).toBe(false);
});
