/**
 * The pull request's one comment: created once, then updated in place on every run, never duplicated — against a
 * local server that answers GitHub's issue-comments API as GitHub documents it (pages of 100, PATCH, DELETE).
 */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upsertPrComment, type CommentTarget } from "../../../scripts/ci/pr-comment.js";
import { PR_COMMENT_MARKER } from "../../../scripts/ci/pr-comment-marker.js";

let comments: { id: number; body: string }[] = [];
let nextId = 1;
let server: Server;
let target: CommentTarget;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const url = new URL(req.url!, "http://x");
      const send = (status: number, value?: unknown) =>
        res
          .writeHead(status, { "content-type": "application/json" })
          .end(value === undefined ? "" : JSON.stringify(value));
      if (req.headers.authorization !== "Bearer test-token") return send(401, { message: "Bad credentials" });
      if (req.method === "GET" && url.pathname === "/repos/acme/app/issues/7/comments") {
        const page = Number(url.searchParams.get("page"));
        return send(200, comments.slice((page - 1) * 100, page * 100));
      }
      if (req.method === "POST" && url.pathname === "/repos/acme/app/issues/7/comments") {
        const created = { id: nextId++, body: JSON.parse(body).body };
        comments.push(created);
        return send(201, created);
      }
      const id = Number(/\/issues\/comments\/(\d+)$/.exec(url.pathname)?.[1]);
      const found = comments.find((c) => c.id === id);
      if (!found) return send(404, { message: "Not Found" });
      if (req.method === "PATCH") return (found.body = JSON.parse(body).body), send(200, found);
      if (req.method === "DELETE") return (comments = comments.filter((c) => c !== found)), send(204);
      send(405);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  target = { apiUrl: `http://127.0.0.1:${port}`, token: "test-token", repository: "acme/app", pullRequest: 7 };
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("upsertPrComment", () => {
  it("creates the comment once, then updates it in place, past a first page of 100 other comments", async () => {
    comments = Array.from({ length: 120 }, () => ({ id: nextId++, body: "a reviewer's comment" }));
    expect(await upsertPrComment(target, `${PR_COMMENT_MARKER}\nrun 1`)).toMatchObject({ action: "created" });
    const second = await upsertPrComment(target, `${PR_COMMENT_MARKER}\nrun 2`);
    expect(second).toMatchObject({ action: "updated", deleted: [] });
    const ours = comments.filter((c) => c.body.startsWith(PR_COMMENT_MARKER));
    expect(ours).toEqual([{ id: second.id, body: `${PR_COMMENT_MARKER}\nrun 2` }]);
    expect(comments).toHaveLength(121);
  });

  it("deletes duplicates left by two runs racing, keeping the first", async () => {
    comments.push({ id: nextId++, body: `${PR_COMMENT_MARKER}\nracing run` });
    const result = await upsertPrComment(target, `${PR_COMMENT_MARKER}\nrun 3`);
    expect(result.deleted).toHaveLength(1);
    expect(comments.filter((c) => c.body.startsWith(PR_COMMENT_MARKER)).map((c) => c.body)).toEqual([
      `${PR_COMMENT_MARKER}\nrun 3`,
    ]);
  });

  it("refuses a body without the marker, and names GitHub's refusal", async () => {
    await expect(upsertPrComment(target, "no marker")).rejects.toThrow(/must start with <!-- umami-db:pr-summary -->/);
    await expect(upsertPrComment({ ...target, token: "wrong" }, `${PR_COMMENT_MARKER}\nx`)).rejects.toThrow(/401/);
  });
});
