import assert from "node:assert/strict";
import { parseStatus, statusToWire } from "../../../src/api/parse-status.js";
import type { RolloutStatusWire } from "../../../src/api/rollout-wire.js";
import type { RolloutStatus } from "../../../src/domain/rollout.js";

const bare: RolloutStatus = {
  phase: "Progressing",
  observedGeneration: 4,
  canaryWeight: 30,
  verifiedWeight: 10,
  currentStep: 2,
  failedChecks: 1,
  iterations: 0,
  message: "waiting for 3 proxies to confirm weight 30",
  lastTransitionTime: "2025-01-02T03:04:05Z",
  conditions: [
    {
      type: "Ready",
      status: "True",
      reason: "Progressing",
      message: "step 2 of 5",
      lastTransitionTime: "2025-01-02T03:04:05Z",
    },
  ],
};

const full: RolloutStatus = {
  ...bare,
  canaryRevision: "7d9f8c6b5",
  primaryRevision: "5c4b3a291",
  route: { canaryWeight: 30, matches: [{ headers: { "x-canary": { exact: "insider" } } }] },
  stepStartedAt: "2025-01-02T03:05:00Z",
  lastAnalysisAt: "2025-01-02T03:05:30Z",
  handledAction: "promote-1",
  waitingFor: { reason: "trafficVerified", since: "2025-01-02T03:04:59Z" },
  notified: ["uid-1/started/7d9f8c6b5/2025-01-02T03:00:00Z@demo/slack"],
};

describe("parseStatus", () => {
  const never: [string, unknown][] = [
    ["no object", undefined],
    ["no status", { spec: {} }],
    ["status null", { status: null }],
    ["an empty status", { status: {} }],
    ["an unknown phase", { status: { phase: "Degraded", canaryWeight: 10 } }],
  ];
  for (const [name, obj] of never) {
    it(`is undefined for ${name}: never reconciled`, () => {
      assert.equal(parseStatus(obj), undefined);
    });
  }

  it("fills a partial status with zero values", () => {
    assert.deepEqual(parseStatus({ status: { phase: "Initializing", canaryWeight: 5 } }), {
      phase: "Initializing",
      observedGeneration: 0,
      canaryWeight: 5,
      verifiedWeight: 0,
      currentStep: 0,
      failedChecks: 0,
      iterations: 0,
      message: "",
      lastTransitionTime: "",
      conditions: [],
    } satisfies RolloutStatus);
  });

  it("ignores malformed fields and conditions instead of failing", () => {
    const status = parseStatus({
      status: {
        phase: "Paused",
        canaryWeight: "30",
        failedChecks: 1.5,
        message: 7,
        canaryRevision: null,
        waitingFor: { reason: "lunch", since: "2025-01-02T03:04:59Z" },
        conditions: [
          { type: "Ready", status: "Maybe" },
          { type: "Healthy", status: "True" },
          "x",
          { type: "Promoted", status: "False", reason: "Failed" },
        ],
      },
    });
    assert.deepEqual(status, {
      phase: "Paused",
      observedGeneration: 0,
      canaryWeight: 0,
      verifiedWeight: 0,
      currentStep: 0,
      failedChecks: 0,
      iterations: 0,
      message: "",
      lastTransitionTime: "",
      conditions: [
        {
          type: "Promoted",
          status: "False",
          reason: "Failed",
          message: "",
          lastTransitionTime: "",
        },
      ],
    } satisfies RolloutStatus);
  });

  it("reads every condition type with its generation, and drops a malformed generation", () => {
    const at = "2025-01-02T03:04:05Z";
    const status = parseStatus({
      status: {
        phase: "Progressing",
        conditions: [
          { type: "Reconciling", status: "True", reason: "Progressing", observedGeneration: 3 },
          { type: "Stalled", status: "False", reason: "x", observedGeneration: "3" },
        ],
      },
    });
    assert.deepEqual(status?.conditions, [
      {
        type: "Reconciling",
        status: "True",
        reason: "Progressing",
        message: "",
        lastTransitionTime: "",
        observedGeneration: 3,
      },
      { type: "Stalled", status: "False", reason: "x", message: "", lastTransitionTime: "" },
    ]);
    const written = statusToWire({
      ...bare,
      conditions: [
        { type: "Stalled", status: "True", reason: "r", message: "m", lastTransitionTime: at },
        {
          type: "Reconciling",
          status: "False",
          reason: "r",
          message: "",
          lastTransitionTime: at,
          observedGeneration: 5,
        },
      ],
    });
    assert.deepEqual(
      written.conditions?.map((c) => c.observedGeneration),
      [undefined, 5],
    );
    assert.equal("observedGeneration" in (written.conditions?.[0] ?? {}), false);
  });

  it("reads the notified ids leniently: strings only, the newest 20", () => {
    const ids = Array.from({ length: 22 }, (_, i) => `id-${i}`);
    const status = parseStatus({
      status: { phase: "Succeeded", notified: [7, "", null, ...ids] },
    });
    assert.deepEqual(status?.notified, ids.slice(2));
    assert.equal(
      parseStatus({ status: { phase: "Succeeded", notified: "id" } })?.notified,
      undefined,
    );
  });

  it("reads a route only whole: a bad weight, mirror or match list is no route", () => {
    const read = (route: unknown) =>
      parseStatus({ status: { phase: "Progressing", route } })?.route;
    assert.deepEqual(read({ canaryWeight: 100, toApex: true }), {
      canaryWeight: 100,
      toApex: true,
    });
    assert.deepEqual(read({ canaryWeight: 0, mirrorPercent: 50 }), {
      canaryWeight: 0,
      mirrorPercent: 50,
    });
    for (const bad of [
      {},
      { canaryWeight: 101 },
      { canaryWeight: 2.5 },
      { canaryWeight: 0, mirrorPercent: -1 },
      { canaryWeight: 0, matches: ["x"] },
      "30",
    ])
      assert.equal(read(bad), undefined, JSON.stringify(bad));
  });

  it("reads back what statusToWire writes", () => {
    assert.deepEqual(parseStatus({ status: statusToWire(full) }), full);
  });
});

describe("statusToWire", () => {
  it("writes every field under its wire name", () => {
    assert.deepEqual(statusToWire(full), {
      phase: "Progressing",
      observedGeneration: 4,
      canaryWeight: 30,
      route: { canaryWeight: 30, matches: [{ headers: { "x-canary": { exact: "insider" } } }] },
      verifiedWeight: 10,
      currentStep: 2,
      failedChecks: 1,
      iterations: 0,
      canaryRevision: "7d9f8c6b5",
      primaryRevision: "5c4b3a291",
      message: "waiting for 3 proxies to confirm weight 30",
      lastTransitionTime: "2025-01-02T03:04:05Z",
      stepStartedAt: "2025-01-02T03:05:00Z",
      lastAnalysisAt: "2025-01-02T03:05:30Z",
      handledAction: "promote-1",
      waitingFor: { reason: "trafficVerified", since: "2025-01-02T03:04:59Z" },
      notified: ["uid-1/started/7d9f8c6b5/2025-01-02T03:00:00Z@demo/slack"],
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "Progressing",
          message: "step 2 of 5",
          lastTransitionTime: "2025-01-02T03:04:05Z",
        },
      ],
    } satisfies RolloutStatusWire);
  });

  it("writes at most the newest 20 notified ids", () => {
    const ids = Array.from({ length: 21 }, (_, i) => `id-${i}`);
    assert.deepEqual(statusToWire({ ...bare, notified: ids }).notified, ids.slice(1));
  });

  it("omits optional fields that are unset rather than writing undefined", () => {
    const wire = statusToWire(bare);
    assert.deepEqual(Object.keys(wire).sort(), [
      "canaryWeight",
      "conditions",
      "currentStep",
      "failedChecks",
      "iterations",
      "lastTransitionTime",
      "message",
      "observedGeneration",
      "phase",
      "verifiedWeight",
    ]);
  });
});
