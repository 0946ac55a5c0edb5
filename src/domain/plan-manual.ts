// Manual requests (promote, abort, retry, pause, resume), each applied once by its id: a request
// that makes no sense in the current phase is recorded as ignored, with the reason, and dropped.
import { assertNever } from "../common/assert-never.js";
import type { Action, ManualRequest } from "./plan-model.js";
import type { Ctx, Go } from "./plan-support.js";
import { event, go, primaryName } from "./plan-support.js";
import type { RolloutStatus } from "./rollout.js";
import { stepAt, stepIndex } from "./run-steps.js";
import { rollback, startRun, toPaused, toPromoting, toResumed } from "./transitions.js";

/** A request that does not apply: recorded as handled, with why, and planning goes on. */
export interface Ignored {
  readonly kind: "ignored";
  readonly status: RolloutStatus;
  readonly effects: readonly Action[];
}

/** The manual request's transition, or undefined when there is no request to handle. */
export function applyManual(c: Ctx, s: RolloutStatus): Go | Ignored | undefined {
  const m = c.o.manual;
  if (m === undefined || m.id === s.handledAction) return undefined;
  const handled: RolloutStatus = { ...s, handledAction: m.id };
  const outcome = decide(c, handled, m);
  if (typeof outcome === "string") {
    return {
      kind: "ignored",
      status: handled,
      effects: [
        event(
          "Warning",
          "ManualActionIgnored",
          `${m.action} (request ${m.id}) ignored: ${outcome}`,
        ),
      ],
    };
  }
  return go(
    outcome.status,
    [
      event("Normal", "ManualAction", `${m.action} requested (request ${m.id})`),
      ...outcome.effects,
    ],
    outcome.status.message,
  );
}

/** A transition, or why the request does not apply. */
function decide(c: Ctx, s: RolloutStatus, m: ManualRequest): Go | string {
  switch (m.action) {
    case "promote":
      return promote(c, s);
    case "abort":
      return abort(c, s, m.id);
    case "retry":
      return retry(c, s);
    case "pause":
      return pause(c, s);
    case "resume":
      return resume(c, s);
    default:
      return assertNever(m.action, "manual action");
  }
}

function promote(c: Ctx, s: RolloutStatus): Go | string {
  switch (s.phase) {
    case "Waiting":
      return startRun(c, s, s.canaryRevision ?? c.target.revision, "Approved");
    case "Progressing":
      return toPromoting(c, s, "promoted by request, remaining steps skipped");
    case "Paused":
      if (heldUntilPromoted(c, s)) {
        return toResumed(c, { ...s, iterations: 1 }, "pause released by promote");
      }
      return toPromoting(c, s, "promoted by request, remaining steps skipped");
    case "WaitingPromotion":
      return toPromoting(c, s, "promotion approved by request");
    case "Initializing":
    case "Initialized":
    case "Promoting":
    case "Finalising":
    case "Succeeded":
    case "Failed":
    case "Terminating":
      return `nothing to promote while ${s.phase}`;
    default:
      return assertNever(s.phase, "phase");
  }
}

function abort(c: Ctx, s: RolloutStatus, id: string): Go | string {
  const why = `aborted by request ${id}`;
  switch (s.phase) {
    case "Waiting":
    case "Progressing":
    case "Paused":
    case "WaitingPromotion":
      return rollback(c, s, "Aborted", why);
    case "Promoting": {
      const p = c.o.primary;
      if (p.exists && p.revision === s.canaryRevision) {
        return `${primaryName(c)} already runs revision ${p.revision}`;
      }
      return rollback(c, s, "Aborted", why);
    }
    case "Initializing":
    case "Initialized":
    case "Finalising":
    case "Succeeded":
    case "Failed":
    case "Terminating":
      return `nothing to abort while ${s.phase}`;
    default:
      return assertNever(s.phase, "phase");
  }
}

function retry(c: Ctx, s: RolloutStatus): Go | string {
  if (s.phase !== "Failed") return `only a failed release can be retried, not one ${s.phase}`;
  const revision = s.canaryRevision;
  if (revision !== c.target.revision) {
    return `${c.spec.targetRef.name} now runs revision ${c.target.revision}, which is released instead`;
  }
  // Traffic still on the canary means the promotion failed: retry that, not the analysis.
  if (s.canaryWeight === 100) return toPromoting(c, s, "retrying the promotion by request");
  return startRun(c, s, revision, "Retry");
}

function pause(c: Ctx, s: RolloutStatus): Go | string {
  switch (s.phase) {
    case "Progressing":
    case "WaitingPromotion":
      return toPaused(c, s, "paused by request", false);
    case "Paused":
      return "already paused";
    case "Initializing":
    case "Initialized":
    case "Waiting":
    case "Promoting":
    case "Finalising":
    case "Succeeded":
    case "Failed":
    case "Terminating":
      return `nothing to pause while ${s.phase}`;
    default:
      return assertNever(s.phase, "phase");
  }
}

function resume(c: Ctx, s: RolloutStatus): Go | string {
  if (s.phase !== "Paused") return `not paused but ${s.phase}`;
  if (heldUntilPromoted(c, s)) return `step ${s.currentStep} holds until promoted: use promote`;
  return toResumed(c, s, "resumed by request");
}

/** At a `pause: {}` step not yet released. */
function heldUntilPromoted(c: Ctx, s: RolloutStatus): boolean {
  const step = stepAt(c.steps, stepIndex(c.steps, s));
  return step?.kind === "pause" && step.durationMs === undefined && s.iterations === 0;
}
