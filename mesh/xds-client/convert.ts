// Decoded Envoy v3 resources (as proto-loader gives them) to the proxy's routing model. Pure: each
// resource converts whole or is rejected with a message naming it and the problem.
import { isIP } from "node:net";
import type { Cluster__Output } from "../../src/xds/generated/envoy/config/cluster/v3/Cluster.js";
import type { ClusterLoadAssignment__Output } from "../../src/xds/generated/envoy/config/endpoint/v3/ClusterLoadAssignment.js";
import type { LbEndpoint__Output } from "../../src/xds/generated/envoy/config/endpoint/v3/LbEndpoint.js";
import type { Listener__Output } from "../../src/xds/generated/envoy/config/listener/v3/Listener.js";
import type { RouteConfiguration__Output } from "../../src/xds/generated/envoy/config/route/v3/RouteConfiguration.js";
import type { Secret__Output } from "../../src/xds/generated/envoy/extensions/transport_sockets/tls/v3/Secret.js";
import type { Any__Output } from "../../src/xds/generated/google/protobuf/Any.js";
import type { ClusterConfig, Endpoint, EndpointSet, RouteTable } from "../routing/model.js";
import type { TrustBundle } from "../routing/security-model.js";
import { clusterConfig } from "./convert-cluster.js";
import type { ListenerResource } from "./convert-listener.js";
import { listenerResource } from "./convert-listener.js";
import { trustBundle } from "./convert-tls.js";
import { routeTable } from "./convert-route.js";
import type { ConvertResult } from "./proto-values.js";
import { fail, guarded, u32, unpack } from "./proto-values.js";
import type { KindValues, ResourceKind } from "./resource-kinds.js";
import { LABEL, TYPE_URL } from "./resource-kinds.js";

export type { ConvertResult } from "./proto-values.js";
export { DEFAULT_ROUTE_TIMEOUT_MS } from "./convert-route.js";
export { DEFAULT_CONNECT_TIMEOUT_MS } from "./convert-cluster.js";

/** Envoy routes only to HEALTHY and UNKNOWN endpoints (UNKNOWN: no health checking). */
const ROUTABLE = new Set(["HEALTHY", "UNKNOWN"]);

function endpoint(e: LbEndpoint__Output, zone: string): Endpoint {
  if (e.host_identifier !== "endpoint" || e.endpoint === null || e.endpoint === undefined)
    fail("endpoint_name references are not supported");
  const sa = e.endpoint.address?.socket_address;
  if (sa === null || sa === undefined) fail("only socket addresses are supported");
  if (isIP(sa.address) === 0) fail(`endpoint address ${sa.address} is not an IP address`);
  const port = sa.port_value ?? 0;
  if (sa.port_specifier !== "port_value" || port < 1 || port > 65535)
    fail(`endpoint ${sa.address} has no valid port_value`);
  const weight = u32(e.load_balancing_weight, 1);
  if (weight < 1) fail(`endpoint ${sa.address}:${port} has load_balancing_weight 0`);
  return { address: sa.address, port, zone, weight };
}

/**
 * Routable endpoints of the most preferred priority that has endpoints (a simplification of Envoy's
 * priority spill-over: all or nothing per level). Locality weights are ignored, as Envoy does
 * unless locality-weighted balancing is configured.
 */
function endpointSet(cla: ClusterLoadAssignment__Output): EndpointSet {
  const byPriority = new Map<number, Endpoint[]>();
  for (const locality of cla.endpoints) {
    if (locality.lb_config !== undefined) fail(`locality ${locality.lb_config} is not supported`);
    const zone = locality.locality?.zone ?? "";
    const list = byPriority.get(locality.priority) ?? [];
    byPriority.set(locality.priority, list);
    for (const e of locality.lb_endpoints) {
      const converted = endpoint(e, zone);
      if (ROUTABLE.has(e.health_status)) list.push(converted);
    }
  }
  const best = [...byPriority].sort(([a], [b]) => a - b).find(([, list]) => list.length > 0);
  return { cluster: cla.cluster_name, endpoints: best?.[1] ?? [] };
}

/** How a resource is named in rejections: `RouteConfiguration r`. */
function label(kind: string, name: string): string {
  return `${kind} ${name === "" ? "(unnamed)" : name}`;
}

export function convertListener(l: Listener__Output): ConvertResult<ListenerResource> {
  return guarded(label("Listener", l.name), () => {
    if (l.name === "") fail("no name");
    return listenerResource(l);
  });
}

export function convertSecret(s: Secret__Output): ConvertResult<TrustBundle> {
  return guarded(label("Secret", s.name), () => {
    if (s.name === "") fail("no name");
    return trustBundle(s);
  });
}

export function convertRouteConfiguration(
  rc: RouteConfiguration__Output,
): ConvertResult<RouteTable> {
  return guarded(label("RouteConfiguration", rc.name), () => {
    if (rc.name === "") fail("no name");
    return routeTable(rc);
  });
}

export function convertCluster(c: Cluster__Output): ConvertResult<ClusterConfig> {
  return guarded(label("Cluster", c.name), () => {
    if (c.name === "") fail("no name");
    return clusterConfig(c);
  });
}

export function convertLoadAssignment(
  cla: ClusterLoadAssignment__Output,
): ConvertResult<EndpointSet> {
  return guarded(label("ClusterLoadAssignment", cla.cluster_name), () => {
    if (cla.cluster_name === "") fail("no cluster_name");
    return endpointSet(cla);
  });
}

/** The name a converted resource is known by in xDS. */
export function nameOf<K extends ResourceKind>(kind: K, value: KindValues[K]): string {
  return kind === "endpoint" ? (value as EndpointSet).cluster : (value as { name: string }).name;
}

type Converter<K extends ResourceKind> = (message: never) => ConvertResult<KindValues[K]>;

const CONVERTERS: { readonly [K in ResourceKind]: Converter<K> } = {
  listener: convertListener,
  route: convertRouteConfiguration,
  cluster: convertCluster,
  endpoint: convertLoadAssignment,
  secret: convertSecret,
};

/** One packed resource of a response: checks its type, then converts it. */
export function convertResource<K extends ResourceKind>(
  kind: K,
  packed: Any__Output | null,
): ConvertResult<KindValues[K]> {
  const label = LABEL[kind];
  let message: unknown;
  try {
    message = unpack(packed, TYPE_URL[kind], `a ${label} response resource`);
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  const convert = CONVERTERS[kind] as (m: unknown) => ConvertResult<KindValues[K]>;
  return convert(message);
}
