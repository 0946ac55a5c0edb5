import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { systemClock } from "../../../src/common/clock.js";
import { createLogger } from "../../../src/common/logger.js";
import type { Snapshot } from "../../../src/xds/snapshot.js";
import { buildSnapshot, TYPE } from "../../../src/xds/snapshot.js";
import { loadXdsProtos } from "../../../src/xds/protos.js";
import { translate } from "../../../src/xds/translate/translate.js";
import { ClientConnection } from "../../../src/xds/server/connection.js";
import { answer } from "../../../src/xds/server/csds-report.js";
import {
  OMITTED_CLIENTS,
  OMITTED_CONTENTS,
  SUMMARISED_CLIENTS,
} from "../../../src/xds/server/csds.js";
import { Selection } from "../../../src/xds/server/selection.js";
import { SotwHoldings } from "../../../src/xds/server/sotw-holdings.js";
import { XdsServer } from "../../../src/xds/server/xds-server.js";
import { SotwTestClient } from "../../support/ads-test-client.js";
import type { Entry } from "../../support/csds-test-client.js";
import { CsdsTestClient, entriesByNode } from "../../support/csds-test-client.js";
import { benchApps, benchState } from "../../bench/xds/bench-state.js";
import { snapshot } from "./fixtures.js";

const silent = createLogger({ component: "xds-test", stream: new PassThrough(), level: "error" });

/** Subscribes the way a vireo proxy does and ACKs until it holds all four types. */
async function subscribeLikeProxy(c: SotwTestClient, s: Snapshot): Promise<void> {
  const outbound = ["vireo-outbound-http"];
  const endpoints = [...(s.resources.get(TYPE.endpoint)?.keys() ?? [])];
  c.send({ type_url: TYPE.listener, resource_names: outbound });
  c.send({ type_url: TYPE.route, resource_names: outbound });
  c.send({ type_url: TYPE.cluster });
  c.send({ type_url: TYPE.endpoint, resource_names: endpoints });
  const names = new Map([
    [TYPE.listener, outbound],
    [TYPE.route, outbound],
    [TYPE.endpoint, endpoints],
  ]);
  const seen = new Set<string>();
  while (seen.size < 4) {
    const r = await c.responses.next(10_000);
    c.ack(r, names.get(r.type_url) ?? []);
    seen.add(r.type_url);
  }
}

/** Per resource ("detailed") or per type (every entry's name empty). */
function shape(entries: readonly Entry[]): "detailed" | "per type" {
  if (entries.every((e) => e.name === "")) return "per type";
  assert.ok(
    entries.every((e) => e.name !== ""),
    "a client is listed one way, not both",
  );
  return "detailed";
}

describe("CSDS at any size", function () {
  this.timeout(60_000);

  describe("600 Services, proxies subscribed like vireo's, gRPC's 4 MiB limit", () => {
    let server: XdsServer;
    let port: number;
    let csds: CsdsTestClient;
    const proxies: SotwTestClient[] = [];
    const nodes = ["proxy-1", "proxy-2", "proxy-3", "proxy-4"];

    before(async () => {
      const codecs = loadXdsProtos().codecs;
      const s = buildSnapshot(1, translate(benchState(benchApps(600), 0, 1), codecs), codecs);
      server = new XdsServer({ log: silent, clock: systemClock });
      port = await server.listen(0);
      server.setSnapshot(s);
      for (const id of nodes) {
        const c = new SotwTestClient(port, id);
        proxies.push(c);
        await subscribeLikeProxy(c, s);
      }
      csds = new CsdsTestClient(port);
    });
    after(async () => {
      for (const c of proxies.splice(0)) c.close();
      csds.close();
      await server.close();
    });

    it("answers an unfiltered FetchClientStatus: every proxy, contents while they fit, and says what it left out", async () => {
      const { response, trailers } = await csds.fetch();
      const byNode = entriesByNode(response);
      assert.deepEqual([...byNode.keys()], nodes);
      const all = [...byNode.values()];
      assert.ok(all.every((es) => shape(es) === "detailed"));
      assert.ok(all.flat().every((e) => e.config === "SYNCED" && e.client === "ACKED"));
      // 1 listener, 1 route configuration, 1,260 clusters and their endpoints each.
      assert.deepEqual(
        all.map((es) => es.length),
        [2522, 2522, 2522, 2522],
      );
      const without = all.flat().filter((e) => e.content === undefined).length;
      assert.ok(without > 0, "4 proxies' contents do not fit in 4 MiB");
      assert.equal(trailers[OMITTED_CONTENTS], String(without));
      // Contents come in order: the first proxy has all of its own.
      assert.ok(all[0]?.every((e) => e.content === e.name));
    });

    it("gives one proxy's full contents when asked for it, unary or on a stream", async () => {
      const one = (id: string) => ({ node_matchers: [{ node_id: { exact: id } }] });
      const { response, trailers } = await csds.fetch(one("proxy-4"));
      const mine = entriesByNode(response).get("proxy-4") ?? [];
      assert.equal(mine.length, 2522);
      assert.ok(mine.every((e) => e.content === e.name));
      assert.deepEqual(trailers[OMITTED_CONTENTS], undefined);
      // On a stream: one answer per request, in order, each within the limit.
      const answers = await csds.stream([{}, ...nodes.map(one)]);
      assert.deepEqual(
        answers.map((a) => [...entriesByNode(a).keys()]),
        [nodes, ...nodes.map((n) => [n])],
      );
      for (const a of answers.slice(1)) {
        assert.ok([...entriesByNode(a).values()][0]?.every((e) => e.content === e.name));
      }
    });
  });

  describe("a 32 KiB message limit and six clients", () => {
    let server: XdsServer;
    let csds: CsdsTestClient;
    const proxies: SotwTestClient[] = [];
    const nodes = ["n1", "n2", "n3", "n4", "n5", "n6"];
    const clusters = Array.from({ length: 60 }, (_, i) => `cluster-${String(i).padStart(2, "0")}`);

    before(async () => {
      server = new XdsServer({ log: silent, clock: systemClock, maxMessageBytes: 32 * 1024 });
      const port = await server.listen(0);
      server.setSnapshot(snapshot(1, { clusters, weights: { "cluster-00": 100 } }));
      for (const id of nodes) {
        const c = new SotwTestClient(port, id);
        proxies.push(c);
        c.send({ type_url: TYPE.cluster });
        c.ack(await c.responses.next());
      }
      await proxies[0]?.responses.quiet(100);
      csds = new CsdsTestClient(port);
    });
    after(async () => {
      for (const c of proxies.splice(0)) c.close();
      csds.close();
      await server.close();
    });

    it("lists every client: by resource while they fit, then by type, and counts both", async () => {
      const { response, trailers } = await csds.fetch();
      const byNode = entriesByNode(response);
      assert.deepEqual([...byNode.keys()], nodes);
      const shapes = [...byNode.values()].map(shape);
      const detailed = shapes.filter((s) => s === "detailed").length;
      assert.ok(detailed >= 1 && detailed < nodes.length, shapes.join());
      assert.deepEqual(shapes, [
        ...nodes.slice(0, detailed).map(() => "detailed"),
        ...nodes.slice(detailed).map(() => "per type"),
      ]);
      assert.equal(trailers[SUMMARISED_CLIENTS], String(nodes.length - detailed));
      const perType = byNode.get("n6");
      assert.deepEqual(
        perType?.map((e) => [e.type, e.name, e.version, e.config]),
        [["Cluster", "", "1", "SYNCED"]],
      );
      const without = [...byNode.values()]
        .slice(0, detailed)
        .flat()
        .filter((e) => e.content === undefined).length;
      assert.equal(trailers[OMITTED_CONTENTS], without === 0 ? undefined : String(without));
      assert.equal(trailers[OMITTED_CLIENTS], undefined);
    });

    it("asked without contents, lists more clients by resource and omits no contents", async () => {
      const full = await csds.fetch();
      const bare = await csds.fetch({ exclude_resource_contents: true });
      const count = (f: typeof full): number =>
        [...entriesByNode(f.response).values()].filter((es) => shape(es) === "detailed").length;
      assert.ok(count(bare) >= count(full));
      assert.equal(bare.trailers[OMITTED_CONTENTS], undefined);
    });
  });

  describe("the answer's budget (csds-report.ts)", () => {
    const serialize =
      loadXdsProtos().grpc.envoy.service.status.v3.ClientStatusDiscoveryService.service
        .FetchClientStatus.responseSerialize;
    const s = snapshot(1, {
      clusters: Array.from({ length: 40 }, (_, i) => `c${String(i)}`),
      weights: { c0: 100 },
    });
    const clients = Array.from({ length: 30 }, (_, i) => {
      const c = new ClientConnection(i, "sotw", 0, undefined, () => new SotwHoldings());
      c.node = { id: `node-${String(i).padStart(2, "0")}` } as ClientConnection["node"];
      const state = c.type(TYPE.cluster);
      state.subscription = { kind: "wildcard" };
      state.holdings.sent(
        "1",
        1,
        new Selection([...(s.resources.get(TYPE.cluster)?.values() ?? [])]),
      );
      state.holdings.ack("1", 1_000);
      state.sentVersion = 1;
      state.ackedVersion = 1;
      return c;
    });
    const nodeBytes = (c: ClientConnection): number =>
      serialize({ config: [{ node: c.node ?? null }] }).length;

    for (const budget of [500, 2_000, 8_000, 30_000, 100_000, 1_000_000]) {
      it(`stays within ${String(budget)} bytes and counts what it left out`, () => {
        const a = answer(clients, true, budget, nodeBytes);
        const bytes = serialize(a.response).length;
        assert.ok(bytes <= budget, `${String(bytes)} bytes`);
        const listed = a.response.config?.length ?? 0;
        assert.equal(listed + a.omitted.clients, clients.length);
        const perType = (a.response.config ?? []).filter((c) =>
          (c.generic_xds_configs ?? []).every((g) => g.name === ""),
        ).length;
        assert.equal(perType, a.omitted.summarisedClients);
        const withoutContents = (a.response.config ?? [])
          .flatMap((c) => c.generic_xds_configs ?? [])
          .filter((g) => g.name !== "" && g.xds_config === undefined).length;
        assert.equal(withoutContents, a.omitted.contents);
      });
    }

    it("fits everything when the budget allows", () => {
      const a = answer(clients, true, 10_000_000, nodeBytes);
      assert.deepEqual(a.omitted, { contents: 0, summarisedClients: 0, clients: 0 });
    });
  });
});
