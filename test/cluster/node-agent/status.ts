// Pure: turns what the agent knows about a pod's containers into the pod status a kubelet reports.
import type {
  V1ContainerState,
  V1ContainerStatus,
  V1Pod,
  V1PodCondition,
  V1PodStatus,
} from "@kubernetes/client-node";
import { assertNever } from "../../../src/common/assert-never.js";

export type RunState =
  | { readonly kind: "waiting"; readonly reason: string; readonly message?: string }
  | { readonly kind: "running"; readonly startedAt: number }
  | {
      readonly kind: "terminated";
      readonly exitCode: number;
      readonly signal?: number;
      readonly reason: string;
      readonly message?: string;
      readonly startedAt: number;
      readonly finishedAt: number;
    };

export type Terminated = Extract<RunState, { kind: "terminated" }>;

export interface ContainerRecord {
  readonly name: string;
  readonly image: string;
  readonly state: RunState;
  readonly lastTerminated?: Terminated;
  readonly restartCount: number;
  readonly ready: boolean;
  readonly started: boolean;
}

export interface PodView {
  readonly pod: V1Pod;
  readonly podIP: string | undefined;
  readonly hostIP: string;
  readonly startTime: number;
  readonly sandboxReady: boolean;
  readonly containers: readonly ContainerRecord[];
  /** The policy decided no container will run again (all terminated for good). */
  readonly finished: boolean;
}

const iso = (ms: number): Date => new Date(ms);

export function containerState(s: RunState): V1ContainerState {
  switch (s.kind) {
    case "waiting":
      return {
        waiting: { reason: s.reason, ...(s.message === undefined ? {} : { message: s.message }) },
      };
    case "running":
      return { running: { startedAt: iso(s.startedAt) } };
    case "terminated":
      return {
        terminated: {
          exitCode: s.exitCode,
          reason: s.reason,
          startedAt: iso(s.startedAt),
          finishedAt: iso(s.finishedAt),
          ...(s.signal === undefined ? {} : { signal: s.signal }),
          ...(s.message === undefined ? {} : { message: s.message }),
        },
      };
    default:
      return assertNever(s, "container state");
  }
}

export function podPhase(view: PodView): NonNullable<V1PodStatus["phase"]> {
  const cs = view.containers;
  if (cs.length === 0 || !view.sandboxReady) return "Pending";
  if (view.finished) {
    const failed = cs.some((c) => c.state.kind === "terminated" && c.state.exitCode !== 0);
    return failed ? "Failed" : "Succeeded";
  }
  const everRan = (c: ContainerRecord): boolean =>
    c.state.kind !== "waiting" || c.lastTerminated !== undefined;
  return cs.every(everRan) ? "Running" : "Pending";
}

/** Keeps a condition's lastTransitionTime unless its status changes. */
function condition(
  previous: readonly V1PodCondition[] | undefined,
  type: string,
  ok: boolean,
  now: number,
  reason?: string,
): V1PodCondition {
  const status = ok ? "True" : "False";
  const prev = previous?.find((c) => c.type === type);
  const lastTransitionTime =
    prev?.status === status && prev.lastTransitionTime !== undefined
      ? prev.lastTransitionTime
      : iso(now);
  return {
    type,
    status,
    lastTransitionTime,
    ...(ok || reason === undefined ? {} : { reason }),
  };
}

export function computePodStatus(view: PodView, now: number): V1PodStatus {
  const prev = view.pod.status?.conditions;
  const phase = podPhase(view);
  const allReady = view.containers.length > 0 && view.containers.every((c) => c.ready);
  const ready = allReady && phase === "Running";
  const notReady = view.finished ? "PodCompleted" : "ContainersNotReady";
  const containerStatuses: V1ContainerStatus[] = view.containers.map((c) => ({
    name: c.name,
    image: c.image,
    imageID: `local://${c.image}`,
    containerID: `vireo-node://${view.pod.metadata?.uid ?? ""}/${c.name}/${c.restartCount}`,
    state: containerState(c.state),
    lastState: c.lastTerminated === undefined ? {} : containerState(c.lastTerminated),
    ready: c.ready,
    restartCount: c.restartCount,
    started: c.started,
  }));
  const ips = view.podIP === undefined ? {} : { podIP: view.podIP, podIPs: [{ ip: view.podIP }] };
  return {
    phase,
    conditions: [
      condition(prev, "PodReadyToStartContainers", view.sandboxReady, now),
      condition(prev, "Initialized", true, now),
      condition(prev, "Ready", ready, now, notReady),
      condition(prev, "ContainersReady", allReady, now, notReady),
      condition(prev, "PodScheduled", true, now),
    ],
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    ...ips,
    startTime: iso(view.startTime),
    containerStatuses,
    qosClass: view.pod.status?.qosClass ?? "BestEffort",
  };
}

/** Kubelet back-off: base, doubled per restart, capped. */
export function restartDelayMs(restarts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(restarts, 20));
}

export function shouldRestart(policy: string | undefined, exitCode: number): boolean {
  switch (policy ?? "Always") {
    case "Never":
      return false;
    case "OnFailure":
      return exitCode !== 0;
    default:
      return true;
  }
}
