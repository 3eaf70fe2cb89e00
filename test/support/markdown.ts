/**
 * What the README and the docs show a reader, read back so tests can hold them to the product: the shell
 * commands (```sh blocks and inline code that starts with npx, npm or node bin/umami-db.js), the sample of
 * `npm run local`, the relative links, and the headings' anchors as GitHub makes them.
 */
import { readFileSync } from "node:fs";

const ROOT = new URL("../../", import.meta.url);

/** A repository file's text, by its path from the root. */
export function readDoc(path: string): string {
  return readFileSync(new URL(path, ROOT), "utf8");
}

/** The fenced blocks of a Markdown text, with their info string. */
function fences(markdown: string): { lang: string; body: string }[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], body: m[2] }));
}

/** The text outside fenced blocks. */
function prose(markdown: string): string {
  return markdown.replace(/^```\w*\n[\s\S]*?^```$/gm, "");
}

/**
 * Every shell command a reader is shown: each line of a ```sh block without its comment, split at `&&`, and
 * inline code in the prose that starts with `npx `, `npm ` or `node bin/umami-db.js`.
 */
export function shellCommands(markdown: string): string[] {
  const blocks = fences(markdown)
    .filter((f) => f.lang === "sh")
    .flatMap((f) => f.body.split("\n"))
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line && !line.startsWith("#"));
  const inline = [...prose(markdown).matchAll(/`((?:npx|npm|node bin\/umami-db\.js) [^`]+)`/g)].map((m) => m[1]);
  return [...blocks, ...inline].flatMap((line) => line.split(/\s+&&\s+/)).map((c) => c.trim());
}

/** A command line's words, as a POSIX shell splits them (quotes removed; no expansion). */
export function words(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** The step names of the sample output (`ok   <name> (<time>) — …` lines). */
export function sampleSteps(markdown: string): string[] {
  return fences(markdown)
    .filter((f) => f.lang === "text")
    .flatMap((f) => [...f.body.matchAll(/^(?:ok|FAIL) +(.+?) \(\d[^)]*\)/gm)].map((m) => m[1]));
}

/** Relative link targets in the prose: `[text](path#anchor)`, web links left out. */
export function relativeLinks(markdown: string): { path: string; anchor?: string }[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1])
    .filter((target) => !/^[a-z]+:/.test(target))
    .map((target) => {
      const [path, anchor] = target.split("#");
      return { path, anchor };
    });
}

/** The anchors GitHub gives a document's headings: lower case, punctuation dropped, spaces as hyphens. */
export function headingAnchors(markdown: string): string[] {
  return [...prose(markdown).matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
    m[1]
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-"),
  );
}
