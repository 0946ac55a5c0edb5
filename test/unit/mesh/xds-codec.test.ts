// The proxy's static xDS codecs (mesh/xds-client/codec/): the generated table is current, and on
// resources the control plane encodes they decode to exactly what proto-loader gives.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { ClusterState } from "../../../src/xds/model.js";
import { loadXdsProtos } from "../../../src/xds/protos.js";
import { buildSnapshot } from "../../../src/xds/snapshot.js";
import { translate } from "../../../src/xds/translate/translate.js";
import { renderCodecTable, TABLE_PATH } from "../../../src/xds/codegen/mesh-codec-table.js";
import {
  decodeDeltaDiscoveryResponse,
  decodeDiscoveryResponse,
  decodeMessage,
  encodeDeltaDiscoveryRequest,
  encodeDiscoveryRequest,
} from "../../../mesh/xds-client/codec/ads-codec.js";
import { DecodeError } from "../../../mesh/xds-client/codec/decode.js";
import { buildNode } from "../../../mesh/xds-client/node.js";
import { clusterState } from "./xds-client-fixtures.js";

const protos = loadXdsProtos();
const ads = protos.grpc.envoy.service.discovery.v3.AggregatedDiscoveryService.service;
const sotw = ads.StreamAggregatedResources;
const delta = ads.DeltaAggregatedResources;

const CLUSTER = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
const LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener";
const TRUST = "-----BEGIN CERTIFICATE-----\nROOTS\n-----END CERTIFICATE-----\n";

/** podinfo with every routing feature, plus mesh security with STRICT mTLS and RBAC. */
function richState(): ClusterState {
  const base = clusterState({
    canaryMatches: [
      { headers: { "x-canary": { exact: "1" }, "x-user": { regex: "a.*" } } },
      { uri: { prefix: "/beta" }, queryParams: { v: { present: true } } },
    ],
    mirrorPercent: 25,
    retries: { attempts: 3, perTryTimeoutMs: 1500, retryOn: "5xx,reset" },
    fault: { abort: { percent: 5, httpStatus: 503 }, delay: { percent: 10, delayMs: 200 } },
    trafficPolicy: {
      loadBalancer: "LEAST_REQUEST",
      connectTimeoutMs: 750,
      circuitBreaker: { maxConnections: 10, maxPendingRequests: 5, maxRequests: 20, maxRetries: 2 },
      outlierDetection: {
        consecutive5xx: 3,
        intervalMs: 5000,
        baseEjectionTimeMs: 20_000,
        maxEjectionPercent: 50,
      },
    },
  });
  const pod = (name: string, ip: string) => ({
    namespace: "demo",
    name,
    ip,
    labels: { app: "podinfo" },
    serviceAccount: "podinfo",
    sidecar: true,
  });
  return {
    ...base,
    endpoints: base.endpoints.map((e) => ({
      ...e,
      endpoints: e.endpoints.map((ep, i) => ({ ...ep, podName: `${e.service}-${i}` })),
    })),
    pods: [
      pod("podinfo-primary-0", "10.0.0.1"),
      pod("podinfo-primary-1", "10.0.0.2"),
      pod("podinfo-canary-0", "10.0.1.1"),
    ],
    security: {
      trustBundle: TRUST,
      trustDomain: "cluster.local",
      rootNamespace: "vireo-system",
      peerAuthentications: [{ namespace: "demo", name: "strict", createdAt: 0, mode: "STRICT" }],
      authorizationPolicies: [
        {
          namespace: "demo",
          name: "allow-frontend",
          action: "ALLOW",
          rules: [
            {
              from: [{ principals: { values: ["cluster.local/ns/demo/sa/frontend"] } }],
              to: [
                {
                  methods: { values: ["GET"] },
                  paths: { values: ["/api/*"], notValues: ["/api/admin"] },
                },
              ],
            },
          ],
        },
        {
          namespace: "demo",
          name: "deny-other-ns",
          action: "DENY",
          rules: [
            {
              from: [{ namespaces: { notValues: ["demo"] } }],
              to: [{ ports: { values: ["8080"] } }],
            },
          ],
        },
      ],
    },
  };
}

const CODEC_OF: Readonly<Record<string, keyof typeof protos.codecs>> = {
  "type.googleapis.com/envoy.config.listener.v3.Listener": "Listener",
  "type.googleapis.com/envoy.config.route.v3.RouteConfiguration": "RouteConfiguration",
  "type.googleapis.com/envoy.config.cluster.v3.Cluster": "Cluster",
  "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment": "ClusterLoadAssignment",
  "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret": "Secret",
};

describe("mesh xDS codecs", () => {
  it("the generated table is what `npm run gen:mesh-codecs` writes from the protos", () => {
    assert.equal(
      readFileSync(TABLE_PATH, "utf8"),
      renderCodecTable(),
      "mesh/xds-client/codec/table.generated.ts is stale: run npm run gen:mesh-codecs",
    );
  });

  it("decodes every resource of a control-plane snapshot exactly as proto-loader does", () => {
    const snapshot = buildSnapshot(1, translate(richState()), protos.codecs);
    const seen = new Set<string>();
    for (const [typeUrl, resources] of snapshot.resources) {
      const name = CODEC_OF[typeUrl];
      assert.ok(name !== undefined, typeUrl);
      for (const r of resources.values()) {
        const expected: unknown = protos.codecs[name].deserialize(r.value);
        assert.deepStrictEqual(decodeMessage(typeUrl.slice(20), r.value), expected, r.name);
        seen.add(typeUrl);
      }
    }
    // Inbound listeners (TLS, RBAC), the outbound API listener, routes, clusters, endpoints, ROOTCA.
    assert.equal(seen.size, 5);
    const listeners = [...(snapshot.resources.get(LISTENER)?.keys() ?? [])];
    assert.ok(
      listeners.some((n) => n.startsWith("vireo/inbound")),
      listeners.join(", "),
    );
  });

  it("decodes ADS responses carrying those resources as proto-loader does", () => {
    const snapshot = buildSnapshot(1, translate(richState()), protos.codecs);
    for (const [typeUrl, resources] of snapshot.resources) {
      const list = [...resources.values()];
      const sotwBytes = sotw.responseSerialize({
        version_info: "7",
        type_url: typeUrl,
        nonce: "n1",
        resources: list.map((r) => ({ type_url: typeUrl, value: r.value })),
        control_plane: { identifier: "vireo" },
      });
      assert.deepStrictEqual(
        decodeDiscoveryResponse(sotwBytes),
        sotw.responseDeserialize(sotwBytes),
      );
      const deltaBytes = delta.responseSerialize({
        system_version_info: "7",
        type_url: typeUrl,
        nonce: "n2",
        resources: list.map((r) => ({
          name: r.name,
          version: r.version,
          resource: { type_url: typeUrl, value: r.value },
          aliases: ["a"],
        })),
        removed_resources: ["gone"],
      });
      assert.deepStrictEqual(
        decodeDeltaDiscoveryResponse(deltaBytes),
        delta.responseDeserialize(deltaBytes),
      );
    }
  });

  it("encodes requests that proto-loader decodes to what the proxy meant", () => {
    const node = buildNode({
      id: "sidecar~10.0.0.5~podinfo-7d9f.demo~demo.svc.cluster.local",
      cluster: "podinfo.demo",
      metadata: { NAMESPACE: "demo", SERVICE_ACCOUNT: "podinfo" },
      zone: "z1",
      version: "1.2.3",
    });
    const sotwRequest = {
      node,
      type_url: "type.googleapis.com/envoy.config.cluster.v3.Cluster",
      version_info: "",
      resource_names: ["a", "b"],
      response_nonce: "n",
      error_detail: { code: 3, message: "bad" },
    };
    assert.deepStrictEqual(
      sotw.requestDeserialize(encodeDiscoveryRequest(sotwRequest)),
      sotw.requestDeserialize(sotw.requestSerialize(sotwRequest)),
    );
    const deltaRequest = {
      node,
      type_url: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
      resource_names_subscribe: ["r1"],
      resource_names_unsubscribe: ["r0"],
      initial_resource_versions: { r1: "v1", r2: "v2" },
      response_nonce: "",
    };
    assert.deepStrictEqual(
      delta.requestDeserialize(encodeDeltaDiscoveryRequest(deltaRequest)),
      delta.requestDeserialize(delta.requestSerialize(deltaRequest)),
    );
  });

  it("refuses malformed input with a DecodeError", () => {
    const snapshot = buildSnapshot(1, translate(richState()), protos.codecs);
    const cluster = [...(snapshot.resources.get(CLUSTER)?.values() ?? [])][0];
    assert.ok(cluster !== undefined);
    const truncated = cluster.value.subarray(0, cluster.value.length - 3);
    assert.throws(() => decodeMessage(CLUSTER.slice(20), truncated), DecodeError);
    // Field 1 (name, a string) sent as a varint.
    assert.throws(() => decodeMessage(CLUSTER.slice(20), Buffer.from([0x08, 0x01])), DecodeError);
    // A varint that never ends.
    assert.throws(
      () => decodeMessage(CLUSTER.slice(20), Buffer.from([0x18, ...Array<number>(11).fill(0xff)])),
      DecodeError,
    );
    assert.throws(() => decodeMessage("no.such.Message", Buffer.alloc(0)), DecodeError);
  });

  it("skips unknown fields and keeps an Any of a type it does not know packed", () => {
    // Field 999 (varint) then name = "c".
    const bytes = Buffer.from([0xb8, 0x3e, 0x05, 0x0a, 0x01, 0x63]);
    assert.equal(decodeMessage(CLUSTER.slice(20), bytes).name, "c");
    const any = { type_url: "type.googleapis.com/example.Unknown", value: Buffer.from([1, 2]) };
    const response = sotw.responseSerialize({ type_url: CLUSTER, resources: [any] });
    assert.deepStrictEqual(decodeDiscoveryResponse(response).resources, [any]);
  });
});
