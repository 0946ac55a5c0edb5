// The routes of one Service port: A/B matches to the canary, then the weighted default route, all
// carrying the Rollout's retries, timeout and fault injection.
import type { RetryPolicy } from "../generated/envoy/config/route/v3/RetryPolicy.js";
import type { Route } from "../generated/envoy/config/route/v3/Route.js";
import type { RouteAction } from "../generated/envoy/config/route/v3/RouteAction.js";
import type { VirtualHost } from "../generated/envoy/config/route/v3/VirtualHost.js";
import type { HTTPFault } from "../generated/envoy/extensions/filters/http/fault/v3/HTTPFault.js";
import type { Any } from "../generated/google/protobuf/Any.js";
import type {
  FaultPolicy,
  PortProtocol,
  RetryPolicy as RetryModel,
  RoutingModel,
} from "../model.js";
import type { Codecs } from "../protos.js";
import { typeUrlOf } from "../protos.js";
import { duration, fraction, packAny, weightPercent } from "./proto-values.js";
import { routeMatch } from "./matches.js";

export const FAULT_FILTER = "envoy.filters.http.fault";

/** Where one Service port's traffic goes. */
export interface RouteTargets {
  /** Cluster for traffic not sent to the canary: the primary's, or the Service's own. */
  readonly stable: string;
  /** The canary's cluster; equal to `stable` when there is no canary to send to. */
  readonly canary: string;
  /** The Rollout routing through this Service, if any. */
  readonly routing?: RoutingModel;
  readonly protocol: PortProtocol;
}

function retryPolicy(r: RetryModel): RetryPolicy | undefined {
  const attempts = Math.round(r.attempts);
  // gRPC clients NACK num_retries 0; zero attempts means no retries (Istio).
  if (!(attempts >= 1)) return undefined;
  return {
    retry_on: r.retryOn,
    num_retries: { value: attempts },
    ...(r.perTryTimeoutMs !== undefined &&
      r.perTryTimeoutMs >= 1 && { per_try_timeout: duration(r.perTryTimeoutMs) }),
  };
}

/**
 * Istio's default when a route sets none: retry twice on failures that happen before the upstream
 * handled the request (refused or reset connections, 503 from an endpoint going away), so pods
 * coming and going during a release cost no request.
 */
export const DEFAULT_RETRY: RetryPolicy = {
  retry_on: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
  num_retries: { value: 2 },
  retriable_status_codes: [503],
};

/** A route's timeout (0: none), also as max_stream_duration for gRPC clients when set. */
export function timeoutFields(
  timeoutMs: number,
): Pick<RouteAction, "timeout" | "max_stream_duration"> {
  return {
    timeout: duration(timeoutMs),
    ...(timeoutMs >= 1 && {
      max_stream_duration: {
        max_stream_duration: duration(timeoutMs),
        grpc_timeout_header_max: duration(timeoutMs),
      },
    }),
  };
}

/**
 * Route-level policy. With no timeout the route has none (timeout 0), as in Istio, instead of
 * Envoy's 15 s default. gRPC clients read only max_stream_duration (gRFC A31), capped per call
 * like Istio does through grpc_timeout_header_max.
 */
function policyFields(
  routing: RoutingModel | undefined,
): Pick<RouteAction, "timeout" | "max_stream_duration" | "retry_policy"> {
  const retry = routing?.retries === undefined ? DEFAULT_RETRY : retryPolicy(routing.retries);
  return {
    ...timeoutFields(routing?.timeoutMs ?? 0),
    ...(retry !== undefined && { retry_policy: retry }),
  };
}

/** Envoy accepts abort codes 200..599; a gRPC port prefers the gRPC status when both are given. */
function faultAbort(
  a: NonNullable<FaultPolicy["abort"]>,
  protocol: PortProtocol,
): HTTPFault["abort"] {
  if (!(a.percent > 0)) return undefined;
  const grpc = a.grpcStatus !== undefined && Number.isInteger(a.grpcStatus) && a.grpcStatus >= 0;
  const http =
    a.httpStatus !== undefined &&
    Number.isInteger(a.httpStatus) &&
    a.httpStatus >= 200 &&
    a.httpStatus < 600;
  if (grpc && (protocol === "grpc" || !http))
    return { grpc_status: a.grpcStatus, percentage: fraction(a.percent) };
  if (http) return { http_status: a.httpStatus, percentage: fraction(a.percent) };
  return undefined;
}

export function faultConfig(f: FaultPolicy, protocol: PortProtocol): HTTPFault | undefined {
  const abort = f.abort && faultAbort(f.abort, protocol);
  const delay =
    f.delay !== undefined && f.delay.percent > 0 && f.delay.delayMs >= 1
      ? { fixed_delay: duration(f.delay.delayMs), percentage: fraction(f.delay.percent) }
      : undefined;
  if (abort === undefined && delay === undefined) return undefined;
  return { ...(delay !== undefined && { delay }), ...(abort !== undefined && { abort }) };
}

function perFilterConfig(
  t: RouteTargets,
  codecs: Pick<Codecs, "HTTPFault">,
): Pick<Route, "typed_per_filter_config"> {
  const fault = t.routing?.fault && faultConfig(t.routing.fault, t.protocol);
  if (fault === undefined) return {};
  const packed: Any = packAny(typeUrlOf("HTTPFault"), codecs.HTTPFault.serialize(fault));
  return { typed_per_filter_config: { [FAULT_FILTER]: packed } };
}

/**
 * Unmatched traffic: all to one cluster at weight 0 or 100, otherwise split with weights summing to
 * exactly 100 and total_weight set, which gRPC C-core before 1.55 requires.
 */
function split(t: RouteTargets): Pick<RouteAction, "cluster" | "weighted_clusters"> {
  const w = t.canary === t.stable ? 0 : weightPercent(t.routing?.canaryWeight ?? 0);
  if (w === 0) return { cluster: t.stable };
  if (w === 100) return { cluster: t.canary };
  return {
    weighted_clusters: {
      clusters: [
        { name: t.stable, weight: { value: 100 - w } },
        { name: t.canary, weight: { value: w } },
      ],
      total_weight: { value: 100 },
    },
  };
}

/** Copies of stable-bound requests for the canary; never when the canary already gets it all. */
function mirror(t: RouteTargets): Pick<RouteAction, "request_mirror_policies"> {
  const p = t.routing?.mirrorPercent ?? 0;
  if (t.canary === t.stable || !(p > 0) || weightPercent(t.routing?.canaryWeight ?? 0) === 100)
    return {};
  return {
    request_mirror_policies: [
      { cluster: t.canary, runtime_fraction: { default_value: fraction(p) } },
    ],
  };
}

export function buildRoutes(t: RouteTargets, codecs: Pick<Codecs, "HTTPFault">): Route[] {
  const policy = policyFields(t.routing);
  const filters = perFilterConfig(t, codecs);
  const matches = t.canary === t.stable ? [] : (t.routing?.canaryMatches ?? []);
  const abRoutes: Route[] = matches.map((m, i) => ({
    name: `canary-match-${i}`,
    match: routeMatch(m),
    route: { cluster: t.canary, ...policy },
    ...filters,
  }));
  const fallback: Route = {
    name: "default",
    match: { prefix: "/" },
    route: { ...split(t), ...policy, ...mirror(t) },
    ...filters,
  };
  return [...abRoutes, fallback];
}

export function virtualHost(
  name: string,
  domains: readonly string[],
  routes: Route[],
): VirtualHost {
  return { name, domains: [...domains], routes };
}
