// Per-route policies: retries, request mirroring and fault injection (the fault filter's
// per-route HTTPFault), with Envoy's defaults where a field is unset.
import type { RetryPolicy__Output } from "../../src/xds/generated/envoy/config/route/v3/RetryPolicy.js";
import type { _envoy_config_route_v3_RouteAction_RequestMirrorPolicy__Output as MirrorPolicy__Output } from "../../src/xds/generated/envoy/config/route/v3/RouteAction.js";
import type { HTTPFault__Output } from "../../src/xds/generated/envoy/extensions/filters/http/fault/v3/HTTPFault.js";
import type { Any__Output } from "../../src/xds/generated/google/protobuf/Any.js";
import { typeUrlOf } from "../../src/xds/type-urls.js";
import type { FaultPolicy, MirrorPolicy, RetryPolicy } from "../routing/model.js";
import { anyTypeUrl, durationMs, fail, fraction, u32, unpack } from "./proto-values.js";

export const FAULT_FILTER = "envoy.filters.http.fault";
const FILTER_CONFIG = "type.googleapis.com/envoy.config.route.v3.FilterConfig";
export const DEFAULT_RETRY_BASE_MS = 25;

/**
 * Envoy's retry defaults: one retry, back-off from 25 ms to ten times the base. An empty
 * `retry_on` or zero retries means no retries at all, so no policy.
 */
export function retryPolicy(p: RetryPolicy__Output | null): RetryPolicy | undefined {
  if (p === null) return undefined;
  const retryOn = new Set(
    p.retry_on
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== ""),
  );
  const numRetries = u32(p.num_retries, 1);
  if (retryOn.size === 0 || numRetries === 0) return undefined;
  for (const code of p.retriable_status_codes) {
    if (!Number.isInteger(code) || code < 100 || code > 599)
      fail(`retry_policy: retriable status code ${code} is not an HTTP status`);
  }
  const base = durationMs(p.retry_back_off?.base_interval, "retry_back_off.base_interval");
  if (p.retry_back_off !== null && !(base !== undefined && base > 0))
    fail("retry_policy: retry_back_off.base_interval must be positive");
  const backoffBaseMs = base ?? DEFAULT_RETRY_BASE_MS;
  const max = durationMs(p.retry_back_off?.max_interval, "retry_back_off.max_interval");
  const backoffMaxMs = max ?? backoffBaseMs * 10;
  if (backoffMaxMs < backoffBaseMs)
    fail("retry_policy: retry_back_off.max_interval is below base_interval");
  return {
    retryOn,
    numRetries,
    perTryTimeoutMs: durationMs(p.per_try_timeout, "retry_policy.per_try_timeout") ?? 0,
    retriableStatusCodes: new Set(p.retriable_status_codes),
    backoffBaseMs,
    backoffMaxMs,
  };
}

/** A mirror without runtime_fraction copies every request (Envoy). */
export function mirrorPolicy(m: MirrorPolicy__Output): MirrorPolicy {
  if (m.cluster_header !== "") fail("request_mirror_policies: cluster_header is not supported");
  if (m.cluster === "") fail("request_mirror_policies: mirror without a cluster");
  return { cluster: m.cluster, fraction: fraction(m.runtime_fraction?.default_value, 1) };
}

/** Envoy accepts abort statuses in [200, 600). */
function faultAbort(f: HTTPFault__Output): FaultPolicy["abort"] {
  const a = f.abort;
  if (a === null) return undefined;
  const share = fraction(a.percentage, 0);
  switch (a.error_type) {
    case "http_status": {
      const s = a.http_status ?? 0;
      if (!(s >= 200 && s < 600)) fail(`fault abort http_status ${s} is outside 200-599`);
      return { httpStatus: s, fraction: share };
    }
    case "grpc_status":
      return { grpcStatus: a.grpc_status ?? 0, fraction: share };
    case "header_abort":
      return fail("fault header_abort is not supported");
    case undefined:
      return fail("fault abort sets neither http_status nor grpc_status");
  }
}

function faultDelay(f: HTTPFault__Output): FaultPolicy["delay"] {
  const d = f.delay;
  if (d === null) return undefined;
  if (d.fault_delay_secifier !== "fixed_delay") fail("fault delay must set fixed_delay");
  const ms = durationMs(d.fixed_delay, "fault fixed_delay") ?? 0;
  return { ms, fraction: fraction(d.percentage, 0) };
}

/** The HTTPFault of one typed_per_filter_config entry (bare or wrapped in a FilterConfig). */
export function faultPolicy(config: Any__Output): FaultPolicy | undefined {
  let packed: Any__Output | null = config;
  if (anyTypeUrl(config) === FILTER_CONFIG) {
    packed = (unpack(config, FILTER_CONFIG, FAULT_FILTER) as { config: Any__Output | null }).config;
  }
  const f = unpack(packed, typeUrlOf("HTTPFault"), FAULT_FILTER) as HTTPFault__Output;
  if (f.headers.length > 0 || f.downstream_nodes.length > 0 || f.upstream_cluster !== "")
    fail(
      "fault injection conditions (headers, downstream_nodes, upstream_cluster) are not supported",
    );
  const delay = faultDelay(f);
  const abort = faultAbort(f);
  if (delay === undefined && abort === undefined) return undefined;
  return { ...(delay !== undefined && { delay }), ...(abort !== undefined && { abort }) };
}
