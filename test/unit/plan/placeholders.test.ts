/**
 * Placeholders are named as such: sst/stages.ts declares which of its values are examples (EXAMPLE_SETTINGS), and
 * the plan marks them, with the mocks' stand-ins for what only AWS knows (the cluster's endpoint, the account).
 */
import { describe, expect, it } from "vitest";
import { configuredStages, EXAMPLE_SETTINGS, examplesIn, stageSettings } from "../../../sst/stages.js";
import { buildPlan, renderPlan } from "../../../scripts/plan/plan.js";

describe("placeholders", () => {
  it("the declaration names every example cluster the file ships with", () => {
    expect(Object.values(configuredStages).map((s) => s.clusterIdentifier)).toEqual([
      ...EXAMPLE_SETTINGS.clusterIdentifier,
    ]);
    expect(examplesIn({ clusterIdentifier: "orders-aurora" })).toEqual([]);
  });

  it("plan marks the example cluster and the mocks' host and account", async () => {
    const plan = await buildPlan("dev");
    const text = renderPlan(plan);
    expect(text).toContain(
      "PLACEHOLDER  clusterIdentifier app-aurora-dev: the example in sst/stages.ts, not your cluster; set yours there before the first deploy\n",
    );
    expect(text).toMatch(
      /^PLACEHOLDER {2}host app-aurora-dev\.cluster-c0ffee000000\.us-east-1\.rds\.amazonaws\.com and account 123456789012 .*stand-ins/m,
    );
  }, 60_000);

  it("a cluster set for a real account is not marked; the mocks' stand-ins still are", async () => {
    const plan = await buildPlan("dev", { ...stageSettings("dev"), clusterIdentifier: "orders-aurora" });
    expect(plan.placeholders).toEqual([
      expect.stringMatching(/^host orders-aurora\.cluster-c0ffee000000\..* and account 123456789012/),
    ]);
  }, 60_000);
});
