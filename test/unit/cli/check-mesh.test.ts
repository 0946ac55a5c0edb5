// The pure parts of `vireo check`'s data-plane checks: reading a gauge from a proxy's exposition,
// version skew between the injector and the pods, and how a warning is printed.
import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import { gauge, versionSkew } from "../../../src/cli/check-mesh.js";
import { formatChecks } from "../../../src/cli/check.js";
import { DEFAULT_INJECT_CONFIG } from "../../../src/inject/config.js";
import { ProxyMetrics } from "../../../mesh/telemetry/metrics.js";

const injector = { ...DEFAULT_INJECT_CONFIG, proxyImage: "vireo/proxy:0.1.0", version: "0.1.0" };

function pod(name: string, image: string, status: string | undefined): V1Pod {
  return {
    metadata: {
      name,
      namespace: "demo",
      annotations: status === undefined ? {} : { "sidecar.vireo.dev/status": status },
    },
    spec: { containers: [], initContainers: [{ name: "vireo-proxy", image }] },
  };
}

describe("vireo check: data-plane checks", () => {
  it("reads the proxy's xDS gauges from what its status port serves", async () => {
    const m = new ProxyMetrics();
    m.reportXds(() => ({ connected: true, rejectedTypes: 2 }));
    const text = await m.expose();
    assert.equal(gauge(text, "vireo_proxy_xds_connected"), 1);
    assert.equal(gauge(text, "vireo_proxy_xds_rejected_types"), 2);
    assert.equal(gauge(await new ProxyMetrics().expose(), "vireo_proxy_xds_connected"), undefined);
  });

  it("reports no skew when every pod runs what the injector adds", () => {
    const status = JSON.stringify({ version: "0.1.0" });
    assert.deepEqual(versionSkew([pod("a", "vireo/proxy:0.1.0", status)], injector), []);
  });

  it("groups pods by the image and version they run, naming five and counting the rest", () => {
    const old = JSON.stringify({ version: "0.0.9" });
    const pods = [
      ...Array.from({ length: 7 }, (_, i) => pod(`old-${String(i)}`, "vireo/proxy:0.0.9", old)),
      pod("odd", "vireo/proxy:0.1.0", "not json"),
    ];
    assert.deepEqual(versionSkew(pods, injector), [
      "7 pod(s) run vireo/proxy:0.0.9 (injected by 0.0.9), the injector adds vireo/proxy:0.1.0 (0.1.0); " +
        "restart them to upgrade (kubectl rollout restart): demo/old-0, demo/old-1, demo/old-2, demo/old-3, demo/old-4 and 2 more",
      "1 pod(s) run vireo/proxy:0.1.0 (injected by ?), the injector adds vireo/proxy:0.1.0 (0.1.0); " +
        "restart them to upgrade (kubectl rollout restart): demo/odd",
    ]);
  });

  it("says when the CLI and the controller are of different versions", () => {
    const lines = versionSkew([], { ...injector, version: "0.2.0" });
    assert.deepEqual(lines, [
      `this CLI is ${DEFAULT_INJECT_CONFIG.version}, the controller 0.2.0: use the CLI of the installed version`,
    ]);
  });

  it("prints passed, warned and failed checks with their own marks", () => {
    assert.equal(
      formatChecks([
        { name: "a", ok: true, detail: "fine" },
        { name: "b", ok: true, warning: true, detail: "old pods" },
        { name: "c", ok: false, detail: "broken" },
      ]),
      "√ a: fine\n‼ b: old pods\n× c: broken\n",
    );
  });
});
