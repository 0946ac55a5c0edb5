// Inbound server listeners: one per Ready pod IP and target port of every Service whose pods run
// the sidecar. PeerAuthentication picks the filter chains (STRICT: TLS only; PERMISSIVE: TLS and
// plaintext; DISABLE: plaintext only) and AuthorizationPolicies become RBAC filters.
import type { FilterChain } from "../generated/envoy/config/listener/v3/FilterChain.js";
import type { Listener } from "../generated/envoy/config/listener/v3/Listener.js";
import type { HttpFilter } from "../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter.js";
import type { HttpConnectionManager } from "../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.js";
import type { Any } from "../generated/google/protobuf/Any.js";
import { policiesFor } from "../../policy/evaluate.js";
import type { MtlsMode } from "../../policy/model.js";
import { modeForPort, resolveMtls } from "../../policy/peer-authentication.js";
import { compileRbac } from "../../policy/rbac.js";
import { assertNever } from "../../common/assert-never.js";
import type { Codecs } from "../protos.js";
import { typeUrlOf } from "../protos.js";
import type { PodModel, SecurityModel } from "../model.js";
import { inboundClusterName, inboundListenerName, ROOTCA_SECRET } from "../names.js";
import { ROUTER_FILTER } from "./listeners.js";
import { packAny } from "./proto-values.js";
import type { TlsCodecs } from "./tls.js";
import { downstreamMtls } from "./tls.js";

export const RBAC_FILTER = "envoy.filters.http.rbac";
export const HCM_FILTER = "envoy.filters.network.http_connection_manager";

export type InboundCodecs = TlsCodecs & Pick<Codecs, "HttpConnectionManager" | "Router" | "RBAC">;

export interface InboundListener {
  readonly message: Listener;
  /** SDS names the listener references (ROOTCA when it has a TLS chain). */
  readonly secrets: readonly string[];
}

function hcm(pod: PodModel, port: number, filters: readonly Any[], codecs: InboundCodecs): Any {
  const cluster = inboundClusterName(port);
  const http_filters: HttpFilter[] = [
    ...filters.map((typed_config) => ({ name: RBAC_FILTER, typed_config })),
    {
      name: ROUTER_FILTER,
      typed_config: packAny(typeUrlOf("Router"), codecs.Router.serialize({})),
    },
  ];
  const m: HttpConnectionManager = {
    stat_prefix: `inbound_${pod.ip}_${String(port)}`,
    route_config: {
      name: cluster,
      virtual_hosts: [
        {
          name: cluster,
          domains: ["*"],
          routes: [{ match: { prefix: "/" }, route: { cluster } }],
        },
      ],
    },
    http_filters,
  };
  return packAny(typeUrlOf("HttpConnectionManager"), codecs.HttpConnectionManager.serialize(m));
}

function chains(mode: MtlsMode, manager: Any, codecs: InboundCodecs): FilterChain[] {
  const filters = [{ name: HCM_FILTER, typed_config: manager }];
  const tls: FilterChain = {
    filter_chain_match: { transport_protocol: "tls" },
    transport_socket: downstreamMtls(codecs),
    filters,
  };
  const plain: FilterChain = { filter_chain_match: { transport_protocol: "raw_buffer" }, filters };
  switch (mode) {
    case "STRICT":
      return [tls];
    case "PERMISSIVE":
      return [tls, plain];
    case "DISABLE":
      return [plain];
    default:
      return assertNever(mode, "mTLS mode");
  }
}

/** The listener of one pod port under the policies that apply to the pod. */
export function inboundListener(
  pod: PodModel,
  port: number,
  security: SecurityModel,
  codecs: InboundCodecs,
): InboundListener {
  const mode = modeForPort(
    resolveMtls(security.peerAuthentications, pod.namespace, pod.labels, security.rootNamespace),
    port,
  );
  const policies = policiesFor(
    security.authorizationPolicies,
    pod.namespace,
    pod.labels,
    security.rootNamespace,
  );
  const rbac = compileRbac(policies).map((r) =>
    packAny(typeUrlOf("RBAC"), codecs.RBAC.serialize(r)),
  );
  const name = inboundListenerName(pod.ip, port);
  return {
    message: {
      name,
      address: { socket_address: { address: pod.ip, port_value: port } },
      filter_chains: chains(mode, hcm(pod, port, rbac, codecs), codecs),
    },
    secrets: mode === "DISABLE" ? [] : [ROOTCA_SECRET],
  };
}
