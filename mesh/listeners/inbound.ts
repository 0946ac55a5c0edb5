// The inbound listener's configuration: every request to the pod's port goes to the app on
// 127.0.0.1:<targetPort>, as a fixed one-route snapshot so inbound traffic takes the same path.
import type { ClusterConfig, Route, RoutingSnapshot, VirtualHost } from "../routing/model.js";

/** Istio's inbound clusters have no circuit-breaker limits to speak of (2^32 − 1). */
const UNLIMITED = 2 ** 32 - 1;
const INBOUND_CONNECT_TIMEOUT_MS = 10_000;

export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

/** Each inbound listener has a snapshot of its own, so one listener name serves them all. */
export const INBOUND_LISTENER = "vireo-inbound";

export function inboundSnapshot(port: number, targetPort: number): RoutingSnapshot {
  const cluster = inboundClusterName(port);
  const listener = INBOUND_LISTENER;
  const route: Route = {
    kind: "forward",
    name: "default",
    match: {
      path: { kind: "prefix", value: "/" },
      caseSensitive: true,
      headers: [],
      query: [],
      fraction: 1,
    },
    action: { clusters: [{ cluster, weight: 1 }], totalWeight: 1, timeoutMs: 0, mirrors: [] },
  };
  const host: VirtualHost = { name: "inbound", domains: ["*"], routes: [route] };
  const config: ClusterConfig = {
    name: cluster,
    edsName: cluster,
    lb: "ROUND_ROBIN",
    connectTimeoutMs: INBOUND_CONNECT_TIMEOUT_MS,
    circuitBreaker: {
      maxConnections: UNLIMITED,
      maxPendingRequests: UNLIMITED,
      maxRequests: UNLIMITED,
      maxRetries: UNLIMITED,
    },
    http2: false,
  };
  return {
    versions: new Map(),
    listeners: new Map([[listener, { name: listener, routeConfig: listener }]]),
    routeTables: new Map([
      [
        listener,
        {
          name: listener,
          virtualHosts: [host],
          byDomain: new Map(),
          wildcards: [{ pattern: "*", host }],
        },
      ],
    ]),
    clusters: new Map([[cluster, config]]),
    endpoints: new Map([
      [
        cluster,
        { cluster, endpoints: [{ address: "127.0.0.1", port: targetPort, zone: "", weight: 1 }] },
      ],
    ]),
  };
}
