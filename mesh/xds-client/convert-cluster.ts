// A Cluster as the model's ClusterConfig: EDS only, load-balancing policy (the newer
// load_balancing_policy first), connect timeout, circuit breakers, outlier detection, HTTP/2.
import type {
  Cluster__Output,
  _envoy_config_cluster_v3_Cluster_LbPolicy__Output as LbPolicyEnum,
} from "../../src/xds/generated/envoy/config/cluster/v3/Cluster.js";
import type { OutlierDetection__Output } from "../../src/xds/generated/envoy/config/cluster/v3/OutlierDetection.js";
import type { Any__Output } from "../../src/xds/generated/google/protobuf/Any.js";
import type {
  CircuitBreaker,
  ClusterConfig,
  LbPolicy,
  OutlierDetection,
} from "../routing/model.js";
import { DEFAULT_CIRCUIT_BREAKER } from "../routing/model.js";
import { upstreamTls } from "./convert-tls.js";
import { anyBytes, anyTypeUrl, checkAdsSource, durationMs, fail, u32 } from "./proto-values.js";

/** Envoy's connect timeout when none is given. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

const LB_EXTENSIONS: Readonly<Record<string, LbPolicy>> = {
  "envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin": "ROUND_ROBIN",
  "envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest": "LEAST_REQUEST",
  "envoy.extensions.load_balancing_policies.random.v3.Random": "RANDOM",
  "envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash": "RING_HASH",
};

const HTTP_OPTIONS_KEY = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

/** The first policy of load_balancing_policy we implement, as Envoy and gRPC pick it. */
function lbPolicy(c: Cluster__Output): LbPolicy {
  const policies = c.load_balancing_policy?.policies ?? [];
  if (policies.length > 0) {
    const types: string[] = [];
    for (const p of policies) {
      const typed = p.typed_extension_config?.typed_config;
      const type = typed === null || typed === undefined ? "" : anyTypeUrl(typed);
      const known = LB_EXTENSIONS[type.slice(type.lastIndexOf("/") + 1)];
      if (known !== undefined) return known;
      types.push(type);
    }
    fail(`load_balancing_policy has no supported policy (${types.join(", ")})`);
  }
  const lb: LbPolicyEnum = c.lb_policy;
  switch (lb) {
    case "ROUND_ROBIN":
    case "LEAST_REQUEST":
    case "RANDOM":
    case "RING_HASH":
      return lb;
    case "MAGLEV":
    case "CLUSTER_PROVIDED":
    case "LOAD_BALANCING_POLICY_CONFIG":
      return fail(`lb_policy ${lb} is not supported`);
  }
}

/** Envoy's thresholds for priority DEFAULT; unset fields keep Envoy's defaults. */
function circuitBreaker(c: Cluster__Output): CircuitBreaker {
  const t = c.circuit_breakers?.thresholds.find((x) => x.priority === "DEFAULT");
  if (t === undefined) return DEFAULT_CIRCUIT_BREAKER;
  const d = DEFAULT_CIRCUIT_BREAKER;
  return {
    maxConnections: u32(t.max_connections, d.maxConnections),
    maxPendingRequests: u32(t.max_pending_requests, d.maxPendingRequests),
    maxRequests: u32(t.max_requests, d.maxRequests),
    maxRetries: u32(t.max_retries, d.maxRetries),
  };
}

/**
 * Consecutive-5xx ejection with Envoy's defaults (5, every 10 s, 30 s base, 10 %). Enforcement is
 * all or nothing here: enforcing_consecutive_5xx 0 turns it off; any other value counts as 100 %.
 * Success-rate and gateway-failure ejection are not implemented and are ignored.
 */
function outlier(o: OutlierDetection__Output | null): OutlierDetection | undefined {
  if (o === null) return undefined;
  const consecutive5xx = u32(o.consecutive_5xx, 5);
  if (consecutive5xx === 0 || u32(o.enforcing_consecutive_5xx, 100) === 0) return undefined;
  const intervalMs = durationMs(o.interval, "outlier_detection.interval") ?? 10_000;
  const baseEjectionTimeMs =
    durationMs(o.base_ejection_time, "outlier_detection.base_ejection_time") ?? 30_000;
  if (intervalMs <= 0 || baseEjectionTimeMs <= 0)
    fail("outlier_detection interval and base_ejection_time must be positive");
  return {
    consecutive5xx,
    intervalMs,
    baseEjectionTimeMs,
    maxEjectionPercent: Math.min(100, u32(o.max_ejection_percent, 10)),
  };
}

/** The protobuf fields of one message, as (field number, wire type, payload) triples. */
function* fields(buf: Buffer): Generator<[number, number, Buffer | undefined]> {
  let i = 0;
  const varint = (): number => {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      const b = buf[i++];
      if (b === undefined || shift > 49) fail(`${HTTP_OPTIONS_KEY} is malformed`);
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const [field, wire] = [Math.floor(key / 8), key % 8];
    if (wire === 0) varint();
    else if (wire === 1 || wire === 5) i += wire === 1 ? 8 : 4;
    else if (wire === 2) {
      const len = varint();
      yield [field, wire, buf.subarray(i, i + len)];
      i += len;
      continue;
    } else fail(`${HTTP_OPTIONS_KEY} is malformed`);
    yield [field, wire, undefined];
  }
}

/**
 * HttpProtocolOptions is not in the codec table (nor among the control plane's protos), so it
 * stays packed; HTTP/2 is explicit_http_config (3) carrying http2_protocol_options (2).
 */
function explicitHttp2(a: Any__Output): boolean {
  const bytes = anyBytes(a);
  if (bytes === undefined) {
    const decoded = a as { explicit_http_config?: { http2_protocol_options?: unknown } | null };
    return (decoded.explicit_http_config?.http2_protocol_options ?? null) !== null;
  }
  for (const [field, , payload] of fields(bytes)) {
    if (field !== 3 || payload === undefined) continue;
    for (const [inner] of fields(payload)) if (inner === 2) return true;
  }
  return false;
}

function http2(c: Cluster__Output): boolean {
  if (c.http2_protocol_options !== null) return true;
  const options = c.typed_extension_protocol_options[HTTP_OPTIONS_KEY];
  return options !== undefined && explicitHttp2(options);
}

export function clusterConfig(c: Cluster__Output): ClusterConfig {
  const discovery =
    c.cluster_discovery_type === "cluster_type" ? "cluster_type" : (c.type ?? "STATIC");
  if (discovery !== "EDS") fail(`discovery type ${discovery} is not supported (only EDS)`);
  checkAdsSource(c.eds_cluster_config?.eds_config ?? null, "eds_config");
  const connectTimeoutMs =
    durationMs(c.connect_timeout, "connect_timeout") ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (connectTimeoutMs <= 0) fail("connect_timeout must be positive");
  const od = outlier(c.outlier_detection);
  if (c.transport_socket_matches.length > 0) fail("transport_socket_matches are not supported");
  const tls = upstreamTls(c.transport_socket);
  const serviceName = c.eds_cluster_config?.service_name;
  return {
    name: c.name,
    edsName: serviceName === undefined || serviceName === "" ? c.name : serviceName,
    lb: lbPolicy(c),
    connectTimeoutMs,
    circuitBreaker: circuitBreaker(c),
    ...(od !== undefined && { outlier: od }),
    http2: http2(c),
    ...(tls !== undefined && { tls }),
  };
}
