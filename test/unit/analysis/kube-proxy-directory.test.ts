// Which pods' proxies the judge reads for a workload: the Deployment's running pods with the
// sidecar, by name as the proxies' telemetry names them, at the status port of their pod IP.
import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import { deploymentOfPod, proxyEndpoints } from "../../../src/analysis/kube-proxy-directory.js";

function pod(
  name: string,
  over: { ip?: string; phase?: string; sidecar?: boolean; deleting?: boolean } = {},
): V1Pod {
  return {
    metadata: {
      name,
      namespace: "demo",
      ...(over.deleting === true && { deletionTimestamp: new Date() }),
    },
    spec: {
      containers: [{ name: "app" }, ...(over.sidecar === false ? [] : [{ name: "vireo-proxy" }])],
    },
    status: { phase: over.phase ?? "Running", podIP: over.ip ?? "10.0.0.1" },
  };
}

describe("kube proxy directory", () => {
  it("names a pod's Deployment as the proxy's telemetry does", () => {
    assert.equal(deploymentOfPod("podinfo-7d9f8c6b5-x2x9q"), "podinfo");
    assert.equal(deploymentOfPod("podinfo-primary-7d9f8c6b5-x2x9q"), "podinfo-primary");
    assert.equal(deploymentOfPod("podinfo"), undefined);
  });

  it("keeps the workload's running, meshed pods, and only them", () => {
    const pods = [
      pod("podinfo-7d9f8c6b5-x2x9q"),
      pod("podinfo-7d9f8c6b5-b2c4d", { ip: "fd00::5" }),
      pod("podinfo-primary-7d9f8c6b5-x2x9q"),
      pod("podinfo-7d9f8c6b5-zzzzz", { phase: "Pending" }),
      pod("podinfo-7d9f8c6b5-wwwww", { sidecar: false }),
      pod("podinfo-7d9f8c6b5-vvvvv", { deleting: true }),
      pod("podinfo-7d9f8c6b5-ttttt", { ip: "" }),
    ];
    assert.deepEqual(proxyEndpoints(pods, { namespace: "demo", workload: "podinfo" }), [
      { pod: "podinfo-7d9f8c6b5-x2x9q", url: "http://10.0.0.1:15020" },
      { pod: "podinfo-7d9f8c6b5-b2c4d", url: "http://[fd00::5]:15020" },
    ]);
  });
});
