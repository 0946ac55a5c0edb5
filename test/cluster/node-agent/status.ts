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
  /** An init container with `restartPolicy: Always` (a native sidecar). */
  readonly sidecar?: boolean;
}

export interface PodView {
  readonly pod: V1Pod;
  readonly podIP: string | undefined;
  readonly hostIP: string;
  readonly startTime: number;
  readonly sandboxReady: boolean;
  readonly containers: readonly ContainerRecord[];
  /** The init containers (regular and sidecars), in spec order. */
  readonly initContainers: readonly ContainerRecord[];
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

const everTerminated = (c: ContainerRecord): boolean =>
  c.state.kind === "terminated" || c.lastTerminated !== undefined;

/** The kubelet's getPhase (pkg/kubelet/kubelet_pods.go, 1.34), `finished` as podIsTerminal. */
export function podPhase(view: PodView): NonNullable<V1PodStatus["phase"]> {
  if (view.containers.length === 0 || !view.sandboxReady) return "Pending";
  const policy = view.pod.spec?.restartPolicy ?? "Always";
  let pendingInit = 0;
  let failedInit = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of view.initContainers) {
    const s = c.state;
    if (c.sidecar === true) {
      // A sidecar counts while it runs; once it has terminated it no longer affects the phase.
      if (s.kind === "running") {
        if (!c.started) pendingInit++;
        running++;
      } else if (s.kind === "waiting" && c.lastTerminated === undefined) {
        pendingInit++;
        waiting++;
      }
      continue;
    }
    if (s.kind === "running") pendingInit++;
    else if (s.kind === "terminated") {
      if (s.exitCode !== 0) failedInit++;
    } else if (c.lastTerminated !== undefined) {
      if (c.lastTerminated.exitCode !== 0) failedInit++;
    } else pendingInit++;
  }
  for (const c of view.containers) {
    const s = c.state;
    if (s.kind === "running") running++;
    else if (s.kind === "terminated") {
      stopped++;
      if (s.exitCode === 0) succeeded++;
    } else if (c.lastTerminated !== undefined) stopped++;
    else waiting++;
  }
  if (failedInit > 0 && policy === "Never") return "Failed";
  const anyAppStarted = view.containers.some(
    (c) => c.state.kind === "running" || everTerminated(c),
  );
  if ((pendingInit > 0 && !anyAppStarted) || waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (view.finished) return stopped === succeeded ? "Succeeded" : "Failed";
    if (policy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    return policy === "Never" ? "Failed" : "Running";
  }
  return "Pending";
}

/**
 * The init containers not yet done: a regular one that has not exited 0, a sidecar not started.
 * Once an app container has run the pod stays initialized (the kubelet's rule).
 */
export function incompleteInit(view: PodView): string[] {
  if (view.containers.some((c) => c.state.kind === "running" || everTerminated(c))) return [];
  return view.initContainers
    .filter((c) =>
      c.sidecar === true ? !c.started : !(c.state.kind === "terminated" && c.state.exitCode === 0),
    )
    .map((c) => c.name);
}

/** Keeps a condition's lastTransitionTime unless its status changes. */
function condition(
  previous: readonly V1PodCondition[] | undefined,
  type: string,
  ok: boolean,
  now: number,
  reason?: string,
  message?: string,
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
    ...(ok || message === undefined ? {} : { message }),
  };
}

function containerStatus(view: PodView, c: ContainerRecord): V1ContainerStatus {
  return {
    name: c.name,
    image: c.image,
    imageID: `local://${c.image}`,
    containerID: `vireo-node://${view.pod.metadata?.uid ?? ""}/${c.name}/${c.restartCount}`,
    state: containerState(c.state),
    lastState: c.lastTerminated === undefined ? {} : containerState(c.lastTerminated),
    ready: c.ready,
    restartCount: c.restartCount,
    started: c.started,
  };
}

export function computePodStatus(view: PodView, now: number): V1PodStatus {
  const prev = view.pod.status?.conditions;
  const phase = podPhase(view);
  // Sidecars' readiness counts toward the pod's, as the app containers' does.
  const unready = [...view.initContainers.filter((c) => c.sidecar === true), ...view.containers]
    .filter((c) => !c.ready)
    .map((c) => c.name);
  const allReady = view.containers.length > 0 && unready.length === 0;
  const ready = allReady && phase === "Running";
  const completed = phase === "Succeeded" || phase === "Failed";
  const notReady = completed ? "PodCompleted" : "ContainersNotReady";
  const unreadyMessage = completed
    ? undefined
    : `containers with unready status: [${unready.join(" ")}]`;
  const incomplete = incompleteInit(view);
  const ips = view.podIP === undefined ? {} : { podIP: view.podIP, podIPs: [{ ip: view.podIP }] };
  const initStatuses =
    view.initContainers.length === 0
      ? {}
      : { initContainerStatuses: view.initContainers.map((c) => containerStatus(view, c)) };
  return {
    phase,
    conditions: [
      condition(prev, "PodReadyToStartContainers", view.sandboxReady, now),
      condition(
        prev,
        "Initialized",
        incomplete.length === 0,
        now,
        "ContainersNotInitialized",
        `containers with incomplete status: [${incomplete.join(" ")}]`,
      ),
      condition(prev, "Ready", ready, now, notReady, unreadyMessage),
      condition(prev, "ContainersReady", allReady, now, notReady, unreadyMessage),
      condition(prev, "PodScheduled", true, now),
    ],
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    ...ips,
    startTime: iso(view.startTime),
    ...initStatuses,
    containerStatuses: view.containers.map((c) => containerStatus(view, c)),
    qosClass: view.pod.status?.qosClass ?? "BestEffort",
  };
}

/** Kubelet back-off: base, doubled per restart, capped. */
export function restartDelayMs(restarts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(restarts, 20));
}
