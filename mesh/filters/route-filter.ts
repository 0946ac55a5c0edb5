// The first step of the request path: find the route for the request in the listener's route
// table (404 NR without one; a redirect or direct response answered here), draw its cluster from
// the weighted set (NC if the snapshot has no such cluster: 503, or the route's own code), and
// decide whether the body must be kept for retries or mirrors.
import type { RoutingSnapshot } from "../routing/model.js";
import { pickCluster, selectRoute, selectVirtualHost } from "../routing/router.js";
import type { UpstreamCluster } from "../upstream/cluster.js";
import type { ClusterManager } from "../upstream/cluster-manager.js";
import { localReply } from "./local-reply.js";
import { localRouteReply } from "./local-route.js";
import type { Handler, ProxyRequest, RoutedHandler } from "./pipeline.js";

export interface RouteDeps {
  readonly snapshot: () => RoutingSnapshot;
  /** Listener whose route configuration this listener serves. */
  readonly listener: string;
  readonly clusters: ClusterManager;
  readonly random: () => number;
  /** Speak HTTP/2 upstream when the downstream does (inbound: the app gets what was sent). */
  readonly useDownstreamProtocol: boolean;
}

export function routeStep(deps: RouteDeps): (next: RoutedHandler) => Handler {
  return (next) => (x) => {
    const snap = deps.snapshot();
    const { request, record } = x;
    const rc = snap.listeners.get(deps.listener)?.routeConfig;
    const table = rc === undefined ? undefined : snap.routeTables.get(rc);
    const vhost = table && selectVirtualHost(table, request.lookupAuthority);
    const route = vhost && selectRoute(vhost, request, deps.random);
    if (route === undefined) {
      record.flag("NR");
      return Promise.resolve(localReply(404, ""));
    }
    if (route.kind === "local") return Promise.resolve(localRouteReply(route, request));
    const name = pickCluster(route.action, deps.random);
    record.upstreamCluster = name;
    const clusterNamed = (n: string): UpstreamCluster | undefined => {
      const config = snap.clusters.get(n);
      return config && deps.clusters.get(config, snap.endpoints.get(config.edsName));
    };
    const cluster = name === undefined ? undefined : clusterNamed(name);
    if (cluster === undefined) {
      record.flag("NC");
      return Promise.resolve(localReply(route.action.clusterNotFoundStatus ?? 503, ""));
    }
    // The source reporter's source_principal is the proxy's own identity over mutual TLS.
    if (cluster.mutualTls) record.mutualTls = true;
    if (route.action.retry !== undefined || route.action.mirrors.length > 0) request.body.retain();
    const http2For = (c: UpstreamCluster): boolean => speaksHttp2(c, request, deps);
    return next({ request, record, route, cluster, clusterNamed, http2For });
  };
}

/** gRPC needs HTTP/2 whatever the cluster says. */
function speaksHttp2(c: UpstreamCluster, req: ProxyRequest, deps: RouteDeps): boolean {
  return c.http2 || req.grpc || (deps.useDownstreamProtocol && req.http2);
}
