// Translation of identity and policy: the ROOTCA secret, inbound server listeners per PeerAuthentication
// mode with RBAC filters from AuthorizationPolicies, and upstream mTLS on clusters of meshed Services.
import assert from "node:assert/strict";
import type { AuthorizationPolicy, PeerAuthentication } from "../../../src/policy/model.js";
import type { Any } from "../../../src/xds/generated/google/protobuf/Any.js";
import type { Listener } from "../../../src/xds/generated/envoy/config/listener/v3/Listener.js";
import type { PodModel, SecurityModel } from "../../../src/xds/model.js";
import { loadXdsProtos } from "../../../src/xds/protos.js";
import {
  buildSnapshot,
  consistencyErrors,
  emptyResourceSet,
  TYPE,
} from "../../../src/xds/snapshot.js";
import { translate } from "../../../src/xds/translate/translate.js";
import { cluster, endpoint, endpoints, NS, service, state } from "./translate-fixtures.js";

const codecs = loadXdsProtos().codecs;
const ROOT = "vireo-system";
const LISTENER = "vireo/inbound?address=10.1.0.5:8080";

const pod = (name: string, opts: Partial<PodModel> = {}): PodModel => ({
  namespace: NS,
  name,
  ip: "10.1.0.5",
  labels: { app: "web" },
  serviceAccount: "web",
  sidecar: true,
  ...opts,
});

function security(opts: Partial<SecurityModel> = {}): SecurityModel {
  return {
    trustBundle: "-----BEGIN CERTIFICATE-----\nROOTS\n-----END CERTIFICATE-----\n",
    trustDomain: "cluster.local",
    rootNamespace: ROOT,
    peerAuthentications: [],
    authorizationPolicies: [],
    ...opts,
  };
}

function meshState(sec: SecurityModel | undefined, extra: { ready?: boolean } = {}) {
  return state({
    services: [service("web"), service("legacy")],
    endpoints: [
      endpoints("web", [endpoint("10.1.0.5", { podName: "web-1", ready: extra.ready ?? true })]),
      endpoints("legacy", [endpoint("10.1.0.9", { podName: "legacy-1" })]),
    ],
    pods: [
      pod("web-1"),
      pod("legacy-1", { ip: "10.1.0.9", sidecar: false, serviceAccount: "old" }),
    ],
    ...(sec === undefined ? {} : { security: sec }),
  });
}

/** The bytes of an Any the translator packed (always type_url + value, never expanded). */
const bytes = (a: Any | null | undefined): Buffer => {
  assert.ok(a && "value" in a, "a packed Any");
  return Buffer.from(a.value as Uint8Array);
};

/** The listener with each chain's protocol, TLS context and HTTP filters decoded. */
function inbound(l: Listener | undefined) {
  assert.ok(l, "listener exists");
  codecs.Listener.serialize(l); // encodes
  return {
    address: l.address?.socket_address,
    chains: (l.filter_chains ?? []).map((c) => {
      const hcm = codecs.HttpConnectionManager.deserialize(bytes(c.filters?.[0]?.typed_config));
      const ts = c.transport_socket?.typed_config;
      const tls = ts ? codecs.DownstreamTlsContext.deserialize(bytes(ts)) : undefined;
      return {
        protocol: c.filter_chain_match?.transport_protocol,
        tls: tls && {
          require: tls.require_client_certificate?.value,
          cert: tls.common_tls_context?.tls_certificate_sds_secret_configs.map((s) => s.name),
          ca: tls.common_tls_context?.validation_context_sds_secret_config?.name,
        },
        filters: hcm.http_filters.map((f) => f.name),
        rbac: hcm.http_filters
          .filter((f) => f.name === "envoy.filters.http.rbac")
          .map((f) => (f.typed_config as unknown as { rules?: { action?: string } }).rules?.action),
        route: hcm.route_config?.virtual_hosts[0]?.routes[0]?.route?.cluster,
        domains: hcm.route_config?.virtual_hosts[0]?.domains,
      };
    }),
  };
}

const TLS_CHAIN = { require: true, cert: ["default"], ca: "ROOTCA" };
const pa = (p: Partial<PeerAuthentication>): PeerAuthentication => ({
  namespace: NS,
  name: "p",
  createdAt: 0,
  ...p,
});
const ap = (p: Partial<AuthorizationPolicy>): AuthorizationPolicy => ({
  namespace: NS,
  name: "a",
  action: "ALLOW",
  rules: [{}],
  ...p,
});

describe("xDS translation: identity and policy", () => {
  it("serves the trust bundle as SDS secret ROOTCA", () => {
    const set = translate(meshState(security()));
    const s = set.secrets.get("ROOTCA");
    assert.equal(s?.validation_context?.trusted_ca?.inline_string, security().trustBundle);
  });

  it("gives each Ready sidecar pod port a PERMISSIVE inbound listener by default", () => {
    const set = translate(meshState(security()));
    const l = inbound(set.listeners.get(LISTENER)?.message);
    assert.deepEqual(l.address, { address: "10.1.0.5", port_value: 8080 });
    assert.deepEqual(l.chains, [
      {
        protocol: "tls",
        tls: TLS_CHAIN,
        filters: ["envoy.filters.http.router"],
        rbac: [],
        route: "inbound|8080||",
        domains: ["*"],
      },
      {
        protocol: "raw_buffer",
        tls: undefined,
        filters: ["envoy.filters.http.router"],
        rbac: [],
        route: "inbound|8080||",
        domains: ["*"],
      },
    ]);
    // Pods without the sidecar, and pods not Ready, get none.
    assert.equal(set.listeners.has("vireo/inbound?address=10.1.0.9:8080"), false);
    assert.equal(translate(meshState(security(), { ready: false })).listeners.has(LISTENER), false);
  });

  const modes: [string, PeerAuthentication[], string[]][] = [
    ["mesh-wide STRICT: TLS only", [pa({ namespace: ROOT, mode: "STRICT" })], ["tls"]],
    ["namespace DISABLE: plaintext only", [pa({ mode: "DISABLE" })], ["raw_buffer"]],
    [
      "workload STRICT over namespace DISABLE",
      [pa({ mode: "DISABLE" }), pa({ name: "w", selector: { app: "web" }, mode: "STRICT" })],
      ["tls"],
    ],
    [
      "port-level PERMISSIVE under workload STRICT",
      [pa({ selector: { app: "web" }, mode: "STRICT", portLevelMtls: { "8080": "PERMISSIVE" } })],
      ["tls", "raw_buffer"],
    ],
    [
      "port-level on another port changes nothing",
      [pa({ selector: { app: "web" }, mode: "STRICT", portLevelMtls: { "9090": "DISABLE" } })],
      ["tls"],
    ],
  ];
  for (const [name, policies, protocols] of modes) {
    it(name, () => {
      const set = translate(meshState(security({ peerAuthentications: policies })));
      const l = inbound(set.listeners.get(LISTENER)?.message);
      assert.deepEqual(
        l.chains.map((c) => c.protocol),
        protocols,
      );
      for (const c of l.chains)
        assert.deepEqual(c.tls, c.protocol === "tls" ? TLS_CHAIN : undefined);
      assert.deepEqual(
        set.listeners.get(LISTENER)?.secrets,
        protocols.includes("tls") ? ["ROOTCA"] : [],
      );
    });
  }

  it("adds RBAC filters, DENY then ALLOW, only for policies that select the pod", () => {
    const policies = [
      ap({ name: "allow" }),
      ap({ name: "deny", action: "DENY", rules: [{ to: [{ paths: { values: ["/admin*"] } }] }] }),
      ap({ name: "db-only", action: "DENY", selector: { app: "db" } }),
    ];
    const l = inbound(
      translate(meshState(security({ authorizationPolicies: policies }))).listeners.get(LISTENER)
        ?.message,
    );
    for (const c of l.chains) {
      assert.deepEqual(c.filters, [
        "envoy.filters.http.rbac",
        "envoy.filters.http.rbac",
        "envoy.filters.http.router",
      ]);
      assert.deepEqual(c.rbac, ["DENY", "ALLOW"]);
    }
    const onlyDb = inbound(
      translate(meshState(security({ authorizationPolicies: policies.slice(2) }))).listeners.get(
        LISTENER,
      )?.message,
    );
    assert.deepEqual(onlyDb.chains[0]?.filters, ["envoy.filters.http.router"]);
  });

  it("puts upstream mTLS with secure naming on clusters of meshed Services only", () => {
    const set = translate(meshState(security()));
    const web = set.clusters.get(cluster("web"))?.message;
    codecs.Cluster.serialize(web ?? {});
    assert.equal(web?.transport_socket?.name, "envoy.transport_sockets.tls");
    const tls = codecs.UpstreamTlsContext.deserialize(bytes(web?.transport_socket?.typed_config));
    assert.equal(tls.sni, cluster("web"));
    assert.deepEqual(
      tls.common_tls_context?.tls_certificate_sds_secret_configs.map((s) => s.name),
      ["default"],
    );
    const combined = tls.common_tls_context?.combined_validation_context;
    assert.equal(combined?.validation_context_sds_secret_config?.name, "ROOTCA");
    assert.deepEqual(
      combined?.default_validation_context?.match_typed_subject_alt_names.map((m) => [
        m.san_type,
        m.matcher?.exact,
      ]),
      [["URI", `spiffe://cluster.local/ns/${NS}/sa/web`]],
    );
    assert.equal(set.clusters.get(cluster("legacy"))?.message.transport_socket, undefined);
  });

  it("keeps everything plaintext and policy-free without a CA (--xds-insecure)", () => {
    const set = translate(meshState(undefined));
    assert.equal(set.secrets.size, 0);
    assert.equal(
      [...set.listeners.keys()].some((n) => n.startsWith("vireo/inbound")),
      false,
    );
    assert.equal(set.clusters.get(cluster("web"))?.message.transport_socket, undefined);
  });

  it("builds a consistent snapshot; a missing ROOTCA is caught, `default` is proxy-local", () => {
    const set = translate(meshState(security({ peerAuthentications: [pa({ mode: "STRICT" })] })));
    assert.deepEqual(consistencyErrors(set), []);
    assert.ok(buildSnapshot(1, set, codecs).resources.get(TYPE.secret)?.has("ROOTCA"));
    const missing = { ...set, secrets: new Map() };
    assert.deepEqual(consistencyErrors(missing).sort(), [
      `cluster ${cluster("web")}: secret ROOTCA missing`,
      `listener ${LISTENER}: secret ROOTCA missing`,
    ]);
    const onlyDefault = {
      ...emptyResourceSet(),
      listeners: new Map([
        ["l", { message: { name: "l" }, routeConfigs: [], secrets: ["default"] }],
      ]),
    };
    assert.deepEqual(consistencyErrors(onlyDefault), []);
  });
});
