import assert from "node:assert/strict";
import type { InitStep, SlotKind, SlotProgress } from "../../cluster/node-agent/lifecycle.js";
import {
  planInit,
  restartsAfterExit,
  terminationWaves,
} from "../../cluster/node-agent/lifecycle.js";

const init = (p: Partial<SlotProgress> = {}): SlotProgress => ({
  kind: "init",
  launched: false,
  completed: false,
  everStarted: false,
  ...p,
});
const side = (p: Partial<SlotProgress> = {}): SlotProgress => init({ kind: "sidecar", ...p });

describe("node agent init order", () => {
  const cases: [string, SlotProgress[], InitStep][] = [
    ["no init containers", [], { kind: "done" }],
    ["first not started", [init(), init()], { kind: "launch", index: 0 }],
    ["first running", [init({ launched: true }), init()], { kind: "wait", index: 0 }],
    [
      "first completed",
      [init({ launched: true, completed: true }), init()],
      { kind: "launch", index: 1 },
    ],
    [
      "all completed",
      [init({ launched: true, completed: true }), init({ launched: true, completed: true })],
      { kind: "done" },
    ],
    [
      "sidecar running but not started (startup probe pending)",
      [init({ launched: true, completed: true }), side({ launched: true }), init()],
      { kind: "wait", index: 1 },
    ],
    [
      "sidecar started: the next one starts",
      [side({ launched: true, everStarted: true }), init()],
      { kind: "launch", index: 1 },
    ],
    [
      "a started sidecar never blocks later ones (even while it restarts)",
      [side({ launched: true, everStarted: true }), side({ launched: true, everStarted: true })],
      { kind: "done" },
    ],
  ];
  for (const [name, slots, want] of cases) {
    it(name, () => {
      assert.deepEqual(planInit(slots), want);
    });
  }
});

describe("node agent restarts", () => {
  const cases: [SlotKind, string | undefined, number, boolean][] = [
    ["app", undefined, 0, true],
    ["app", "Always", 0, true],
    ["app", "OnFailure", 0, false],
    ["app", "OnFailure", 1, true],
    ["app", "Never", 1, false],
    ["init", "Always", 1, true],
    ["init", "OnFailure", 1, true],
    ["init", "Never", 1, false],
    ["init", "Always", 0, false],
    ["sidecar", "Never", 0, true],
    ["sidecar", "Never", 1, true],
    ["sidecar", "OnFailure", 0, true],
  ];
  for (const [kind, policy, code, want] of cases) {
    it(`${kind} exiting ${String(code)} under ${policy ?? "(default)"}: ${want ? "restarted" : "not restarted"}`, () => {
      assert.equal(restartsAfterExit(kind, policy, code), want);
    });
  }
});

describe("node agent termination order", () => {
  it("stops the apps and regular init containers together, then each sidecar, last first", () => {
    assert.deepEqual(terminationWaves(["init", "sidecar", "sidecar", "app", "app"]), [
      [0, 3, 4],
      [2],
      [1],
    ]);
    assert.deepEqual(terminationWaves(["app"]), [[0]]);
    assert.deepEqual(terminationWaves(["sidecar"]), [[0]]);
  });
});
