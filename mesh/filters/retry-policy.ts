// Envoy's retry_on conditions as a pure function of how an attempt ended, and its fully
// jittered exponential back-off.
import type { RetryPolicy } from "../routing/model.js";
import type { FailureReason } from "../upstream/outcome.js";

export type AttemptResult =
  | { readonly kind: "response"; readonly status: number; readonly grpcStatus: number | undefined }
  | { readonly kind: "failure"; readonly reason: FailureReason | "per-try-timeout" };

/** gRPC retry_on names and the grpc-status each stands for. */
const GRPC_CONDITIONS: readonly (readonly [string, number])[] = [
  ["cancelled", 1],
  ["deadline-exceeded", 4],
  ["resource-exhausted", 8],
  ["internal", 13],
  ["unavailable", 14],
];

export const DEFAULT_BACKOFF_BASE_MS = 25;

function onAny(on: ReadonlySet<string>, conditions: readonly string[]): boolean {
  return conditions.some((c) => on.has(c));
}

/**
 * Whether the attempt's result is one `policy` retries. No response at all counts as a 5xx (as
 * Envoy counts it); local decisions (overflow, no healthy upstream) are never retried.
 */
export function isRetriable(policy: RetryPolicy, result: AttemptResult): boolean {
  const on = policy.retryOn;
  if (result.kind === "failure") {
    switch (result.reason) {
      case "overflow":
      case "no-healthy-upstream":
      case "aborted":
        return false;
      case "connect-failure":
        return onAny(on, ["5xx", "gateway-error", "reset", "connect-failure"]);
      case "refused-stream":
        return onAny(on, ["5xx", "gateway-error", "reset", "refused-stream"]);
      case "remote-reset":
      case "connection-termination":
      case "per-try-timeout":
        return onAny(on, ["5xx", "gateway-error", "reset"]);
    }
  }
  const s = result.status;
  if (on.has("5xx") && s >= 500) return true;
  if (on.has("gateway-error") && (s === 502 || s === 503 || s === 504)) return true;
  if (on.has("retriable-4xx") && s === 409) return true;
  if (on.has("retriable-status-codes") && policy.retriableStatusCodes.has(s)) return true;
  const g = result.grpcStatus;
  return g !== undefined && GRPC_CONDITIONS.some(([name, code]) => code === g && on.has(name));
}

/** Retry `n` (1-based) waits U[0, (2^n − 1) × base), capped at `max` (10 × base by default). */
export function backoffMs(
  n: number,
  policy: Pick<RetryPolicy, "backoffBaseMs" | "backoffMaxMs">,
  random: () => number,
): number {
  const base = policy.backoffBaseMs > 0 ? policy.backoffBaseMs : DEFAULT_BACKOFF_BASE_MS;
  const max = policy.backoffMaxMs > 0 ? policy.backoffMaxMs : 10 * base;
  return Math.floor(random() * Math.min(max, (2 ** n - 1) * base));
}
