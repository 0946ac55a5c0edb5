// Whether a proxy that left the control plane may still be routing: its pod is there, at the
// address the proxy connected from, not terminating, with its proxy container running. Such a
// proxy keeps serving the configuration it last ACKed, so a routing change waits for it.
import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import { PROXY_CONTAINER } from "../../inject/names.js";
import { parseNodeId } from "../node-id.js";

export function proxyMayBeRunning(
  nodeId: string,
  pod: (namespace: string, name: string) => V1Pod | undefined,
): boolean {
  const node = parseNodeId(nodeId);
  if (node === undefined) return false;
  const p = pod(node.namespace, node.pod);
  if (p === undefined || p.metadata?.deletionTimestamp !== undefined) return false;
  const phase = p.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return false;
  if (p.status?.podIP !== undefined && p.status.podIP !== node.ip) return false;
  const statuses: V1ContainerStatus[] = [
    ...(p.status?.initContainerStatuses ?? []),
    ...(p.status?.containerStatuses ?? []),
  ];
  const proxy = statuses.find((c) => c.name === PROXY_CONTAINER);
  // A proxy outside a container of that name (a hand-run one): the pod's life is all we know.
  return proxy === undefined || proxy.state?.running !== undefined;
}
