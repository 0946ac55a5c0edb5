// A notification given up becomes a Warning Event on its Rollout. The Rollout is read fresh for
// the Event's involvedObject; that GET is retried with back-off and can never reject into the
// process (an unhandled ECONNRESET here once ended the controller).
import type { RolloutWire } from "../api/rollout-wire.js";
import type { ApiRetryDeps, RetryPolicy } from "../kube/api-retry.js";
import { DEFAULT_RETRY, retryApi } from "../kube/api-retry.js";
import type { RolloutEventRecorder } from "../kube/rollout-events.js";
import type { DeliveryFailure } from "./dispatcher.js";

export interface FailureEventDeps extends ApiRetryDeps {
  readonly store: { get(namespace: string, name: string): Promise<RolloutWire | undefined> };
  readonly events: RolloutEventRecorder;
  readonly policy?: RetryPolicy;
  readonly signal?: AbortSignal;
}

/** Resolves once the Event is recorded, or the Rollout is gone, or the GET was given up. */
export async function recordNotificationFailure(
  f: DeliveryFailure,
  deps: FailureEventDeps,
): Promise<void> {
  const { namespace, name } = f.rollout;
  const got = await retryApi(
    `get rollout ${namespace}/${name}`,
    () => deps.store.get(namespace, name),
    deps,
    deps.policy ?? DEFAULT_RETRY,
    deps.signal,
  );
  if (!got.ok || got.value === undefined) return;
  // record() logs its own failures and never rejects; the catch is for a recorder that does.
  await deps.events
    .record(got.value, "Warning", "NotificationFailed", `${f.destination}: ${f.reason}`)
    .catch((err: unknown) => {
      deps.failures.inc({ operation: "create event", outcome: "gave_up" });
      deps.log.error("event not recorded", { rollout: `${namespace}/${name}`, error: err });
    });
}
