// status.checks through the wire: written whole, read back equal, malformed entries dropped, and
// every field the controller writes declared in the CRD's schema (the API server prunes the rest).
import assert from "node:assert/strict";
import { parseStatus, statusToWire } from "../../../src/api/parse-status.js";
import type { CheckStatus, RolloutStatus } from "../../../src/domain/rollout.js";
import { readCrdFile } from "../../support/crd-file.js";

const slow: CheckStatus = {
  name: "request-duration",
  kind: "metric",
  outcome: "fail",
  value: 497.5,
  unit: "ms",
  primaryValue: 12.4,
  threshold: { max: 200 },
  message: "request-duration 497.5 ms > 200 ms",
  measuredAt: "2025-01-02T03:05:30.000Z",
};

const refused: CheckStatus = {
  name: "request-success-rate",
  kind: "metric",
  outcome: "error",
  threshold: { min: 99 },
  message:
    "request-success-rate: Prometheus http://127.0.0.1:9: connect ECONNREFUSED (after 3 attempts)",
  measuredAt: "2025-01-02T03:05:30.000Z",
};

const status: RolloutStatus = {
  phase: "Failed",
  observedGeneration: 2,
  canaryWeight: 0,
  verifiedWeight: 0,
  currentStep: 0,
  failedChecks: 2,
  iterations: 0,
  message: "rolled back",
  lastTransitionTime: "2025-01-02T03:05:30Z",
  checks: [slow, refused],
  conditions: [],
};

interface Schema {
  type?: string;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
}

describe("status.checks", () => {
  it("round-trips through the wire form", () => {
    const wire = JSON.parse(JSON.stringify(statusToWire(status))) as unknown;
    assert.deepEqual(parseStatus({ status: wire }), status);
  });

  it("writes unset values as absent, not null", () => {
    const [, wire] = statusToWire(status).checks ?? [];
    assert.deepEqual(Object.keys(wire ?? {}).sort(), [
      "kind",
      "measuredAt",
      "message",
      "name",
      "outcome",
      "threshold",
    ]);
  });

  it("drops entries it cannot read and keeps the rest", () => {
    const wire = {
      ...statusToWire(status),
      checks: [
        { ...slow, outcome: "maybe" },
        { name: 3, kind: "metric", outcome: "pass" },
        "request-duration",
        { ...slow, value: "497.5", unit: "", threshold: { max: "200" } },
      ],
    };
    const read = parseStatus({ status: wire })?.checks;
    assert.deepEqual(read, [
      {
        name: slow.name,
        kind: slow.kind,
        outcome: slow.outcome,
        primaryValue: slow.primaryValue,
        threshold: {},
        message: slow.message,
        measuredAt: slow.measuredAt,
      },
    ]);
  });

  it("is declared in the CRD with every field the controller writes", () => {
    const crd = readCrdFile("rollouts.vireo.dev.yaml") as {
      spec: { versions: { schema: { openAPIV3Schema: Schema } }[] };
    };
    const root = crd.spec.versions[0]?.schema.openAPIV3Schema;
    const item = root?.properties?.status?.properties?.checks?.items;
    assert.ok(item?.properties !== undefined, "no status.checks[] in the CRD");
    const written = statusToWire(status).checks?.[0] ?? assert.fail("nothing written");
    for (const key of Object.keys(written)) {
      assert.ok(key in item.properties, `status.checks[].${key} is not in the schema`);
    }
    assert.deepEqual(item.properties.outcome?.enum, ["pass", "fail", "noData", "error"]);
    assert.deepEqual(Object.keys(item.properties.threshold?.properties ?? {}), ["min", "max"]);
    for (const key of item.required ?? []) assert.ok(key in written, `${key} is required`);
  });
});
