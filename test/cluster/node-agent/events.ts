// Pod events as the kubelet records them (Started, BackOff, Unhealthy, Killing), best effort.
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import type { Logger } from "../../../src/common/logger.js";

export interface EventRecorder {
  normal(pod: V1Pod, reason: string, message: string): void;
  warning(pod: V1Pod, reason: string, message: string): void;
}

export function apiEventRecorder(core: CoreV1Api, node: string, log: Logger): EventRecorder {
  let seq = 0;
  const record = (
    type: "Normal" | "Warning",
    pod: V1Pod,
    reason: string,
    message: string,
  ): void => {
    const namespace = pod.metadata?.namespace ?? "default";
    const now = new Date();
    const name = `${pod.metadata?.name ?? "pod"}.${now.getTime().toString(16)}${(seq++).toString(16)}`;
    core
      .createNamespacedEvent({
        namespace,
        body: {
          metadata: { name, namespace },
          involvedObject: {
            kind: "Pod",
            apiVersion: "v1",
            namespace,
            name: pod.metadata?.name ?? "",
            uid: pod.metadata?.uid ?? "",
          },
          reason,
          message,
          type,
          source: { component: "kubelet", host: node },
          reportingComponent: "kubelet",
          reportingInstance: node,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch((err: unknown) => {
        log.debug("event not recorded", { reason, error: String(err) });
      });
  };
  return {
    normal: (pod, reason, message) => {
      record("Normal", pod, reason, message);
    },
    warning: (pod, reason, message) => {
      record("Warning", pod, reason, message);
    },
  };
}
