import assert from "node:assert/strict";
import { podModel } from "../../../src/xds/watch/convert.js";

describe("xDS watch: pods", () => {
  it("reads IP, labels, service account and whether the sidecar runs", () => {
    assert.deepEqual(
      podModel({
        metadata: { namespace: "shop", name: "cart-1", labels: { app: "cart" } },
        spec: {
          serviceAccountName: "cart",
          containers: [{ name: "app" }, { name: "vireo-proxy" }],
        },
        status: { podIP: "10.1.0.7" },
      }),
      {
        namespace: "shop",
        name: "cart-1",
        ip: "10.1.0.7",
        labels: { app: "cart" },
        serviceAccount: "cart",
        sidecar: true,
      },
    );
  });

  it("defaults the service account, tells pods without the sidecar, skips pods without an IP", () => {
    const p = podModel({
      metadata: { namespace: "shop", name: "x" },
      spec: { containers: [{ name: "app" }] },
      status: { podIP: "10.1.0.8" },
    });
    assert.equal(p?.serviceAccount, "default");
    assert.equal(p?.sidecar, false);
    assert.equal(podModel({ metadata: { name: "pending" }, spec: { containers: [] } }), undefined);
  });
});
