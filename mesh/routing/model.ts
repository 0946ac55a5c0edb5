// The proxy's routing configuration: validated once from xDS resources, immutable, and read by
// the request path without further checks. A new configuration replaces the old one whole.
import type { HeaderMatcher, StringMatcher } from "./match-types.js";
import type { InboundListenerConfig, TrustBundle, UpstreamTls } from "./security-model.js";

export type { HeaderMatcher, StringMatcher } from "./match-types.js";

export interface QueryMatcher {
  readonly name: string;
  readonly match: StringMatcher;
}

export type PathMatcher =
  | { readonly kind: "prefix"; readonly value: string }
  | { readonly kind: "exact"; readonly value: string }
  | { readonly kind: "regex"; readonly regex: RegExp };

export interface RouteMatch {
  readonly path: PathMatcher;
  readonly caseSensitive: boolean;
  readonly headers: readonly HeaderMatcher[];
  readonly query: readonly QueryMatcher[];
  /** Fraction of matching requests this route takes (runtime_fraction), 0-1; 1 when absent. */
  readonly fraction: number;
}

export interface WeightedCluster {
  readonly cluster: string;
  readonly weight: number;
}

export interface RetryPolicy {
  /** Envoy retry_on conditions: 5xx, gateway-error, reset, connect-failure, retriable-4xx, refused-stream, retriable-status-codes, and gRPC ones. */
  readonly retryOn: ReadonlySet<string>;
  readonly numRetries: number;
  /** 0 means the route timeout alone bounds each try. */
  readonly perTryTimeoutMs: number;
  readonly retriableStatusCodes: ReadonlySet<number>;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

export interface FaultPolicy {
  readonly delay?: { readonly ms: number; readonly fraction: number };
  readonly abort?: {
    readonly httpStatus?: number;
    readonly grpcStatus?: number;
    readonly fraction: number;
  };
}

export interface MirrorPolicy {
  readonly cluster: string;
  /** 0-1 */
  readonly fraction: number;
}

export interface RouteAction {
  readonly clusters: readonly WeightedCluster[];
  readonly totalWeight: number;
  /** 0 means no timeout. */
  readonly timeoutMs: number;
  readonly retry?: RetryPolicy;
  readonly mirrors: readonly MirrorPolicy[];
  /**
   * The status when the drawn cluster is not in the snapshot (cluster_not_found_response_code):
   * 503 when absent; 500 for the share of a Gateway API route's invalid backends.
   */
  readonly clusterNotFoundStatus?: number;
}

/** Envoy's HeaderAppendAction (the deprecated `append` bool is one of the first and third). */
export type AppendAction =
  /** APPEND_IF_EXISTS_OR_ADD: one more value, whatever is there. */
  | "append"
  /** ADD_IF_ABSENT */
  | "add-if-absent"
  /** OVERWRITE_IF_EXISTS_OR_ADD */
  | "overwrite"
  /** OVERWRITE_IF_EXISTS: nothing when the header is absent. */
  | "overwrite-if-exists";

export interface HeaderAdd {
  /** Lower case. */
  readonly name: string;
  readonly value: string;
  readonly action: AppendAction;
}

/**
 * The header changes of one level (route, virtual host or route configuration), applied as
 * Envoy's HeaderParser does: removals first, then every add's condition is read, then
 * overwrites, then appends.
 */
export interface HeaderEdits {
  /** Lower case. */
  readonly remove: readonly string[];
  readonly add: readonly HeaderAdd[];
}

/** A path rewrite: what the path matcher matched replaced, or every match of a regex. */
export type PathRewrite =
  /** prefix_rewrite */
  | { readonly kind: "prefix"; readonly value: string }
  /** regex_rewrite, on the path without its query; numbers are the groups to substitute. */
  | {
      readonly kind: "regex";
      readonly pattern: RegExp;
      readonly substitution: readonly (string | number)[];
    };

/** What a route changes on the way: the request it forwards, and the response it returns. */
export interface RouteEdits {
  /** Levels in the order they apply (a later one overrides an earlier one); may be empty. */
  readonly request: readonly HeaderEdits[];
  readonly response: readonly HeaderEdits[];
  readonly path?: PathRewrite;
  /** host_rewrite_literal: the Host (:authority) sent upstream. */
  readonly hostRewrite?: string;
}

interface RouteBase {
  readonly name: string;
  readonly match: RouteMatch;
}

/** A route that forwards to its clusters. */
export interface ForwardRoute extends RouteBase {
  readonly kind: "forward";
  readonly action: RouteAction;
  readonly fault?: FaultPolicy;
  /** Absent when the route changes nothing, so the request path skips the step entirely. */
  readonly edits?: RouteEdits;
}

export type RedirectCode = 301 | 302 | 303 | 307 | 308;

/** Envoy's RedirectAction: each part of the Location the request's unless replaced. */
export interface Redirect {
  readonly kind: "redirect";
  readonly status: RedirectCode;
  readonly scheme?: string;
  readonly host?: string;
  /** 0: none. */
  readonly port: number;
  readonly path?: { readonly kind: "path"; readonly value: string } | PathRewrite;
  readonly stripQuery: boolean;
}

export interface DirectResponse {
  readonly kind: "direct";
  readonly status: number;
  readonly body: string;
}

/** A route the proxy answers itself (redirect or direct_response). */
export interface LocalRoute extends RouteBase {
  readonly kind: "local";
  readonly reply: Redirect | DirectResponse;
  /** Response header levels, as in RouteEdits; may be empty. */
  readonly response: readonly HeaderEdits[];
}

export type Route = ForwardRoute | LocalRoute;

export interface VirtualHost {
  readonly name: string;
  readonly domains: readonly string[];
  readonly routes: readonly Route[];
}

export interface RouteTable {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHost[];
  /** Exact domain (lower case, with and without port) to virtual host. */
  readonly byDomain: ReadonlyMap<string, VirtualHost>;
  /** Domains with `*` (suffix or prefix wildcards, or `*` alone), most specific first. */
  readonly wildcards: readonly { readonly pattern: string; readonly host: VirtualHost }[];
}

export type LbPolicy = "ROUND_ROBIN" | "RANDOM" | "LEAST_REQUEST" | "RING_HASH";

export interface CircuitBreaker {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
}

export interface OutlierDetection {
  readonly consecutive5xx: number;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionPercent: number;
}

export interface ClusterConfig {
  readonly name: string;
  readonly edsName: string;
  readonly lb: LbPolicy;
  readonly connectTimeoutMs: number;
  readonly circuitBreaker: CircuitBreaker;
  readonly outlier?: OutlierDetection;
  /** Speak HTTP/2 upstream (gRPC and h2c services). */
  readonly http2: boolean;
  /** Mutual TLS to the endpoints (their proxies); plaintext when absent. */
  readonly tls?: UpstreamTls;
}

export interface Endpoint {
  readonly address: string;
  readonly port: number;
  readonly zone: string;
  readonly weight: number;
}

export interface EndpointSet {
  readonly cluster: string;
  readonly endpoints: readonly Endpoint[];
}

export interface ListenerConfig {
  readonly name: string;
  readonly routeConfig: string;
}

/** Everything the data plane routes by, at one set of xDS versions. */
export interface RoutingSnapshot {
  /** Version per type URL as last ACKed. */
  readonly versions: ReadonlyMap<string, string>;
  readonly listeners: ReadonlyMap<string, ListenerConfig>;
  readonly routeTables: ReadonlyMap<string, RouteTable>;
  readonly clusters: ReadonlyMap<string, ClusterConfig>;
  readonly endpoints: ReadonlyMap<string, EndpointSet>;
  /** Inbound server listeners by name (`vireo/inbound?address=…`); none without security. */
  readonly inbound?: ReadonlyMap<string, InboundListenerConfig>;
  /** SDS trust bundles by name (`ROOTCA`). */
  readonly secrets?: ReadonlyMap<string, TrustBundle>;
}

export const EMPTY_SNAPSHOT: RoutingSnapshot = {
  versions: new Map(),
  listeners: new Map(),
  routeTables: new Map(),
  clusters: new Map(),
  endpoints: new Map(),
};

/** Defaults Envoy applies when a cluster sets no thresholds. */
export const DEFAULT_CIRCUIT_BREAKER: CircuitBreaker = {
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
};
