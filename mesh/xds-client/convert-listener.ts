// Listeners: API listeners (an HttpConnectionManager over RDS, the outbound and gateway routes)
// and inbound server listeners `vireo/inbound?address=<ip>:<port>` (filter chains chosen by
// transport protocol, TLS termination, RBAC filters, an inline route configuration).
import { isIP } from "node:net";
import type { FilterChain__Output } from "../../src/xds/generated/envoy/config/listener/v3/FilterChain.js";
import type { Listener__Output } from "../../src/xds/generated/envoy/config/listener/v3/Listener.js";
import type { HttpFilter__Output } from "../../src/xds/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter.js";
import type { HttpConnectionManager__Output } from "../../src/xds/generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.js";
import type { RBAC__Output as HttpRbac__Output } from "../../src/xds/generated/envoy/extensions/filters/http/rbac/v3/RBAC.js";
import type { Any__Output } from "../../src/xds/generated/google/protobuf/Any.js";
import { typeUrlOf } from "../../src/xds/type-urls.js";
import type { RbacRules } from "../authz/rbac.js";
import type { ListenerConfig } from "../routing/model.js";
import type {
  ChainTransport,
  InboundChain,
  InboundListenerConfig,
} from "../routing/security-model.js";
import { rbacRules } from "./convert-rbac.js";
import { routeTable } from "./convert-route.js";
import { downstreamTls } from "./convert-tls.js";
import { anyTypeUrl, checkAdsSource, fail, unpack } from "./proto-values.js";

/** A listener as held by the client: an API listener or an inbound server listener. */
export type ListenerResource =
  | ({ readonly kind: "api" } & ListenerConfig)
  | ({ readonly kind: "inbound" } & InboundListenerConfig);

const RBAC = typeUrlOf("RBAC");
const ROUTER = typeUrlOf("Router");
/** HTTP filters the proxy implements; any other must be marked optional (as Envoy requires). */
const KNOWN_FILTERS = new Set([typeUrlOf("HTTPFault"), ROUTER, RBAC]);
/** The proxy sniffs TLS and HTTP itself; these listener filters say what it does anyway. */
const INSPECTORS = new Set([
  "envoy.filters.listener.tls_inspector",
  "envoy.filters.listener.http_inspector",
]);
const HCM_NAME = "envoy.filters.network.http_connection_manager";

function typeOf(a: Any__Output | null | undefined): string {
  return a === null || a === undefined ? "" : anyTypeUrl(a);
}

function checkFilters(filters: readonly HttpFilter__Output[]): void {
  for (const f of filters) {
    const type = typeOf(f.typed_config);
    if (!KNOWN_FILTERS.has(type) && !f.is_optional && !f.disabled)
      fail(`HTTP filter ${f.name} (${type || "no typed_config"}) is not supported`);
  }
}

function apiListener(l: Listener__Output): ListenerConfig {
  if (l.api_listener === null) fail("not an API listener (no api_listener)");
  const hcm = unpack(
    l.api_listener.api_listener,
    typeUrlOf("HttpConnectionManager"),
    "api_listener",
  ) as HttpConnectionManager__Output;
  if (hcm.route_specifier !== "rds" || hcm.rds === null || hcm.rds === undefined)
    fail(`HttpConnectionManager must use rds, not ${hcm.route_specifier ?? "nothing"}`);
  if (hcm.rds.route_config_name === "") fail("rds names no route configuration");
  checkAdsSource(hcm.rds.config_source, "rds config_source");
  checkFilters(hcm.http_filters);
  return { name: l.name, routeConfig: hcm.rds.route_config_name };
}

function transport(c: FilterChain__Output): ChainTransport {
  const m = c.filter_chain_match;
  if (m === null) return "either";
  if (
    m.prefix_ranges.length > 0 ||
    m.source_prefix_ranges.length > 0 ||
    m.direct_source_prefix_ranges.length > 0 ||
    m.source_ports.length > 0 ||
    m.server_names.length > 0 ||
    m.application_protocols.length > 0 ||
    m.destination_port !== null ||
    m.source_type !== "ANY"
  )
    fail("filter_chain_match may only set transport_protocol");
  switch (m.transport_protocol) {
    case "":
      return "either";
    case "tls":
    case "raw_buffer":
      return m.transport_protocol;
    default:
      return fail(`transport_protocol ${m.transport_protocol} is not supported`);
  }
}

/** The chain's HTTP connection manager: RBAC filters in order, then the router, last. */
function chainRbac(c: FilterChain__Output, what: string): RbacRules[] {
  if (c.filters.length !== 1 || c.filters[0]?.name !== HCM_NAME)
    fail(`${what}: exactly one filter, ${HCM_NAME}, is supported`);
  const hcm = unpack(
    c.filters[0].typed_config,
    typeUrlOf("HttpConnectionManager"),
    `${what} ${HCM_NAME}`,
  ) as HttpConnectionManager__Output;
  if (
    hcm.route_specifier !== "route_config" ||
    hcm.route_config === null ||
    hcm.route_config === undefined
  )
    fail(`${what}: the HttpConnectionManager needs an inline route_config`);
  routeTable(hcm.route_config);
  checkFilters(hcm.http_filters);
  const active = hcm.http_filters.filter((f) => !f.disabled);
  if (typeOf(active.at(-1)?.typed_config) !== ROUTER)
    fail(`${what}: the router must be the last HTTP filter`);
  const rules: RbacRules[] = [];
  for (const f of active) {
    if (typeOf(f.typed_config) !== RBAC) continue;
    const r = rbacRules(unpack(f.typed_config, RBAC, `HTTP filter ${f.name}`) as HttpRbac__Output);
    if (r !== undefined) rules.push(r);
  }
  return rules;
}

function chain(c: FilterChain__Output, i: number): InboundChain {
  const what = `filter chain ${c.name === "" ? String(i) : c.name}`;
  const t = transport(c);
  const socket = c.transport_socket;
  const tls = socket === null ? undefined : downstreamTls(socket);
  if (t === "tls" && tls === undefined) fail(`${what}: a tls chain needs a TLS transport socket`);
  if (t === "raw_buffer" && tls !== undefined)
    fail(`${what}: a raw_buffer chain cannot terminate TLS`);
  const rbac = chainRbac(c, what);
  return { name: c.name, transport: t, ...(tls !== undefined && { tls }), rbac };
}

function inboundListener(l: Listener__Output): InboundListenerConfig {
  const sa = l.address?.socket_address;
  if (sa === null || sa === undefined) fail("a server listener needs a socket address");
  if (isIP(sa.address) === 0) fail(`address ${sa.address} is not an IP address`);
  const port = sa.port_value ?? 0;
  if (sa.port_specifier !== "port_value" || port < 1 || port > 65535)
    fail(`address ${sa.address} has no valid port_value`);
  for (const f of l.listener_filters) {
    if (!INSPECTORS.has(f.name)) fail(`listener filter ${f.name} is not supported`);
  }
  if (l.default_filter_chain !== null) fail("default_filter_chain is not supported");
  const chains = l.filter_chains.map(chain);
  const seen = new Set<ChainTransport>();
  for (const c of chains) {
    if (seen.has(c.transport)) fail(`two filter chains match transport ${c.transport}`);
    seen.add(c.transport);
  }
  return { name: l.name, address: sa.address, port, chains };
}

export function listenerResource(l: Listener__Output): ListenerResource {
  return l.api_listener === null
    ? { kind: "inbound", ...inboundListener(l) }
    : { kind: "api", ...apiListener(l) };
}
