import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import { parseNodeId } from "../../../src/xds/node-id.js";
import {
  namesService,
  proxyMayBeRunning,
  runningProxyPods,
} from "../../../src/xds/watch/proxy-presence.js";

const ID = "sidecar~10.0.0.5~load.v2-7d9f.demo~demo.svc.cluster.local";

function pod(over: { status?: V1Pod["status"]; deleting?: boolean } = {}): V1Pod {
  return {
    metadata: {
      name: "load.v2-7d9f",
      namespace: "demo",
      ...(over.deleting === true && { deletionTimestamp: new Date() }),
    },
    status: over.status ?? {
      phase: "Running",
      podIP: "10.0.0.5",
      initContainerStatuses: [
        {
          name: "vireo-proxy",
          image: "vireo/proxy",
          imageID: "",
          ready: false,
          restartCount: 0,
          state: { running: {} },
        },
      ],
    },
  };
}

describe("parseNodeId", () => {
  it("reads the address, pod and namespace of an Istio-style id; a pod name may hold dots", () => {
    assert.deepEqual(parseNodeId(ID), { ip: "10.0.0.5", pod: "load.v2-7d9f", namespace: "demo" });
    for (const other of ["", "test-node", "a~b~c", "sidecar~~p.ns~x", "sidecar~1.2.3.4~pod~x"]) {
      assert.equal(parseNodeId(other), undefined, other);
    }
  });
});

describe("proxyMayBeRunning", () => {
  const cases: { name: string; pod: V1Pod | undefined; expected: boolean }[] = [
    { name: "its pod runs, its proxy container running (not ready)", pod: pod(), expected: true },
    { name: "no such pod", pod: undefined, expected: false },
    { name: "its pod is being deleted", pod: pod({ deleting: true }), expected: false },
    {
      name: "its pod finished",
      pod: pod({ status: { phase: "Succeeded", podIP: "10.0.0.5" } }),
      expected: false,
    },
    {
      name: "a pod of that name at another address (a new pod)",
      pod: pod({ status: { phase: "Running", podIP: "10.0.0.9" } }),
      expected: false,
    },
    {
      name: "its proxy container waiting to restart",
      pod: pod({
        status: {
          phase: "Running",
          podIP: "10.0.0.5",
          containerStatuses: [
            {
              name: "vireo-proxy",
              image: "vireo/proxy",
              imageID: "",
              ready: false,
              restartCount: 3,
              state: { waiting: { reason: "CrashLoopBackOff" } },
            },
          ],
        },
      }),
      expected: false,
    },
    {
      name: "no container of the proxy's name: the pod's life decides",
      pod: pod({ status: { phase: "Running", podIP: "10.0.0.5" } }),
      expected: true,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(
        proxyMayBeRunning(ID, (ns, name) =>
          ns === "demo" && name === "load.v2-7d9f" ? c.pod : undefined,
        ),
        c.expected,
      );
    });
  }

  it("an id that names no pod is not waited for", () => {
    assert.equal(
      proxyMayBeRunning("test-node", () => pod()),
      false,
    );
  });
});

describe("runningProxyPods", () => {
  const ADDRESS = "vireo.vireo-system.svc:15010";
  const started = new Date("2026-12-05T10:00:00Z");
  function meshPod(
    name: string,
    o: { address?: string; state?: "running" | "waiting"; deleting?: boolean } = {},
  ): V1Pod {
    return {
      metadata: {
        name,
        namespace: "demo",
        ...(o.deleting === true && { deletionTimestamp: new Date() }),
      },
      spec: {
        initContainers: [
          {
            name: "vireo-proxy",
            env: [{ name: "VIREO_XDS_ADDRESS", value: o.address ?? ADDRESS }],
          },
        ],
        containers: [{ name: "app" }],
      },
      status: {
        initContainerStatuses: [
          {
            name: "vireo-proxy",
            image: "vireo/proxy",
            imageID: "",
            ready: true,
            restartCount: 0,
            state:
              o.state === "waiting"
                ? { waiting: { reason: "CrashLoopBackOff" } }
                : { running: { startedAt: started } },
          },
        ],
      },
    };
  }

  it("lists the pods whose proxy runs and dials this control plane's Service, with when it started", () => {
    const here = (a: string): boolean => namesService(a, "vireo-system", "vireo");
    const pods = [
      meshPod("a"),
      meshPod("other-plane", { address: "vireo.other.svc:15010" }),
      meshPod("crashing", { state: "waiting" }),
      meshPod("leaving", { deleting: true }),
      { metadata: { name: "plain", namespace: "demo" }, spec: { containers: [{ name: "app" }] } },
    ];
    assert.deepEqual(runningProxyPods(pods, here), [
      { namespace: "demo", name: "a", proxyStartedAt: started.getTime() },
    ]);
  });

  it("namesService reads the host of an xDS address", () => {
    for (const a of [
      "vireo.vireo-system.svc:15010",
      "vireo.vireo-system.svc.cluster.local:15010",
      "dns:///vireo.vireo-system.svc:15010",
      "vireo.vireo-system.svc",
    ]) {
      assert.equal(namesService(a, "vireo-system", "vireo"), true, a);
    }
    for (const a of [
      "vireo-x.vireo-system.svc:15010",
      "10.96.0.5:15010",
      "vireo.vireo-system:15010",
    ]) {
      assert.equal(namesService(a, "vireo-system", "vireo"), false, a);
    }
  });
});
