import { describe, expect, it } from "vitest";
import { finding } from "../../../scripts/audit/types.js";
import { type AuditResult } from "../../../scripts/audit/audit.js";
import { auditJson, renderAuditMarkdown, renderAuditTable } from "../../../scripts/audit/report.js";

const result: AuditResult = {
  ok: false,
  findings: [
    finding(
      "outward-privileges",
      "outward: tables and views",
      "fail",
      ["public.orders (SELECT via PUBLIC)"],
      "REVOKE ALL ON public.orders FROM PUBLIC.",
      "nothing reachable",
    ),
    finding(
      "outward-privileges",
      "outward: USAGE on other schemas",
      "warn",
      ["public (USAGE via PUBLIC)"],
      "Revoke USAGE | if unused.",
      "no usage",
    ),
    finding(
      "inward-members",
      "inward: members of the Umami role",
      "fail",
      [],
      "revoke",
      "No role but the administrators is a member of umami_user.",
    ),
  ],
  fingerprint: {
    compared: true,
    changed: [{ change: "changed", object: "column public.orders.total", schema: "public" }],
  },
  probes: [
    { name: "read public.orders", expected: "denied", outcome: "allowed", ok: false },
    { name: "create and read a table in umami", expected: "allowed", outcome: "allowed", ok: true },
  ],
  queries: 4,
  ms: 12,
};

describe("finding", () => {
  it("is a pass with no objects and the pass sentence when nothing was found", () => {
    expect(result.findings[2]).toEqual({
      class: "inward-members",
      check: "inward: members of the Umami role",
      severity: "pass",
      objects: [],
      remedy: "No role but the administrators is a member of umami_user.",
    });
    expect(result.findings[0].severity).toBe("fail");
  });
});

describe("renderAuditTable", () => {
  it("prints one row per check, the objects and remedy of what did not pass, and a summary", () => {
    const lines = renderAuditTable(result).split("\n");
    expect(lines[0]).toBe("RESULT  CHECK");
    expect(lines.filter((l) => /^(PASS|WARN|FAIL) /.test(l))).toHaveLength(3);
    expect(lines).toContain("        - public.orders (SELECT via PUBLIC)");
    expect(lines).toContain("        → REVOKE ALL ON public.orders FROM PUBLIC.");
    expect(lines.at(-2)).toBe("FAIL: 1 failed, 1 warning, 1 passed — 4 catalog queries, 12 ms");
  });
});

describe("renderAuditMarkdown", () => {
  it("has a table row per check with escaped cells, the probes and the fingerprint changes", () => {
    const md = renderAuditMarkdown(result);
    expect(md).toContain(
      "| FAIL | outward: tables and views | `public.orders (SELECT via PUBLIC)` | REVOKE ALL ON public.orders FROM PUBLIC. | outward-privileges |",
    );
    expect(md).toContain("Revoke USAGE \\| if unused.");
    expect(md).toContain("| read public.orders | denied | **allowed** |");
    expect(md).toContain("- changed `column public.orders.total`");
  });

  it("says what was audited when told (verify passes stage, database, server and time)", () => {
    const about = "stage dev, database app at db.example.com:5432, 2026-11-25T15:00:00.000Z";
    expect(renderAuditMarkdown(result, about).split("\n").slice(0, 3)).toEqual([
      "## Isolation audit",
      "",
      `Audited: ${about}`,
    ]);
    expect(renderAuditTable(result, about).split("\n")[0]).toBe(`Isolation audit: ${about}`);
    expect(renderAuditMarkdown(result)).not.toContain("Audited:");
  });
});

describe("auditJson", () => {
  it("has exactly the issue's shape", () => {
    const json = auditJson(result);
    expect(Object.keys(json)).toEqual(["ok", "findings", "fingerprint"]);
    expect(json.findings[0]).toEqual({
      class: "outward-privileges",
      check: "outward: tables and views",
      severity: "fail",
      objects: ["public.orders (SELECT via PUBLIC)"],
      remedy: "REVOKE ALL ON public.orders FROM PUBLIC.",
    });
    expect(json.fingerprint).toEqual({ changed: result.fingerprint.changed });
  });
});
