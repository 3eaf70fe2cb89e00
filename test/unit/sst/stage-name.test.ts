/** The stage-name rules on top of SST's (sst/stage-name.ts): lower case, no look-alike of a protected stage. */
import { describe, expect, it } from "vitest";
import { checkStageName, protectedLookalike } from "../../../sst/stage-name.js";

describe("checkStageName", () => {
  it.each(["dev", "production", "pr-42", "alice", "feature-x", "preview", "staging", "pr-7"])("accepts %s", (stage) => {
    expect(checkStageName(stage)).toBe(stage);
  });

  it.each([
    "Dev",
    "Feature-X",
    "PROD",
  ])("refuses the mixed-case %s, saying the rule and the lower-case name", (stage) => {
    expect(() => checkStageName(stage)).toThrow(
      new RegExp(
        `use lower case \\(--stage ${stage.toLowerCase()}\\).*quoted identifiers "umami_${stage.replace("-", "_")}"`,
      ),
    );
  });

  it.each([
    "prod",
    "prd",
    "production-1",
    "production2",
    "prod-eu",
    "prodution",
    "prdn",
  ])("refuses %s as a look-alike of production unless --new-stage", (stage) => {
    expect(protectedLookalike(stage)).toBe("production");
    expect(() => checkStageName(stage)).toThrow(
      `did you mean production? Stage ${stage} is not the protected stage production`,
    );
    expect(checkStageName(stage, { newStage: true })).toBe(stage);
  });

  it("leaves SST's own syntax to validateStage's message", () => {
    expect(() => checkStageName("x_y")).toThrow(
      "a stage starts with a letter and has only letters, digits and hyphens",
    );
  });
});
