// Which replica serves xDS: the leader labels its own pod, and the chart's Service selects that
// label, so proxies connect to the replica whose routing they confirm. Standbys refuse streams
// anyway (XdsServer.setStandby); the label only spares proxies the retries.
import type { CoreV1Api } from "@kubernetes/client-node";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { Logger } from "../common/logger.js";

export const SERVING_LABEL = "vireo.dev/xds-serving";

/** Sets (or removes) the serving label on this replica's pod; failures are logged, not thrown. */
export async function markServing(
  core: CoreV1Api,
  pod: { readonly namespace: string; readonly name: string },
  serving: boolean,
  log: Logger,
): Promise<void> {
  try {
    await core.patchNamespacedPod(
      {
        namespace: pod.namespace,
        name: pod.name,
        body: { metadata: { labels: { [SERVING_LABEL]: serving ? "true" : null } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  } catch (err) {
    log.warn("could not label this pod as the xDS server", {
      pod: `${pod.namespace}/${pod.name}`,
      serving,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
