// The full names and type URLs of the Envoy messages vireo packs into an Any. Kept apart from
// protos.ts so that the proxy can name them without loading proto-loader.

export const FULL_NAMES = {
  Listener: "envoy.config.listener.v3.Listener",
  RouteConfiguration: "envoy.config.route.v3.RouteConfiguration",
  Cluster: "envoy.config.cluster.v3.Cluster",
  ClusterLoadAssignment: "envoy.config.endpoint.v3.ClusterLoadAssignment",
  Secret: "envoy.extensions.transport_sockets.tls.v3.Secret",
  HttpConnectionManager:
    "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
  Router: "envoy.extensions.filters.http.router.v3.Router",
  HTTPFault: "envoy.extensions.filters.http.fault.v3.HTTPFault",
  RBAC: "envoy.extensions.filters.http.rbac.v3.RBAC",
  RBACPerRoute: "envoy.extensions.filters.http.rbac.v3.RBACPerRoute",
  UpstreamTlsContext: "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
  DownstreamTlsContext: "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
} as const;

export type CodecName = keyof typeof FULL_NAMES;

/** `type.googleapis.com/<full name>` of a codec's message. */
export function typeUrlOf(name: CodecName): string {
  return `type.googleapis.com/${FULL_NAMES[name]}`;
}
