import assert from "node:assert/strict";
import { BadReview, review } from "../../../src/inject/admission.js";
import { DEFAULT_INJECT_CONFIG } from "../../../src/inject/config.js";
import type { PatchOperation } from "../../../src/inject/json-patch.js";

const request = (object: unknown, namespace = "shop"): unknown => ({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: { uid: "u-1", kind: { group: "", version: "v1", kind: "Pod" }, namespace, object },
});
const pod = (annotations: Record<string, string> = {}): unknown => ({
  metadata: { generateName: "web-", annotations },
  spec: { containers: [{ name: "app", image: "a" }] },
});

describe("AdmissionReview", () => {
  it("answers with the uid and a base64 JSON Patch; the namespace from the request is not patched in", () => {
    const out = review(request(pod()), DEFAULT_INJECT_CONFIG);
    assert.equal(out.apiVersion, "admission.k8s.io/v1");
    assert.equal(out.kind, "AdmissionReview");
    assert.equal(out.response.uid, "u-1");
    assert.equal(out.response.allowed, true);
    assert.equal(out.response.patchType, "JSONPatch");
    const ops = JSON.parse(
      Buffer.from(out.response.patch ?? "", "base64").toString("utf8"),
    ) as PatchOperation[];
    assert.ok(ops.some((o) => o.path === "/spec/initContainers"));
    assert.ok(!ops.some((o) => o.path.startsWith("/metadata/namespace")));
  });

  it("the controller's namespace, opted-out pods: allowed, no patch, no warning", () => {
    for (const r of [
      review(request(pod(), "vireo-system"), DEFAULT_INJECT_CONFIG),
      review(request(pod({ "vireo.dev/inject": "disabled" })), DEFAULT_INJECT_CONFIG),
    ]) {
      assert.deepEqual(r.response, { uid: "u-1", allowed: true });
    }
  });

  it("a pod that cannot be injected is admitted with a warning saying why", () => {
    const r = review(
      request(pod({ "traffic.vireo.dev/excludeInboundPorts": "-1" })),
      DEFAULT_INJECT_CONFIG,
    );
    assert.equal(r.response.allowed, true);
    assert.equal(r.response.patch, undefined);
    assert.deepEqual(r.response.warnings, [
      'vireo: the pod was NOT injected (BadAnnotation): traffic.vireo.dev/excludeInboundPorts: "-1" is not a port number (1-65535)',
    ]);
    assert.match(r.response.auditAnnotations?.["inject.vireo.dev/skipped"] ?? "", /^BadAnnotation/);
  });

  it("refuses what is not an AdmissionReview v1", () => {
    assert.throws(() => review({ kind: "AdmissionReview" }, DEFAULT_INJECT_CONFIG), BadReview);
    assert.throws(
      () =>
        review(
          { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" },
          DEFAULT_INJECT_CONFIG,
        ),
      /no request.uid/,
    );
  });
});
