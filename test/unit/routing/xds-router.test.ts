import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { systemClock } from "../../../src/common/clock.js";
import { createLogger } from "../../../src/common/logger.js";
import { XdsTrafficRouter } from "../../../src/routing/xds-router.js";
import type { ProxyPod } from "../../../src/xds/watch/proxy-presence.js";
import type { RoutingSink } from "../../../src/routing/xds-router.js";
import type {
  ClusterState,
  RoutingModel,
  ServiceEndpoints,
  ServiceModel,
} from "../../../src/xds/model.js";
import { routeConfigName } from "../../../src/xds/names.js";
import { loadXdsProtos } from "../../../src/xds/protos.js";
import { XdsServer } from "../../../src/xds/server/xds-server.js";
import { buildSnapshot, TYPE } from "../../../src/xds/snapshot.js";
import { servicesRoutingTo } from "../../../src/xds/translate/producer-routes.js";
import { translate } from "../../../src/xds/translate/translate.js";
import { parseRoute } from "../../../src/gateway/parse-route.js";
import { SotwTestClient } from "../../support/ads-test-client.js";

const log = createLogger({ component: "t", stream: new PassThrough(), level: "error" });
const port = [{ name: "http", port: 80, protocol: "http" as const }];
const services: ServiceModel[] = ["app", "app-primary", "app-canary"].map((name) => ({
  namespace: "ns",
  name,
  ports: port,
}));

/** The cluster state a KubeClusterWatch would hold, in memory. */
class MemorySink implements RoutingSink {
  readonly routing = new Map<string, RoutingModel>();
  eps: ServiceEndpoints[] = ["app-primary", "app-canary"].map((s) => ready(s, "10.0.0.1"));
  setRouting(namespace: string, service: string, r: RoutingModel | undefined): void {
    if (r === undefined) this.routing.delete(`${namespace}/${service}`);
    else this.routing.set(`${namespace}/${service}`, r);
  }
  services(): readonly ServiceModel[] {
    return services;
  }
  endpoints(): readonly ServiceEndpoints[] {
    return this.eps;
  }
  /** No Gateway API routes here. */
  routedFrom: RoutingSink["routedFrom"] = () => [];
  routesBinding: RoutingSink["routesBinding"] = () => [];
  state(): ClusterState {
    return { services, endpoints: this.eps, routing: [...this.routing.values()] };
  }
}

/** Resolves once `check` holds (the server handles an ACK asynchronously). */
async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

function ready(service: string, address: string, isReady = true): ServiceEndpoints {
  return {
    namespace: "ns",
    service,
    endpoints: [{ address, ports: { http: 8080 }, ready: isReady }],
  };
}

describe("XdsTrafficRouter", function () {
  this.timeout(10_000);
  let server: XdsServer;
  let listenPort: number;
  let version = 1;

  beforeEach(async () => {
    server = new XdsServer({ log, clock: systemClock });
    listenPort = await server.listen(0);
  });
  afterEach(async () => {
    await server.close();
  });

  const RC = routeConfigName("ns", "app", 80);
  const APP: RoutingModel = {
    namespace: "ns",
    service: "app",
    primary: "app-primary",
    canary: "app-canary",
    canaryWeight: 10,
  };

  /** Serves the sink's state as the next snapshot, and tells the router. */
  function publish(sink: MemorySink, router: XdsTrafficRouter): void {
    const s = buildSnapshot(version++, translate(sink.state()), loadXdsProtos().codecs);
    server.setSnapshot(s);
    router.published(s);
  }

  /** A proxy holding app's route configuration, whose first answer it has ACKed. */
  async function subscribed(nodeId: string): Promise<SotwTestClient> {
    const c = new SotwTestClient(listenPort, nodeId);
    c.send({ type_url: TYPE.route, resource_names: [RC] });
    c.ack(await c.responses.next(), [RC]);
    await c.responses.quiet(100);
    return c;
  }

  it("confirms a weight only after every proxy holding the Service's routes has ACKed it", async () => {
    const sink = new MemorySink();
    const router = new XdsTrafficRouter(sink, server);
    const publish = (): void => {
      const s = buildSnapshot(version++, translate(sink.state()), loadXdsProtos().codecs);
      server.setSnapshot(s);
      router.published(s);
    };
    const rc = routeConfigName("ns", "app", 80);
    const model: RoutingModel = {
      namespace: "ns",
      service: "app",
      primary: "app-primary",
      canary: "app-canary",
      canaryWeight: 10,
    };
    router.setRouting(model);
    assert.deepEqual(
      [router.state("ns", "app").confirmed, router.state("ns", "app").waitingOn],
      [false, "routing not yet published"],
      "not yet in any snapshot",
    );
    publish();
    const a = new SotwTestClient(listenPort, "a");
    const b = new SotwTestClient(listenPort, "sidecar~10.0.0.2~b-5f7c.ns~ns.svc.cluster.local");
    a.send({ type_url: TYPE.route, resource_names: [rc] });
    b.send({ type_url: TYPE.route, resource_names: [rc] });
    const ra = await a.responses.next();
    const rb = await b.responses.next();
    a.ack(ra, [rc]);
    await a.responses.quiet(100);
    assert.deepEqual(router.state("ns", "app"), {
      requested: model,
      confirmed: false,
      proxies: 2,
      pending: 1,
      waitingOn: "not yet ACKed by b-5f7c.ns (1 of 2 proxies)",
    });
    b.ack(rb, [rc]);
    await b.responses.quiet(100);
    assert.equal(router.state("ns", "app").confirmed, true);
    // A new weight is pending again until both ACK the snapshot that carries it.
    router.setRouting({ ...model, canaryWeight: 30 });
    publish();
    const ra2 = await a.responses.next();
    await b.responses.next();
    a.ack(ra2, [rc]);
    await a.responses.quiet(100);
    assert.equal(router.state("ns", "app").confirmed, false);
    assert.equal(router.state("ns", "app").requested?.canaryWeight, 30);
    a.close();
    b.close();
  });

  it("waits for a proxy cut off from the control plane while its pod runs, and names it", async () => {
    await server.close();
    const cut = "sidecar~10.0.0.2~load-5f7c.ns~ns.svc.cluster.local";
    let podRunning = true;
    server = new XdsServer({
      log,
      clock: { ...systemClock, now: () => Date.parse("2026-12-05T10:00:00.000Z") },
      mayStillRoute: (id) => id === cut && podRunning,
    });
    listenPort = await server.listen(0);
    const sink = new MemorySink();
    const router = new XdsTrafficRouter(sink, server);
    router.setRouting(APP);
    publish(sink, router);
    const other = await subscribed("a");
    (await subscribed(cut)).close();
    await until(() => server.clients().length === 1);
    assert.equal(router.state("ns", "app").confirmed, true, "it ACKed 10 % before it left");
    router.setRouting({ ...APP, canaryWeight: 30 });
    publish(sink, router);
    other.ack(await other.responses.next(), [RC]);
    await other.responses.quiet(100);
    assert.deepEqual(router.state("ns", "app"), {
      requested: { ...APP, canaryWeight: 30 },
      confirmed: false,
      proxies: 2,
      pending: 1,
      waitingOn:
        "not connected (pods running, since 2026-12-05T10:00:00Z): load-5f7c.ns (1 of 2 proxies)",
    });
    const back = await subscribed(cut);
    assert.equal(router.state("ns", "app").confirmed, true, "back and ACKed");
    back.close();
    await until(() => server.clients().length === 1);
    router.setRouting({ ...APP, canaryWeight: 50 });
    publish(sink, router);
    other.ack(await other.responses.next(), [RC]);
    await other.responses.quiet(100);
    assert.equal(router.state("ns", "app").confirmed, false);
    podRunning = false;
    assert.equal(router.state("ns", "app").confirmed, true, "its pod is gone: not waited for");
    other.close();
  });

  it("a new leader confirms nothing until its proxies could reconnect, or the longest wait passed", async () => {
    const sink = new MemorySink();
    let now = 1_000_000;
    const router = new XdsTrafficRouter(sink, server, {
      now: () => now,
      reconnectGraceMs: 15_000,
      reconnectMaxWaitMs: 120_000,
    });
    const model: RoutingModel = {
      namespace: "ns",
      service: "app",
      primary: "app-primary",
      canary: "app-canary",
      canaryWeight: 30,
    };
    router.setRouting(model);
    const s = buildSnapshot(version++, translate(sink.state()), loadXdsProtos().codecs);
    server.setSnapshot(s);
    router.published(s);
    router.servingStarted();
    // No proxy connected: nothing is pending, and yet nothing is confirmed.
    now += 60_000;
    assert.deepEqual(router.state("ns", "app"), {
      requested: model,
      confirmed: false,
      proxies: 0,
      pending: 0,
      waitingOn: "proxies reconnecting to this controller (0 back so far)",
    });
    // A proxy comes back and ACKs: still not confirmed until the others had their 15 s.
    const rc = routeConfigName("ns", "app", 80);
    const a = new SotwTestClient(listenPort, "a");
    a.send({ type_url: TYPE.route, resource_names: [rc] });
    a.ack(await a.responses.next(), [rc]);
    await a.responses.quiet(100);
    assert.deepEqual(
      [router.state("ns", "app").confirmed, router.state("ns", "app").waitingOn],
      [false, "proxies reconnecting to this controller (1 back so far)"],
      "first proxy back",
    );
    now += 14_999;
    assert.equal(router.state("ns", "app").confirmed, false, "within the grace");
    now += 1;
    assert.equal(router.state("ns", "app").confirmed, true, "the grace passed");
    a.close();
    // Serving again with no proxy at all: confirmed after the longest wait.
    while (router.state("ns", "app").proxies > 0) await new Promise((r) => setTimeout(r, 20));
    router.servingStarted();
    now += 119_999;
    assert.equal(router.state("ns", "app").confirmed, false);
    now += 1;
    assert.equal(router.state("ns", "app").confirmed, true, "nobody came back in 120 s");
  });

  it("a new leader waits by name for the proxies of pods that ran before it served, until the longest wait", async () => {
    let now = 1_000_000;
    const pods: ProxyPod[] = [
      { namespace: "ns", name: "load-1", proxyStartedAt: now - 60_000 },
      { namespace: "ns", name: "early-2", proxyStartedAt: now - 1 },
      // Started after this replica began serving: it never held a predecessor's configuration.
      { namespace: "ns", name: "new-3", proxyStartedAt: now + 5_000 },
    ];
    const sink = new (class extends MemorySink {
      proxyPods = (): readonly ProxyPod[] => pods;
    })();
    const router = new XdsTrafficRouter(sink, server, {
      now: () => now,
      reconnectGraceMs: 15_000,
      reconnectMaxWaitMs: 120_000,
    });
    const model: RoutingModel = { ...APP, canaryWeight: 30 };
    router.setRouting(model);
    publish(sink, router);
    router.servingStarted();
    const early = await subscribed("sidecar~10.0.0.2~early-2.ns~ns.svc.cluster.local");
    assert.equal(router.state("ns", "app").confirmed, false, "the first proxy back");
    now += 30_000;
    // The grace after the first proxy has passed, but load-1's proxy is not back.
    assert.deepEqual(router.state("ns", "app"), {
      requested: model,
      confirmed: false,
      proxies: 2,
      pending: 1,
      waitingOn: "not yet reconnected to this controller: load-1.ns (1 of 2 proxies)",
    });
    const load = await subscribed("sidecar~10.0.0.1~load-1.ns~ns.svc.cluster.local");
    assert.equal(router.state("ns", "app").confirmed, true, "every earlier pod's proxy is back");
    load.close();
    await until(() => server.nodeIds().length === 1);
    assert.equal(router.state("ns", "app").confirmed, false, "load-1 gone again");
    now += 90_000;
    assert.equal(
      router.state("ns", "app").confirmed,
      true,
      "after the longest wait: not waited for",
    );
    early.close();
  });

  it("counts the proxies holding the routes of a Service whose Gateway API route sends to the apex", async () => {
    const web: ServiceModel = { namespace: "ns", name: "web", ports: port };
    const route = parseRoute({
      kind: "HTTPRoute",
      metadata: { namespace: "ns", name: "web", generation: 1, creationTimestamp: "" },
      spec: {
        parentRefs: [{ group: "", kind: "Service", name: "web" }],
        rules: [{ backendRefs: [{ name: "app", port: 80 }] }],
      },
    });
    assert.ok(route !== undefined);
    const routes = [route];
    const sink = new (class extends MemorySink {
      override services(): readonly ServiceModel[] {
        return [...services, web];
      }
      override routedFrom: RoutingSink["routedFrom"] = (namespace, service) =>
        servicesRoutingTo(routes, namespace, service);
      override state(): ClusterState {
        return { ...super.state(), services: [...services, web], routes };
      }
    })();
    const router = new XdsTrafficRouter(sink, server);
    const model: RoutingModel = {
      namespace: "ns",
      service: "app",
      primary: "app-primary",
      canary: "app-canary",
      canaryWeight: 10,
    };
    router.setRouting(model);
    const s = buildSnapshot(version++, translate(sink.state()), loadXdsProtos().codecs);
    server.setSnapshot(s);
    router.published(s);
    // A proxyless gRPC client of `web`: it holds web's route configuration, not app's.
    const rc = routeConfigName("ns", "web", 80);
    const client = new SotwTestClient(listenPort, "grpc-client");
    client.send({ type_url: TYPE.route, resource_names: [rc] });
    const r = await client.responses.next();
    assert.match(JSON.stringify(r.resources), /app-canary/, "web's routes carry app's split");
    assert.deepEqual(router.state("ns", "app"), {
      requested: model,
      confirmed: false,
      proxies: 1,
      pending: 1,
      waitingOn: "not yet ACKed by grpc-client (1 of 1 proxies)",
    });
    client.ack(r, [rc]);
    await until(() => router.state("ns", "app").confirmed);
    client.close();
  });

  it("does not re-request identical routing", () => {
    const sink = new MemorySink();
    let calls = 0;
    const counting: RoutingSink = {
      setRouting: (n, s, r) => {
        calls++;
        sink.setRouting(n, s, r);
      },
      services: () => sink.services(),
      endpoints: () => sink.endpoints(),
      routedFrom: () => [],
      routesBinding: () => [],
    };
    const router = new XdsTrafficRouter(counting, server);
    const model: RoutingModel = {
      namespace: "ns",
      service: "app",
      primary: "app-primary",
      canary: "app-canary",
      canaryWeight: 10,
    };
    router.setRouting(model);
    router.setRouting({ ...model });
    assert.equal(calls, 1);
  });

  it("holds routing back until every Service it sends traffic to has a ready endpoint", () => {
    const sink = new MemorySink();
    sink.eps = [ready("app-primary", "10.0.0.1"), ready("app-canary", "10.0.0.2", false)];
    const router = new XdsTrafficRouter(sink, server);
    const publish = (): void => {
      const s = buildSnapshot(version++, translate(sink.state()), loadXdsProtos().codecs);
      server.setSnapshot(s);
      router.published(s);
    };
    const base: RoutingModel = {
      namespace: "ns",
      service: "app",
      primary: "app-primary",
      canary: "app-canary",
      canaryWeight: 0,
    };
    router.setRouting(base);
    assert.deepEqual(sink.routing.get("ns/app"), base, "the primary has a ready endpoint");
    router.setRouting({ ...base, canaryWeight: 50 });
    assert.equal(sink.routing.get("ns/app")?.canaryWeight, 0, "the canary has none ready yet");
    publish();
    const held = router.state("ns", "app");
    assert.equal(held.confirmed, false);
    assert.equal(held.requested?.canaryWeight, 50);
    // An A/B match also sends requests to the canary; a mirror alone does not.
    router.setRouting({ ...base, canaryMatches: [{ uri: { prefix: "/" } }] });
    assert.equal(sink.routing.get("ns/app")?.canaryMatches, undefined);
    router.setRouting({ ...base, mirrorPercent: 100 });
    assert.equal(sink.routing.get("ns/app")?.mirrorPercent, 100);
    router.setRouting({ ...base, canaryWeight: 50 });
    sink.eps = [ready("app-primary", "10.0.0.1"), ready("app-canary", "10.0.0.2")];
    publish();
    assert.equal(sink.routing.get("ns/app")?.canaryWeight, 50, "released once the canary is ready");
    publish();
    assert.equal(router.state("ns", "app").requested?.canaryWeight, 50);
    // All traffic to the canary does not need the primary's endpoints.
    sink.eps = [ready("app-canary", "10.0.0.2")];
    router.setRouting({ ...base, canaryWeight: 100 });
    assert.equal(sink.routing.get("ns/app")?.canaryWeight, 100);
  });
});
