// The built-in checks: PromQL over the metrics vireo's proxies export (Istio's names and labels
// with the vireo_ prefix), scoped to one workload as its own proxies report it. Flagger's queries
// are the model, with two fixes: exact label matches instead of regexes, and a canary that
// answers only 5xx measures 0 % rather than no data.
import type { BUILTIN_METRICS } from "../api/defaults.js";

export type BuiltinMetric = (typeof BUILTIN_METRICS)[number];

/** Requests one workload received, as its own (server-side) proxies report them. */
export interface WorkloadScope {
  readonly namespace: string;
  /** The Deployment: the target for the canary, `<target>-primary` for the primary. */
  readonly workload: string;
  readonly windowMs: number;
}

export interface BuiltinCheck {
  /** How values are shown: "98.7 %", "420 ms". */
  readonly unit: string;
  readonly query: (scope: WorkloadScope) => string;
}

export const REQUESTS_METRIC = "vireo_requests_total";

/**
 * gRPC answers an error inside HTTP 200, in the grpc-status trailer: these codes are the server's
 * fault (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS), the
 * counterpart of a 5xx. A client's own errors (INVALID_ARGUMENT, NOT_FOUND, ...) are not counted,
 * as a 4xx is not. Plain HTTP has an empty grpc_response_status, which never matches.
 */
export const GRPC_SERVER_FAULTS = "2|4|12|13|14|15";
/** Matchers of a request that did not fail: not 5xx, and no gRPC server fault. */
export const SUCCEEDED = `response_code!~"5..",grpc_response_status!~"${GRPC_SERVER_FAULTS}"`;
/** The two disjoint halves of the failed requests (summed, a 5xx with a gRPC code counts once). */
export const FAILED = [
  `response_code=~"5.."`,
  `response_code!~"5..",grpc_response_status=~"${GRPC_SERVER_FAULTS}"`,
] as const;
export const DURATION_METRIC = "vireo_request_duration_milliseconds";

/** The registry of built-in checks (the parser refuses other names without a templateRef). */
export const BUILTIN_CHECKS: Readonly<Record<BuiltinMetric, BuiltinCheck>> = {
  "request-success-rate": { unit: "%", query: successRateQuery },
  "request-duration": { unit: "ms", query: durationP99Query },
};

export function isBuiltinMetric(name: string): name is BuiltinMetric {
  return Object.hasOwn(BUILTIN_CHECKS, name);
}

/**
 * Percentage of responses that are not 5xx nor a gRPC server fault. No requests in the window gives 0/0 = NaN and no
 * series at all an empty vector: both "no data", never a number.
 */
export function successRateQuery(s: WorkloadScope): string {
  const all = `${REQUESTS_METRIC}{${selector(s)}}`;
  const ok = `${REQUESTS_METRIC}{${selector(s)},${SUCCEEDED}}`;
  const w = promDuration(s.windowMs);
  return `100 * (sum(rate(${ok}[${w}])) or vector(0)) / sum(rate(${all}[${w}]))`;
}

/** 99th percentile in milliseconds, interpolated within the histogram's buckets. */
export function durationP99Query(s: WorkloadScope): string {
  const buckets = `${DURATION_METRIC}_bucket{${selector(s)}}`;
  return `histogram_quantile(0.99, sum by (le) (rate(${buckets}[${promDuration(s.windowMs)}])))`;
}

/** Requests in the window (extrapolated by Prometheus, so not always a whole number). */
export function requestCountQuery(s: WorkloadScope): string {
  return `sum(increase(${REQUESTS_METRIC}{${selector(s)}}[${promDuration(s.windowMs)}]))`;
}

function selector(s: WorkloadScope): string {
  return [
    `reporter="destination"`,
    `destination_workload_namespace=${labelValue(s.namespace)}`,
    `destination_workload=${labelValue(s.workload)}`,
  ].join(",");
}

/** A PromQL string literal. */
export function labelValue(v: string): string {
  return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

const UNITS: readonly (readonly [string, number])[] = [
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
  ["ms", 1],
];

/** A range as Prometheus writes it: 30000 → "30s", 90000 → "1m30s", 1500 → "1s500ms". */
export function promDuration(ms: number): string {
  let rest = Math.max(1, Math.round(ms));
  let out = "";
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
