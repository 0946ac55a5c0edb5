// The controller's per-Rollout series: one info series per Rollout (a new revision replaces the
// old one), and nothing left behind once the Rollout is gone.
import assert from "node:assert/strict";
import { PHASES } from "../../../src/domain/rollout.js";
import { ControllerMetrics } from "../../../src/observability/metrics.js";

async function lines(m: ControllerMetrics, name: string): Promise<string[]> {
  return (await m.registry.metrics()).split("\n").filter((l) => l.startsWith(`${name}{`));
}

describe("controller metrics: per-Rollout series", () => {
  const state = (canary: string) => ({
    phase: "Progressing",
    canaryWeight: 10,
    verifiedWeight: 10,
    canaryRevision: canary,
    primaryRevision: "p1",
  });

  it("keeps one info series per Rollout as its revisions change", async () => {
    const m = new ControllerMetrics();
    m.rolloutObserved("demo", "podinfo", state("c1"), PHASES);
    m.rolloutObserved("demo", "podinfo", state("c2"), PHASES);
    m.rolloutObserved("demo", "other", state("c9"), PHASES);
    assert.deepEqual(await lines(m, "vireo_rollout_info"), [
      'vireo_rollout_info{namespace="demo",name="podinfo",canary_revision="c2",primary_revision="p1"} 1',
      'vireo_rollout_info{namespace="demo",name="other",canary_revision="c9",primary_revision="p1"} 1',
    ]);
  });

  it("removes every series of a Rollout that is gone, and only those", async () => {
    const m = new ControllerMetrics();
    m.rolloutObserved("demo", "podinfo", state("c1"), PHASES);
    m.rolloutObserved("demo", "other", state("c9"), PHASES);
    m.rolloutGone("demo", "podinfo", PHASES);
    for (const name of ["vireo_rollout_info", "vireo_rollout_phase", "vireo_rollout_weight"]) {
      const left = await lines(m, name);
      assert.ok(left.length > 0, name);
      assert.deepEqual(
        left.filter((l) => l.includes('name="podinfo"')),
        [],
        name,
      );
    }
  });
});
