import assert from "node:assert/strict";
import { systemClock } from "../../../src/common/clock.js";
import { createLogger } from "../../../src/common/logger.js";
import { loadXdsProtos } from "../../../src/xds/protos.js";
import { TYPE } from "../../../src/xds/snapshot.js";
import { XdsServer } from "../../../src/xds/server/xds-server.js";
import type { XdsEvent } from "../../../src/xds/server/stream-context.js";
import { DeltaTestClient, SotwTestClient } from "../../support/ads-test-client.js";
import { snapshot } from "./fixtures.js";
import { PassThrough } from "node:stream";
import { eventually } from "../mesh/xds-client-fixtures.js";

const silent = createLogger({ component: "xds-test", stream: new PassThrough(), level: "error" });

/** With `json: true` proto-loader decodes each Any into its message (plus "@type"). */
function clusterNames(r: { resources: unknown[] }): string[] {
  return r.resources.map((x) => (x as { name: string }).name).sort();
}

describe("xDS server: state of the world", function () {
  this.timeout(10_000);
  let server: XdsServer;
  let port: number;

  beforeEach(async () => {
    server = new XdsServer({ log: silent, clock: systemClock });
    port = await server.listen(0);
    server.setSnapshot(snapshot(1, { clusters: ["a", "b"], weights: { a: 80, b: 20 } }));
  });
  afterEach(async () => {
    await server.close();
  });

  it("answers a wildcard CDS request with every cluster, then records the ACK", async () => {
    const c = new SotwTestClient(port);
    const events: XdsEvent["kind"][] = [];
    server.onEvent((e) => events.push(e.kind));
    c.send({ type_url: TYPE.cluster });
    const r = await c.responses.next();
    assert.equal(r.version_info, "1");
    assert.equal(r.type_url, TYPE.cluster);
    assert.notEqual(r.nonce, "");
    assert.deepEqual(clusterNames(r), ["a", "b"]);
    c.ack(r);
    assert.equal(await c.responses.quiet(200), true, "an ACK must not be answered");
    const [client] = server.clients();
    assert.equal(client?.nodeId, "test-node");
    assert.equal(client.types[0]?.ackedVersion, 1);
    assert.deepEqual(events, ["connect", "ack"]);
    c.close();
  });

  it("sends named resources, and again when a name is added even if nothing changed", async () => {
    const c = new SotwTestClient(port);
    c.send({ type_url: TYPE.endpoint, resource_names: ["a"] });
    const r1 = await c.responses.next();
    assert.equal(r1.resources.length, 1);
    c.ack(r1, ["a"]);
    c.send({
      type_url: TYPE.endpoint,
      resource_names: ["a", "b"],
      version_info: "1",
      response_nonce: r1.nonce,
    });
    const r2 = await c.responses.next();
    assert.equal(r2.resources.length, 2);
    c.close();
  });

  it("honours a subscription change that carries a stale nonce", async () => {
    const c = new SotwTestClient(port);
    c.send({ type_url: TYPE.endpoint, resource_names: ["a"] });
    // The client widens its subscription before it has seen our first response.
    c.send({ type_url: TYPE.endpoint, resource_names: ["a", "b"] });
    const seen = new Set<number>();
    for (;;) {
      const r = await c.responses.next();
      seen.add(r.resources.length);
      if (r.resources.length === 2) break;
    }
    assert.ok(seen.has(2));
    c.close();
  });

  it("records a NACK, keeps the client's last good version and never resends rejected content", async () => {
    const c = new SotwTestClient(port);
    c.send({ type_url: TYPE.route, resource_names: ["r"] });
    const r1 = await c.responses.next();
    c.ack(r1, ["r"]);
    server.setSnapshot(snapshot(2, { clusters: ["a", "b"], weights: { a: 0, b: 0 } }));
    const r2 = await c.responses.next();
    assert.equal(r2.version_info, "2");
    c.nack(r2, "1", "weights sum to 0", ["r"]);
    assert.equal(await c.responses.quiet(300), true, "rejected content was sent again");
    const route = server.clients()[0]?.types.find((t) => t.typeUrl === TYPE.route);
    assert.equal(route?.ackedVersion, 1);
    assert.deepEqual(route.lastNack, {
      version: 2,
      message: "weights sum to 0",
      at: route.lastNack?.at,
    });
    // Other types change, the route stays invalid: still not resent.
    server.setSnapshot(snapshot(3, { clusters: ["a", "b", "c"], weights: { a: 0, b: 0 } }));
    assert.equal(await c.responses.quiet(300), true);
    server.setSnapshot(snapshot(4, { clusters: ["a", "b"], weights: { a: 50, b: 50 } }));
    const r4 = await c.responses.next();
    assert.equal(r4.version_info, "4");
    c.ack(r4, ["r"]);
    c.close();
  });

  it("pushes clusters and endpoints before listeners and routes, and removes clusters last", async () => {
    const c = new SotwTestClient(port);
    c.send({ type_url: TYPE.listener });
    c.send({ type_url: TYPE.route, resource_names: ["r"] });
    c.send({ type_url: TYPE.cluster });
    c.send({ type_url: TYPE.endpoint, resource_names: ["a", "b"] });
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await c.responses.next();
      seen.push(r.type_url);
      c.ack(r, r.type_url === TYPE.route ? ["r"] : r.type_url === TYPE.endpoint ? ["a", "b"] : []);
    }
    assert.equal(seen.length, 4);
    await c.responses.quiet(200);
    // Move traffic from b to a new cluster c: b goes away.
    server.setSnapshot(snapshot(2, { clusters: ["a", "c"], weights: { a: 80, c: 20 } }));
    const order: { type: string; clusters?: string[] }[] = [];
    for (;;) {
      const r = await c.responses.next();
      order.push(
        r.type_url === TYPE.cluster
          ? { type: "CDS", clusters: clusterNames(r) }
          : { type: r.type_url },
      );
      if (r.type_url === TYPE.cluster && order.length > 1) break;
    }
    assert.deepEqual(order, [
      { type: "CDS", clusters: ["a", "b", "c"] },
      { type: TYPE.endpoint },
      { type: TYPE.route },
      { type: "CDS", clusters: ["a", "c"] },
    ]);
    c.close();
  });

  it("reports who holds a resource and who has ACKed its current content", async () => {
    const a = new SotwTestClient(port, "a");
    const b = new SotwTestClient(port, "b");
    a.send({ type_url: TYPE.route, resource_names: ["r"] });
    b.send({ type_url: TYPE.route, resource_names: ["r"] });
    const ra = await a.responses.next();
    await b.responses.next();
    a.ack(ra, ["r"]);
    await a.responses.quiet(100);
    const conf = server.confirmation(TYPE.route, "r", 1);
    assert.equal(conf.holders, 2);
    assert.equal(conf.confirmed, 1);
    assert.deepEqual(
      conf.pending.map((p) => p.nodeId),
      ["b"],
    );
    assert.equal(
      server.confirmation(TYPE.route, "r", 2).confirmed,
      0,
      "version 2 does not exist yet",
    );
    a.close();
    b.close();
  });

  it("keeps a client that left among the holders while its proxy may still route, until it is back", async () => {
    await server.close();
    const running = new Set(["sidecar~10.0.0.7~load-1.demo~demo.svc.cluster.local"]);
    server = new XdsServer({
      log: silent,
      clock: systemClock,
      mayStillRoute: (id) => running.has(id),
    });
    port = await server.listen(0);
    server.setSnapshot(snapshot(1, { clusters: ["a"], weights: { a: 100 } }));
    const [cut] = running;
    const gone = "sidecar~10.0.0.8~old-1.demo~demo.svc.cluster.local";
    const subscribe = async (nodeId: string): Promise<SotwTestClient> => {
      const c = new SotwTestClient(port, nodeId);
      c.send({ type_url: TYPE.route, resource_names: ["r"] });
      c.ack(await c.responses.next(), ["r"]);
      await c.responses.quiet(100);
      return c;
    };
    const a = await subscribe(cut ?? "");
    const b = await subscribe(gone);
    a.close();
    b.close();
    await eventually("both streams closed", () =>
      server.clients().length === 0 ? true : undefined,
    );
    // It ACKed version 1 before it left: it holds what version 1 says.
    assert.deepEqual(server.confirmation(TYPE.route, "r", 1), {
      holders: 1,
      confirmed: 1,
      pending: [],
      disconnected: [],
    });
    server.setSnapshot(snapshot(2, { clusters: ["a"], weights: { a: 90 } }));
    const left = server.confirmation(TYPE.route, "r", 2);
    assert.equal(left.holders, 1, "the client whose pod is gone is not waited for");
    assert.deepEqual(
      left.disconnected.map((d) => d.nodeId),
      [cut],
    );
    // Back, and ACKing the new version: counted once, confirmed.
    const back = await subscribe(cut ?? "");
    assert.deepEqual(server.confirmation(TYPE.route, "r", 2), {
      holders: 1,
      confirmed: 1,
      pending: [],
      disconnected: [],
    });
    back.close();
    await eventually("the stream closed", () => (server.clients().length === 0 ? true : undefined));
    // Its pod gone now: forgotten.
    running.clear();
    server.setSnapshot(snapshot(3, { clusters: ["a"], weights: { a: 80 } }));
    assert.equal(server.confirmation(TYPE.route, "r", 3).holders, 0);
    // A standby forgets those who left: the serving replica answers for them.
    running.add(cut ?? "");
    const again = await subscribe(cut ?? "");
    again.close();
    await eventually("the stream closed", () => (server.clients().length === 0 ? true : undefined));
    server.setSnapshot(snapshot(4, { clusters: ["a"], weights: { a: 70 } }));
    assert.equal(server.confirmation(TYPE.route, "r", 4).disconnected.length, 1);
    server.setStandby("standby");
    assert.equal(server.confirmation(TYPE.route, "r", 4).holders, 0);
  });

  it("as a standby ends its streams and refuses new ones with UNAVAILABLE, then serves again", async () => {
    const open = new SotwTestClient(port);
    open.send({ type_url: TYPE.cluster });
    await open.responses.next();
    server.setStandby("standby replica: the leader serves xDS");
    const ended = await open.ended;
    assert.equal(ended.code, 14, "UNAVAILABLE");
    assert.equal(ended.details, "standby replica: the leader serves xDS");
    const refused = new SotwTestClient(port);
    refused.send({ type_url: TYPE.cluster });
    assert.equal((await refused.ended).code, 14);
    assert.equal(server.clients().length, 0);
    server.setStandby(undefined);
    const served = new SotwTestClient(port);
    served.send({ type_url: TYPE.cluster });
    assert.deepEqual(clusterNames(await served.responses.next()), ["a", "b"]);
    for (const c of [open, refused, served]) c.close();
  });

  it("serves CSDS with each client's status", async () => {
    const c = new SotwTestClient(port, "csds-node");
    c.send({ type_url: TYPE.cluster });
    c.ack(await c.responses.next());
    await c.responses.quiet(100);
    const grpc = await import("@grpc/grpc-js");
    const Ctor = loadXdsProtos().grpc.envoy.service.status.v3.ClientStatusDiscoveryService;
    const csds = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const res = await new Promise<unknown>((resolve, reject) => {
      csds.FetchClientStatus({}, (err, v) => {
        if (err !== null) reject(err);
        else resolve(v);
      });
    });
    const cfg = (
      res as {
        config: {
          node: { id: string };
          generic_xds_configs: { name: string; client_status: string }[];
        }[];
      }
    ).config;
    assert.equal(cfg[0]?.node.id, "csds-node");
    assert.deepEqual(
      cfg[0].generic_xds_configs.map((g) => [g.name, g.client_status]),
      [
        ["a", "ACKED"],
        ["b", "ACKED"],
      ],
    );
    csds.close();
    c.close();
  });
});

describe("xDS server: delta", function () {
  this.timeout(10_000);
  let server: XdsServer;
  let port: number;

  beforeEach(async () => {
    server = new XdsServer({ log: silent, clock: systemClock });
    port = await server.listen(0);
    server.setSnapshot(snapshot(1, { clusters: ["a", "b"], weights: { a: 80, b: 20 } }));
  });
  afterEach(async () => {
    await server.close();
  });

  it("sends only what changed, signals removals, and says a named resource does not exist", async () => {
    const c = new DeltaTestClient(port);
    c.send({ type_url: TYPE.cluster, resource_names_subscribe: ["*"] });
    const r1 = await c.responses.next();
    assert.deepEqual(r1.resources.map((r) => r.name).sort(), ["a", "b"]);
    assert.ok(r1.resources.every((r) => r.version !== ""));
    c.ack(r1);
    server.setSnapshot(snapshot(2, { clusters: ["a", "c"], weights: { a: 80, c: 20 } }));
    const r2 = await c.responses.next();
    assert.deepEqual(
      r2.resources.map((r) => r.name),
      ["c"],
    );
    assert.deepEqual(r2.removed_resources, ["b"]);
    c.ack(r2);
    c.send({ type_url: TYPE.endpoint, resource_names_subscribe: ["a", "zzz"] });
    const r3 = await c.responses.next();
    assert.deepEqual(
      r3.resources.map((r) => r.name),
      ["a"],
    );
    assert.deepEqual(r3.removed_resources, ["zzz"]);
    c.close();
  });

  it("after a reconnect sends only resources whose versions differ from initial_resource_versions", async () => {
    const c1 = new DeltaTestClient(port);
    c1.send({ type_url: TYPE.cluster, resource_names_subscribe: ["*"] });
    const r1 = await c1.responses.next();
    c1.close();
    const versions = Object.fromEntries(r1.resources.map((r) => [r.name, r.version]));
    server.setSnapshot(snapshot(2, { clusters: ["a", "b", "c"], weights: { a: 80, b: 20 } }));
    const c2 = new DeltaTestClient(port);
    c2.send({
      type_url: TYPE.cluster,
      resource_names_subscribe: ["*"],
      initial_resource_versions: versions,
    });
    const r2 = await c2.responses.next();
    assert.deepEqual(
      r2.resources.map((r) => r.name),
      ["c"],
    );
    c2.close();
  });

  it("counts a reconnected client that already holds the current content as confirmed", async () => {
    const c1 = new DeltaTestClient(port, "again");
    c1.send({ type_url: TYPE.cluster, resource_names_subscribe: ["*"] });
    const r1 = await c1.responses.next();
    c1.ack(r1);
    await c1.responses.quiet(100);
    c1.close();
    const versions = Object.fromEntries(r1.resources.map((r) => [r.name, r.version]));
    const c2 = new DeltaTestClient(port, "again");
    c2.send({
      type_url: TYPE.cluster,
      resource_names_subscribe: ["*"],
      initial_resource_versions: versions,
    });
    assert.equal(await c2.responses.quiet(300), true, "nothing changed, nothing sent");
    const conf = server.confirmation(TYPE.cluster, "a", 1);
    assert.deepEqual([conf.holders, conf.confirmed], [1, 1]);
    c2.close();
  });
});
