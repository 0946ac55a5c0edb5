// Kubernetes API calls made outside a reconcile (which has its own rate-limited requeue): each is
// retried with exponential back-off, every failure logged and counted, and none ever rejects into
// the process. An API hiccup (ECONNRESET while many objects are deleted) must cost a retry, not
// the controller.
import type { Clock } from "../common/clock.js";
import { describeError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";

/** Counts API failures by operation (ControllerMetrics.kubeApiFailures). */
export interface FailureCounter {
  inc(labels: { operation: string; outcome: "retried" | "gave_up" }): void;
}

export interface ApiRetryDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly failures: FailureCounter;
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, initialDelayMs: 500, maxDelayMs: 30_000 };

/** The wait before attempt `n + 1` after `n` failures: doubling, capped. */
export function backoffDelay(policy: Omit<RetryPolicy, "attempts">, failures: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, failures - 1));
}

export type RetryOutcome<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/**
 * Runs `call` until it resolves or the attempts run out. Never rejects: giving up is an outcome,
 * logged as an error and counted, for the caller to act on.
 */
export async function retryApi<T>(
  operation: string,
  call: () => Promise<T>,
  deps: ApiRetryDeps,
  policy: RetryPolicy = DEFAULT_RETRY,
  signal?: AbortSignal,
): Promise<RetryOutcome<T>> {
  for (let failures = 0; ;) {
    try {
      return { ok: true, value: await call() };
    } catch (error) {
      failures++;
      const last = failures >= policy.attempts || signal?.aborted === true;
      deps.failures.inc({ operation, outcome: last ? "gave_up" : "retried" });
      if (last) {
        deps.log.error("Kubernetes API call failed, giving up", {
          operation,
          attempts: failures,
          error: describeError(error),
        });
        return { ok: false, error };
      }
      const delayMs = backoffDelay(policy, failures);
      deps.log.warn("Kubernetes API call failed, retrying", {
        operation,
        attempt: failures,
        retryInMs: delayMs,
        error: describeError(error),
      });
      try {
        await deps.clock.sleep(delayMs, signal);
      } catch {
        deps.log.warn("Kubernetes API call abandoned (stopping)", { operation });
        return { ok: false, error };
      }
    }
  }
}
