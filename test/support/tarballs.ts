/**
 * GitHub's tag tarballs, locally: `git archive` of a repository holding Umami's files at their layout (top
 * folder `umami-<version>/`, the commit in the pax global header, as GitHub's codeload serves them), and an
 * HTTP server in codeload's URL layout (`/<owner>/<repo>/tar.gz/refs/tags/<tag>`) that records its requests.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";

/** A tag tarball as GitHub serves it, made in `scratch` from the migrations at `from`, after `edit` (if any). */
export function gitArchive(
  scratch: string,
  version: string,
  layout: string,
  from: string,
  edit: (dir: string) => void = () => undefined,
): { archive: Buffer; commit: string } {
  const repo = mkdtempSync(join(scratch, "repo-"));
  cpSync(from, join(repo, layout), { recursive: true });
  writeFileSync(join(repo, "package.json"), `{ "name": "umami", "version": "${version}" }\n`);
  edit(join(repo, layout));
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd: repo });
  git("init", "-q", ".");
  git("add", "-A");
  git("commit", "-qm", `v${version}`);
  return {
    archive: git("archive", "--format=tar.gz", `--prefix=umami-${version}/`, "HEAD"),
    commit: git("rev-parse", "HEAD").toString().trim(),
  };
}

/** A local codeload: `serve` publishes a tag's tarball; `base` is its URL, `closed` one where nothing listens. */
export async function startTarballServer() {
  const tarballs = new Map<string, Buffer>(); // URL path → body
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? "");
    const body = tarballs.get(req.url ?? "");
    res.writeHead(body ? 200 : 404, { "content-type": "application/x-gzip" }).end(body ?? "Not Found");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
  const closed = `http://127.0.0.1:${(probe.address() as { port: number }).port}`;
  await new Promise((r) => probe.close(r));
  return {
    base: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    closed,
    requests,
    tarballs,
    serve(tag: string, body: Buffer, repo = "umami-software/umami"): void {
      tarballs.set(`/${repo}/tar.gz/refs/tags/${tag}`, body);
    },
    close: () => new Promise((r) => server.close(r)),
  };
}
