import assert from "node:assert/strict";
import type { ClusterState } from "../../../src/xds/model.js";
import { OUTBOUND_HTTP_LISTENER, OUTBOUND_HTTP_ROUTE } from "../../../src/xds/names.js";
import { loadXdsProtos } from "../../../src/xds/protos.js";
import type { Snapshot, TypeUrl } from "../../../src/xds/snapshot.js";
import { buildSnapshot, consistencyErrors, TYPE } from "../../../src/xds/snapshot.js";
import { translate } from "../../../src/xds/translate/translate.js";
import {
  cluster,
  endpoint,
  endpoints,
  rc,
  rolloutServices,
  routing,
  SAMPLES,
  state,
} from "./translate-fixtures.js";

const codecs = loadXdsProtos().codecs;

/** name -> version for every resource of every type. */
function versions(s: Snapshot): Map<string, string> {
  const out = new Map<string, string>();
  for (const [type, resources] of s.resources) {
    for (const [name, r] of resources) out.set(`${type.split(".").pop() ?? ""}/${name}`, r.version);
  }
  return out;
}

function changed(a: Snapshot, b: Snapshot): string[] {
  const va = versions(a);
  const vb = versions(b);
  const names = new Set([...va.keys(), ...vb.keys()]);
  return [...names].filter((n) => va.get(n) !== vb.get(n)).sort();
}

const snap = (s: ClusterState): Snapshot => buildSnapshot(1, translate(s), codecs);

function reversed(s: ClusterState): ClusterState {
  return {
    ...s,
    services: [...s.services].reverse().map((svc) => ({ ...svc, ports: [...svc.ports].reverse() })),
    endpoints: [...s.endpoints]
      .reverse()
      .map((e) => ({ ...e, endpoints: [...e.endpoints].reverse() })),
    routing: [...s.routing].reverse(),
    ...(s.routes !== undefined && { routes: [...s.routes].reverse() }),
  };
}

const canary = (weight: number, extra: Partial<ClusterState> = {}): ClusterState =>
  state({
    services: rolloutServices(),
    endpoints: [endpoints("podinfo-primary", [endpoint("10.0.0.1")])],
    routing: [routing({ canaryWeight: weight })],
    ...extra,
  });

describe("xDS translation: invariants", () => {
  for (const s of SAMPLES) {
    describe(s.name, () => {
      const set = translate(s.state);

      it("references only resources it contains", () => {
        assert.deepEqual(consistencyErrors(set), []);
      });

      it("encodes into a snapshot", () => {
        const snapshot = buildSnapshot(1, set, codecs);
        assert.equal(snapshot.resources.get(TYPE.listener)?.size, set.listeners.size);
        assert.equal(snapshot.resources.get(TYPE.route)?.size, set.routes.size);
      });

      it("keys every resource by its own name", () => {
        for (const [k, l] of set.listeners) assert.equal(l.message.name, k);
        for (const [k, r] of set.routes) assert.equal(r.name, k);
        for (const [k, c] of set.clusters) assert.equal(c.message.name, k);
        for (const [k, e] of set.endpoints) assert.equal(e.cluster_name, k);
        assert.equal(set.secrets.size, 0);
        assert.ok(set.listeners.has(OUTBOUND_HTTP_LISTENER));
        assert.ok(set.routes.has(OUTBOUND_HTTP_ROUTE));
      });

      it("is deterministic, whatever the input order", () => {
        const a = buildSnapshot(1, set, codecs);
        assert.deepEqual(changed(a, snap(s.state)), []);
        assert.deepEqual(changed(a, snap(reversed(s.state))), []);
      });
    });
  }
});

describe("xDS translation: encoded resources", () => {
  it("names the canary Rollout's resources", () => {
    const set = translate(canary(20));
    const clusters = ["podinfo", "podinfo-canary", "podinfo-primary"].map((n) => cluster(n));
    assert.deepEqual([...set.clusters.keys()], clusters);
    assert.deepEqual([...set.endpoints.keys()], clusters);
    assert.deepEqual(
      [...set.routes.keys()],
      [...["podinfo", "podinfo-canary", "podinfo-primary"].map((n) => rc(n)), OUTBOUND_HTTP_ROUTE],
    );
  });

  it("decodes the weights clients will see", () => {
    const route = snap(canary(20)).resources.get(TYPE.route)?.get(rc("podinfo"));
    assert.ok(route !== undefined);
    const decoded = codecs.RouteConfiguration.deserialize(route.value);
    const action = decoded.virtual_hosts[0]?.routes[0]?.route;
    assert.equal(action?.cluster_specifier, "weighted_clusters");
    assert.deepEqual(
      action.weighted_clusters?.clusters.map((c) => [c.name, c.weight?.value]),
      [
        [cluster("podinfo-primary"), 80],
        [cluster("podinfo-canary"), 20],
      ],
    );
    assert.equal(action.weighted_clusters.total_weight?.value, 100);
  });

  it("changes only the route configurations when the weight changes", () => {
    const route = (name: string): string => `${TYPE.route.split(".").pop() ?? ""}/${name}`;
    assert.deepEqual(changed(snap(canary(20)), snap(canary(40))), [
      route(rc("podinfo")),
      route(OUTBOUND_HTTP_ROUTE),
    ]);
    assert.deepEqual(changed(snap(canary(0)), snap(canary(100))), [
      route(rc("podinfo")),
      route(OUTBOUND_HTTP_ROUTE),
    ]);
  });

  it("changes only the endpoints when a pod becomes ready", () => {
    const more = canary(20, {
      endpoints: [endpoints("podinfo-primary", [endpoint("10.0.0.1"), endpoint("10.0.0.2")])],
    });
    const type: TypeUrl = TYPE.endpoint;
    assert.deepEqual(changed(snap(canary(20)), snap(more)), [
      `${type.split(".").pop() ?? ""}/${cluster("podinfo-primary")}`,
    ]);
  });
});
