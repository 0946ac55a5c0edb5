// status.judge and status.checks[].judge through the wire: read back equal, a malformed state
// dropped (the judge then starts afresh), and the fields declared in the CRD's schema.
import assert from "node:assert/strict";
import { parseStatus, statusToWire } from "../../../src/api/parse-status.js";
import type { CheckStatus, JudgeStatus, RolloutStatus } from "../../../src/domain/rollout.js";
import { readCrdFile } from "../../support/crd-file.js";

const judge: JudgeStatus = {
  revision: "abc",
  cursor: {
    at: "2025-01-02T03:05:30.000Z",
    weight: 10,
    canary: { requests: 120, failures: 3, atOrBelow: { "+Inf": 120, "100": 100, "250": 118 } },
    primary: { requests: 1080, failures: 1, atOrBelow: { "+Inf": 1080, "100": 1000, "250": 1079 } },
  },
  warm: true,
  metrics: [
    {
      name: "request-success-rate",
      series: [[{ step: 1, rho: 0.1, a: 3, b: 1, nC: 120, nP: 1080 }]],
    },
    {
      name: "request-duration",
      pairs: [{ quantile: 0.5, primaryLe: 100, canaryLe: 250 }],
      series: [[{ step: 1, rho: 0.1, a: 2, b: 80, nC: 100, nP: 900 }]],
    },
  ],
  dropped: 1,
  canaryRequests: 120,
  canaryFailed: 3,
};

const check: CheckStatus = {
  name: "request-success-rate",
  kind: "metric",
  outcome: "noData",
  value: 97.5,
  unit: "%",
  primaryValue: 99.91,
  threshold: { min: 99.41 },
  message: "request-success-rate: … inconclusive",
  measuredAt: "2025-01-02T03:05:30.000Z",
  judge: { decision: "inconclusive", eValue: 12.5, effect: 27, needs: 300, canaryRequests: 120 },
};

const status: RolloutStatus = {
  phase: "Progressing",
  observedGeneration: 2,
  canaryWeight: 10,
  verifiedWeight: 10,
  currentStep: 1,
  failedChecks: 0,
  iterations: 0,
  message: "",
  lastTransitionTime: "2025-01-02T03:05:30Z",
  checks: [check],
  judge,
  conditions: [],
};

interface Schema {
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
  "x-kubernetes-preserve-unknown-fields"?: boolean;
}

describe("status.judge", () => {
  it("is read back as written", () => {
    const wire = JSON.parse(JSON.stringify(statusToWire(status))) as unknown;
    assert.deepEqual(parseStatus({ status: wire }), status);
  });

  it("a malformed state is dropped, not refused", () => {
    const wire = JSON.parse(JSON.stringify(statusToWire(status))) as Record<string, unknown>;
    const bad = {
      ...wire,
      judge: { ...judge, metrics: [{ name: "x", series: [[{ step: -1 }]] }] },
    };
    assert.equal(parseStatus({ status: bad })?.judge, undefined);
  });

  it("the CRD keeps every field written", () => {
    const crd = readCrdFile("rollouts.vireo.dev.yaml") as {
      spec: { versions: { schema: { openAPIV3Schema: Schema } }[] };
    };
    const s = crd.spec.versions[0]?.schema.openAPIV3Schema.properties?.status;
    assert.equal(s?.properties?.judge?.["x-kubernetes-preserve-unknown-fields"], true);
    const j = s?.properties?.checks?.items?.properties?.judge;
    for (const key of Object.keys(check.judge ?? {})) {
      assert.ok(
        j?.properties?.[key] !== undefined,
        `status.checks[].judge.${key} is not in the schema`,
      );
    }
    assert.deepEqual(j?.properties?.decision?.enum, ["harm", "pass", "inconclusive"]);
  });
});
