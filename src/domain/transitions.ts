// Transitions between states: each returns the new status, with the events and notifications the
// change is worth (beginRelease may first have to ask confirm-rollout). The phase planners decide
// when; these say what changes.
import { setCondition } from "./conditions.js";
import type { Action, TrafficRoute } from "./plan-model.js";
import type { Ctx, Go, Step } from "./plan-support.js";
import {
  ask,
  event,
  gate,
  go,
  hasWebhooks,
  notify,
  primaryName,
  stay,
  targetName,
} from "./plan-support.js";
import type { RolloutStatus } from "./rollout.js";
import { describeStep, stepAt } from "./run-steps.js";
import { CANARY_ONLY, PRIMARY_ONLY } from "./traffic-route.js";

/** Why a release was rolled back: the Ready condition's reason while Failed. */
export type RollbackReason =
  | "FailedChecks"
  | "ProgressDeadlineExceeded"
  | "Aborted"
  | "GateFailed"
  | "RollbackWebhook"
  | "InvalidSpec";

function postRollout(c: Ctx): Action[] {
  return hasWebhooks(c.spec, "post-rollout") ? [{ kind: "runWebhooks", type: "post-rollout" }] : [];
}

/** Route everything back to the primary and scale the canary down (the Failed phase does both). */
/**
 * What a finished release cost its users, for its Events and notifications: the canary's
 * requests and failures up to the judge's decision (status.judge), when the judge ran.
 */
export function canaryTally(s: RolloutStatus): string {
  const j = s.judge;
  if (j === undefined) return "";
  return ` (the canary answered ${String(j.canaryRequests)} requests, ${String(j.canaryFailed)} failed)`;
}

export function rollback(c: Ctx, s: RolloutStatus, reason: RollbackReason, detail: string): Go {
  return fail(c, s, reason, detail, 0);
}

/**
 * The primary did not become ready with the promoted revision: keep traffic on the canary, which
 * is known good, rather than send it to a primary that cannot serve (Flagger #1898).
 */
export function failPromotion(c: Ctx, s: RolloutStatus, detail: string): Go {
  return fail(c, s, "ProgressDeadlineExceeded", detail, c.target.ready ? 100 : 0);
}

function fail(
  c: Ctx,
  s: RolloutStatus,
  reason: RollbackReason,
  detail: string,
  canaryWeight: number,
): Go {
  const revision = s.canaryRevision ?? c.target.revision;
  const text = `Rolled back ${targetName(c)} revision ${revision}: ${detail}${canaryTally(s)}`;
  // planFailed's route, sent now: not one reconcile later.
  const route = canaryWeight === 100 ? CANARY_ONLY : PRIMARY_ONLY;
  const g = go(
    {
      ...s,
      phase: "Failed",
      canaryRevision: revision,
      canaryWeight,
      stepStartedAt: undefined,
      conditions: setCondition(
        s.conditions,
        "Ready",
        { status: "False", reason, message: text },
        c.nowIso,
      ),
    },
    [event("Warning", "RolledBack", text), notify("rolledBack", "error", text), ...postRollout(c)],
  );
  return { ...g, route };
}

export type RunStart = "NewRevision" | "Restarted" | "Retry" | "Approved";

/** A fresh run of `revision`: the canary scales up, weight 0, no checks counted yet. */
export function startRun(c: Ctx, s: RolloutStatus, revision: string, why: RunStart): Go {
  const text: Record<RunStart, string> = {
    NewRevision: `New revision ${revision} of ${targetName(c)}: starting the release`,
    Restarted: `New revision ${revision} of ${targetName(c)} replaces ${s.canaryRevision ?? "the previous one"}: restarting the release`,
    Retry: `Retrying the release of ${targetName(c)} revision ${revision}`,
    Approved: `Release of ${targetName(c)} revision ${revision} approved: starting`,
  };
  return go(
    {
      ...s,
      phase: "Progressing",
      canaryRevision: revision,
      currentStep: 0,
      failedChecks: 0,
      iterations: 0,
      stepStartedAt: undefined,
      lastAnalysisAt: undefined,
      checks: undefined,
      judge: undefined,
    },
    [event("Normal", why, text[why]), notify("started", "info", text[why])],
  );
}

/** Start a release from a resting phase, through the confirm-rollout gate. */
export function beginRelease(
  c: Ctx,
  s: RolloutStatus,
  revision: string,
  route: TrafficRoute,
): Step {
  switch (gate(c, "confirm-rollout")) {
    case "ask":
      return stay(s, `New revision ${revision}: asking confirm-rollout`, {
        actions: [ask("confirm-rollout")],
        route,
      });
    case "closed": {
      const text = `Release of ${targetName(c)} revision ${revision} waits for approval (confirm-rollout)`;
      return go(
        {
          ...s,
          phase: "Waiting",
          canaryRevision: revision,
          currentStep: 0,
          failedChecks: 0,
          iterations: 0,
          stepStartedAt: undefined,
          checks: undefined,
          judge: undefined,
        },
        [event("Normal", "WaitingForApproval", text), notify("waitingApproval", "warn", text)],
      );
    }
    case "failed": {
      // No answer from the gate is a failed check: Waiting with one counted, asked again there.
      const text = `confirm-rollout webhooks did not answer (1/${String(c.spec.analysis.threshold)} failed checks)`;
      const held: RolloutStatus = { ...s, canaryRevision: revision, failedChecks: 1 };
      if (c.spec.analysis.threshold <= 1) return rollback(c, held, "GateFailed", text);
      return go(
        {
          ...held,
          phase: "Waiting",
          currentStep: 0,
          iterations: 0,
          stepStartedAt: undefined,
          checks: undefined,
          judge: undefined,
        },
        [event("Warning", "GateFailed", text), notify("waitingApproval", "warn", text)],
        text,
      );
    }
    case "open":
      return startRun(c, s, revision, "NewRevision");
  }
}

/**
 * The target no longer runs the revision under release: back to resting if it now matches the
 * primary (the change was reverted), otherwise restart with the new revision.
 */
export function revisionChange(c: Ctx, s: RolloutStatus): Go | undefined {
  const revision = c.target.revision;
  if (revision === s.canaryRevision) return undefined;
  const p = c.o.primary;
  if (p.exists && p.revision === revision) return toInitialized(c, s, revision, "Reverted");
  return startRun(c, s, revision, "Restarted");
}

export function toInitialized(
  c: Ctx,
  s: RolloutStatus,
  primaryRevision: string,
  why: "Initialized" | "Reverted",
): Go {
  const status: RolloutStatus = {
    ...s,
    phase: "Initialized",
    primaryRevision,
    canaryRevision: undefined,
    currentStep: 0,
    failedChecks: 0,
    iterations: 0,
    stepStartedAt: undefined,
    lastAnalysisAt: undefined,
    checks: undefined,
    judge: undefined,
  };
  if (why === "Reverted") {
    const text = `${targetName(c)} is back at revision ${primaryRevision}, which ${primaryName(c)} serves: nothing to release`;
    return go(status, [event("Normal", "Reverted", text)]);
  }
  const text = `Initialization done: ${primaryName(c)} serves revision ${primaryRevision}`;
  return go(status, [event("Normal", "Initialized", text), notify("initialized", "info", text)]);
}

export function enterStep(c: Ctx, s: RolloutStatus, index: number): Go {
  const step = stepAt(c.steps, index);
  const text =
    step === undefined
      ? `Step ${index}`
      : `${describeStep(step, index, c.steps.length)} for revision ${s.canaryRevision ?? ""}`;
  return go({ ...s, currentStep: index, iterations: 0, stepStartedAt: undefined }, [
    event("Normal", "StepAdvanced", text),
  ]);
}

export function toPaused(c: Ctx, s: RolloutStatus, why: string, waitsForPromote: boolean): Go {
  const text = `Release of ${targetName(c)} paused: ${why}`;
  return go(
    { ...s, phase: "Paused" },
    waitsForPromote
      ? [event("Normal", "Paused", text), notify("waitingApproval", "warn", text)]
      : [event("Normal", "Paused", text)],
  );
}

export function toResumed(c: Ctx, s: RolloutStatus, why: string): Go {
  return go({ ...s, phase: "Progressing" }, [
    event("Normal", "Resumed", `Release of ${targetName(c)} resumed: ${why}`),
  ]);
}

export function toWaitingPromotion(c: Ctx, s: RolloutStatus): Go {
  const text = `Promotion of ${targetName(c)} revision ${s.canaryRevision ?? ""} waits for approval (confirm-promotion)`;
  return go({ ...s, phase: "WaitingPromotion" }, [
    event("Normal", "WaitingPromotion", text),
    notify("waitingApproval", "warn", text),
  ]);
}

export function toPromoting(c: Ctx, s: RolloutStatus, why: string): Go {
  const text = `Promoting ${targetName(c)} revision ${s.canaryRevision ?? ""} to ${primaryName(c)}: ${why}`;
  return go({ ...s, phase: "Promoting" }, [event("Normal", "Promoting", text)]);
}

export function toFinalising(c: Ctx, s: RolloutStatus): Go {
  const text = `${primaryName(c)} serves revision ${s.canaryRevision ?? ""}: scaling ${targetName(c)} down`;
  return go({ ...s, phase: "Finalising" }, [event("Normal", "Finalising", text)]);
}

export function toSucceeded(c: Ctx, s: RolloutStatus): Go {
  const text = `Release of ${targetName(c)} revision ${s.canaryRevision ?? ""} completed: promoted to ${primaryName(c)}${canaryTally(s)}`;
  return go(
    {
      ...s,
      phase: "Succeeded",
      primaryRevision: s.canaryRevision,
      stepStartedAt: undefined,
    },
    [event("Normal", "Succeeded", text), notify("promoted", "info", text), ...postRollout(c)],
  );
}
