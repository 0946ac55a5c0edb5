// Conversion of the security resources from real Envoy protos: inbound server listeners (filter
// chains by transport protocol, DownstreamTlsContext, RBAC filters), upstream TLS on clusters,
// SDS trust bundles; and the client state subscribing to them and publishing them whole.
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/common/clock.js";
import type { Listener } from "../../../src/xds/generated/envoy/config/listener/v3/Listener.js";
import type { FilterChain } from "../../../src/xds/generated/envoy/config/listener/v3/FilterChain.js";
import type { CommonTlsContext } from "../../../src/xds/generated/envoy/extensions/transport_sockets/tls/v3/CommonTlsContext.js";
import type { Any__Output } from "../../../src/xds/generated/google/protobuf/Any.js";
import { typeUrlOf } from "../../../src/xds/protos.js";
import type { RoutingSnapshot } from "../../../mesh/routing/model.js";
import {
  convertCluster,
  convertListener,
  convertSecret,
} from "../../../mesh/xds-client/convert.js";
import { ConfigState } from "../../../mesh/xds-client/config-state.js";
import { TYPE_URL } from "../../../mesh/xds-client/resource-kinds.js";
import { ok, rejected } from "./xds-client-convert-helpers.js";
import { codecs, decoded, silentLog } from "./xds-client-fixtures.js";

const ADS = { ads: {} };
const NAME = "vireo/inbound?address=10.0.0.7:15006";
const ROOTS = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

const pack = <I>(
  codec: { serialize(m: I): Buffer },
  name: Parameters<typeof typeUrlOf>[0],
  m: I,
) => ({
  type_url: typeUrlOf(name),
  value: codec.serialize(m),
});

const common = (extra: Partial<CommonTlsContext> = {}): CommonTlsContext => ({
  tls_certificate_sds_secret_configs: [{ name: "default", sds_config: ADS }],
  validation_context_sds_secret_config: { name: "ROOTCA", sds_config: ADS },
  ...extra,
});

const downstream = (c: CommonTlsContext = common()) => ({
  name: "envoy.transport_sockets.tls",
  typed_config: pack(codecs.DownstreamTlsContext, "DownstreamTlsContext", {
    require_client_certificate: { value: true },
    common_tls_context: c,
  }),
});

const denyAdmin = pack(codecs.RBAC, "RBAC", {
  rules: {
    action: "DENY",
    policies: {
      "ns[shop]-policy[deny-admin]-rule[0]": {
        permissions: [{ url_path: { path: { prefix: "/admin" } } }],
        principals: [{ any: true }],
      },
    },
  },
});

function hcm(rbac: ReturnType<typeof pack>[] = []) {
  return {
    name: "envoy.filters.network.http_connection_manager",
    typed_config: pack(codecs.HttpConnectionManager, "HttpConnectionManager", {
      stat_prefix: "inbound",
      route_config: {
        name: "inbound|15006||",
        virtual_hosts: [
          {
            name: "inbound",
            domains: ["*"],
            routes: [{ match: { prefix: "/" }, route: { cluster: "inbound|15006||" } }],
          },
        ],
      },
      http_filters: [
        ...rbac.map((typed_config) => ({ name: "envoy.filters.http.rbac", typed_config })),
        { name: "envoy.filters.http.router", typed_config: pack(codecs.Router, "Router", {}) },
      ],
    }),
  };
}

const tlsChain = (extra: Partial<FilterChain> = {}): FilterChain => ({
  filter_chain_match: { transport_protocol: "tls" },
  transport_socket: downstream(),
  filters: [hcm([denyAdmin])],
  ...extra,
});
const plainChain: FilterChain = {
  filter_chain_match: { transport_protocol: "raw_buffer" },
  filters: [hcm()],
};

const listener = (chains: FilterChain[], extra: Partial<Listener> = {}): Listener => ({
  name: NAME,
  address: { socket_address: { address: "10.0.0.7", port_value: 15006 } },
  filter_chains: chains,
  ...extra,
});

const convert = (l: Listener) => convertListener(decoded(codecs.Listener, l));

describe("xDS client conversion: security resources", () => {
  it("a PERMISSIVE inbound listener: a TLS chain with its RBAC filter, and a plaintext chain", () => {
    const l = ok(convert(listener([tlsChain(), plainChain])));
    assert.equal(l.kind, "inbound");
    if (l.kind !== "inbound") return;
    assert.equal(l.address, "10.0.0.7");
    assert.equal(l.port, 15006);
    assert.deepEqual(
      l.chains.map((c) => [c.transport, c.tls, c.rbac.map((r) => r.action)]),
      [
        ["tls", { requireClientCertificate: true, validationSecret: "ROOTCA" }, ["DENY"]],
        ["raw_buffer", undefined, []],
      ],
    );
  });

  it("accepts Istio's tls_inspector listener filter", () => {
    const l = listener([tlsChain()], {
      listener_filters: [{ name: "envoy.filters.listener.tls_inspector" }],
    });
    assert.equal(ok(convert(l)).kind, "inbound");
  });

  const rejections: [string, Listener, RegExp][] = [
    [
      "a tls chain without TLS",
      listener([tlsChain({ transport_socket: null })]),
      /a tls chain needs a TLS transport socket/,
    ],
    [
      "TLS on a raw_buffer chain",
      listener([{ ...plainChain, transport_socket: downstream() }]),
      /raw_buffer chain cannot terminate TLS/,
    ],
    ["two tls chains", listener([tlsChain(), tlsChain()]), /two filter chains match transport tls/],
    [
      "an unknown transport protocol",
      listener([{ ...plainChain, filter_chain_match: { transport_protocol: "quic" } }]),
      /transport_protocol quic/,
    ],
    [
      "matching on server names",
      listener([{ ...plainChain, filter_chain_match: { server_names: ["a"] } }]),
      /may only set transport_protocol/,
    ],
    [
      "an inline certificate",
      listener([
        tlsChain({
          transport_socket: downstream(
            common({ tls_certificates: [{ certificate_chain: { inline_string: "x" } }] }),
          ),
        }),
      ]),
      /inline tls_certificates are not supported/,
    ],
    [
      "a certificate other than `default`",
      listener([
        tlsChain({
          transport_socket: downstream(
            common({ tls_certificate_sds_secret_configs: [{ name: "mine", sds_config: ADS }] }),
          ),
        }),
      ]),
      /must be exactly "default"/,
    ],
    [
      "an unsupported HTTP filter",
      listener([
        {
          ...plainChain,
          filters: [
            {
              ...hcm(),
              typed_config: pack(codecs.HttpConnectionManager, "HttpConnectionManager", {
                route_config: { name: "r" },
                http_filters: [
                  {
                    name: "lua",
                    typed_config: { type_url: "type.googleapis.com/x.Lua", value: Buffer.alloc(0) },
                  },
                ],
              }),
            },
          ],
        },
      ]),
      /HTTP filter lua .* is not supported/,
    ],
    ["no address", listener([plainChain], { address: null }), /needs a socket address/],
    [
      "an unknown listener filter",
      listener([plainChain], {
        listener_filters: [{ name: "envoy.filters.listener.proxy_protocol" }],
      }),
      /listener filter .* not supported/,
    ],
  ];
  for (const [what, l, message] of rejections) {
    it(`rejects ${what}`, () => {
      assert.match(rejected(convert(l)), message);
    });
  }

  it("a cluster with an UpstreamTlsContext: SNI, trust bundle and the allowed URI SANs", () => {
    const c = ok(
      convertCluster(
        decoded(codecs.Cluster, {
          name: "outbound|9080||reviews.shop.svc.cluster.local",
          type: "EDS",
          eds_cluster_config: { eds_config: ADS },
          transport_socket: {
            name: "envoy.transport_sockets.tls",
            typed_config: pack(codecs.UpstreamTlsContext, "UpstreamTlsContext", {
              sni: "outbound|9080||reviews.shop.svc.cluster.local",
              common_tls_context: {
                tls_certificate_sds_secret_configs: [{ name: "default", sds_config: ADS }],
                combined_validation_context: {
                  default_validation_context: {
                    match_typed_subject_alt_names: [
                      {
                        san_type: "URI",
                        matcher: { exact: "spiffe://cluster.local/ns/shop/sa/reviews" },
                      },
                    ],
                  },
                  validation_context_sds_secret_config: { name: "ROOTCA", sds_config: ADS },
                },
              },
            }),
          },
        }),
      ),
    );
    assert.deepEqual(c.tls, {
      sni: "outbound|9080||reviews.shop.svc.cluster.local",
      validationSecret: "ROOTCA",
      uriSans: [
        { kind: "exact", value: "spiffe://cluster.local/ns/shop/sa/reviews", ignoreCase: false },
      ],
    });
  });

  it("an SDS trust bundle; a secret carrying a key is refused", () => {
    const s = ok(
      convertSecret(
        decoded(codecs.Secret, {
          name: "ROOTCA",
          validation_context: { trusted_ca: { inline_string: ROOTS } },
        }),
      ),
    );
    assert.deepEqual(s, { name: "ROOTCA", trustedCa: ROOTS });
    assert.match(
      rejected(
        convertSecret(
          decoded(codecs.Secret, {
            name: "default",
            tls_certificate: { private_key: { inline_string: "k" } },
          }),
        ),
      ),
      /only validation_context secrets are supported/,
    );
  });
});

describe("xDS client state: inbound listeners and trust bundles", () => {
  const packed = <I>(
    codec: { serialize(m: I): Buffer; deserialize(b: Buffer): object },
    typeUrl: string,
    m: I,
  ): Any__Output => ({
    ...codec.deserialize(codec.serialize(m)),
    "@type": typeUrl,
  });

  it("subscribes its inbound listener by name, the trust bundle once referenced, and publishes both", () => {
    const clock = new FakeClock();
    const state = new ConfigState({
      log: silentLog,
      clock,
      warmTimeoutMs: 1000,
      namedListeners: [NAME],
    });
    const published: RoutingSnapshot[] = [];
    state.onSnapshot((s) => published.push(s));
    assert.deepEqual([...state.wanted("listener")].sort(), ["*", NAME]);
    assert.deepEqual([...state.wanted("secret")], []);
    assert.equal(state.applySotw("cluster", "1", "n", []), undefined);
    assert.equal(
      state.applySotw("listener", "1", "n", [
        packed(codecs.Listener, TYPE_URL.listener, listener([tlsChain(), plainChain])),
      ]),
      undefined,
    );
    state.settle();
    assert.deepEqual([...state.wanted("secret")], ["ROOTCA"]);
    assert.equal(published.length, 0, "held until the trust bundle arrives (warming)");
    const secret = packed(codecs.Secret, TYPE_URL.secret, {
      name: "ROOTCA",
      validation_context: { trusted_ca: { inline_string: ROOTS } },
    });
    assert.equal(state.applySotw("secret", "1", "n", [secret]), undefined);
    state.settle();
    const snap = published.at(-1);
    assert.ok(snap);
    assert.equal(snap.inbound?.get(NAME)?.chains.length, 2);
    assert.equal(snap.secrets?.get("ROOTCA")?.trustedCa, ROOTS);
    assert.equal(snap.listeners.size, 0, "an inbound listener is not an API listener");
  });

  it("rejects a response whole when one inbound listener is bad (NACK), keeping the last good", () => {
    const clock = new FakeClock();
    const state = new ConfigState({
      log: silentLog,
      clock,
      warmTimeoutMs: 1000,
      namedListeners: [NAME],
    });
    const good = packed(codecs.Listener, TYPE_URL.listener, listener([plainChain]));
    const bad = packed(codecs.Listener, TYPE_URL.listener, {
      ...listener([tlsChain({ transport_socket: null })]),
      name: "vireo/inbound?address=10.0.0.8:15006",
    });
    assert.equal(state.applySotw("cluster", "1", "n", []), undefined);
    assert.equal(state.applySotw("listener", "1", "n", [good]), undefined);
    state.settle();
    const nack = state.applySotw("listener", "2", "n2", [good, bad]);
    assert.match(
      nack ?? "",
      /Listener vireo\/inbound\?address=10.0.0.8:15006: filter chain 0: a tls chain needs a TLS transport socket/,
    );
    assert.equal(state.acceptedVersion("listener"), "1");
    assert.equal(state.current().inbound?.get(NAME)?.chains[0]?.transport, "raw_buffer");
  });
});
