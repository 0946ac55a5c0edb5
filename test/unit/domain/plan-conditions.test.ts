// kstatus's Reconciling and Stalled, and observedGeneration on every condition: what Flux, Argo
// CD's health checks and `kubectl wait` read to tell a release under way from one that is done or
// stuck, and a spec edit seen from one not yet seen.
import assert from "node:assert/strict";
import type { Observed } from "../../../src/domain/plan-model.js";
import {
  condition,
  DEADLINE,
  eventReasons,
  MIN,
  at,
  observed,
  releasing,
  run,
  running,
  spec,
  status,
} from "./plan-fixtures.js";

function kstatus(o: Observed, offsetMs = 0): [string, string, string, string] {
  const p = run(o, offsetMs);
  const r = condition(p, "Reconciling");
  const s = condition(p, "Stalled");
  assert.ok(r !== undefined && s !== undefined, "both conditions are always written");
  return [r[0], r[1], s[0], s[1]];
}

describe("plan: Reconciling and Stalled (kstatus)", () => {
  const cases: [string, Observed, number, [string, string, string, string]][] = [
    ["at rest (Succeeded): neither", observed(), 0, ["False", "Succeeded", "False", "Succeeded"]],
    [
      "a new revision seen: Reconciling from the first plan",
      observed({ target: { revision: "r2" } }),
      0,
      ["True", "Progressing", "False", "Progressing"],
    ],
    [
      "a release under way: Reconciling",
      releasing(),
      0,
      ["True", "Progressing", "False", "Progressing"],
    ],
    [
      "paused for a human: still Reconciling, kstatus calls it in progress",
      releasing({ status: running({ phase: "Paused" }) }),
      0,
      ["True", "Paused", "False", "Paused"],
    ],
    [
      "rolled back: Stalled with the rollback's reason, not Reconciling",
      releasing({ manual: { action: "abort", id: "a1" } }),
      0,
      ["False", "Aborted", "True", "Aborted"],
    ],
    [
      "target missing: Stalled TargetNotFound",
      observed({ target: { exists: false } }),
      0,
      ["False", "TargetNotFound", "True", "TargetNotFound"],
    ],
    [
      "suspended mid-release: Stalled Suspended",
      releasing({ spec: spec({ suspend: true }) }),
      0,
      ["False", "Suspended", "True", "Suspended"],
    ],
    [
      "suspended at rest: nothing to report",
      observed({ spec: spec({ suspend: true }) }),
      0,
      ["False", "Succeeded", "False", "Succeeded"],
    ],
    [
      "invalid spec: Stalled with the parser's reason",
      observed({ spec: { invalid: true, reason: "InvalidSpec", message: "bad" }, generation: 3 }),
      0,
      ["False", "InvalidSpec", "True", "InvalidSpec"],
    ],
  ];
  for (const [name, o, offset, want] of cases) {
    it(name, () => {
      assert.deepEqual(kstatus(o, offset), want);
    });
  }

  it("a wait past the progress deadline with nothing to fall back to: Stalled", () => {
    // Finalising: the primary runs the new revision already, so there is no rollback to make.
    const o = releasing({
      status: running({
        phase: "Finalising",
        canaryWeight: 0,
        waitingFor: { reason: "trafficVerified", since: at(0) },
      }),
      primary: { revision: "r2" },
      requested: { canaryWeight: 0 },
      verified: undefined,
    });
    assert.deepEqual(kstatus(o, DEADLINE - 1), ["True", "Finalising", "False", "Finalising"]);
    assert.deepEqual(kstatus(o, DEADLINE + 1), [
      "False",
      "ProgressDeadlineExceeded",
      "True",
      "ProgressDeadlineExceeded",
    ]);
  });

  it("never has both True", () => {
    const all = cases.map(([, o, offset]) => kstatus(o, offset));
    for (const [r, , s] of all) assert.ok(!(r === "True" && s === "True"));
  });

  it("Reconciling's message is the status message, so kubectl describe says what it does", () => {
    const p = run(releasing());
    const r = p.status.conditions.find((c) => c.type === "Reconciling");
    assert.equal(r?.message, p.status.message);
    assert.notEqual(r?.message, "");
  });

  it("keeps Reconciling's transition time across steps while the release runs", () => {
    const first = run(observed({ target: { revision: "r2" } }), 0);
    const later = run(releasing({ status: first.status }), 5 * MIN);
    const r = later.status.conditions.find((c) => c.type === "Reconciling");
    assert.deepEqual([r?.status, r?.lastTransitionTime], ["True", at(0)]);
  });
});

describe("plan: observedGeneration", () => {
  it("stamps the spec's generation on the status and on every condition", () => {
    const p = run(observed({ generation: 7, status: status({ observedGeneration: 6 }) }));
    assert.equal(p.status.observedGeneration, 7);
    assert.deepEqual(
      p.status.conditions.map((c) => [c.type, c.observedGeneration]),
      [
        ["Ready", 7],
        ["Promoted", 7],
        ["Reconciling", 7],
        ["Stalled", 7],
      ],
    );
  });

  it("stamps it on an invalid spec's conditions too, so the refusal is known to be current", () => {
    const p = run(
      observed({ spec: { invalid: true, reason: "InvalidSpec", message: "bad" }, generation: 9 }),
    );
    assert.ok(p.status.conditions.length === 4);
    assert.ok(p.status.conditions.every((c) => c.observedGeneration === 9));
  });

  it("a spec edit alone changes the status (the new generation is written)", () => {
    const before = run(observed({ generation: 1 }));
    const after = run(observed({ generation: 2, status: before.status }));
    assert.notDeepEqual(after.status, before.status);
    const again = run(observed({ generation: 2, status: after.status }));
    assert.deepEqual(again.status, after.status);
  });
});

describe("plan: RouteConflict", () => {
  const route = ["HTTPRoute default/podinfo-api"];
  const withTimeout = spec({ service: { ...spec().service, timeoutMs: 5000 } });

  it("is absent without an attached route, or without a field the route replaces", () => {
    assert.equal(condition(run(observed({ spec: withTimeout })), "RouteConflict"), undefined);
    assert.equal(condition(run(observed({ boundBy: route })), "RouteConflict"), undefined);
  });

  it("names the route and the fields that do not apply, once as a Warning Event", () => {
    const p = run(
      observed({
        spec: { ...withTimeout, strategy: { kind: "abTesting", matches: [], iterations: 2 } },
        boundBy: route,
      }),
    );
    const message =
      "HTTPRoute default/podinfo-api attached to Service podinfo: on the ports it replaces the Rollout's routing, so spec.strategy.abTesting.match, spec.service.timeout do not apply there; the canary weight does";
    assert.deepEqual(condition(p, "RouteConflict"), ["True", "OverriddenByRoute"]);
    assert.equal(p.status.conditions.find((c) => c.type === "RouteConflict")?.message, message);
    assert.deepEqual(
      eventReasons(p).filter((r) => r === "RouteConflict"),
      ["RouteConflict"],
    );
    // Said once: the next plan, from that status, keeps the condition and records no Event.
    const again = run(observed({ spec: withTimeout, boundBy: route, status: p.status }));
    assert.equal(
      eventReasons(again).includes("RouteConflict"),
      true,
      "a different message (the A/B match gone) is said again",
    );
    const same = run(observed({ spec: withTimeout, boundBy: route, status: again.status }));
    assert.equal(eventReasons(same).includes("RouteConflict"), false);
    // The route gone: the condition goes.
    const gone = run(observed({ spec: withTimeout, status: same.status }));
    assert.equal(condition(gone, "RouteConflict"), undefined);
  });
});
