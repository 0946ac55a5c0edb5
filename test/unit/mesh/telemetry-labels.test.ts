// Pure parts of telemetry: the proxy's identity from options and environment, Service FQDNs
// from authorities, and the label rules that depend on direction and transport security.
import assert from "node:assert/strict";
import type { TelemetryRecord } from "../../../mesh/telemetry/labels.js";
import { requestLabels, serviceFqdn } from "../../../mesh/telemetry/labels.js";
import {
  identityFromEnv,
  proxyIdentity,
  spiffeId,
  versionFromLabels,
  workloadFromPodName,
} from "../../../mesh/telemetry/identity.js";

const self = proxyIdentity({ workload: "podinfo", namespace: "demo", serviceAccount: "podinfo" });

function record(over: Partial<TelemetryRecord>): TelemetryRecord {
  return {
    direction: "outbound",
    method: "GET",
    authority: "reviews:9080",
    path: "/",
    protocol: "http",
    status: 200,
    flags: [],
    upstreamCluster: "outbound|9080||reviews.demo.svc.cluster.local",
    upstreamHost: undefined,
    durationMs: 1,
    bytes: { received: 0, sent: 0 },
    grpcStatus: undefined,
    ...over,
  };
}

describe("mesh telemetry: identity", () => {
  const podNames: [string, string][] = [
    ["podinfo-7d9f8c6b5-x2x9q", "podinfo"],
    ["podinfo-primary-5b7c9d8f4b-qz7wv", "podinfo-primary"],
    ["web-0", "web-0"],
    ["standalone", "standalone"],
  ];
  for (const [pod, workload] of podNames) {
    it(`infers workload ${workload} from pod ${pod}`, () => {
      assert.equal(workloadFromPodName(pod), workload);
    });
  }

  it("takes the version from app.kubernetes.io/version, then version, else unknown", () => {
    assert.equal(versionFromLabels({ "app.kubernetes.io/version": "1.2", version: "v1" }), "1.2");
    assert.equal(versionFromLabels({ "app.kubernetes.io/version": "", version: "v1" }), "v1");
    assert.equal(versionFromLabels({}), "unknown");
    assert.equal(versionFromLabels(undefined), "unknown");
  });

  it("reads the downward-API environment, with overrides and defaults", () => {
    const env = {
      POD_NAME: "podinfo-7d9f8c6b5-x2x9q",
      POD_NAMESPACE: "demo",
      SERVICE_ACCOUNT: "podinfo-sa",
      VIREO_LABEL_APP_VERSION: "",
      VIREO_LABEL_VERSION: "v3",
    };
    assert.deepEqual(identityFromEnv(env), {
      workload: "podinfo",
      namespace: "demo",
      version: "v3",
      serviceAccount: "podinfo-sa",
      trustDomain: "cluster.local",
      domain: "cluster.local",
    });
    const named = identityFromEnv({ ...env, VIREO_WORKLOAD_NAME: "podinfo-primary" });
    assert.equal(named.workload, "podinfo-primary");
    assert.equal(identityFromEnv(env, { namespace: "other" }).namespace, "other");
    assert.deepEqual(identityFromEnv({}), {
      workload: "unknown",
      namespace: "unknown",
      version: "unknown",
      serviceAccount: "default",
      trustDomain: "cluster.local",
      domain: "cluster.local",
    });
    assert.equal(spiffeId(identityFromEnv(env)), "spiffe://cluster.local/ns/demo/sa/podinfo-sa");
  });
});

describe("mesh telemetry: labels", () => {
  const fqdns: [string, string | undefined, string][] = [
    ["reviews", undefined, "reviews.demo.svc.cluster.local"],
    ["Reviews:9080", undefined, "reviews.demo.svc.cluster.local"],
    ["reviews.demo", undefined, "reviews.demo.svc.cluster.local"],
    [
      "reviews.shop:80",
      "outbound|80||reviews.shop.svc.cluster.local",
      "reviews.shop.svc.cluster.local",
    ],
    ["reviews.shop.svc", undefined, "reviews.shop.svc.cluster.local"],
    ["reviews.shop.svc.cluster.local:9080", undefined, "reviews.shop.svc.cluster.local"],
    ["example.com", "outbound|443||example.com", "example.com"],
    ["10.0.0.7:8080", undefined, "unknown"],
    ["[::1]:8080", undefined, "unknown"],
    ["", undefined, "unknown"],
  ];
  for (const [authority, cluster, want] of fqdns) {
    it(`names the Service of authority "${authority}" ${want}`, () => {
      assert.equal(serviceFqdn(authority, self, cluster), want);
    });
  }

  it("reports a gateway as a source", () => {
    assert.equal(requestLabels(record({ direction: "gateway" }), self).reporter, "source");
  });

  it("reports principals and mutual_tls only for mutual TLS hops", () => {
    const plain = requestLabels(
      record({ direction: "inbound", peerPrincipal: "spiffe://x/ns/a/sa/b" }),
      self,
    );
    assert.equal(plain.source_principal, "unknown");
    assert.equal(plain.connection_security_policy, "none");
    const mtls = requestLabels(
      record({
        direction: "inbound",
        mutualTls: true,
        peerPrincipal: "spiffe://cluster.local/ns/web/sa/frontend",
      }),
      self,
    );
    assert.equal(mtls.source_principal, "spiffe://cluster.local/ns/web/sa/frontend");
    assert.equal(mtls.connection_security_policy, "mutual_tls");
    const forged = requestLabels(
      record({ direction: "inbound", mutualTls: true, peerPrincipal: 'x",evil="1' }),
      self,
    );
    assert.equal(forged.source_principal, "unknown");
    const out = requestLabels(record({ mutualTls: true }), self);
    assert.equal(out.source_principal, "spiffe://cluster.local/ns/demo/sa/podinfo");
    assert.equal(out.connection_security_policy, "unknown");
  });

  it("bounds status labels: odd HTTP codes as 0, gRPC codes past 16 as UNKNOWN", () => {
    assert.equal(requestLabels(record({ status: 1234 }), self).response_code, "0");
    assert.equal(requestLabels(record({ grpcStatus: 99 }), self).grpc_response_status, "2");
    assert.equal(requestLabels(record({ grpcStatus: 0 }), self).grpc_response_status, "0");
  });
});
