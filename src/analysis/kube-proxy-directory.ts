// The proxies of a workload: its running pods that carry vireo's sidecar, at their pod IP's
// status port; from the controller's pod informer when it runs one, else listed from the API. Pods are matched to the Deployment by name, as the proxy's own
// telemetry names its workload (mesh/telemetry/identity.ts): `<deployment>-<hash>-<suffix>`.
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import { STATUS_PORT } from "../inject/names.js";
import { PROXY_CONTAINER } from "../inject/names.js";
import type { CountScope } from "./counts.js";
import type { ProxyDirectory, ProxyEndpoint } from "./proxy-counts.js";

const POD_OF_DEPLOYMENT =
  /^(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/;

/** The Deployment a pod name belongs to, or undefined for names not made by a ReplicaSet. */
export function deploymentOfPod(podName: string): string | undefined {
  return POD_OF_DEPLOYMENT.exec(podName)?.[1];
}

/** Pods that serve: running, with an IP, not being deleted, with the sidecar. */
export function proxyEndpoints(pods: readonly V1Pod[], scope: CountScope): ProxyEndpoint[] {
  const out: ProxyEndpoint[] = [];
  for (const pod of pods) {
    const name = pod.metadata?.name ?? "";
    const ip = pod.status?.podIP;
    if (deploymentOfPod(name) !== scope.workload) continue;
    if (pod.status?.phase !== "Running" || ip === undefined || ip === "") continue;
    if (pod.metadata?.deletionTimestamp !== undefined) continue;
    const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
    if (!containers.some((c) => c.name === PROXY_CONTAINER)) continue;
    const host = ip.includes(":") ? `[${ip}]` : ip;
    out.push({ pod: name, url: `http://${host}:${String(STATUS_PORT)}` });
  }
  return out;
}

/** The pods of a namespace: an informer's cache, or one list call. */
export type PodSource = (namespace: string) => readonly V1Pod[] | Promise<readonly V1Pod[]>;

/** Lists the namespace's pods from the API server at each call. */
export function listedPods(core: CoreV1Api): PodSource {
  return async (namespace) => (await core.listNamespacedPod({ namespace })).items;
}

export class KubeProxyDirectory implements ProxyDirectory {
  constructor(private readonly pods: PodSource) {}

  async proxies(scope: CountScope): Promise<readonly ProxyEndpoint[]> {
    return proxyEndpoints(await this.pods(scope.namespace), scope);
  }
}
