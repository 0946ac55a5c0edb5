// An informer stops for good on its first error (a failed list, a watch the API server refused).
// This restarts it with back-off, logged and counted, for as long as its owner runs. The back-off
// starts over once the watch has run for a while without error (client-node's "connect" event
// fires before the list, so it cannot tell that a restart worked).
import type { Clock, TimerHandle } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import { apiMessage, isNotFound } from "./api-errors.js";
import type { FailureCounter, RetryPolicy } from "./api-retry.js";
import { backoffDelay } from "./api-retry.js";

/** The part of a client-node informer this needs. */
export interface RestartableInformer {
  start(): Promise<void>;
  on(verb: "error", cb: (err?: unknown) => void): void;
}

export interface WatchRestartDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly failures: FailureCounter;
  /** False once the owner stops: an error then is the abort, not a failure. */
  readonly active: () => boolean;
}

export const WATCH_RETRY: Omit<RetryPolicy, "attempts"> = {
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
};

export interface WatchRestart {
  /** Reports a failure seen outside the informer (its first start() rejected). */
  failed(err: unknown): void;
  cancel(): void;
}

/** Registers the restart on `inf`; `resource` names it in logs and metrics (e.g. "rollouts"). */
export function restartOnError(
  inf: RestartableInformer,
  resource: string,
  deps: WatchRestartDeps,
  policy: Omit<RetryPolicy, "attempts"> = WATCH_RETRY,
): WatchRestart {
  let failures = 0;
  let lastErrorAt = Number.NEGATIVE_INFINITY;
  let timer: TimerHandle | undefined;
  // A resource type the API server does not serve (its CRD not installed) is said once, not at
  // every back-off; another kind of failure, or the type appearing and going again, says it anew.
  let notServedSaid = false;
  const operation = `watch ${resource}`;
  const onError = (err: unknown): void => {
    if (!deps.active()) return;
    const now = deps.clock.now();
    if (now - lastErrorAt > 2 * policy.maxDelayMs) failures = 0;
    lastErrorAt = now;
    failures++;
    deps.failures.inc({ operation, outcome: "retried" });
    const delayMs = backoffDelay(policy, failures);
    const fields = { resource, attempt: failures, retryInMs: delayMs, error: apiMessage(err) };
    if (!isNotFound(err)) {
      notServedSaid = false;
      deps.log.warn("watch failed, restarting", fields);
    } else if (!notServedSaid) {
      notServedSaid = true;
      deps.log.warn(
        "the API server does not serve this resource (is its CRD installed?); watching again with back-off",
        fields,
      );
    } else {
      deps.log.debug("resource still not served", fields);
    }
    timer?.cancel();
    timer = deps.clock.setTimer(delayMs, () => {
      timer = undefined;
      if (!deps.active()) return;
      // start() can itself reject (credentials that cannot be read): the same path handles it.
      inf.start().catch(onError);
    });
  };
  inf.on("error", onError);
  return {
    failed: onError,
    cancel: () => {
      timer?.cancel();
      timer = undefined;
    },
  };
}
