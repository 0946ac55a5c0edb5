import assert from "node:assert/strict";
import { assertNever } from "../../../src/common/assert-never.js";
import { describeError, formatRef, isVireoError, VireoError } from "../../../src/common/errors.js";

describe("VireoError", () => {
  it("carries a stable code, the object it concerns and its cause", () => {
    const cause = new Error("connection refused");
    const err = new VireoError("TargetNotFound", "deployment podinfo not found", {
      object: { kind: "Rollout", namespace: "demo", name: "podinfo" },
      cause,
    });
    assert.equal(err.code, "TargetNotFound");
    assert.equal(err.message, "Rollout demo/podinfo: deployment podinfo not found");
    assert.equal(err.cause, cause);
    assert.deepEqual(err.object, { kind: "Rollout", namespace: "demo", name: "podinfo" });
    assert.ok(err instanceof Error);
  });

  it("omits the prefix when no object is given and has no cause property then", () => {
    const err = new VireoError("BadFlag", "--port must be a number");
    assert.equal(err.message, "--port must be a number");
    assert.equal(Object.hasOwn(err, "cause"), false);
  });

  it("chains the messages of nested causes", () => {
    const inner = new VireoError("Dial", "dial 127.0.0.1:9090", {
      cause: new Error("ECONNREFUSED"),
    });
    const outer = new VireoError("PrometheusQuery", "query failed", { cause: inner });
    assert.equal(outer.chain(), "query failed: dial 127.0.0.1:9090: ECONNREFUSED");
  });

  it("is recognised by code", () => {
    const err = new VireoError("A", "x");
    assert.equal(isVireoError(err), true);
    assert.equal(isVireoError(err, "A"), true);
    assert.equal(isVireoError(err, "B"), false);
    assert.equal(isVireoError(new Error("x")), false);
  });

  it("formats cluster-scoped and namespaced references", () => {
    assert.equal(formatRef({ kind: "Node", name: "n1" }), "Node n1");
    assert.equal(formatRef({ kind: "Pod", namespace: "a", name: "b" }), "Pod a/b");
  });

  it("describes anything thrown", () => {
    assert.equal(describeError(new Error("boom")), "boom");
    assert.equal(describeError("plain"), "plain");
    assert.equal(describeError({ a: 1 }), '{"a":1}');
  });
});

describe("assertNever", () => {
  it("throws with the unexpected value", () => {
    type Phase = "a" | "b";
    const phase = "c" as unknown as Phase;
    const name = (p: Phase): string => {
      switch (p) {
        case "a":
          return "A";
        case "b":
          return "B";
        default:
          return assertNever(p, "phase");
      }
    };
    assert.throws(() => name(phase), /unexpected phase: "c"/);
  });
});
