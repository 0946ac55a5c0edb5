import assert from "node:assert/strict";
import { systemClock } from "../../../src/common/clock.js";
import type { DiscoveryRequest__Output } from "../../../src/xds/generated/envoy/service/discovery/v3/DiscoveryRequest.js";
import { TYPE } from "../../../src/xds/snapshot.js";
import { translate } from "../../../src/xds/translate/translate.js";
import { XdsClient } from "../../../mesh/xds-client/client.js";
import {
  broken,
  CANARY,
  clusterState,
  ControlPlane,
  eventually,
  PRIMARY,
  ROUTE,
  silentLog,
  weights,
} from "./xds-client-fixtures.js";
import { AdsRecorder } from "./xds-client-recorder.js";

describe("xDS client (state of the world) against the vireo server", function () {
  this.timeout(20_000);
  const cp = new ControlPlane();
  const recorder = new AdsRecorder(() => `127.0.0.1:${cp.port}`);
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
      clock: systemClock,
      server: `127.0.0.1:${recorder.port}`,
      node: { id: "sotw-1", cluster: "podinfo.demo" },
      transport: "sotw",
      backoff: { baseMs: 20, maxMs: 200 },
    });
  });
  afterEach(async () => {
    client.close();
    await cp.stop();
  });

  const sotwRequests = (): DiscoveryRequest__Output[] =>
    recorder.requests
      .filter((r) => r.method === "StreamAggregatedResources")
      .map((r) => r.request as DiscoveryRequest__Output);

  it("syncs, follows a weight change, and is confirmed by the server", async () => {
    client.start();
    const first = await client.synced();
    assert.deepEqual(weights(first), { [PRIMARY]: 90, [CANARY]: 10 });
    assert.equal(first.endpoints.get(CANARY)?.endpoints[0]?.address, "10.0.1.1");
    assert.equal(cp.server?.clients()[0]?.transport, "sotw");
    const v2 = cp.publish(translate(clusterState({ canaryWeight: 60 })));
    await eventually("the new weights", () =>
      weights(client.current())[CANARY] === 60 ? true : undefined,
    );
    await eventually("confirmation", () =>
      cp.server?.confirmation(TYPE.route, ROUTE, v2.version).confirmed === 1 ? true : undefined,
    );
    const wildcard = sotwRequests().find((r) => r.type_url === TYPE.listener);
    assert.deepEqual(wildcard?.resource_names, [], "listeners by (legacy) wildcard");
    const routes = sotwRequests().find((r) => r.type_url === TYPE.route);
    assert.ok(routes?.resource_names.includes(ROUTE));
  });

  it("NACKs with the version in use and INVALID_ARGUMENT, keeps the snapshot, then ACKs a fix", async () => {
    client.start();
    const good = await client.synced();
    const goodVersion = good.versions.get(TYPE.route);
    const bad = cp.publish(broken(translate(clusterState({ canaryWeight: 20 }))));
    const nack = await eventually("a NACK request", () =>
      sotwRequests().find((r) => r.error_detail !== null),
    );
    assert.equal(nack.type_url, TYPE.route);
    assert.equal(nack.version_info, goodVersion);
    assert.equal(nack.error_detail?.code, 3);
    assert.match(nack.error_detail?.message ?? "", /weighted_clusters weights sum to 0/);
    assert.ok(nack.resource_names.includes(ROUTE));
    await eventually("the server's record of the NACK", () =>
      cp.server?.clients()[0]?.types.find((t) => t.typeUrl === TYPE.route)?.lastNack?.version ===
      bad.version
        ? true
        : undefined,
    );
    assert.equal(client.current(), good);
    const fixed = cp.publish(translate(clusterState({ canaryWeight: 30 })));
    await eventually("the fix to be ACKed", () =>
      cp.server?.clients()[0]?.types.find((t) => t.typeUrl === TYPE.route)?.ackedVersion ===
      fixed.version
        ? true
        : undefined,
    );
    assert.deepEqual(weights(client.current()), { [PRIMARY]: 70, [CANARY]: 30 });
  });

  it("reconnects after a server restart and resyncs, sending the versions it holds", async () => {
    client.start();
    const before = await client.synced();
    const port = cp.port;
    const heldVersion = before.versions.get(TYPE.cluster);
    await cp.stop();
    await eventually("a failed retry", () => {
      const c = client.status().connection;
      return c.state === "backoff" && c.failures >= 2 ? true : undefined;
    });
    assert.equal(client.current(), before);
    const streams = recorder.streamCount;
    await cp.start(port);
    cp.publish(translate(clusterState({ canaryWeight: 25 })));
    await eventually("the new weights", () =>
      weights(client.current())[CANARY] === 25 ? true : undefined,
    );
    const resumed = recorder.requests
      .filter((r) => r.stream > streams)
      .map((r) => r.request as DiscoveryRequest__Output);
    const cds = resumed.find((r) => r.type_url === TYPE.cluster);
    assert.equal(cds?.version_info, heldVersion, "the last accepted version is resent");
    assert.equal(cds?.node?.id, "sotw-1");
    assert.equal(client.status().connection.state, "connected");
  });
});
