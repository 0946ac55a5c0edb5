// The local cluster carries the Gateway API's standard CRDs (test/cluster/build.sh copies them out
// of the sigs.k8s.io/gateway-api module; up.sh applies them), as a platform team installs them:
// the API server validates routes with the CRDs' own schema and CEL rules.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ApiextensionsV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { apiMessage } from "./crds.js";
import { cluster, repoRoot, useNamespace } from "./harness.js";

const GROUP = "gateway.networking.k8s.io";

async function gatewayApiVersion(): Promise<string> {
  const env = await readFile(join(repoRoot, "test/cluster/versions.env"), "utf8");
  const m = /^GATEWAY_API_VERSION=(\S+)$/m.exec(env);
  assert.ok(m !== null, "versions.env names GATEWAY_API_VERSION");
  return `v${m[1] ?? ""}`;
}

/** An HTTPRoute attached to Service `podinfo` (GAMMA), splitting between two backends. */
function meshRoute(name: string, pathType: string): object {
  return {
    apiVersion: `${GROUP}/v1`,
    kind: "HTTPRoute",
    metadata: { name },
    spec: {
      parentRefs: [{ group: "", kind: "Service", name: "podinfo", port: 9898 }],
      rules: [
        {
          matches: [{ path: { type: pathType, value: "/api" } }],
          backendRefs: [
            { name: "podinfo-primary", port: 9898, weight: 90 },
            { name: "podinfo-canary", port: 9898, weight: 10 },
          ],
        },
      ],
    },
  };
}

describe("local cluster: the Gateway API CRDs", function () {
  this.timeout(30_000);
  const ns = useNamespace("gateway-api");
  const custom = () => cluster().kc.makeApiClient(CustomObjectsApi);

  it("has the standard channel's CRDs of the pinned version, Established", async () => {
    const ext = cluster().kc.makeApiClient(ApiextensionsV1Api);
    const version = await gatewayApiVersion();
    for (const plural of [
      "gatewayclasses",
      "gateways",
      "httproutes",
      "grpcroutes",
      "referencegrants",
    ]) {
      const crd = await ext.readCustomResourceDefinition({ name: `${plural}.${GROUP}` });
      const established = crd.status?.conditions?.find((c) => c.type === "Established");
      assert.equal(established?.status, "True", plural);
      assert.equal(crd.metadata?.annotations?.[`${GROUP}/bundle-version`], version, plural);
      assert.equal(crd.metadata?.annotations?.[`${GROUP}/channel`], "standard", plural);
    }
  });

  it("stores an HTTPRoute whose parent is a Service, and refuses one the schema does not allow", async () => {
    const api = custom();
    const at = { group: GROUP, version: "v1", namespace: ns(), plural: "httproutes" };
    await api.createNamespacedCustomObject({ ...at, body: meshRoute("split", "PathPrefix") });
    const stored = (await api.getNamespacedCustomObject({ ...at, name: "split" })) as {
      spec: { parentRefs: { kind: string }[]; rules: { backendRefs: { weight: number }[] }[] };
    };
    assert.equal(stored.spec.parentRefs[0]?.kind, "Service");
    assert.deepEqual(
      stored.spec.rules[0]?.backendRefs.map((b) => b.weight),
      [90, 10],
    );
    const refused = await api
      .createNamespacedCustomObject({ ...at, body: meshRoute("bad", "Glob") })
      .then(
        () => "created",
        (err: unknown) => apiMessage(err),
      );
    assert.match(
      refused,
      /HTTPRoute\.gateway\.networking\.k8s\.io "bad" is invalid: .*Unsupported value: "Glob"/,
    );
  });
});
