import assert from "node:assert/strict";
import type { Cluster } from "../../../src/xds/generated/envoy/config/cluster/v3/Cluster.js";
import type { ClusterLoadAssignment } from "../../../src/xds/generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js";
import type { LoadBalancer, TrafficPolicy } from "../../../src/xds/model.js";
import { buildCluster } from "../../../src/xds/translate/clusters.js";
import { buildLoadAssignment } from "../../../src/xds/translate/endpoints.js";
import { DEFAULT_CIRCUIT_BREAKER } from "../../../mesh/routing/model.js";
import type { ConvertResult } from "../../../mesh/xds-client/convert.js";
import {
  convertCluster,
  convertLoadAssignment,
  DEFAULT_CONNECT_TIMEOUT_MS,
} from "../../../mesh/xds-client/convert.js";
import { codecs, decoded } from "./xds-client-fixtures.js";

const ok = <T>(r: ConvertResult<T>): T => {
  if (!r.ok) assert.fail(r.message);
  return r.value;
};
const rejected = <T>(r: ConvertResult<T>): string => {
  if (r.ok) assert.fail("accepted");
  return r.message;
};
const cluster = (c: Cluster) => convertCluster(decoded(codecs.Cluster, c));
const eds: Cluster = { name: "c", type: "EDS", eds_cluster_config: { eds_config: { ads: {} } } };
const cla = (c: ClusterLoadAssignment) =>
  convertLoadAssignment(decoded(codecs.ClusterLoadAssignment, c));

describe("xDS client conversion: clusters", () => {
  const lbCases: [LoadBalancer, string][] = [
    ["ROUND_ROBIN", "ROUND_ROBIN"],
    ["LEAST_REQUEST", "LEAST_REQUEST"],
    ["RANDOM", "RANDOM"],
    ["RING_HASH", "RING_HASH"],
  ];
  for (const [lb, expected] of lbCases) {
    it(`reads the translator's ${lb} (load_balancing_policy before lb_policy)`, () => {
      assert.equal(ok(cluster(buildCluster("c", { loadBalancer: lb }))).lb, expected);
    });
  }

  it("converts the translator's traffic policy whole", () => {
    const policy: TrafficPolicy = {
      connectTimeoutMs: 250,
      circuitBreaker: { maxConnections: 10, maxRequests: 20 },
      outlierDetection: {
        consecutive5xx: 3,
        intervalMs: 2000,
        baseEjectionTimeMs: 15_000,
        maxEjectionPercent: 50,
      },
    };
    assert.deepEqual(ok(cluster(buildCluster("outbound|80||a", policy))), {
      name: "outbound|80||a",
      edsName: "outbound|80||a",
      lb: "ROUND_ROBIN",
      connectTimeoutMs: 250,
      circuitBreaker: { ...DEFAULT_CIRCUIT_BREAKER, maxConnections: 10, maxRequests: 20 },
      outlier: {
        consecutive5xx: 3,
        intervalMs: 2000,
        baseEjectionTimeMs: 15_000,
        maxEjectionPercent: 50,
      },
      http2: false,
    });
  });

  it("applies Envoy's defaults: 5 s connect timeout, default breakers, eds name = cluster name", () => {
    const c = ok(
      cluster({
        ...eds,
        circuit_breakers: { thresholds: [{ priority: "HIGH", max_connections: { value: 1 } }] },
        outlier_detection: {},
      }),
    );
    assert.equal(c.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
    assert.equal(c.edsName, "c");
    assert.equal(c.circuitBreaker, DEFAULT_CIRCUIT_BREAKER);
    assert.deepEqual(c.outlier, {
      consecutive5xx: 5,
      intervalMs: 10_000,
      baseEjectionTimeMs: 30_000,
      maxEjectionPercent: 10,
    });
    assert.equal(
      ok(cluster({ ...eds, outlier_detection: { enforcing_consecutive_5xx: { value: 0 } } }))
        .outlier,
      undefined,
    );
  });

  it("speaks HTTP/2 when http2_protocol_options or HttpProtocolOptions say so", () => {
    assert.equal(ok(cluster({ ...eds, http2_protocol_options: {} })).http2, true);
    const options = (bytes: number[]) => ({
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        type_url: "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        value: Buffer.from(bytes),
      },
    });
    // explicit_http_config (3) { http2_protocol_options (2) {} }, then { http_protocol_options (1) {} }
    assert.equal(
      ok(cluster({ ...eds, typed_extension_protocol_options: options([0x1a, 0x02, 0x12, 0x00]) }))
        .http2,
      true,
    );
    assert.equal(
      ok(cluster({ ...eds, typed_extension_protocol_options: options([0x1a, 0x02, 0x0a, 0x00]) }))
        .http2,
      false,
    );
    assert.equal(ok(cluster(eds)).http2, false);
  });

  const rejections: [string, Cluster, string][] = [
    [
      "a STATIC cluster",
      { name: "c", type: "STATIC" },
      "Cluster c: discovery type STATIC is not supported (only EDS)",
    ],
    [
      "endpoints from elsewhere",
      { ...eds, eds_cluster_config: { eds_config: { path: "/x" } } },
      "Cluster c: eds_config must come over ADS, not path",
    ],
    ["MAGLEV", { ...eds, lb_policy: "MAGLEV" }, "Cluster c: lb_policy MAGLEV is not supported"],
    [
      "only unknown load-balancing policies",
      {
        ...eds,
        load_balancing_policy: {
          policies: [
            {
              typed_extension_config: {
                name: "x",
                typed_config: { type_url: "type.googleapis.com/x.Y", value: Buffer.alloc(0) },
              },
            },
          ],
        },
      },
      "Cluster c: load_balancing_policy has no supported policy (type.googleapis.com/x.Y)",
    ],
    [
      "a zero connect timeout",
      { ...eds, connect_timeout: { seconds: 0 } },
      "Cluster c: connect_timeout must be positive",
    ],
    ["no name", { type: "EDS" }, "Cluster (unnamed): no name"],
  ];
  for (const [what, c, message] of rejections) {
    it(`rejects ${what}`, () => {
      assert.equal(rejected(cluster(c)), message);
    });
  }
});

describe("xDS client conversion: endpoints", () => {
  const lb = (address: string, health = "HEALTHY", weight?: number) => ({
    endpoint: { address: { socket_address: { address, port_value: 80 } } },
    health_status: health as "HEALTHY",
    ...(weight !== undefined && { load_balancing_weight: { value: weight } }),
  });

  it("converts the translator's assignment: zones, ports, weights", () => {
    const a = buildLoadAssignment("c", "http", [
      { address: "10.0.0.2", ports: { http: 8080 }, ready: true, zone: "b" },
      { address: "10.0.0.1", ports: { http: 8080 }, ready: true, zone: "a" },
      { address: "10.0.0.3", ports: { http: 8080 }, ready: false, zone: "a" },
    ]);
    assert.deepEqual(ok(cla(a)), {
      cluster: "c",
      endpoints: [
        { address: "10.0.0.1", port: 8080, zone: "a", weight: 1 },
        { address: "10.0.0.2", port: 8080, zone: "b", weight: 1 },
      ],
    });
  });

  it("keeps HEALTHY and UNKNOWN endpoints only, from the first priority that has any", () => {
    const set = ok(
      cla({
        cluster_name: "c",
        endpoints: [
          { priority: 0, lb_endpoints: [lb("10.0.0.1", "UNHEALTHY"), lb("10.0.0.2", "DRAINING")] },
          {
            priority: 1,
            locality: { zone: "z" },
            lb_endpoints: [lb("10.0.1.1", "UNKNOWN", 3), lb("10.0.1.2", "DEGRADED")],
          },
          { priority: 2, lb_endpoints: [lb("10.0.2.1")] },
        ],
      }),
    );
    assert.deepEqual(set.endpoints, [{ address: "10.0.1.1", port: 80, zone: "z", weight: 3 }]);
    assert.deepEqual(ok(cla({ cluster_name: "c" })).endpoints, []);
  });

  it("rejects host names, missing ports and zero weights", () => {
    const one = (e: object) => cla({ cluster_name: "c", endpoints: [{ lb_endpoints: [e] }] });
    assert.equal(
      rejected(one(lb("db.local"))),
      "ClusterLoadAssignment c: endpoint address db.local is not an IP address",
    );
    assert.equal(
      rejected(one({ endpoint: { address: { socket_address: { address: "10.0.0.1" } } } })),
      "ClusterLoadAssignment c: endpoint 10.0.0.1 has no valid port_value",
    );
    assert.equal(
      rejected(one(lb("10.0.0.1", "HEALTHY", 0))),
      "ClusterLoadAssignment c: endpoint 10.0.0.1:80 has load_balancing_weight 0",
    );
  });
});
