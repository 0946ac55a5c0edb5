// The local cluster carries the Gateway API's standard CRDs (test/cluster/build.sh copies them out
// of the sigs.k8s.io/gateway-api module; up.sh applies them), as a platform team installs them:
// the API server validates routes with the CRDs' own schema and CEL rules.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { systemClock } from "../../src/common/clock.js";
import { MESH_CONTROLLER } from "../../src/gateway/model.js";
import { RouteStatusWriter } from "../../src/gateway/route-status-writer.js";
import { KubeClusterWatch } from "../../src/xds/watch/kube-watch.js";
import { recordingLog } from "../support/recording-log.js";
import { parseRoute } from "../../src/gateway/parse-route.js";
import { meshParentStatuses, mergeParentStatuses } from "../../src/gateway/route-status.js";
import { apiMessage } from "./crds.js";
import { cluster, eventually, repoRoot, useNamespace } from "./harness.js";

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

  it("takes the status vireo computes from the stored route (its defaults), on the status subresource", async () => {
    const api = custom();
    const at = { group: GROUP, version: "v1", namespace: ns(), plural: "httproutes" };
    await api.createNamespacedCustomObject({ ...at, body: meshRoute("status", "PathPrefix") });
    const stored = (await api.getNamespacedCustomObject({ ...at, name: "status" })) as {
      kind: string;
      metadata: { namespace: string; name: string; generation: number; creationTimestamp: string };
      spec: unknown;
    };
    const route = parseRoute(stored);
    assert.ok(route !== undefined);
    // podinfo exists with port 9898; the canary backend does not.
    const lookup = (namespace: string, name: string) =>
      namespace === ns() && ["podinfo", "podinfo-primary"].includes(name)
        ? { namespace, name, ports: [{ name: "http", port: 9898, protocol: "http" as const }] }
        : undefined;
    const ours = meshParentStatuses(
      route,
      lookup,
      new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    );
    const other = {
      controllerName: "example.com/other",
      parentRef: { name: "edge" },
      conditions: [
        {
          type: "Accepted",
          status: "True",
          reason: "Accepted",
          message: "",
          observedGeneration: 1,
          lastTransitionTime: "2026-01-01T00:00:00Z",
        },
      ],
    };
    await api.patchNamespacedCustomObjectStatus(
      { ...at, name: "status", body: { status: { parents: mergeParentStatuses([other], ours) } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    const after = (await api.getNamespacedCustomObject({ ...at, name: "status" })) as {
      status: {
        parents: {
          controllerName: string;
          parentRef: Record<string, unknown>;
          conditions: { type: string; status: string; reason: string }[];
        }[];
      };
    };
    const mine = after.status.parents.find((p) => p.controllerName === MESH_CONTROLLER);
    assert.deepEqual(mine?.parentRef, {
      group: "",
      kind: "Service",
      namespace: ns(),
      name: "podinfo",
      port: 9898,
    });
    assert.deepEqual(
      mine?.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`),
      ["Accepted=True/Accepted", "ResolvedRefs=False/BackendNotFound"],
    );
    assert.ok(after.status.parents.some((p) => p.controllerName === "example.com/other"));
  });

  it("the controller's writer follows the route and its Services: resolved, a backend gone, the parent gone", async () => {
    const api = custom();
    const at = { group: GROUP, version: "v1", namespace: ns(), plural: "httproutes" };
    const deps = { clock: systemClock, log: recordingLog(), failures: { inc: () => undefined } };
    const writer = new RouteStatusWriter({
      kc: cluster().kc,
      ...deps,
      services: () => watch.state().services,
    });
    // The controller's own Service watch, as app.ts wires it.
    const watch = new KubeClusterWatch(
      cluster().kc,
      deps.log,
      () => {
        writer.changed();
      },
      deps,
    );
    const service = (name: string) => ({
      metadata: { name },
      spec: { ports: [{ name: "http", port: 9898 }], selector: { app: name } },
    });
    await cluster().core.createNamespacedService({ namespace: ns(), body: service("podinfo") });
    await cluster().core.createNamespacedService({
      namespace: ns(),
      body: service("podinfo-primary"),
    });
    const body = {
      ...meshRoute("live", "PathPrefix"),
      spec: {
        parentRefs: [{ group: "", kind: "Service", name: "podinfo", port: 9898 }],
        rules: [{ backendRefs: [{ name: "podinfo-primary", port: 9898 }] }],
      },
    };
    await api.createNamespacedCustomObject({ ...at, body });
    const conditionsOf = async () => {
      const r = (await api.getNamespacedCustomObject({ ...at, name: "live" })) as {
        status?: {
          parents?: {
            controllerName: string;
            conditions: {
              type: string;
              status: string;
              reason: string;
              observedGeneration: number;
            }[];
          }[];
        };
      };
      const mine = r.status?.parents?.find((p) => p.controllerName === MESH_CONTROLLER);
      return mine?.conditions
        .map((c) => `${c.type}=${c.status}/${c.reason}@${String(c.observedGeneration)}`)
        .join(" ");
    };
    await watch.start();
    await writer.start();
    writer.lead();
    try {
      await eventually("Accepted and resolved", async () =>
        (await conditionsOf()) === "Accepted=True/Accepted@1 ResolvedRefs=True/ResolvedRefs@1"
          ? true
          : undefined,
      );
      await api.patchNamespacedCustomObject(
        {
          ...at,
          name: "live",
          body: { spec: { rules: [{ backendRefs: [{ name: "gone", port: 9898 }] }] } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      await eventually("the backend reported missing", async () =>
        (await conditionsOf()) === "Accepted=True/Accepted@2 ResolvedRefs=False/BackendNotFound@2"
          ? true
          : undefined,
      );
      await cluster().core.deleteNamespacedService({ namespace: ns(), name: "podinfo" });
      await eventually("the parent reported missing", async () =>
        (await conditionsOf()) ===
        "Accepted=False/NoMatchingParent@2 ResolvedRefs=False/BackendNotFound@2"
          ? true
          : undefined,
      );
    } finally {
      await writer.stop();
      await watch.stop();
    }
  });
});
