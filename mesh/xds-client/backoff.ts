// Reconnect delays: exponential from a base to a cap with random jitter, as gRPC clients do.

export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
  /** Spread as a fraction of the delay: 0.2 means ±20 %. */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 100, maxMs: 10_000, jitter: 0.2 };

/** The delay before attempt `failures` (0 after the first failure), never above the cap. */
export function backoffDelay(
  failures: number,
  policy: BackoffPolicy,
  random: () => number,
): number {
  const raw = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(failures, 30));
  const spread = 1 + policy.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(Math.min(policy.maxMs, raw * spread)));
}
