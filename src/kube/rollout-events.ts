// Kubernetes Events on Rollouts, so `kubectl describe rollout` tells the story of a release.
import type { CoreV1Api } from "@kubernetes/client-node";
import type { Logger } from "../common/logger.js";
import type { RolloutWire } from "../api/rollout-wire.js";

export interface RolloutEventRecorder {
  record(
    r: RolloutWire,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void>;
}

export class KubeRolloutEvents implements RolloutEventRecorder {
  private seq = 0;

  constructor(
    private readonly core: CoreV1Api,
    private readonly log: Logger,
    private readonly instance: string,
  ) {}

  async record(
    r: RolloutWire,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void> {
    const namespace = r.metadata.namespace ?? "default";
    const now = new Date();
    try {
      await this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: {
            name: `${r.metadata.name ?? "rollout"}.${now.getTime().toString(16)}${(this.seq++).toString(16)}`,
            namespace,
          },
          involvedObject: {
            apiVersion: r.apiVersion,
            kind: "Rollout",
            namespace,
            name: r.metadata.name,
            uid: r.metadata.uid,
            resourceVersion: r.metadata.resourceVersion,
          },
          type,
          reason,
          message,
          source: { component: "vireo" },
          reportingComponent: "vireo.dev/controller",
          reportingInstance: this.instance,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      this.log.warn("event not recorded", {
        reason,
        error: err instanceof Error ? err : String(err),
      });
    }
  }
}
