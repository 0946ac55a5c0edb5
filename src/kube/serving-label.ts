// Which replica serves xDS: the leader labels its own pod, and the chart's Service selects that
// label, so proxies connect to the replica whose routing they confirm. Standbys refuse streams
// anyway (XdsServer.setStandby); the label only spares proxies the retries. Until the label is
// on, the Service has no endpoint and every proxy's xDS connection is refused, so the patch is
// retried (each attempt bounded) until it lands or the controller stops.
import type { CoreV1Api } from "@kubernetes/client-node";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { ApiRetryDeps, RetryPolicy } from "./api-retry.js";
import { retryApi } from "./api-retry.js";
import { withDeadline } from "./deadline.js";

export const SERVING_LABEL = "vireo.dev/xds-serving";

export interface LabelTiming {
  readonly policy: RetryPolicy;
  /** How long one attempt may wait for the API server's answer. */
  readonly attemptMs: number;
}

/** About five minutes of attempts, each given 10 s: a hung request must not hold the label back. */
const LABEL_TIMING: LabelTiming = {
  policy: { attempts: 20, initialDelayMs: 500, maxDelayMs: 15_000 },
  attemptMs: 10_000,
};

/**
 * Sets (or removes) the serving label on this replica's pod, retrying with back-off; logs when it
 * landed and how long that took. Never rejects: giving up is logged (and counted) by retryApi.
 */
export async function markServing(
  core: CoreV1Api,
  pod: { readonly namespace: string; readonly name: string },
  serving: boolean,
  deps: ApiRetryDeps,
  signal?: AbortSignal,
  timing: LabelTiming = LABEL_TIMING,
): Promise<boolean> {
  const started = deps.clock.now();
  const outcome = await retryApi(
    serving ? "label this pod as the xDS server" : "remove this pod's xDS server label",
    () =>
      withDeadline(
        core.patchNamespacedPod(
          {
            namespace: pod.namespace,
            name: pod.name,
            body: { metadata: { labels: { [SERVING_LABEL]: serving ? "true" : null } } },
          },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        ),
        timing.attemptMs,
        deps.clock,
      ),
    deps,
    timing.policy,
    signal,
  );
  if (outcome.ok) {
    deps.log.info(serving ? "labelled this pod as the xDS server" : "xDS server label removed", {
      pod: `${pod.namespace}/${pod.name}`,
      tookMs: deps.clock.now() - started,
    });
  }
  return outcome.ok;
}
