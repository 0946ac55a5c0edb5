// The embedded control plane follows the cluster: scaling a Deployment changes the endpoints each
// connected client sees (state of the world and delta) within a second of the EndpointSlice change.
import assert from "node:assert/strict";
import { makeInformer, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { V1EndpointSlice } from "@kubernetes/client-node";
import { systemClock } from "../../src/common/clock.js";
import { createLogger } from "../../src/common/logger.js";
import { clusterName } from "../../src/xds/names.js";
import { loadXdsProtos } from "../../src/xds/protos.js";
import { XdsServer } from "../../src/xds/server/xds-server.js";
import { TYPE } from "../../src/xds/snapshot.js";
import { translate } from "../../src/xds/translate/translate.js";
import { endpointsOf } from "../../src/xds/watch/convert.js";
import { KubeClusterWatch } from "../../src/xds/watch/kube-watch.js";
import { SnapshotBuilder } from "../../src/xds/watch/snapshot-builder.js";
import { DeltaTestClient, SotwTestClient } from "../support/ads-test-client.js";
import { cluster, eventually, useNamespace } from "./harness.js";

const log = createLogger({ component: "xds-it", level: "warn" });

/**
 * Ready endpoint count in a decoded ClusterLoadAssignment (proto-loader decodes the Any); 0 when
 * the response holds none (the first response of a type is sent even before the cluster exists).
 */
function endpointCount(cla: unknown): number {
  const c = (cla ?? {}) as { endpoints?: { lb_endpoints?: unknown[] }[] };
  return (c.endpoints ?? []).reduce((n, l) => n + (l.lb_endpoints?.length ?? 0), 0);
}

describe("xDS control plane on the local cluster", function () {
  this.timeout(120_000);
  const ns = useNamespace("xds");
  let server: XdsServer;
  let watch: KubeClusterWatch;
  let builder: SnapshotBuilder;
  let port: number;

  before(async () => {
    const { kc, apps, core } = cluster();
    server = new XdsServer({ log, clock: systemClock });
    port = await server.listen(0);
    builder = new SnapshotBuilder({
      clock: systemClock,
      log,
      codecs: loadXdsProtos().codecs,
      translate: (s) => translate(s),
      state: () => watch.state(),
      publish: (s) => {
        server.setSnapshot(s);
      },
    });
    watch = new KubeClusterWatch(
      kc,
      log,
      () => {
        builder.changed();
      },
      { clock: systemClock, failures: { inc: () => undefined } },
    );
    await watch.start();
    await apps.createNamespacedDeployment({
      namespace: ns(),
      body: {
        metadata: { name: "echo" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "echo" } },
          template: {
            metadata: { labels: { app: "echo" } },
            spec: {
              terminationGracePeriodSeconds: 2,
              containers: [
                {
                  name: "echo",
                  image: "vireo/echo:v1",
                  ports: [{ name: "http", containerPort: 8080 }],
                  readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    });
    await core.createNamespacedService({
      namespace: ns(),
      body: {
        metadata: { name: "echo" },
        spec: {
          selector: { app: "echo" },
          ports: [{ name: "http", port: 80, targetPort: "http" }],
        },
      },
    });
  });

  after(async () => {
    builder.stop();
    await watch.stop();
    await server.close();
  });

  it("pushes the new endpoints to SotW and delta clients within a second of the EndpointSlice", async () => {
    const name = clusterName(ns(), "echo", 80);
    const sotw = new SotwTestClient(port, "sotw-client");
    const delta = new DeltaTestClient(port, "delta-client");
    const seen = { sotw: [] as [number, number][], delta: [] as [number, number][] };
    // How each test client's stream ended, if it did (what a timeout reports).
    const ended: Record<string, string> = {};
    // Why a follow loop stopped, if it did (a timeout reports it rather than going quiet).
    let followFailed = "";
    void sotw.ended.then((st) => (ended.sotw = `${String(st.code)} ${st.details}`));
    const follow = async (): Promise<void> => {
      sotw.send({ type_url: TYPE.endpoint, resource_names: [name] });
      delta.send({ type_url: TYPE.endpoint, resource_names_subscribe: [name] });
      const loopSotw = (async () => {
        for (;;) {
          const r = await sotw.responses.next(60_000);
          seen.sotw.push([Date.now(), endpointCount(r.resources[0])]);
          sotw.ack(r, [name]);
        }
      })();
      const loopDelta = (async () => {
        for (;;) {
          const r = await delta.responses.next(60_000);
          seen.delta.push([Date.now(), endpointCount(r.resources[0]?.resource)]);
          delta.ack(r);
        }
      })();
      await Promise.race([loopSotw, loopDelta]);
    };
    void follow().catch((e: unknown) => {
      followFailed = e instanceof Error ? e.message : String(e);
    });

    // Our own record of when the EndpointSlice showed n ready endpoints.
    const sliceAt = new Map<number, number>();
    const { kc, apps, discovery } = cluster();
    const slices = makeInformer<V1EndpointSlice>(
      kc,
      `/apis/discovery.k8s.io/v1/namespaces/${ns()}/endpointslices`,
      () => discovery.listNamespacedEndpointSlice({ namespace: ns() }),
    );
    const record = (s: V1EndpointSlice): void => {
      const n = endpointsOf(s).filter((e) => e.conditions?.ready === true).length;
      if (!sliceAt.has(n)) sliceAt.set(n, Date.now());
    };
    const progress = (): string => {
      const state = watch.state();
      const svc = state.services.some((x) => x.namespace === ns() && x.name === "echo");
      const eps = state.endpoints
        .filter((e) => e.namespace === ns())
        .map((e) => e.endpoints.length);
      return (
        `EndpointSlice ready counts seen ${JSON.stringify([...sliceAt.keys()])}; watch has ` +
        `Service ${String(svc)}, endpoints ${JSON.stringify(eps)}; builder ${JSON.stringify(builder.stats)}; ` +
        `server version ${String(server.version)}; clients saw ${JSON.stringify(seen)}; ` +
        `server has streams ${JSON.stringify(server.clients().map((c) => [c.id, c.transport, c.types.map((t) => [t.typeUrl.split(".").pop(), t.subscribed, t.sentVersion, t.ackedVersion])]))}; ` +
        `client streams ended ${JSON.stringify(ended)}; follow loop stopped: ${followFailed || "no"}`
      );
    };
    slices.on("add", record);
    slices.on("update", record);
    await slices.start();

    try {
      // The first pod has to start (slower on a busy machine); the timing is measured after.
      await eventually(
        "1 endpoint at both clients",
        () => {
          if (seen.sotw.some(([, n]) => n === 1) && seen.delta.some(([, n]) => n === 1))
            return true;
          // What a timeout reports: each link of the chain, from the EndpointSlice to the clients.
          throw new Error(progress());
        },
        90_000,
      );
      await apps.patchNamespacedDeploymentScale(
        { name: "echo", namespace: ns(), body: { spec: { replicas: 3 } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      await eventually(
        "3 endpoints at both clients",
        () =>
          seen.sotw.some(([, n]) => n === 3) && seen.delta.some(([, n]) => n === 3)
            ? true
            : undefined,
        60_000,
      );
      const t3 = sliceAt.get(3);
      assert.ok(t3 !== undefined, "the EndpointSlice never showed 3 ready endpoints");
      for (const [kind, events] of Object.entries(seen)) {
        const at = events.find(([, n]) => n === 3)?.[0] ?? Infinity;
        const lag = at - t3;
        assert.ok(lag < 1000, `${kind} client saw 3 endpoints ${lag} ms after the EndpointSlice`);
      }
      const conf = server.confirmation(TYPE.endpoint, name, server.version ?? 0);
      assert.equal(conf.holders, 2);
      assert.equal(conf.confirmed, 2);
    } finally {
      await slices.stop();
      sotw.close();
      delta.close();
    }
  });
});
