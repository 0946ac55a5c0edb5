// The Ready and Promoted conditions that kubectl wait and GitOps tools read. A condition's
// lastTransitionTime moves only when its status does.
import { assertNever } from "../common/assert-never.js";
import type { Condition, Phase } from "./rollout.js";

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
  type: Condition["type"],
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
  type: Condition["type"],
): Condition | undefined {
  return conditions.find((c) => c.type === type);
}

const CONDITION_ORDER: Readonly<Record<Condition["type"], number>> = { Ready: 0, Promoted: 1 };

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
