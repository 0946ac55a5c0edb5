// What every plan's status obeys: times move only with what they stamp, conditions keep their
// transition time while their status holds, and nothing is left half-set.
import assert from "node:assert/strict";
import { isQuery } from "../../../src/domain/plan-model.js";
import {
  at,
  condition,
  conditions,
  INTERVAL,
  MIN,
  observed,
  releasing,
  run,
  running,
  status,
} from "./plan-fixtures.js";

describe("plan: status bookkeeping", () => {
  it("keeps lastTransitionTime when the phase stays, even across a step", () => {
    const p = run(
      releasing({
        status: running({ stepStartedAt: at(0) }),
        analysis: { at: Date.parse(at(INTERVAL)), outcome: "pass", details: "" },
      }),
      INTERVAL,
    );
    assert.equal(p.status.currentStep, 2);
    assert.equal(p.status.lastTransitionTime, at(0));
  });

  it("moves lastTransitionTime when the phase changes", () => {
    const p = run(observed({ target: { revision: "r2" } }), 5 * MIN);
    assert.equal(p.status.phase, "Progressing");
    assert.equal(p.status.lastTransitionTime, at(5 * MIN));
  });

  it("keeps a condition's transition time while its status holds, whatever its reason", () => {
    const p = run(
      releasing({
        status: running({
          currentStep: 2,
          canaryWeight: 50,
          stepStartedAt: at(0),
          lastAnalysisAt: at(3 * MIN),
          iterations: 1,
        }),
        route: { canaryWeight: 50 },
      }),
      3 * MIN,
    );
    assert.equal(p.status.phase, "Promoting");
    const ready = p.status.conditions.find((c) => c.type === "Ready");
    assert.deepEqual(
      [ready?.status, ready?.reason, ready?.lastTransitionTime],
      ["True", "Promoting", at(0)],
    );
    const promoted = p.status.conditions.find((c) => c.type === "Promoted");
    assert.deepEqual([promoted?.status, promoted?.lastTransitionTime], ["Unknown", at(0)]);
  });

  it("moves a condition's transition time when its status changes", () => {
    const p = run(releasing({ manual: { action: "abort", id: "x" } }), 2 * MIN);
    const ready = p.status.conditions.find((c) => c.type === "Ready");
    assert.deepEqual([ready?.status, ready?.lastTransitionTime], ["False", at(2 * MIN)]);
    assert.deepEqual(condition(p, "Promoted"), ["False", "Failed"]);
  });

  it("orders conditions Ready, Promoted, Reconciling, Stalled", () => {
    const p = run(
      observed({
        status: status({ conditions: [...conditions(["True", "x"], ["True", "y"])].reverse() }),
      }),
    );
    assert.deepEqual(
      p.status.conditions.map((c) => c.type),
      ["Ready", "Promoted", "Reconciling", "Stalled"],
    );
  });

  it("records the verified weight, and keeps the last one while nothing is confirmed", () => {
    const seen = run(
      releasing({ requested: { canaryWeight: 30 }, verified: { canaryWeight: 10 } }),
    );
    assert.equal(seen.status.verifiedWeight, 10);
    const unknown = run(
      releasing({
        status: running({ verifiedWeight: 10 }),
        requested: { canaryWeight: 10 },
        verified: undefined,
      }),
    );
    assert.equal(unknown.status.verifiedWeight, 10);
  });

  it("records the observed generation", () => {
    assert.equal(run(observed({ generation: 7 })).status.observedGeneration, 7);
  });

  it("leaves no field set to undefined", () => {
    const p = run(observed({ target: { revision: "r2" } }));
    for (const [k, v] of Object.entries(p.status)) assert.notEqual(v, undefined, k);
  });

  it("a plan that changes the phase acts on nothing but events and notifications", () => {
    const transitions = [
      observed({ target: { revision: "r2" } }),
      releasing({ manual: { action: "abort", id: "x" } }),
      releasing({ target: { revision: "r3" } }),
      releasing({
        status: running({ currentStep: 2, canaryWeight: 50, stepStartedAt: at(0), iterations: 1 }),
        route: { canaryWeight: 50 },
      }),
    ];
    for (const o of transitions) {
      const p = run(o);
      assert.notEqual(
        p.status.phase === o.status?.phase && p.status.canaryRevision === o.status.canaryRevision,
        true,
      );
      const acting = p.actions.filter(
        (a) => !["recordEvent", "notify", "requeueAfter"].includes(a.kind) && !isQuery(a),
      );
      assert.deepEqual(acting, []);
    }
  });

  it("an event and a notification carry the text people read", () => {
    const p = run(releasing({ manual: { action: "abort", id: "ticket-42" } }));
    assert.deepEqual(
      p.actions.filter((a) => a.kind === "notify"),
      [
        {
          kind: "notify",
          event: "rolledBack",
          severity: "error",
          message: "Rolled back podinfo revision r2: aborted by request ticket-42",
        },
      ],
    );
    assert.deepEqual(
      p.actions.filter((a) => a.kind === "recordEvent"),
      [
        {
          kind: "recordEvent",
          type: "Normal",
          reason: "ManualAction",
          message: "abort requested (request ticket-42)",
        },
        {
          kind: "recordEvent",
          type: "Warning",
          reason: "RolledBack",
          message: "Rolled back podinfo revision r2: aborted by request ticket-42",
        },
      ],
    );
  });
});
