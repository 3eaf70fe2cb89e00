/**
 * The planted-code check fails on any view, policy or caller-rights function in Umami's schema because Umami's
 * migrations create none (docs/threat-model.md, class planted-code): every bundled release is read to hold
 * that claim to the files. A release that adds one makes this test fail before the audit cries wolf.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const vendor = new URL("../../../vendor/umami/", import.meta.url).pathname;

function migrations(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? migrations(join(dir, e.name)) : e.name === "migration.sql" ? [join(dir, e.name)] : [],
  );
}

describe("Umami's bundled migrations", () => {
  it("create no view, policy, function, procedure, trigger or rule, and enable no row-level security", () => {
    const files = migrations(vendor);
    expect(files.length).toBeGreaterThan(20);
    const planted =
      /\bCREATE\s+(OR\s+REPLACE\s+)?(MATERIALIZED\s+)?(VIEW|POLICY|FUNCTION|PROCEDURE|TRIGGER|CONSTRAINT\s+TRIGGER|RULE|AGGREGATE)\b|\bROW\s+LEVEL\s+SECURITY\b/i;
    expect(files.filter((f) => planted.test(readFileSync(f, "utf8")))).toEqual([]);
  });
});
