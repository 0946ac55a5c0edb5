import assert from "node:assert/strict";
import type { Cluster } from "../../../src/xds/generated/envoy/config/cluster/v3/Cluster.js";
import type { TrafficPolicy } from "../../../src/xds/model.js";
import { loadXdsProtos } from "../../../src/xds/protos.js";
import { buildCluster } from "../../../src/xds/translate/clusters.js";
import { translate } from "../../../src/xds/translate/translate.js";
import {
  anyType,
  cluster,
  routing,
  rolloutServices,
  service,
  state,
} from "./translate-fixtures.js";

const NAME = "outbound|9898||podinfo.demo.svc.cluster.local";
const LB = "type.googleapis.com/envoy.extensions.load_balancing_policies";

const base: Cluster = {
  name: NAME,
  type: "EDS",
  eds_cluster_config: {
    eds_config: { ads: {}, resource_api_version: "V3" },
    service_name: NAME,
  },
  connect_timeout: { seconds: 1, nanos: 0 },
  lb_policy: "ROUND_ROBIN",
};

const extension = (name: string, message: string) => ({
  typed_extension_config: {
    name: `envoy.load_balancing_policies.${name}`,
    typed_config: { type_url: `${LB}.${name}.v3.${message}`, value: Buffer.alloc(0) },
  },
});

const cases: { name: string; policy: TrafficPolicy | undefined; want: Cluster }[] = [
  { name: "no policy: round robin, 1 s connect timeout", policy: undefined, want: base },
  { name: "empty policy", policy: {}, want: base },
  {
    name: "ring hash",
    policy: { loadBalancer: "RING_HASH" },
    want: { ...base, lb_policy: "RING_HASH" },
  },
  {
    name: "least request via load_balancing_policy, round robin for gRPC",
    policy: { loadBalancer: "LEAST_REQUEST" },
    want: {
      ...base,
      load_balancing_policy: {
        policies: [
          extension("least_request", "LeastRequest"),
          extension("round_robin", "RoundRobin"),
        ],
      },
    },
  },
  {
    name: "random via load_balancing_policy",
    policy: { loadBalancer: "RANDOM" },
    want: {
      ...base,
      load_balancing_policy: {
        policies: [extension("random", "Random"), extension("round_robin", "RoundRobin")],
      },
    },
  },
  {
    name: "connect timeout 2.5 s",
    policy: { connectTimeoutMs: 2500 },
    want: { ...base, connect_timeout: { seconds: 2, nanos: 500_000_000 } },
  },
  { name: "zero connect timeout falls back to 1 s", policy: { connectTimeoutMs: 0 }, want: base },
  {
    name: "circuit breaker: only the limits set",
    policy: { circuitBreaker: { maxRequests: 100, maxRetries: 0 } },
    want: {
      ...base,
      circuit_breakers: {
        thresholds: [
          { priority: "DEFAULT", max_requests: { value: 100 }, max_retries: { value: 0 } },
        ],
      },
    },
  },
  {
    name: "circuit breaker: all four",
    policy: {
      circuitBreaker: { maxConnections: 1, maxPendingRequests: 2, maxRequests: 3, maxRetries: 4 },
    },
    want: {
      ...base,
      circuit_breakers: {
        thresholds: [
          {
            priority: "DEFAULT",
            max_connections: { value: 1 },
            max_pending_requests: { value: 2 },
            max_requests: { value: 3 },
            max_retries: { value: 4 },
          },
        ],
      },
    },
  },
  { name: "empty circuit breaker adds nothing", policy: { circuitBreaker: {} }, want: base },
  {
    name: "outlier detection as Istio sets it",
    policy: {
      outlierDetection: {
        consecutive5xx: 5,
        intervalMs: 10_000,
        baseEjectionTimeMs: 30_000,
        maxEjectionPercent: 150,
      },
    },
    want: {
      ...base,
      outlier_detection: {
        consecutive_5xx: { value: 5 },
        enforcing_consecutive_5xx: { value: 100 },
        enforcing_success_rate: { value: 0 },
        interval: { seconds: 10, nanos: 0 },
        base_ejection_time: { seconds: 30, nanos: 0 },
        max_ejection_percent: { value: 100 },
      },
      common_lb_config: { healthy_panic_threshold: { value: 0 } },
    },
  },
];

describe("xDS translation: clusters", () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(buildCluster(NAME, c.policy), c.want);
    });
  }

  it("encodes a least-request cluster that decodes with round robin as lb_policy", () => {
    const codecs = loadXdsProtos().codecs;
    const decoded = codecs.Cluster.deserialize(
      codecs.Cluster.serialize(buildCluster(NAME, { loadBalancer: "LEAST_REQUEST" })),
    );
    assert.equal(decoded.lb_policy, "ROUND_ROBIN");
    assert.deepEqual(
      decoded.load_balancing_policy?.policies.map((p) =>
        anyType(p.typed_extension_config?.typed_config),
      ),
      [`${LB}.least_request.v3.LeastRequest`, `${LB}.round_robin.v3.RoundRobin`],
    );
  });

  it("gives the Rollout's policy to the apex, primary and canary clusters only", () => {
    const set = translate(
      state({
        services: [...rolloutServices(), service("other")],
        routing: [routing({ trafficPolicy: { loadBalancer: "RING_HASH" } })],
      }),
    );
    const policies = [...set.clusters].map(([name, c]) => [name, c.message.lb_policy]);
    assert.deepEqual(policies, [
      [cluster("other"), "ROUND_ROBIN"],
      [cluster("podinfo"), "RING_HASH"],
      [cluster("podinfo-canary"), "RING_HASH"],
      [cluster("podinfo-primary"), "RING_HASH"],
    ]);
    for (const [name, c] of set.clusters) assert.equal(c.edsName, name);
  });

  it("makes one cluster per port, TCP ports included", () => {
    const set = translate(
      state({
        services: [
          service("db", [
            { name: "sql", port: 5432, protocol: "tcp" },
            { name: "http", port: 8080, protocol: "http" },
          ]),
        ],
      }),
    );
    assert.deepEqual([...set.clusters.keys()], [cluster("db", 5432), cluster("db", 8080)]);
  });
});
