/**
 * `umami-db releases add <tag>` against the local tarball server (test/support/tarballs.ts): a release Umami
 * published after the tool was built (here a 3.4.0 made from 3.1.0 plus a de-duplicating DELETE, a dropped
 * column and a new table, with one migration edited) is downloaded through the github: source, written
 * byte-identical to a copy of vendor/umami, its checksums recorded, and its new migrations' plans named.
 */
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderAddedRelease } from "../../../scripts/commands/releases.js";
import { UserError } from "../../../scripts/kernel/errors.js";
import { BUNDLED_DIR, loadMigrations } from "../../../scripts/migrate/sources.js";
import { addRelease, type ReleaseStore } from "../../../scripts/migrate/sources/add-release.js";
import { KNOWN_RELEASES_FILE, readKnownReleases } from "../../../scripts/migrate/sources/releases.js";
import { runCli } from "../../support/reliability.js";
import { gitArchive, startTarballServer } from "../../support/tarballs.js";

const scratch = mkdtempSync(join(tmpdir(), "umami-db-add-release-"));
const upstream = join(scratch, "upstream"); // the 3.4.0 tag's migrations as GitHub would hold them
let server: Awaited<ReturnType<typeof startTarballServer>>;
let commit: string;
let store: ReleaseStore;

const NEW = {
  "20_dedupe_session_data":
    'WITH ranked AS (\n  SELECT session_data_id, row_number() OVER (PARTITION BY session_id, data_key ORDER BY created_at DESC) AS rn\n    FROM "session_data"\n)\n' +
    'DELETE FROM "session_data" USING ranked WHERE "session_data".session_data_id = ranked.session_data_id AND ranked.rn > 1;\n\n' +
    'CREATE UNIQUE INDEX "session_data_session_id_data_key_key" ON "session_data"("session_id", "data_key");\n',
  "21_drop_distinct_id": 'ALTER TABLE "session" DROP COLUMN "distinct_id";\n',
  "22_add_audit_log":
    'CREATE TABLE "audit_log" ("id" UUID NOT NULL, CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id"));\n',
};

beforeAll(async () => {
  cpSync(join(BUNDLED_DIR, "v3.1.0/prisma/migrations"), upstream, { recursive: true });
  for (const [name, sql] of Object.entries(NEW)) {
    mkdirSync(join(upstream, name));
    writeFileSync(join(upstream, name, "migration.sql"), sql);
  }
  writeFileSync(
    join(upstream, "17_remove_duplicate_key/migration.sql"),
    `${readFileSync(join(upstream, "17_remove_duplicate_key/migration.sql"), "utf8")}-- edited upstream\n`,
  );
  server = await startTarballServer();
  const made = gitArchive(scratch, "3.4.0", "prisma/migrations", upstream);
  commit = made.commit;
  server.serve("v3.4.0", made.archive);
  // The tool's own files, copied: the test never writes into the repository.
  store = { bundledDir: join(scratch, "vendor"), releasesFile: join(scratch, "known-releases.json") };
  cpSync(BUNDLED_DIR, store.bundledDir, { recursive: true });
  cpSync(KNOWN_RELEASES_FILE, store.releasesFile);
});
afterAll(async () => {
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("releases add", () => {
  it("vendors the tag byte-identical, records its checksums and commit, and names what each new migration locks and destroys", async () => {
    const added = await addRelease("v3.4.0", store, { githubBaseUrl: server.base });
    expect(server.requests).toEqual(["/umami-software/umami/tar.gz/refs/tags/v3.4.0"]);
    expect(added).toMatchObject({
      tag: "v3.4.0",
      commit,
      layout: "prisma/migrations",
      migrations: 22,
      since: "v3.1.0",
      changed: ["17_remove_duplicate_key"],
    });
    expect(added.added.map((m) => m.name)).toEqual(Object.keys(NEW));

    const dir = join(store.bundledDir, "v3.4.0/prisma/migrations");
    expect(added.dir).toBe(dir);
    for (const name of readdirSync(upstream)) {
      const file = name === "migration_lock.toml" ? name : `${name}/migration.sql`;
      expect(readFileSync(join(dir, file)).equals(readFileSync(join(upstream, file))), file).toBe(true);
    }
    expect(readdirSync(store.bundledDir).sort()).toEqual(["LICENSE", "README.md", "v2.10.0", "v3.1.0", "v3.4.0"]); // no scratch left

    const recorded = readKnownReleases(store.releasesFile).find((r) => r.tag === "v3.4.0")!;
    const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
    expect(recorded.commit).toBe(commit);
    expect(recorded.checksums["20_dedupe_session_data"]).toBe(
      sha(join(upstream, "20_dedupe_session_data/migration.sql")),
    );
    expect(Object.keys(recorded.checksums)).toHaveLength(22);
    expect(recorded.files).toEqual({
      "prisma/migrations/migration_lock.toml": sha(join(upstream, "migration_lock.toml")),
    });
    expect(readKnownReleases(store.releasesFile).map((r) => r.tag)).toEqual(["v2.10.0", "v3.1.0", "v3.4.0"]);
    expect(readFileSync(join(store.bundledDir, "README.md"), "utf8")).toContain(
      `| \`v3.4.0/prisma/migrations/\` | v3.4.0 | ${commit} |`,
    );

    // Then it loads from the bundled copy, offline.
    const set = await loadMigrations("github:umami-software/umami@v3.4.0", {
      bundledDir: store.bundledDir,
      mirrorDir: undefined,
      cacheDir: join(scratch, "cache"),
      githubBaseUrl: server.closed,
    });
    expect([set.origin, set.migrations.length]).toEqual(["bundled", 22]);

    const text = renderAddedRelease(added, store.releasesFile);
    expect(text).toContain(
      `Added Umami v3.4.0 (commit ${commit.slice(0, 8)}): 22 migrations in ${dir}; checksums recorded in ${store.releasesFile}.`,
    );
    expect(text).toContain("New since v3.1.0: 3 migration(s).");
    expect(text).toContain(
      "  20_dedupe_session_data: session_data — SHARE, blocks writes; deletes rows (line 1 DELETE (the rows its WHERE matches); line 7 CREATE UNIQUE INDEX session_data_session_id_data_key_key)",
    );
    expect(text).toContain(
      "  21_drop_distinct_id: session — ACCESS EXCLUSIVE, blocks reads and writes; drops data (line 1 DROP COLUMN distinct_id (its data is deleted))",
    );
    expect(text).toContain("  22_add_audit_log: locks no existing table (creates its own objects only)");
    expect(text).toContain("Changed by Umami since v3.1.0: 17_remove_duplicate_key");
  });

  it("refuses a tag it knows, and a tag GitHub lacks, changing nothing", async () => {
    const before = readFileSync(store.releasesFile, "utf8");
    const refusal = (tag: string) => addRelease(tag, store, { githubBaseUrl: server.base }).catch((e: unknown) => e);
    const known = await refusal("v3.1.0");
    expect(known).toBeInstanceOf(UserError);
    expect((known as Error).message).toBe(
      `Umami v3.1.0 is already a release this tool knows (${store.releasesFile}); nothing to add.`,
    );
    expect(((await refusal("v3.9.0")) as Error).message).toMatch(
      /^GitHub has no tag v3\.9\.0 in umami-software\/umami \(.* answered 404\)/,
    );
    expect(((await refusal("latest")) as Error).message).toMatch(/does not name a release tag/);
    expect(readFileSync(store.releasesFile, "utf8")).toBe(before);
    expect(readdirSync(store.bundledDir).sort()).toEqual(["LICENSE", "README.md", "v2.10.0", "v3.1.0", "v3.4.0"]);
  });

  it("unreachable GitHub: says where it must run, not to set a mirror it never reads, changing nothing", async () => {
    const before = readFileSync(store.releasesFile, "utf8");
    // A port nothing listens on: the connection is refused, as an offline machine's would fail.
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, "127.0.0.1", done));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((done) => closed.close(done));
    const error = (await addRelease("v3.5.0", store, { githubBaseUrl: `http://127.0.0.1:${port}` }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toBe(
      `Could not download github:umami-software/umami@v3.5.0 from http://127.0.0.1:${port}/umami-software/umami/tar.gz/refs/tags/v3.5.0 (ECONNREFUSED). ` +
        `\`releases add\` takes a release from GitHub only, never from UMAMI_MIGRATIONS_MIRROR or the cache: run it where 127.0.0.1:${port} is reachable, ` +
        "or set UMAMI_GITHUB_BASE_URL to a server that serves GitHub's tag tarballs.",
    );
    expect(readFileSync(store.releasesFile, "utf8")).toBe(before);
    expect(readdirSync(store.bundledDir).filter((name) => name.startsWith(".add-"))).toEqual([]);
  });

  it("through the CLI, refuses a known tag in one line, exit 2", async () => {
    const run = await runCli(["releases", "add", "v3.1.0"]);
    expect([run.code, run.stderr.trim()]).toEqual([
      2,
      `error: Umami v3.1.0 is already a release this tool knows (${KNOWN_RELEASES_FILE}); nothing to add.`,
    ]);
  });
});
