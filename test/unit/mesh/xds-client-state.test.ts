import assert from "node:assert/strict";
import { FakeClock } from "../../../src/common/clock.js";
import type { Any__Output } from "../../../src/xds/generated/google/protobuf/Any.js";
import type { Resource__Output } from "../../../src/xds/generated/envoy/service/discovery/v3/Resource.js";
import type { ResourceSet } from "../../../src/xds/snapshot.js";
import { translate } from "../../../src/xds/translate/translate.js";
import { buildCluster } from "../../../src/xds/translate/clusters.js";
import type { RoutingSnapshot } from "../../../mesh/routing/model.js";
import { backoffDelay, DEFAULT_BACKOFF } from "../../../mesh/xds-client/backoff.js";
import { ConfigState } from "../../../mesh/xds-client/config-state.js";
import { TYPE_URL } from "../../../mesh/xds-client/resource-kinds.js";
import {
  CANARY,
  clusterState,
  codecs,
  PRIMARY,
  ROUTE,
  silentLog,
  weights,
} from "./xds-client-fixtures.js";

/** A resource as proto-loader decodes an Any of a loaded type: the message plus "@type". */
function packed<I>(
  codec: { serialize(m: I): Buffer; deserialize(b: Buffer): object },
  typeUrl: string,
  m: I,
): Any__Output {
  return { ...codec.deserialize(codec.serialize(m)), "@type": typeUrl };
}

const resources = (set: ResourceSet) => ({
  listener: [...set.listeners.values()].map((l) =>
    packed(codecs.Listener, TYPE_URL.listener, l.message),
  ),
  route: [...set.routes.values()].map((r) => packed(codecs.RouteConfiguration, TYPE_URL.route, r)),
  cluster: [...set.clusters.values()].map((c) =>
    packed(codecs.Cluster, TYPE_URL.cluster, c.message),
  ),
  endpoint: [...set.endpoints.values()].map((e) =>
    packed(codecs.ClusterLoadAssignment, TYPE_URL.endpoint, e),
  ),
});

const asDelta = (list: Any__Output[], version = "v"): Resource__Output[] =>
  list.map(
    (r) =>
      ({
        name:
          (r as unknown as { name?: string; cluster_name?: string }).name ??
          (r as unknown as { cluster_name: string }).cluster_name,
        version,
        resource: r,
        aliases: [],
        ttl: null,
        cache_control: null,
        metadata: null,
      }) as unknown as Resource__Output,
  );

function setup(warmTimeoutMs = 1000) {
  const clock = new FakeClock();
  const state = new ConfigState({ log: silentLog, clock, warmTimeoutMs });
  const published: RoutingSnapshot[] = [];
  state.onSnapshot((s) => published.push(s));
  /** Applies a state-of-the-world response and settles, as a stream does. */
  const sotw = (kind: keyof ReturnType<typeof resources>, list: Any__Output[], version = "1") => {
    const error = state.applySotw(kind, version, "n", list);
    state.settle();
    return error;
  };
  return { clock, state, published, sotw };
}

describe("xDS client state: publishing whole, valid, warm snapshots", () => {
  const base = resources(translate(clusterState({ canaryWeight: 10 })));

  it("publishes the first snapshot only when listeners, clusters, and what they reference arrived", async () => {
    const { state, published, sotw } = setup();
    assert.equal(sotw("cluster", base.cluster), undefined);
    assert.equal(sotw("listener", base.listener), undefined);
    assert.deepEqual(published, []);
    assert.ok(state.warmingState()?.pending.includes(`endpoints:${PRIMARY}`));
    sotw("endpoint", base.endpoint);
    assert.deepEqual(published, [], "routes are still missing");
    sotw("route", base.route);
    assert.equal(published.length, 1);
    assert.deepEqual(weights(state.current()), { [PRIMARY]: 90, [CANARY]: 10 });
    assert.equal(await state.synced, published[0]);
    assert.deepEqual(state.warnings(), []);
    assert.equal(state.warmingState(), undefined);
  });

  it("holds a snapshot that adds a cluster until its endpoints arrive, at most the warming timeout", async () => {
    const { state, published, sotw, clock } = setup();
    for (const kind of ["cluster", "endpoint", "listener", "route"] as const)
      sotw(kind, base[kind]);
    assert.equal(published.length, 1);
    const extra = packed(codecs.Cluster, TYPE_URL.cluster, buildCluster("new", undefined));
    sotw("cluster", [...base.cluster, extra], "2");
    assert.equal(published.length, 1, "held while new's endpoints are missing");
    assert.deepEqual(state.warmingState()?.pending, ["endpoints:new"]);
    await clock.advance(999);
    assert.equal(published.length, 1);
    await clock.advance(1);
    assert.equal(published.length, 2, "published when warming timed out");
    assert.ok(published[1]?.clusters.has("new"));
    assert.deepEqual(state.warnings(), ["Cluster new: endpoints new not received (503 UH)"]);
    // Given up on: later updates are not held for it again.
    sotw("route", base.route, "3");
    assert.equal(published.length, 3);
    sotw(
      "endpoint",
      [packed(codecs.ClusterLoadAssignment, TYPE_URL.endpoint, { cluster_name: "new" })],
      "4",
    );
    assert.equal(published.length, 4);
    assert.deepEqual(state.warnings(), []);
  });

  it("publishes a warmed cluster once, together with its endpoints", () => {
    const { published, sotw, clock } = setup();
    for (const kind of ["cluster", "endpoint", "listener", "route"] as const)
      sotw(kind, base[kind]);
    sotw(
      "cluster",
      [...base.cluster, packed(codecs.Cluster, TYPE_URL.cluster, buildCluster("new", undefined))],
      "2",
    );
    sotw(
      "endpoint",
      [packed(codecs.ClusterLoadAssignment, TYPE_URL.endpoint, { cluster_name: "new" })],
      "2",
    );
    assert.equal(published.length, 2);
    assert.ok(published[1]?.endpoints.has("new"));
    assert.equal(clock.pending, 0, "the warming timer is cancelled");
  });

  it("rejects a response with one invalid resource whole, naming every problem", () => {
    const { state, published, sotw } = setup();
    for (const kind of ["cluster", "endpoint", "listener", "route"] as const)
      sotw(kind, base[kind]);
    const bad = packed(codecs.Cluster, TYPE_URL.cluster, { name: "bad", type: "STATIC" });
    const [dup] = base.cluster;
    if (dup === undefined) assert.fail("no clusters");
    const error = sotw("cluster", [bad, ...base.cluster, dup], "2");
    assert.equal(
      error,
      `Cluster bad: discovery type STATIC is not supported (only EDS); Cluster ${(dup as unknown as { name: string }).name}: appears twice in one response`,
    );
    assert.equal(published.length, 1);
    assert.equal(state.acceptedVersion("cluster"), "1");
    assert.equal(
      state.typeStatuses().find((t) => t.typeUrl === TYPE_URL.cluster)?.lastNack?.version,
      "2",
    );
    assert.equal(state.lastNack()?.message, error);
  });

  it("state of the world: cluster responses replace the set, endpoint responses only add, unused ones go", () => {
    const { state, sotw } = setup();
    for (const kind of ["cluster", "endpoint", "listener", "route"] as const)
      sotw(kind, base[kind]);
    const withoutCanary = base.cluster.filter(
      (c) => (c as unknown as { name: string }).name !== CANARY,
    );
    sotw("cluster", withoutCanary, "2");
    assert.equal(state.current().clusters.has(CANARY), false);
    assert.equal(state.current().endpoints.has(CANARY), false, "endpoints of a removed cluster go");
    assert.equal(state.wanted("endpoint").has(CANARY), false);
    sotw("endpoint", base.endpoint.slice(0, 1), "3");
    assert.equal(state.current().endpoints.size, 2, "a partial endpoint response deletes nothing");
  });

  it("ignores resources it did not ask for, even invalid ones", () => {
    const { sotw } = setup();
    sotw("listener", base.listener);
    const stray = packed(codecs.RouteConfiguration, TYPE_URL.route, {
      name: "stray",
      virtual_hosts: [{ name: "x", domains: [] }],
    });
    assert.equal(sotw("route", [...base.route, stray]), undefined);
  });

  it("delta: changes merge, removals delete, and a removed subscribed name is absent, not awaited", () => {
    const { state, published } = setup();
    const delta = (kind: keyof typeof base, list: Resource__Output[], removed: string[] = []) => {
      const e = state.applyDelta(kind, "1", "n", list, removed);
      state.settle();
      return e;
    };
    delta("cluster", asDelta(base.cluster));
    delta("listener", asDelta(base.listener));
    delta("route", asDelta(base.route));
    delta(
      "endpoint",
      asDelta(base.endpoint).filter((r) => r.name !== PRIMARY),
      [PRIMARY],
    );
    assert.equal(published.length, 1, "nothing left to wait for");
    assert.deepEqual(state.warnings(), [
      `Cluster ${PRIMARY}: endpoints ${PRIMARY} not received (503 UH)`,
    ]);
    assert.deepEqual(state.resourceVersions("route")[ROUTE], "v");
    delta("cluster", [], [CANARY]);
    assert.equal(state.current().clusters.has(CANARY), false);
    const renamed = asDelta(base.route.slice(0, 1)).map((r) => ({ ...r, name: "other" }));
    assert.equal(delta("route", renamed), undefined, "an unrequested name is ignored");
    const mismatch = asDelta(base.cluster.slice(0, 1)).map((r) => ({ ...r, name: "other" }));
    assert.match(delta("cluster", mismatch) ?? "", /sent under the name other/);
  });
});

describe("xDS client back-off", () => {
  it("doubles from 100 ms to a 10 s cap", () => {
    const delays = Array.from({ length: 9 }, (_, i) => backoffDelay(i, DEFAULT_BACKOFF, () => 0.5));
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
  });

  it("spreads each delay by ±20 % and never exceeds the cap", () => {
    assert.equal(
      backoffDelay(0, DEFAULT_BACKOFF, () => 0),
      80,
    );
    assert.equal(
      backoffDelay(0, DEFAULT_BACKOFF, () => 1),
      120,
    );
    assert.equal(
      backoffDelay(20, DEFAULT_BACKOFF, () => 1),
      10_000,
    );
    assert.equal(
      backoffDelay(20, DEFAULT_BACKOFF, () => 0),
      8000,
    );
  });
});
