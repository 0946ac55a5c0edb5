// The holding phases of a release: Waiting (confirm-rollout, before the canary scales up),
// Paused (by request or at a `pause: {}` step), and WaitingPromotion (confirm-promotion). The
// canary keeps its route, and its analysis keeps running, while a release is held.
import type { Ctx, Step } from "./plan-support.js";
import { ask, gate, pastGateDeadline, stay, withEffects } from "./plan-support.js";
import {
  askRollbackHook,
  gateFailed,
  interrupted,
  interval,
  SCALE_UP,
  supervise,
  wake,
} from "./plan-step.js";
import type { RolloutStatus } from "./rollout.js";
import { describeStep, routeAt, stepAt, stepIndex } from "./run-steps.js";
import { PRIMARY_ONLY } from "./traffic-route.js";
import { rollback, startRun, toInitialized, toPromoting } from "./transitions.js";

/** A new revision held by confirm-rollout, before the canary scales up. */
export function planWaiting(c: Ctx, s: RolloutStatus): Step {
  const revision = c.target.revision;
  const p = c.o.primary;
  if (revision !== s.canaryRevision && p.exists && p.revision === revision) {
    return toInitialized(c, s, revision, "Reverted");
  }
  const cur: RolloutStatus = { ...s, canaryRevision: revision };
  if (c.o.gates.rollback === "open") {
    return rollback(c, cur, "RollbackWebhook", "a rollback webhook asked for it");
  }
  const route = PRIMARY_ONLY;
  const text = `Revision ${revision} waits for approval (confirm-rollout)`;
  switch (gate(c, "confirm-rollout")) {
    case "ask":
      return stay(cur, text, {
        actions: [ask("confirm-rollout"), ...askRollbackHook(c)],
        route,
      });
    case "closed":
      if (pastGateDeadline(c, cur, "confirm-rollout")) {
        return rollback(c, cur, "GateFailed", "confirm-rollout did not open before its deadline");
      }
      return stay(cur, text, { route, wait: "approval", wakeAt: c.now + interval(c) });
    case "failed":
      return gateFailed(c, cur, "confirm-rollout", { route, wait: "approval" });
    case "open":
      return startRun(c, cur, revision, "Approved");
  }
}

/** Holds the current step's route and analysis; nothing advances and no deadline runs. */
export function planPaused(c: Ctx, s: RolloutStatus): Step {
  const early = interrupted(c, s);
  if (early !== undefined) return early;
  const index = stepIndex(c.steps, s);
  const step = stepAt(c.steps, index);
  const where = step === undefined ? "scale-up" : describeStep(step, index, c.steps.length);
  const actions = c.target.scaledUp ? [] : [SCALE_UP];
  const sup = supervise(c, { ...s, currentStep: index }, index, `Paused at ${where}`, {
    countPasses: false,
    actions,
    paused: true,
  });
  if (sup.kind !== "supervised") return sup;
  const untilPromoted =
    step?.kind === "pause" && step.durationMs === undefined && sup.status.iterations === 0;
  return stay(
    sup.status,
    `Paused at ${where}: ${untilPromoted ? "promote" : "resume"} to continue`,
    {
      actions: [...actions, ...sup.queries],
      effects: sup.effects,
      route: routeAt(c.steps, index),
      // A pause has no deadline (as in Argo Rollouts): it waits for a human, and
      // status.waitingFor says since when.
      wait: "approval",
      ...wake(sup.nextDueAt),
    },
  );
}

/** All steps complete, confirm-promotion closed: analysis goes on, failures still roll back. */
export function planWaitingPromotion(c: Ctx, s: RolloutStatus): Step {
  const early = interrupted(c, s);
  if (early !== undefined) return early;
  const index = stepIndex(c.steps, s);
  const route = routeAt(c.steps, index);
  const actions = c.target.scaledUp ? [] : [SCALE_UP];
  const where = "All steps complete";
  const sup = supervise(c, { ...s, currentStep: index }, index, where, {
    countPasses: false,
    actions,
  });
  if (sup.kind !== "supervised") return sup;
  const { status: cur, effects, queries, nextDueAt } = sup;
  const text = `${where}; promotion waits for approval (confirm-promotion)`;
  if (queries.length > 0) {
    return stay(cur, text, { actions: [...actions, ...queries], effects, route });
  }
  const poll = { wakeAt: Math.min(nextDueAt ?? Infinity, c.now + interval(c)) };
  switch (gate(c, "confirm-promotion")) {
    case "ask":
      return stay(cur, text, {
        actions: [...actions, ask("confirm-promotion")],
        effects,
        route,
      });
    case "closed":
      if (pastGateDeadline(c, cur, "confirm-promotion")) {
        return withEffects(
          effects,
          rollback(c, cur, "GateFailed", "confirm-promotion did not open before its deadline"),
        );
      }
      return stay(cur, text, { actions, effects, route, wait: "approval", ...poll });
    case "failed":
      return gateFailed(c, cur, "confirm-promotion", { actions, effects, route, ...poll });
    case "open":
      if (!c.o.inPromotionWindow) {
        return stay(cur, `${where}; promotion approved, waiting for a promotion window`, {
          actions,
          effects,
          route,
          ...poll,
        });
      }
      return withEffects(effects, toPromoting(c, cur, "promotion approved"));
  }
}
