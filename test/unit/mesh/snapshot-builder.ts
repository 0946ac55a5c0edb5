// Routing snapshots by hand for the proxy's tests: virtual hosts, routes and clusters in a few
// lines, with Envoy's defaults where a test does not care.
import type {
  CircuitBreaker,
  ClusterConfig,
  EndpointSet,
  FaultPolicy,
  HeaderMatcher,
  LbPolicy,
  OutlierDetection,
  PathMatcher,
  QueryMatcher,
  RetryPolicy,
  Route,
  RoutingSnapshot,
  VirtualHost,
} from "../../../mesh/routing/model.js";
import { DEFAULT_CIRCUIT_BREAKER } from "../../../mesh/routing/model.js";
import { OUTBOUND_HTTP_LISTENER } from "../../../src/xds/names.js";

export interface RouteSpec {
  readonly path?: PathMatcher;
  readonly headers?: readonly HeaderMatcher[];
  readonly query?: readonly QueryMatcher[];
  readonly fraction?: number;
  /** One cluster, or weighted clusters. */
  readonly to: string | readonly (readonly [string, number])[];
  readonly timeoutMs?: number;
  readonly retry?: Partial<Omit<RetryPolicy, "retryOn">> & { readonly retryOn: readonly string[] };
  readonly fault?: FaultPolicy;
  readonly mirrors?: readonly { readonly cluster: string; readonly fraction: number }[];
}

export interface VhostSpec {
  readonly domains: readonly string[];
  readonly routes: readonly RouteSpec[];
}

export interface ClusterSpec {
  /** Ports on 127.0.0.1, or full endpoints. */
  readonly endpoints: readonly (number | { address: string; port: number; weight?: number })[];
  readonly lb?: LbPolicy;
  readonly http2?: boolean;
  readonly connectTimeoutMs?: number;
  readonly circuitBreaker?: Partial<CircuitBreaker>;
  readonly outlier?: OutlierDetection;
}

export interface SnapshotSpec {
  readonly vhosts: readonly VhostSpec[];
  readonly clusters: Readonly<Record<string, ClusterSpec>>;
  /** Listener and route configuration name; the outbound listener's by default. */
  readonly listener?: string;
}

function route(spec: RouteSpec, i: number): Route {
  const clusters =
    typeof spec.to === "string"
      ? [{ cluster: spec.to, weight: 1 }]
      : spec.to.map(([cluster, weight]) => ({ cluster, weight }));
  const retry: RetryPolicy | undefined =
    spec.retry === undefined
      ? undefined
      : {
          retryOn: new Set(spec.retry.retryOn),
          numRetries: spec.retry.numRetries ?? 2,
          perTryTimeoutMs: spec.retry.perTryTimeoutMs ?? 0,
          retriableStatusCodes: spec.retry.retriableStatusCodes ?? new Set(),
          backoffBaseMs: spec.retry.backoffBaseMs ?? 1,
          backoffMaxMs: spec.retry.backoffMaxMs ?? 5,
        };
  return {
    kind: "forward",
    name: `route-${i}`,
    match: {
      path: spec.path ?? { kind: "prefix", value: "/" },
      caseSensitive: true,
      headers: spec.headers ?? [],
      query: spec.query ?? [],
      fraction: spec.fraction ?? 1,
    },
    action: {
      clusters,
      totalWeight: clusters.reduce((s, c) => s + c.weight, 0),
      timeoutMs: spec.timeoutMs ?? 0,
      ...(retry !== undefined && { retry }),
      mirrors: spec.mirrors ?? [],
    },
    ...(spec.fault !== undefined && { fault: spec.fault }),
  };
}

/** Longer patterns are more specific; `*` alone comes last. */
function specificity(pattern: string): number {
  return pattern === "*" ? -1 : pattern.length;
}

export function buildSnapshot(spec: SnapshotSpec): RoutingSnapshot {
  const name = spec.listener ?? OUTBOUND_HTTP_LISTENER;
  const virtualHosts: VirtualHost[] = spec.vhosts.map((v, i) => ({
    name: `vhost-${i}`,
    domains: v.domains,
    routes: v.routes.map(route),
  }));
  const byDomain = new Map<string, VirtualHost>();
  const wildcards: { pattern: string; host: VirtualHost }[] = [];
  for (const host of virtualHosts) {
    for (const d of host.domains) {
      if (d.includes("*")) wildcards.push({ pattern: d.toLowerCase(), host });
      else byDomain.set(d.toLowerCase(), host);
    }
  }
  wildcards.sort((a, b) => specificity(b.pattern) - specificity(a.pattern));
  const clusters = new Map<string, ClusterConfig>();
  const endpoints = new Map<string, EndpointSet>();
  for (const [cname, c] of Object.entries(spec.clusters)) {
    clusters.set(cname, {
      name: cname,
      edsName: cname,
      lb: c.lb ?? "ROUND_ROBIN",
      connectTimeoutMs: c.connectTimeoutMs ?? 1_000,
      circuitBreaker: { ...DEFAULT_CIRCUIT_BREAKER, ...c.circuitBreaker },
      ...(c.outlier !== undefined && { outlier: c.outlier }),
      http2: c.http2 ?? false,
    });
    endpoints.set(cname, {
      cluster: cname,
      endpoints: c.endpoints.map((e) =>
        typeof e === "number"
          ? { address: "127.0.0.1", port: e, zone: "", weight: 1 }
          : { address: e.address, port: e.port, zone: "", weight: e.weight ?? 1 },
      ),
    });
  }
  return {
    versions: new Map(),
    listeners: new Map([[name, { name, routeConfig: name }]]),
    routeTables: new Map([[name, { name, virtualHosts, byDomain, wildcards }]]),
    clusters,
    endpoints,
  };
}

export const exact = (value: string): PathMatcher => ({ kind: "exact", value });
export const prefix = (value: string): PathMatcher => ({ kind: "prefix", value });

export function header(name: string, value: string, invert = false): HeaderMatcher {
  return { name, match: { kind: "exact", value, ignoreCase: false }, invert };
}
