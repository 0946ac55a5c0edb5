// Resource names, one convention for every translator and client (Istio's where it has one).
import { DEFAULT_DOMAIN } from "./model.js";

export function fqdn(namespace: string, service: string, domain = DEFAULT_DOMAIN): string {
  return `${service}.${namespace}.svc.${domain}`;
}

/** `outbound|9898||podinfo.demo.svc.cluster.local`: a Service port as an upstream cluster. */
export function clusterName(
  namespace: string,
  service: string,
  port: number,
  domain = DEFAULT_DOMAIN,
): string {
  return `outbound|${port}||${fqdn(namespace, service, domain)}`;
}

/** Route configuration of one Service port, used by its API listeners. */
export function routeConfigName(
  namespace: string,
  service: string,
  port: number,
  domain = DEFAULT_DOMAIN,
): string {
  return `${fqdn(namespace, service, domain)}:${port}`;
}

/**
 * The host names a workload may use for a Service port, without and with the port. The bare
 * name is left out: it depends on the caller's namespace, so proxies expand it themselves.
 */
export function hostAliases(
  namespace: string,
  service: string,
  port: number,
  domain = DEFAULT_DOMAIN,
): string[] {
  const hosts = [
    fqdn(namespace, service, domain),
    `${service}.${namespace}.svc`,
    `${service}.${namespace}`,
  ];
  return [...hosts, ...hosts.map((h) => `${h}:${port}`)];
}

/** The listener and route configuration every vireo proxy uses for outbound HTTP. */
export const OUTBOUND_HTTP_LISTENER = "vireo-outbound-http";
export const OUTBOUND_HTTP_ROUTE = "vireo-outbound-http";

/** The inbound server listener of a pod port; proxies and proxyless servers subscribe by it. */
export const INBOUND_LISTENER_TEMPLATE = "vireo/inbound?address=%s";

export function inboundListenerName(ip: string, port: number): string {
  const host = ip.includes(":") ? `[${ip}]` : ip;
  return INBOUND_LISTENER_TEMPLATE.replace("%s", `${host}:${port}`);
}

/** Where an inbound listener sends requests: the workload's own port (proxy-local, not in CDS). */
export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

/** SDS names, Istio's: the trust bundle from the control plane, the proxy's own certificate. */
export const ROOTCA_SECRET = "ROOTCA";
export const DEFAULT_SECRET = "default";

/**
 * The cluster a route sends the share of its invalid backends to. It is never in CDS, so the
 * request fails as the route's cluster_not_found_response_code says (500 for Gateway API routes).
 */
export const INVALID_BACKEND_CLUSTER = "vireo|invalid-backend";
