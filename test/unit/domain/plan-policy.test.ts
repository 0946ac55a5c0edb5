// A spec edit to the apex's policy (timeout, retries, traffic policy, fault) reaches the control
// plane in every phase, at the weight the proxies already have, without waiting for a new step.
import assert from "node:assert/strict";
import { table } from "./plan-fixtures.js";
import { observed, releasing, run, running, spec, status, summary } from "./plan-fixtures.js";

describe("plan: live policy edits", () => {
  table([
    {
      name: "at rest (Succeeded): the primary-only route is asked for again with the new policy",
      o: observed({ policyStale: true }),
      phase: "Succeeded",
      actions: ["setTraffic(0)"],
    },
    {
      name: "mid-step: the step's own weight, nothing else moves",
      o: releasing({ policyStale: true }),
      phase: "Progressing",
      actions: ["setTraffic(10)", "requeue(60000)"],
      status: { currentStep: 1, canaryWeight: 10 },
    },
    {
      name: "paused: the paused weight",
      o: releasing({ status: running({ phase: "Paused" }), policyStale: true }),
      phase: "Paused",
      actions: ["setTraffic(10)", "requeue(60000)"],
    },
    {
      name: "a phase that leaves routing alone: the route the proxies have, with the new policy",
      o: observed({
        status: status({ phase: "Initializing" }),
        services: { apex: true, primary: true, canary: false },
        route: { canaryWeight: 0 },
        policyStale: true,
      }),
      phase: "Initializing",
      actions: ["ensureServices", "setTraffic(0)", "requeue(2000)"],
    },
    {
      name: "a deletion that forgets the routing: nothing pushed first",
      o: observed({
        spec: spec({ revertOnDeletion: true }),
        status: status({ phase: "Terminating" }),
        deleting: true,
        target: { scaledUp: true, ready: true },
        services: { apex: true, primary: true, canary: true, apexOnTarget: true },
        route: { canaryWeight: 100, toApex: true },
        policyStale: true,
      }),
      phase: "Terminating",
      actions: ["removePrimary", "removeCanaryService", "clearTraffic", "removeFinalizer"],
    },
  ]);

  it("asks for nothing when the policy is current", () => {
    assert.deepEqual(summary(run(observed())), []);
    assert.deepEqual(summary(run(releasing())), ["requeue(60000)"]);
  });

  it("an invalid spec pushes nothing (there is no policy to push)", () => {
    const p = run(
      observed({ spec: { invalid: true, reason: "InvalidSpec", message: "x" }, policyStale: true }),
    );
    assert.deepEqual(summary(p), ["event(Warning:InvalidSpec)"]);
  });
});
