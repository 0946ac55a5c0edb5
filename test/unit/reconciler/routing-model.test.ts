import assert from "node:assert/strict";
import type { TrafficRoute } from "../../../src/domain/plan-model.js";
import { APEX_ONLY, CANARY_ONLY, PRIMARY_ONLY } from "../../../src/domain/traffic-route.js";
import { routeOf } from "../../../src/reconciler/observe.js";
import { routingModel } from "../../../src/reconciler/reconcile.js";
import { spec } from "../domain/plan-fixtures.js";

describe("routing model ↔ traffic route", () => {
  const s = spec();

  it("splits the apex between the primary and canary Services", () => {
    assert.deepEqual(routingModel("demo", "podinfo", s, { canaryWeight: 30 }), {
      namespace: "demo",
      service: "podinfo",
      primary: "podinfo-primary",
      canary: "podinfo-canary",
      canaryWeight: 30,
    });
  });

  it("sends a revert's last route to the apex Service's own endpoints", () => {
    const m = routingModel("demo", "podinfo", s, APEX_ONLY);
    assert.equal(m.canary, "podinfo");
    assert.equal(m.canaryWeight, 100);
  });

  const routes: [string, TrafficRoute][] = [
    ["primary only", PRIMARY_ONLY],
    ["canary only", CANARY_ONLY],
    ["apex only", APEX_ONLY],
    ["mirror", { canaryWeight: 0, mirrorPercent: 20 }],
    ["matches", { canaryWeight: 0, matches: [{ headers: { "x-canary": { exact: "yes" } } }] }],
  ];
  for (const [name, route] of routes) {
    it(`reads back what it asked for: ${name}`, () => {
      assert.deepEqual(routeOf(routingModel("demo", "podinfo", s, route)), route);
    });
  }
});
