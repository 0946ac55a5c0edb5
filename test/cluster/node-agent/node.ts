// Registers the Node and keeps it alive: the Lease heartbeat the node lifecycle controller
// watches, and a Ready condition refreshed in the Node status.
import os from "node:os";
import type {
  CoordinationV1Api,
  CoreV1Api,
  V1Node,
  V1NodeCondition,
} from "@kubernetes/client-node";
import {
  ApiException,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
} from "@kubernetes/client-node";

export interface NodeIdentity {
  readonly name: string;
  readonly internalIP: string;
  readonly podCIDR: string;
  readonly kubeletVersion: string;
}

export function nodeConditions(now: Date, ready: boolean): V1NodeCondition[] {
  const c = (type: string, status: string, reason: string, message: string): V1NodeCondition => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  return [
    c(
      "MemoryPressure",
      "False",
      "KubeletHasSufficientMemory",
      "kubelet has sufficient memory available",
    ),
    c("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    c("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ready
      ? c("Ready", "True", "KubeletReady", "vireo node agent is posting ready status")
      : c("Ready", "False", "KubeletNotReady", "vireo node agent is stopping"),
  ];
}

export function nodeObject(id: NodeIdentity): V1Node {
  const capacity = {
    cpu: String(os.cpus().length),
    memory: `${Math.floor(os.totalmem() / 1024)}Ki`,
    pods: "250",
    "ephemeral-storage": "100Gi",
  };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: id.name,
      labels: {
        "kubernetes.io/hostname": id.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.vireo.dev/agent": "true",
      },
    },
    spec: { podCIDR: id.podCIDR, podCIDRs: [id.podCIDR] },
    status: {
      capacity,
      allocatable: capacity,
      addresses: [
        { type: "InternalIP", address: id.internalIP },
        { type: "Hostname", address: id.name },
      ],
      nodeInfo: {
        architecture: "amd64",
        bootID: "",
        containerRuntimeVersion: "vireo-node://0.1.0",
        kernelVersion: os.release(),
        kubeProxyVersion: "",
        kubeletVersion: id.kubeletVersion,
        machineID: "",
        operatingSystem: "linux",
        osImage: "local processes",
        systemUUID: "",
      },
    },
  };
}

export async function registerNode(core: CoreV1Api, id: NodeIdentity): Promise<void> {
  const body = nodeObject(id);
  try {
    await core.createNode({ body });
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 409)) throw err;
  }
  await postNodeStatus(core, id, true);
}

export async function postNodeStatus(
  core: CoreV1Api,
  id: NodeIdentity,
  ready: boolean,
): Promise<void> {
  const status = nodeObject(id).status ?? {};
  status.conditions = nodeConditions(new Date(), ready);
  await core.patchNodeStatus(
    { name: id.name, body: { status } },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );
}

export async function renewLease(
  coord: CoordinationV1Api,
  node: string,
  durationSeconds: number,
): Promise<void> {
  const namespace = "kube-node-lease";
  // MicroTime: the API server insists on six fractional digits, which V1MicroTime writes.
  const renewTime = new V1MicroTime();
  const spec = { holderIdentity: node, leaseDurationSeconds: durationSeconds, renewTime };
  try {
    const lease = await coord.readNamespacedLease({ name: node, namespace });
    lease.spec = Object.assign(lease.spec ?? {}, spec);
    await coord.replaceNamespacedLease({ name: node, namespace, body: lease });
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 404)) throw err;
    await coord.createNamespacedLease({
      namespace,
      body: { metadata: { name: node, namespace }, spec },
    });
  }
}
