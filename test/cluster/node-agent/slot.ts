// What the agent holds for one container of a pod: its current state, restarts, probes, process.
import type { ChildProcess } from "node:child_process";
import type { V1Container } from "@kubernetes/client-node";
import type { TimerHandle } from "../../../src/common/clock.js";
import type { SlotKind, SlotProgress } from "./lifecycle.js";
import type { ProbeWorker } from "./probes.js";
import type { ContainerRecord, RunState, Terminated } from "./status.js";

export class Slot {
  state: RunState;
  lastTerminated: Terminated | undefined;
  restartCount = 0;
  backoffSteps = 0;
  ready = false;
  started = false;
  /** Its turn has come: the agent tried to start it at least once. */
  launched = false;
  /** A regular init container that exited 0. */
  completed = false;
  /** A sidecar whose startup completed at least once. */
  everStarted = false;
  /** A start is between its first await and the spawn (guards against a second start). */
  starting = false;
  child: ChildProcess | undefined;
  killReason: string | undefined;
  probes: ProbeWorker[] = [];
  restartTimer: TimerHandle | undefined;
  exited: Promise<void> = Promise.resolve();
  /** The setpriv prefix the process runs under; exec probes run under it too. */
  security: readonly string[] = [];
  /** Whether the Warning about a user fallback was already recorded. */
  warnedFallback = false;

  /** The state before its first start (the kubelet's default waiting reason). */
  readonly initialState: RunState;

  constructor(
    readonly spec: V1Container,
    readonly kind: SlotKind,
    waitingReason: string,
  ) {
    this.initialState = { kind: "waiting", reason: waitingReason };
    this.state = this.initialState;
  }

  progress(): SlotProgress {
    return {
      kind: this.kind,
      launched: this.launched,
      completed: this.completed,
      everStarted: this.everStarted,
    };
  }

  record(): ContainerRecord {
    return {
      name: this.spec.name,
      image: this.spec.image ?? "",
      state: this.state,
      restartCount: this.restartCount,
      ready: this.ready,
      started: this.started,
      ...(this.kind === "sidecar" ? { sidecar: true } : {}),
      ...(this.lastTerminated === undefined ? {} : { lastTerminated: this.lastTerminated }),
    };
  }
}
