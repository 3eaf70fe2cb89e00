/**
 * Posts the pull request's summary as ONE comment, updated in place: the comment that starts with the marker is
 * edited; none → one is created; more than one (a race of two runs) → the first is edited, the others deleted.
 * Talks to GitHub's REST API (issues comments) with the job's token; the base URL comes from GITHUB_API_URL, so
 * a test points it at a local server.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { PR_COMMENT_MARKER } from "./pr-comment-marker.js";

/** Where and as whom to comment. */
export interface CommentTarget {
  apiUrl: string;
  token: string;
  /** owner/name */
  repository: string;
  pullRequest: number;
}

interface IssueComment {
  id: number;
  body?: string;
}

async function github<T>(target: CommentTarget, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${target.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${target.token}`,
      accept: "application/vnd.github+json",
      "content-type": "application/json",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok)
    throw new Error(
      `GitHub answered ${method} ${path} with ${response.status} ${response.statusText}: ${(await response.text()).slice(0, 200)}`,
    );
  return (response.status === 204 ? undefined : await response.json()) as T;
}

/** Creates or updates the one summary comment; returns what it did and the comment's id. */
export async function upsertPrComment(
  target: CommentTarget,
  body: string,
): Promise<{ action: "created" | "updated"; id: number; deleted: number[] }> {
  if (!body.startsWith(PR_COMMENT_MARKER))
    throw new Error(`The comment must start with ${PR_COMMENT_MARKER}, or the next run could not find it.`);
  const base = `/repos/${target.repository}/issues`;
  const ours: IssueComment[] = [];
  for (let page = 1; ; page++) {
    const comments = await github<IssueComment[]>(
      target,
      "GET",
      `${base}/${target.pullRequest}/comments?per_page=100&page=${page}`,
    );
    ours.push(...comments.filter((c) => c.body?.startsWith(PR_COMMENT_MARKER)));
    if (comments.length < 100) break;
  }
  if (ours.length === 0) {
    const created = await github<IssueComment>(target, "POST", `${base}/${target.pullRequest}/comments`, { body });
    return { action: "created", id: created.id, deleted: [] };
  }
  const [keep, ...extra] = ours;
  await github(target, "PATCH", `${base}/comments/${keep.id}`, { body });
  for (const c of extra) await github(target, "DELETE", `${base}/comments/${c.id}`);
  return { action: "updated", id: keep.id, deleted: extra.map((c) => c.id) };
}

/** The script's flags, exported so the workflow test parses a step's arguments with them. */
export const PR_COMMENT_OPTIONS = { file: { type: "string" } } as const;

/** The script's edge: flags and environment in, Markdown or one status line out; a problem is one line, exit 2. */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: PR_COMMENT_OPTIONS, strict: true });
  const env = process.env;
  const missing = ["GITHUB_TOKEN", "GITHUB_REPOSITORY", "PR_NUMBER"].filter((k) => !env[k]);
  if (!values.file || missing.length)
    throw new Error(`Needs --file <summary.md> and ${missing.join(", ") || "nothing else"} in the environment.`);
  const result = await upsertPrComment(
    {
      apiUrl: env.GITHUB_API_URL ?? "https://api.github.com",
      token: env.GITHUB_TOKEN!,
      repository: env.GITHUB_REPOSITORY!,
      pullRequest: Number(env.PR_NUMBER),
    },
    readFileSync(values.file, "utf8"),
  );
  process.stdout.write(
    `PR comment ${result.action} (id ${result.id})${result.deleted.length ? `; deleted duplicates ${result.deleted.join(", ")}` : ""}\n`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `${process.argv[1].split("/").at(-1)}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 2;
  });
}
