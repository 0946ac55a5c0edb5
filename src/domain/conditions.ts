// The conditions that kubectl wait and GitOps tools read: Ready and Promoted, and kstatus's
// Reconciling and Stalled. A condition's lastTransitionTime moves only when its status does.
import { assertNever } from "../common/assert-never.js";
import type { Condition, ConditionType, Phase } from "./rollout.js";

export type ConditionStatus = Condition["status"];

/** A condition without its time: what the planner decides. */
export interface Health {
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

/** Replaces the condition of `type`, keeping its lastTransitionTime when the status is unchanged. */
export function setCondition(
  conditions: readonly Condition[],
  type: ConditionType,
  health: Health,
  nowIso: string,
): Condition[] {
  const old = conditions.find((c) => c.type === type);
  const lastTransitionTime = old?.status === health.status ? old.lastTransitionTime : nowIso;
  const next: Condition = { type, ...health, lastTransitionTime };
  const rest = conditions.filter((c) => c.type !== type);
  return [...rest, next].sort((a, b) => CONDITION_ORDER[a.type] - CONDITION_ORDER[b.type]);
}

export function getCondition(
  conditions: readonly Condition[],
  type: ConditionType,
): Condition | undefined {
  return conditions.find((c) => c.type === type);
}

const CONDITION_ORDER: Readonly<Record<ConditionType, number>> = {
  Ready: 0,
  Promoted: 1,
  Reconciling: 2,
  Stalled: 3,
  RouteConflict: 4,
};

/** Every condition stamped with the generation it was computed from. */
export function stampGeneration(conditions: readonly Condition[], generation: number): Condition[] {
  return conditions.map((c) => ({ ...c, observedGeneration: generation }));
}

/**
 * Ready False for one of these reasons means the controller cannot get further on its own: a wait
 * past its progress deadline, a target or primary gone. Stalled says so to kstatus readers.
 */
const STALL_REASONS: ReadonlySet<string> = new Set([
  "ProgressDeadlineExceeded",
  "TargetNotFound",
  "PrimaryMissing",
]);

export interface Progress {
  readonly reconciling: Health;
  readonly stalled: Health;
}

/**
 * kstatus's pair from the plan's final state. Stalled: a rolled-back release, a wait past its
 * deadline, a missing target or primary, or a release held by spec.suspend. Reconciling: any other
 * phase with a release or a hand-over under way. At most one of them is True, since kstatus reads
 * Reconciling first and a stalled Rollout must read as failed, not in progress.
 */
export function progressHealth(
  phase: Phase,
  message: string,
  ready: Health,
  suspended: boolean,
): Progress {
  const active = ACTIVE[phase];
  let stall: Health | undefined;
  if (ready.status === "False" && (phase === "Failed" || STALL_REASONS.has(ready.reason))) {
    stall = { status: "True", reason: ready.reason, message: ready.message };
  } else if (suspended && active) {
    stall = {
      status: "True",
      reason: "Suspended",
      message: `Held by spec.suspend while ${phase}: ${message}`,
    };
  }
  if (stall !== undefined) {
    return { reconciling: { status: "False", reason: stall.reason, message: "" }, stalled: stall };
  }
  return {
    reconciling: active
      ? { status: "True", reason: phase, message }
      : { status: "False", reason: phase, message: "" },
    stalled: { status: "False", reason: phase, message: "" },
  };
}

/** Stalled from an invalid spec: nothing moves until the spec is fixed. */
export function invalidProgress(reason: string, message: string): Progress {
  return {
    reconciling: { status: "False", reason, message: "" },
    stalled: { status: "True", reason, message },
  };
}

/** Phases in which the controller is still moving the world; the others rest. */
const ACTIVE: Readonly<Record<Phase, boolean>> = {
  Initializing: true,
  Initialized: false,
  Waiting: true,
  Progressing: true,
  Paused: true,
  WaitingPromotion: true,
  Promoting: true,
  Finalising: true,
  Succeeded: false,
  Failed: false,
  Terminating: true,
};

/** Sets Reconciling and Stalled. */
export function setProgress(
  conditions: readonly Condition[],
  p: Progress,
  nowIso: string,
): Condition[] {
  return setCondition(
    setCondition(conditions, "Reconciling", p.reconciling, nowIso),
    "Stalled",
    p.stalled,
    nowIso,
  );
}

/** Ready by phase, when nothing more specific is known. */
export function defaultReady(phase: Phase, message: string): Health {
  switch (phase) {
    case "Initializing":
    case "Terminating":
    case "Failed":
      return { status: "False", reason: phase, message };
    case "Initialized":
    case "Waiting":
    case "Progressing":
    case "Paused":
    case "WaitingPromotion":
    case "Promoting":
    case "Finalising":
    case "Succeeded":
      return { status: "True", reason: phase, message };
    default:
      return assertNever(phase, "phase");
  }
}

/** Promoted by phase: True once the primary serves what the target asks for, False after a rollback. */
export function promotedHealth(phase: Phase): Health {
  switch (phase) {
    case "Initialized":
      return { status: "True", reason: phase, message: "Initialization completed." };
    case "Succeeded":
      return { status: "True", reason: phase, message: "Release completed, promotion finished." };
    case "Failed":
      return { status: "False", reason: phase, message: "Release failed." };
    case "Initializing":
      return { status: "Unknown", reason: phase, message: "Initialization under way." };
    case "Waiting":
    case "WaitingPromotion":
      return { status: "Unknown", reason: phase, message: "Waiting for approval." };
    case "Progressing":
    case "Paused":
      return { status: "Unknown", reason: phase, message: "New revision under analysis." };
    case "Promoting":
      return { status: "Unknown", reason: phase, message: "Analysis completed, updating primary." };
    case "Finalising":
      return { status: "Unknown", reason: phase, message: "Routing all traffic to primary." };
    case "Terminating":
      return { status: "Unknown", reason: phase, message: "Rollout being deleted." };
    default:
      return assertNever(phase, "phase");
  }
}
