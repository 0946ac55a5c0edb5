// The pure helpers under the planner: strategies as step lists, route equality, durations.
import assert from "node:assert/strict";
import { isQuery } from "../../../src/domain/plan-model.js";
import { formatDuration, routeAt, runSteps } from "../../../src/domain/run-steps.js";
import { carriesTraffic, describeRoute, sameRoute } from "../../../src/domain/traffic-route.js";
import { canary, HEADER_MATCH, MIN, pause, spec, w } from "./plan-fixtures.js";

describe("runSteps", () => {
  it("canary: a pause keeps the weight before it", () => {
    const steps = runSteps(spec({ strategy: canary(pause(MIN), w(10), pause(), w(40)) }));
    assert.deepEqual(steps, [
      { kind: "pause", route: { canaryWeight: 0 }, durationMs: MIN },
      { kind: "traffic", route: { canaryWeight: 10 }, passes: 1 },
      { kind: "pause", route: { canaryWeight: 10 } },
      { kind: "traffic", route: { canaryWeight: 40 }, passes: 1 },
    ]);
    assert.deepEqual(routeAt(steps, 0), { canaryWeight: 0 });
    assert.deepEqual(routeAt(steps, 3), { canaryWeight: 10 });
  });

  it("A/B, blue/green and mirroring: one step of `iterations` analyses", () => {
    assert.deepEqual(
      runSteps(spec({ strategy: { kind: "abTesting", matches: HEADER_MATCH, iterations: 4 } })),
      [{ kind: "traffic", route: { canaryWeight: 0, matches: HEADER_MATCH }, passes: 4 }],
    );
    assert.deepEqual(runSteps(spec({ strategy: { kind: "blueGreen", iterations: 3 } })), [
      { kind: "traffic", route: { canaryWeight: 0 }, passes: 3 },
    ]);
    assert.deepEqual(
      runSteps(spec({ strategy: { kind: "mirroring", mirrorPercent: 25, iterations: 2 } })),
      [{ kind: "traffic", route: { canaryWeight: 0, mirrorPercent: 25 }, passes: 2 }],
    );
  });

  it("skipAnalysis: no steps", () => {
    assert.deepEqual(runSteps(spec({ skipAnalysis: true })), []);
  });
});

describe("routes", () => {
  it("compare by meaning: absent mirror and matches are none, key order does not matter", () => {
    assert.ok(sameRoute({ canaryWeight: 0, mirrorPercent: 0, matches: [] }, { canaryWeight: 0 }));
    assert.ok(
      sameRoute(
        { canaryWeight: 0, matches: [{ uri: { prefix: "/a" }, headers: { x: { exact: "1" } } }] },
        { canaryWeight: 0, matches: [{ headers: { x: { exact: "1" } }, uri: { prefix: "/a" } }] },
      ),
    );
    assert.ok(!sameRoute({ canaryWeight: 10 }, { canaryWeight: 20 }));
    assert.ok(!sameRoute({ canaryWeight: 0, matches: HEADER_MATCH }, { canaryWeight: 0 }));
    assert.ok(!sameRoute(undefined, { canaryWeight: 0 }));
  });

  it("carry traffic to the canary by weight, mirror or match", () => {
    assert.ok(!carriesTraffic({ canaryWeight: 0 }));
    assert.ok(carriesTraffic({ canaryWeight: 1 }));
    assert.ok(carriesTraffic({ canaryWeight: 0, mirrorPercent: 5 }));
    assert.ok(carriesTraffic({ canaryWeight: 0, matches: HEADER_MATCH }));
  });

  it("read as people say them", () => {
    assert.equal(describeRoute({ canaryWeight: 30 }), "weight 30 %");
    assert.equal(
      describeRoute({ canaryWeight: 0, matches: HEADER_MATCH, mirrorPercent: 10 }),
      "weight 0 % + matching requests + mirror 10 %",
    );
  });
});

describe("formatDuration", () => {
  for (const [ms, text] of [
    [0, "0s"],
    [999, "1s"],
    [90_000, "1m30s"],
    [600_000, "10m"],
    [7_200_000, "2h"],
    [3_723_000, "1h2m3s"],
  ] as const) {
    it(`${ms} ms is ${text}`, () => {
      assert.equal(formatDuration(ms), text);
    });
  }
});

describe("isQuery", () => {
  it("runAnalysis and gate webhooks are queries; fire-and-forget webhooks are not", () => {
    assert.ok(isQuery({ kind: "runAnalysis", revision: "r2", step: 1 }));
    assert.ok(isQuery({ kind: "runWebhooks", type: "confirm-promotion" }));
    assert.ok(isQuery({ kind: "runWebhooks", type: "pre-rollout" }));
    assert.ok(!isQuery({ kind: "runWebhooks", type: "post-rollout" }));
    assert.ok(!isQuery({ kind: "setTraffic", route: { canaryWeight: 0 } }));
  });
});
