import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { systemClock } from "../../../src/common/clock.js";
import { createLogger } from "../../../src/common/logger.js";
import type { DeltaDiscoveryResponse__Output } from "../../../src/xds/generated/envoy/service/discovery/v3/DeltaDiscoveryResponse.js";
import { TYPE } from "../../../src/xds/snapshot.js";
import { XdsServer } from "../../../src/xds/server/xds-server.js";
import type { DeltaTestClient as Delta } from "../../support/ads-test-client.js";
import { DeltaTestClient, SotwTestClient } from "../../support/ads-test-client.js";
import type { Entry } from "../../support/csds-test-client.js";
import { CsdsTestClient, entriesByNode } from "../../support/csds-test-client.js";
import { snapshot } from "./fixtures.js";

const silent = createLogger({ component: "xds-test", stream: new PassThrough(), level: "error" });

/** Entries as [type name, status, client status, content] for compact comparison. */
const brief = (es: readonly Entry[] | undefined): string[][] =>
  (es ?? []).map((e) => [`${e.type} ${e.name}`, e.config, e.client, e.content ?? "-"]);

/** Reads delta responses until one of each of `types` came, ACKing each. */
async function ackAll(
  c: Delta,
  types: readonly string[],
): Promise<DeltaDiscoveryResponse__Output[]> {
  const seen: DeltaDiscoveryResponse__Output[] = [];
  while (!types.every((t) => seen.some((r) => r.type_url === t))) {
    const r = await c.responses.next();
    c.ack(r);
    seen.push(r);
  }
  return seen;
}

describe("CSDS reports what each client holds", function () {
  this.timeout(20_000);
  let server: XdsServer;
  let port: number;
  let csds: CsdsTestClient;

  const statusOf = async (node: string): Promise<Entry[] | undefined> => {
    const { response } = await csds.fetch({ node_matchers: [{ node_id: { exact: node } }] });
    return entriesByNode(response).get(node);
  };

  beforeEach(async () => {
    server = new XdsServer({ log: silent, clock: systemClock });
    port = await server.listen(0);
    server.setSnapshot(snapshot(1, { clusters: ["a", "b"], weights: { a: 80, b: 20 } }));
    csds = new CsdsTestClient(port);
  });
  afterEach(async () => {
    csds.close();
    await server.close();
  });

  it("a delta client that reconnects with what it holds and is sent nothing: all of it ACKED", async () => {
    const subscribe = (c: Delta, versions: Record<string, Record<string, string>> = {}): void => {
      for (const [type_url, names] of [
        [TYPE.listener, ["*"]],
        [TYPE.route, ["r"]],
        [TYPE.cluster, ["*"]],
        [TYPE.endpoint, ["a", "b"]],
      ] as const) {
        c.send({
          type_url,
          resource_names_subscribe: [...names],
          initial_resource_versions: versions[type_url] ?? {},
        });
      }
    };
    const first = new DeltaTestClient(port, "again");
    subscribe(first);
    const got = await ackAll(first, [TYPE.listener, TYPE.route, TYPE.cluster, TYPE.endpoint]);
    await first.responses.quiet(100);
    first.close();
    const versions: Record<string, Record<string, string>> = {};
    for (const r of got) {
      for (const res of r.resources) (versions[r.type_url] ??= {})[res.name] = res.version;
    }
    const again = new DeltaTestClient(port, "again");
    subscribe(again, versions);
    assert.equal(await again.responses.quiet(300), true, "it holds the current content");
    const entries = await statusOf("again");
    assert.deepEqual(brief(entries), [
      ["Cluster a", "SYNCED", "ACKED", "a"],
      ["Cluster b", "SYNCED", "ACKED", "b"],
      ["ClusterLoadAssignment a", "SYNCED", "ACKED", "a"],
      ["ClusterLoadAssignment b", "SYNCED", "ACKED", "b"],
      ["Listener l", "SYNCED", "ACKED", "l"],
      ["RouteConfiguration r", "SYNCED", "ACKED", "r"],
    ]);
    // A delta client's version_info is the resource's own version, as it reported it.
    assert.equal(entries?.find((e) => e.type === "Cluster")?.version, versions[TYPE.cluster]?.a);
    again.close();
  });

  for (const transport of ["sotw", "delta"] as const) {
    it(`${transport}: a client whose content has not changed in 40 versions still holds it`, async () => {
      const ack = async (): Promise<() => void> => {
        if (transport === "sotw") {
          const c = new SotwTestClient(port, "steady");
          c.send({ type_url: TYPE.endpoint, resource_names: ["a"] });
          c.ack(await c.responses.next(), ["a"]);
          await c.responses.quiet(100);
          return () => {
            c.close();
          };
        }
        const c = new DeltaTestClient(port, "steady");
        c.send({ type_url: TYPE.endpoint, resource_names_subscribe: ["a"] });
        c.ack(await c.responses.next());
        await c.responses.quiet(100);
        return () => {
          c.close();
        };
      };
      const close = await ack();
      // Other clusters come and go; endpoints "a" stay as they were, so nothing is sent.
      for (let v = 2; v <= 41; v++) {
        const extra = `x${String(v)}`;
        server.setSnapshot(snapshot(v, { clusters: ["a", "b", extra], weights: { a: 100 } }));
      }
      const entries = await statusOf("steady");
      assert.deepEqual(brief(entries), [["ClusterLoadAssignment a", "SYNCED", "ACKED", "a"]]);
      if (transport === "sotw") assert.equal(entries?.[0]?.version, "1");
      const conf = server.confirmation(TYPE.endpoint, "a", 41);
      assert.deepEqual([conf.holders, conf.confirmed], [1, 1], "it holds version 41's content");
      close();
    });
  }

  it("sotw: a NACK concerns the resources the response changed, not the whole type", async () => {
    const c = new SotwTestClient(port, "picky");
    c.send({ type_url: TYPE.cluster });
    c.ack(await c.responses.next());
    server.setSnapshot(snapshot(2, { clusters: ["a", "b", "c"], weights: { a: 100 } }));
    c.nack(await c.responses.next(), "1", "cluster c: bad");
    await c.responses.quiet(100);
    const entries = await statusOf("picky");
    assert.deepEqual(brief(entries), [
      ["Cluster a", "SYNCED", "ACKED", "a"],
      ["Cluster b", "SYNCED", "ACKED", "b"],
      ["Cluster c", "ERROR", "NACKED", "-"],
    ]);
    assert.deepEqual(entries?.[2]?.error, { details: "cluster c: bad", version: "2", failed: "c" });
    assert.equal(entries[0]?.error, undefined);
    c.close();
  });

  it("sotw: a NACK of a superseded response is recorded against that response, found by nonce", async () => {
    const c = new SotwTestClient(port, "behind");
    c.send({ type_url: TYPE.cluster });
    c.ack(await c.responses.next());
    await c.responses.quiet(100);
    server.setSnapshot(snapshot(2, { clusters: ["a", "b", "c"], weights: { a: 100 } }));
    const r2 = await c.responses.next();
    server.setSnapshot(snapshot(3, { clusters: ["a", "c", "d"], weights: { a: 100 } }));
    const r3 = await c.responses.next();
    c.nack(r2, "1", "cluster c: bad");
    await c.responses.quiet(100);
    assert.deepEqual(brief(await statusOf("behind")), [
      ["Cluster a", "SYNCED", "ACKED", "a"],
      ["Cluster b", "STALE", "ACKED", "b"],
      ["Cluster c", "ERROR", "NACKED", "-"],
      ["Cluster d", "STALE", "REQUESTED", "-"],
    ]);
    c.ack(r3);
    await c.responses.quiet(100);
    assert.deepEqual(brief(await statusOf("behind")), [
      ["Cluster a", "SYNCED", "ACKED", "a"],
      ["Cluster c", "SYNCED", "ACKED", "c"],
      ["Cluster d", "SYNCED", "ACKED", "d"],
    ]);
    c.close();
  });

  it("delta: a NACK concerns the resources of the NACKed response, found by nonce", async () => {
    const c = new DeltaTestClient(port, "picky");
    c.send({ type_url: TYPE.cluster, resource_names_subscribe: ["*"] });
    c.ack(await c.responses.next());
    await c.responses.quiet(100);
    // Two responses in flight: c added and b removed, then d added.
    server.setSnapshot(snapshot(2, { clusters: ["a", "c"], weights: { a: 100 } }));
    const r2 = await c.responses.next();
    assert.deepEqual([r2.resources.map((r) => r.name), r2.removed_resources], [["c"], ["b"]]);
    server.setSnapshot(snapshot(3, { clusters: ["a", "c", "d"], weights: { a: 100 } }));
    const r3 = await c.responses.next();
    assert.deepEqual([r3.resources.map((r) => r.name), r3.removed_resources], [["d"], []]);
    c.nack(r2, "cluster c: bad");
    c.ack(r3);
    await c.responses.quiet(100);
    const entries = await statusOf("picky");
    assert.deepEqual(brief(entries), [
      ["Cluster a", "SYNCED", "ACKED", "a"],
      ["Cluster b", "ERROR", "NACKED", "b"],
      ["Cluster c", "ERROR", "NACKED", "-"],
      ["Cluster d", "SYNCED", "ACKED", "d"],
    ]);
    assert.deepEqual(entries?.[2]?.error, { details: "cluster c: bad", version: "2", failed: "c" });
    // What it refused is not sent again; what it has not seen is.
    server.setSnapshot(snapshot(4, { clusters: ["a", "c", "d", "e"], weights: { a: 100 } }));
    const r4 = await c.responses.next();
    assert.deepEqual([r4.resources.map((r) => r.name), r4.removed_resources], [["e"], []]);
    c.close();
  });
});
