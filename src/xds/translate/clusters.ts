// One EDS cluster per Service port, with the DestinationRule-style traffic policy of the Rollout
// that routes through it.
import type { Cluster } from "../generated/envoy/config/cluster/v3/Cluster.js";
import type { LoadBalancingPolicy } from "../generated/envoy/config/cluster/v3/LoadBalancingPolicy.js";
import type { LoadBalancer, TrafficPolicy } from "../model.js";
import { assertNever } from "../../common/assert-never.js";
import { ADS, duration, packAny } from "./proto-values.js";

export const DEFAULT_CONNECT_TIMEOUT_MS = 1000;

const LB_EXTENSION = "type.googleapis.com/envoy.extensions.load_balancing_policies";

/** An empty extension config: every field default, so its encoding is zero bytes. */
function lbExtension(name: string, message: string): LoadBalancingPolicy {
  return {
    policies: [
      {
        typed_extension_config: {
          name: `envoy.load_balancing_policies.${name}`,
          typed_config: packAny(`${LB_EXTENSION}.${name}.v3.${message}`, Buffer.alloc(0)),
        },
      },
      {
        typed_extension_config: {
          name: "envoy.load_balancing_policies.round_robin",
          typed_config: packAny(`${LB_EXTENSION}.round_robin.v3.RoundRobin`, Buffer.alloc(0)),
        },
      },
    ],
  };
}

/**
 * gRPC clients accept only ROUND_ROBIN and RING_HASH in `lb_policy` and NACK the cluster for
 * anything else. LEAST_REQUEST and RANDOM therefore go into `load_balancing_policy` (which takes
 * precedence wherever it is understood: Envoy, grpc-js, grpc-go) with round robin as the fallback
 * a gRPC client picks, while `lb_policy` stays ROUND_ROBIN for clients that predate it.
 */
function lbFields(lb: LoadBalancer): Pick<Cluster, "lb_policy" | "load_balancing_policy"> {
  switch (lb) {
    case "ROUND_ROBIN":
      return { lb_policy: "ROUND_ROBIN" };
    case "RING_HASH":
      return { lb_policy: "RING_HASH" };
    case "LEAST_REQUEST":
      return {
        lb_policy: "ROUND_ROBIN",
        load_balancing_policy: lbExtension("least_request", "LeastRequest"),
      };
    case "RANDOM":
      return { lb_policy: "ROUND_ROBIN", load_balancing_policy: lbExtension("random", "Random") };
    default:
      return assertNever(lb, "load balancer");
  }
}

function u32(n: number): { value: number } {
  return { value: Number.isFinite(n) && n > 0 ? Math.min(Math.round(n), 0xffffffff) : 0 };
}

function circuitBreakers(
  cb: NonNullable<TrafficPolicy["circuitBreaker"]>,
): Cluster["circuit_breakers"] {
  const t = {
    ...(cb.maxConnections !== undefined && { max_connections: u32(cb.maxConnections) }),
    ...(cb.maxPendingRequests !== undefined && {
      max_pending_requests: u32(cb.maxPendingRequests),
    }),
    ...(cb.maxRequests !== undefined && { max_requests: u32(cb.maxRequests) }),
    ...(cb.maxRetries !== undefined && { max_retries: u32(cb.maxRetries) }),
  };
  if (Object.keys(t).length === 0) return undefined;
  return { thresholds: [{ priority: "DEFAULT", ...t }] };
}

/**
 * Istio's translation: consecutive 5xx only (success-rate ejection off, which gRPC would otherwise
 * enable by default), and panic mode off so ejected hosts really receive nothing.
 */
function outlierFields(
  od: NonNullable<TrafficPolicy["outlierDetection"]>,
): Pick<Cluster, "outlier_detection" | "common_lb_config"> {
  const consecutive = u32(od.consecutive5xx);
  return {
    outlier_detection: {
      consecutive_5xx: consecutive,
      enforcing_consecutive_5xx: { value: consecutive.value > 0 ? 100 : 0 },
      enforcing_success_rate: { value: 0 },
      // Envoy requires both durations to be positive.
      interval: duration(Math.max(1, od.intervalMs)),
      base_ejection_time: duration(Math.max(1, od.baseEjectionTimeMs)),
      max_ejection_percent: { value: Math.min(100, u32(od.maxEjectionPercent).value) },
    },
    common_lb_config: { healthy_panic_threshold: { value: 0 } },
  };
}

/** The cluster for a Service port; its endpoints come over ADS under the same name. */
export function buildCluster(name: string, policy: TrafficPolicy | undefined): Cluster {
  const connectMs = policy?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const cb = policy?.circuitBreaker && circuitBreakers(policy.circuitBreaker);
  return {
    name,
    type: "EDS",
    eds_cluster_config: { eds_config: ADS, service_name: name },
    // Envoy rejects a zero connect timeout.
    connect_timeout: duration(connectMs >= 1 ? connectMs : DEFAULT_CONNECT_TIMEOUT_MS),
    ...lbFields(policy?.loadBalancer ?? "ROUND_ROBIN"),
    ...(cb !== undefined && { circuit_breakers: cb }),
    ...(policy?.outlierDetection !== undefined && outlierFields(policy.outlierDetection)),
  };
}
