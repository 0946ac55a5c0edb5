// The controller with its CA on the local cluster: it creates its CA Secret and the root
// ConfigMap, serves xDS over TLS to a real service-account token, and translates a real
// sidecar pod, PeerAuthentication and AuthorizationPolicy into the inbound listener, the ROOTCA
// secret and an mTLS cluster.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { CustomObjectsApi } from "@kubernetes/client-node";
import type { RunningController } from "../../src/app.js";
import { startController } from "../../src/app.js";
import { clusterName, inboundListenerName } from "../../src/xds/names.js";
import { loadXdsProtos } from "../../src/xds/protos.js";
import { TYPE } from "../../src/xds/snapshot.js";
import { ensureCrd } from "./crds.js";
import { cluster, controllerConfig, eventually, repoRoot, useNamespace } from "./harness.js";

interface Decoded {
  name?: string;
  filter_chains?: {
    filter_chain_match?: { transport_protocol?: string };
    filters?: { typed_config?: { http_filters?: { name?: string }[] } }[];
  }[];
  validation_context?: { trusted_ca?: { inline_string?: string } };
  transport_socket?: { name?: string; typed_config?: { sni?: string } };
}

describe("controller security on the local cluster", function () {
  this.timeout(180_000);
  const ns = useNamespace("ctrl-sec");
  let running: RunningController | undefined;

  before(async () => {
    await ensureCrd(join(repoRoot, "crds/peerauthentications.vireo.dev.yaml"));
    await ensureCrd(join(repoRoot, "crds/authorizationpolicies.vireo.dev.yaml"));
    running = await startController(controllerConfig(ns()), () => undefined);
  });
  after(async () => {
    await running?.stop();
  });

  it("creates its CA Secret and publishes the root in ConfigMap vireo-ca-root-cert", async () => {
    const { core } = cluster();
    const secret = await core.readNamespacedSecret({ name: "vireo-ca", namespace: ns() });
    assert.ok(
      secret.data?.["root-cert.pem"] !== undefined && secret.data["ca-key.pem"] !== undefined,
    );
    const cm = await core.readNamespacedConfigMap({ name: "vireo-ca-root-cert", namespace: ns() });
    const root = new X509Certificate(cm.data?.["root-cert.pem"] ?? "");
    assert.equal(root.ca, true);
  });

  it("serves a sidecar pod's inbound listener, ROOTCA and mTLS cluster to its own token", async () => {
    const { core, apps } = cluster();
    await apps.createNamespacedDeployment({
      namespace: ns(),
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: "app",
                  image: "vireo/echo:v1",
                  ports: [{ name: "http", containerPort: 8080 }],
                  readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
                },
                // Only its name matters here: it marks the pod as meshed.
                { name: "vireo-proxy", image: "busybox", args: ["-c", "sleep 3600"] },
              ],
            },
          },
        },
      },
    });
    await core.createNamespacedService({
      namespace: ns(),
      body: {
        metadata: { name: "web" },
        spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
      },
    });
    const custom = cluster().kc.makeApiClient(CustomObjectsApi);
    const create = (kind: string, plural: string, spec: unknown): Promise<unknown> =>
      custom.createNamespacedCustomObject({
        group: "vireo.dev",
        version: "v1alpha1",
        namespace: ns(),
        plural,
        body: { apiVersion: "vireo.dev/v1alpha1", kind, metadata: { name: "web" }, spec },
      });
    // The controller's namespace is the root namespace here, so this is the mesh-wide policy (a
    // selector there would be ignored, as istiod ignores it).
    await create("PeerAuthentication", "peerauthentications", { mtls: { mode: "STRICT" } });
    await create("AuthorizationPolicy", "authorizationpolicies", {
      selector: { matchLabels: { app: "web" } },
      rules: [{ from: [{ source: { namespaces: [ns()] } }] }],
    });
    const podIp = await eventually(
      "web pod ready",
      async () => {
        const pods = await core.listNamespacedPod({ namespace: ns(), labelSelector: "app=web" });
        const p = pods.items.find((x) =>
          x.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        );
        return p?.status?.podIP;
      },
      90_000,
    );

    const cm = await core.readNamespacedConfigMap({ name: "vireo-ca-root-cert", namespace: ns() });
    const bundle = cm.data?.["root-cert.pem"] ?? "";
    const tr = await core.createNamespacedServiceAccountToken({
      name: "default",
      namespace: ns(),
      body: { spec: { audiences: ["vireo"], expirationSeconds: 600 } },
    });
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${tr.status?.token ?? ""}`);
    const svc = loadXdsProtos().grpc.envoy.service.discovery.v3.AggregatedDiscoveryService;
    // Verifies the controller's server certificate for 127.0.0.1 against the published root.
    const client = new svc(
      `127.0.0.1:${String(running?.xdsPort)}`,
      grpc.credentials.createSsl(Buffer.from(bundle)),
    );
    const listener = inboundListenerName(podIp, 8080);
    const cname = clusterName(ns(), "web", 80);
    const latest = new Map<string, Decoded>();
    const call = client.StreamAggregatedResources(md);
    call.on(
      "data",
      (r: { type_url: string; resources: Decoded[]; nonce: string; version_info: string }) => {
        for (const res of r.resources) latest.set(`${r.type_url}|${res.name ?? "ROOTCA"}`, res);
        call.write({
          type_url: r.type_url,
          response_nonce: r.nonce,
          version_info: r.version_info,
          resource_names: names(r.type_url),
        });
      },
    );
    call.on("error", () => undefined);
    const names = (t: string): string[] =>
      t === TYPE.listener ? [listener] : t === TYPE.secret ? ["ROOTCA"] : [cname];
    const node = {
      id: `sidecar~${podIp}~web.${ns()}~${ns()}.svc.cluster.local`,
      metadata: { fields: { NAMESPACE: { stringValue: ns() } } },
    };
    for (const t of [TYPE.secret, TYPE.cluster, TYPE.listener])
      call.write({ node, type_url: t, resource_names: names(t) });
    try {
      const l = await eventually(
        "the STRICT inbound listener with RBAC",
        () => {
          const x = latest.get(`${TYPE.listener}|${listener}`);
          const chains = x?.filter_chains ?? [];
          const filters = chains[0]?.filters?.[0]?.typed_config?.http_filters?.map((f) => f.name);
          return chains.length === 1 && filters?.[0] === "envoy.filters.http.rbac" ? x : undefined;
        },
        60_000,
      );
      assert.equal(l.filter_chains?.[0]?.filter_chain_match?.transport_protocol, "tls");
      const root = latest.get(`${TYPE.secret}|ROOTCA`);
      assert.equal(root?.validation_context?.trusted_ca?.inline_string, bundle);
      const c = await eventually("the mTLS cluster", () => {
        const x = latest.get(`${TYPE.cluster}|${cname}`);
        return x?.transport_socket?.name === "envoy.transport_sockets.tls" ? x : undefined;
      });
      assert.equal(c.transport_socket?.typed_config?.sni, cname);
    } finally {
      call.cancel();
      client.close();
    }
  });
});
