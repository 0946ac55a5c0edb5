import { spawn } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import { isDeepStrictEqual } from "node:util";
import assert from "node:assert/strict";
import { FakeClock, systemClock } from "../../../src/common/clock.js";
import type { DeltaDiscoveryRequest__Output } from "../../../src/xds/generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.js";
import { OUTBOUND_HTTP_LISTENER, OUTBOUND_HTTP_ROUTE } from "../../../src/xds/names.js";
import { TYPE } from "../../../src/xds/snapshot.js";
import { translate } from "../../../src/xds/translate/translate.js";
import type { RoutingSnapshot } from "../../../mesh/routing/model.js";
import { XdsClient } from "../../../mesh/xds-client/client.js";
import {
  APEX,
  broken,
  CANARY,
  clusterState,
  ControlPlane,
  eventually,
  NS,
  PRIMARY,
  ROUTE,
  silentLog,
  weights,
} from "./xds-client-fixtures.js";
import { AdsRecorder } from "./xds-client-recorder.js";

const node = {
  id: "proxy-1",
  cluster: "podinfo.demo",
  metadata: { NAMESPACE: NS, WORKLOAD: "podinfo" },
};

describe("xDS client (delta) against the vireo server", function () {
  this.timeout(15_000);
  const cp = new ControlPlane();
  let client: XdsClient;

  beforeEach(async () => {
    await cp.start();
    cp.publish(translate(clusterState({ canaryWeight: 10 })));
    client = new XdsClient({
      log: silentLog,
      clock: systemClock,
      server: `127.0.0.1:${cp.port}`,
      node,
    });
  });
  afterEach(async () => {
    client.close();
    await cp.stop();
  });

  it("syncs listeners, routes, clusters and endpoints into one snapshot", async () => {
    client.start();
    const s = await client.synced();
    assert.equal(s.listeners.get(OUTBOUND_HTTP_LISTENER)?.routeConfig, OUTBOUND_HTTP_ROUTE);
    assert.equal(s.listeners.get(`podinfo.${NS}:9898`)?.routeConfig, ROUTE);
    assert.deepEqual(weights(s), { [PRIMARY]: 90, [CANARY]: 10 });
    assert.deepEqual(weights(s, OUTBOUND_HTTP_ROUTE), { [PRIMARY]: 90, [CANARY]: 10 });
    const last = s.routeTables.get(ROUTE)?.virtualHosts[0]?.routes.at(-1);
    assert.equal(last?.kind === "forward" && last.action.timeoutMs, 5000);
    assert.deepEqual(
      s.endpoints.get(PRIMARY)?.endpoints.map((e) => `${e.zone}/${e.address}:${e.port}`),
      ["z1/10.0.0.1:8080", "z2/10.0.0.2:8080"],
    );
    assert.equal(s.clusters.get(CANARY)?.edsName, CANARY);
    assert.equal(s.versions.get(TYPE.route), "1");
    assert.equal(client.current(), s);
    assert.deepEqual(client.status().warnings, []);
    assert.equal(client.status().connection.state, "connected");
    const [summary] = cp.server?.clients() ?? [];
    assert.equal(summary?.nodeId, "proxy-1");
    assert.equal(summary.cluster, "podinfo.demo");
    assert.equal(summary.userAgent, "vireo-proxy dev");
    assert.equal(summary.transport, "delta");
  });

  it("publishes a new snapshot when the weights change and leaves the old one as it was", async () => {
    client.start();
    const first = await client.synced();
    const seen: RoutingSnapshot[] = [];
    client.onSnapshot((s) => seen.push(s));
    cp.publish(translate(clusterState({ canaryWeight: 50 })));
    const next = await eventually("a 50/50 snapshot", () =>
      seen.find((s) => weights(s)[CANARY] === 50),
    );
    assert.deepEqual(weights(next), { [PRIMARY]: 50, [CANARY]: 50 });
    assert.deepEqual(weights(first), { [PRIMARY]: 90, [CANARY]: 10 });
    assert.equal(
      next.clusters.get(PRIMARY),
      first.clusters.get(PRIMARY) ?? "",
      "clusters unchanged",
    );
    assert.equal(client.current(), next);
  });

  it("NACKs an invalid update naming the resource, keeps the last good snapshot, then ACKs a fix", async () => {
    client.start();
    const good = await client.synced();
    const bad = cp.publish(broken(translate(clusterState({ canaryWeight: 20 }))));
    const nack = await eventually(
      "the server to record a NACK",
      () =>
        cp.server
          ?.clients()[0]
          ?.types.find((t) => t.typeUrl === TYPE.route && t.lastNack?.version === bad.version)
          ?.lastNack,
    );
    const expected = `RouteConfiguration ${ROUTE}: weighted_clusters weights sum to 0 (virtual host ${ROUTE}, route default)`;
    assert.equal(nack.message, expected);
    assert.equal(client.current(), good);
    assert.equal(client.status().lastNack?.message, expected);
    assert.equal(client.status().lastNack?.typeUrl, TYPE.route);
    const routeStatus = client.status().types.find((t) => t.typeUrl === TYPE.route);
    assert.equal(routeStatus?.ackedVersion, good.versions.get(TYPE.route));
    assert.equal(routeStatus?.lastNack?.version, String(bad.version));
    assert.deepEqual(client.health(), { connected: true, rejectedTypes: 1 });

    const fixed = cp.publish(translate(clusterState({ canaryWeight: 30 })));
    await eventually("the fixed weights", () =>
      weights(client.current())[CANARY] === 30 ? true : undefined,
    );
    await eventually("the server to record the ACK", () =>
      cp.server?.clients()[0]?.types.find((t) => t.typeUrl === TYPE.route)?.ackedVersion ===
      fixed.version
        ? true
        : undefined,
    );
    assert.equal(client.status().types.find((t) => t.typeUrl === TYPE.route)?.lastNack, undefined);
    assert.equal(client.status().lastNack?.message, expected, "the last NACK stays for the dump");
    assert.deepEqual(client.health(), { connected: true, rejectedTypes: 0 });
    await cp.stop();
    await eventually("the client to see the stream gone", () =>
      client.health().connected ? undefined : true,
    );
  });

  it("is counted by the server's confirmation() once it has ACKed a version", async () => {
    client.start();
    await client.synced();
    const v2 = cp.publish(translate(clusterState({ canaryWeight: 40 })));
    const c = await eventually("confirmation of the new route", () => {
      const r = cp.server?.confirmation(TYPE.route, ROUTE, v2.version);
      return r?.confirmed === 1 ? r : undefined;
    });
    assert.deepEqual(c, { holders: 1, confirmed: 1, pending: [], disconnected: [] });
    assert.equal(cp.server?.confirmation(TYPE.cluster, PRIMARY, v2.version).confirmed, 1);
    assert.equal(cp.server?.confirmation(TYPE.endpoint, CANARY, v2.version).confirmed, 1);
  });

  it("follows its clusters: unsubscribes the endpoints of a removed cluster", async () => {
    client.start();
    await client.synced();
    const state = clusterState({ canaryWeight: 0 });
    cp.publish(
      translate({
        ...state,
        services: state.services.filter((s) => s.name !== "podinfo-canary"),
        endpoints: state.endpoints.filter((e) => e.service !== "podinfo-canary"),
      }),
    );
    const s = await eventually("the canary to go", () =>
      client.current().clusters.has(CANARY) ? undefined : client.current(),
    );
    assert.equal(s.endpoints.has(CANARY), false);
    assert.deepEqual(weights(s), { [PRIMARY]: 1 });
    const eds = client.status().types.find((t) => t.typeUrl === TYPE.endpoint);
    assert.deepEqual(eds?.subscribed, [APEX, PRIMARY].sort());
    // The server hears of the unsubscription a moment after the client has made it.
    await eventually("the server to see the endpoints unsubscribed", () => {
      const server = cp.server?.clients()[0]?.types.find((t) => t.typeUrl === TYPE.endpoint);
      return isDeepStrictEqual(server?.subscribed, [APEX, PRIMARY].sort()) ? true : undefined;
    });
  });
});

describe("xDS client (delta): the requests it sends, and reconnecting", function () {
  this.timeout(20_000);
  const cp = new ControlPlane();
  const recorder = new AdsRecorder(() => `127.0.0.1:${cp.port}`);
  const clock = new FakeClock();
  let client: XdsClient;

  before(async () => {
    await recorder.listen();
  });
  after(() => {
    recorder.close();
  });
  beforeEach(async () => {
    await cp.start();
    cp.publish(translate(clusterState({ canaryWeight: 10 })));
    client = new XdsClient({
      log: silentLog,
      clock,
      server: `127.0.0.1:${recorder.port}`,
      node,
      random: () => 0.5,
    });
  });
  afterEach(async () => {
    client.close();
    await cp.stop();
  });

  it("sends the node once, subscribes by wildcard then by name, and ACKs each response", async () => {
    client.start();
    await client.synced();
    // The ACK of the last response is on its way to the recorder while the snapshot is published.
    const reqs = await eventually("four ACKs", () => {
      const all = recorder.on(1) as DeltaDiscoveryRequest__Output[];
      return all.filter((r) => r.response_nonce !== "").length >= 4 ? all : undefined;
    });
    const [first, ...rest] = reqs;
    assert.equal(first?.node?.id, "proxy-1");
    assert.equal(first.node?.user_agent_name, "vireo-proxy");
    assert.deepEqual(first.node?.metadata?.fields.NAMESPACE?.stringValue, NS);
    assert.ok(
      rest.every((r) => r.node === null),
      "node only on the first request",
    );
    assert.deepEqual(
      reqs
        .filter((r) => r.response_nonce === "")
        .map((r) => [
          r.type_url,
          r.resource_names_subscribe.length > 0 ? r.resource_names_subscribe[0] : "",
        ])
        .slice(0, 2),
      [
        [TYPE.cluster, "*"],
        [TYPE.listener, "*"],
      ],
    );
    const eds = reqs.find((r) => r.type_url === TYPE.endpoint && r.response_nonce === "");
    assert.deepEqual(
      [...(eds?.resource_names_subscribe ?? [])].sort(),
      [APEX, CANARY, PRIMARY].sort(),
    );
    const acks = reqs.filter((r) => r.response_nonce !== "");
    assert.deepEqual(
      acks.filter((r) => r.error_detail !== null).map((r) => r.error_detail),
      [],
    );
  });

  it("backs off exponentially while the server is away, keeps its snapshot, and resyncs with initial_resource_versions", async () => {
    client.start();
    const before = await client.synced();
    const port = cp.port;
    await cp.stop();
    const backoff = async (failures: number): Promise<number> => {
      const c = await eventually(`back-off after ${failures} failures`, () => {
        const s = client.status().connection;
        return s.state === "backoff" && s.failures === failures ? s : undefined;
      });
      return c.retryAt - clock.now();
    };
    assert.equal(await backoff(0), 0, "a stream that had responses is retried at once");
    const delays: number[] = [];
    for (let failures = 1; failures <= 3; failures++) {
      await clock.advance(delays.at(-1) ?? 0);
      delays.push(await backoff(failures));
      assert.equal(client.current(), before, "keeps serving the last snapshot");
    }
    assert.deepEqual(delays, [100, 200, 400]);

    await cp.start(port);
    cp.publish(translate(clusterState({ canaryWeight: 50 })));
    const streamsBefore = recorder.streamCount;
    await clock.advance(400);
    await eventually("the new weights", () =>
      weights(client.current())[CANARY] === 50 ? true : undefined,
    );
    assert.equal(client.status().connection.state, "connected");
    const reqs = recorder.on(streamsBefore + 1) as DeltaDiscoveryRequest__Output[];
    const initial = new Map(
      reqs.filter((r) => r.response_nonce === "").map((r) => [r.type_url, r]),
    );
    assert.deepEqual([...initial.keys()], [TYPE.cluster, TYPE.endpoint, TYPE.listener, TYPE.route]);
    assert.equal(initial.get(TYPE.cluster)?.node?.id, "proxy-1");
    assert.deepEqual(initial.get(TYPE.cluster)?.resource_names_subscribe, ["*"]);
    assert.deepEqual(
      Object.keys(initial.get(TYPE.cluster)?.initial_resource_versions ?? {}).sort(),
      [APEX, CANARY, PRIMARY].sort(),
    );
    assert.ok(initial.get(TYPE.route)?.resource_names_subscribe.includes(ROUTE));
    assert.ok(
      Object.keys(initial.get(TYPE.route)?.initial_resource_versions ?? {}).includes(ROUTE),
    );
    // The server knew the client's clusters from initial_resource_versions and sent none again.
    const clusterState_ = cp.server?.clients()[0]?.types.find((t) => t.typeUrl === TYPE.cluster);
    assert.equal(clusterState_?.sentVersion, undefined);
  });
});

/**
 * A port whose listener never accepts, its one-slot queue already taken: a connect to it hangs in
 * SYN_SENT as one to a pod that is gone does (the kernel drops the SYN), without leaving loopback.
 */
async function unansweredPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const py = spawn(
    "python3",
    [
      "-c",
      "import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\n" +
        "print(s.getsockname()[1],flush=True)\nsys.stdin.read()",
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    py.once("error", reject);
    py.stdout.once("data", (d: Buffer) => {
      resolve(Number(String(d).trim()));
    });
  });
  const filler = connect(port, "127.0.0.1");
  await once(filler, "connect");
  return {
    port,
    release: async () => {
      filler.destroy();
      if (py.exitCode !== null) return;
      py.stdin.end();
      await once(py, "exit");
    },
  };
}

describe("xDS client: a connection attempt that hangs", function () {
  this.timeout(20_000);
  const clock = new FakeClock();
  const cp = new ControlPlane();
  let client: XdsClient | undefined;
  let hung: Awaited<ReturnType<typeof unansweredPort>> | undefined;

  afterEach(async () => {
    client?.close();
    await hung?.release();
    await cp.stop();
  });

  it("is abandoned after the connect timeout and retried on a new connection, which syncs", async () => {
    hung = await unansweredPort();
    const probe = connect(hung.port, "127.0.0.1");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(probe.pending, true, "a connect to the port hangs");
    probe.destroy();

    const c = new XdsClient({
      log: silentLog,
      clock,
      server: `127.0.0.1:${hung.port}`,
      node,
      random: () => 0.5,
      connectTimeoutMs: 5000,
    });
    client = c;
    c.start();
    await clock.advance(4999);
    assert.equal(c.status().connection.state, "connecting", "waits out the timeout");
    await clock.advance(1);
    const failed = await eventually("the attempt abandoned", () => {
      const s = c.status().connection;
      return s.state === "backoff" ? s : undefined;
    });
    assert.equal(failed.error, "UNAVAILABLE: not connected within 5000 ms");
    assert.equal(failed.failures, 1);

    // The port answers now (a new controller behind the same address): the next attempt syncs.
    await hung.release();
    await cp.start(hung.port);
    cp.publish(translate(clusterState({ canaryWeight: 30 })));
    await clock.advance(failed.retryAt - clock.now());
    await eventually("the snapshot from the new server", () =>
      weights(c.current())[CANARY] === 30 ? true : undefined,
    );
    assert.equal(c.status().connection.state, "connected");
  });
});
