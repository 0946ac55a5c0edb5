// Which proxies may still be routing without being connected, from the pod cache: one that left
// the control plane while its pod runs at the address it connected from, and, for a new leader,
// the pods whose proxy ran before it began serving. Such a proxy keeps serving the configuration
// it last ACKed, so a routing change waits for it.
import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import { PROXY_CONTAINER } from "../../inject/names.js";
import { parseNodeId } from "../node-id.js";

/** A pod whose proxy container runs, and since when. */
export interface ProxyPod {
  readonly namespace: string;
  readonly name: string;
  /** When its proxy container last started (ms since the epoch). */
  readonly proxyStartedAt: number;
}

/**
 * The pods of `pods` whose vireo-proxy container is running, not being deleted, and talks to this
 * control plane (`servedHere` of its VIREO_XDS_ADDRESS: another controller's proxies, or a test's,
 * are not ours to wait for). Pods of a hand-run proxy without a container of that name are not
 * known to be proxies, so not listed.
 */
export function runningProxyPods(
  pods: readonly V1Pod[],
  servedHere: (xdsAddress: string) => boolean,
): ProxyPod[] {
  const out: ProxyPod[] = [];
  for (const p of pods) {
    if (p.metadata?.deletionTimestamp !== undefined) continue;
    const spec = [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])];
    const env = spec.find((c) => c.name === PROXY_CONTAINER)?.env;
    const address = env?.find((e) => e.name === "VIREO_XDS_ADDRESS")?.value;
    if (address === undefined || !servedHere(address)) continue;
    const started = proxyStatus(p)?.state?.running?.startedAt;
    if (started === undefined) continue;
    out.push({
      namespace: p.metadata?.namespace ?? "",
      name: p.metadata?.name ?? "",
      proxyStartedAt: new Date(started).getTime(),
    });
  }
  return out;
}

/** Whether an xDS address names Service `service` of `namespace` (`svc.ns.svc[...]:port`). */
export function namesService(address: string, namespace: string, service: string): boolean {
  const host = address.replace(/^[a-z]+:\/\/\/?/, "").split(":")[0] ?? "";
  const prefix = `${service}.${namespace}.svc`;
  return host === prefix || host.startsWith(`${prefix}.`);
}

/** Whether the proxy of a client that left (by its node id) may still route. */
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
  const proxy = proxyStatus(p);
  // A proxy outside a container of that name (a hand-run one): the pod's life is all we know.
  return proxy === undefined || proxy.state?.running !== undefined;
}

/** The status of the pod's vireo-proxy container: a native sidecar (injected) or a container. */
function proxyStatus(p: V1Pod): V1ContainerStatus | undefined {
  const s = p.status;
  return [...(s?.initContainerStatuses ?? []), ...(s?.containerStatuses ?? [])].find(
    (c) => c.name === PROXY_CONTAINER,
  );
}
