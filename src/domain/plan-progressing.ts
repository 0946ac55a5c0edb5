// Progressing: the canary scales up (step 0, then pre-rollout), then each step in turn; a step is
// left once complete, inside a promotion window, and past confirm-traffic-increase. After the last
// comes confirm-promotion.
import type { Action, TrafficRoute } from "./plan-model.js";
import type { Ctx, Step } from "./plan-support.js";
import {
  ask,
  deadlineText,
  event,
  gate,
  hasWebhooks,
  pastGateDeadline,
  pastProgressDeadline,
  stay,
  targetName,
  withEffects,
  unconfirmed,
} from "./plan-support.js";
import type { RolloutStatus } from "./rollout.js";
import type { RunStep } from "./run-steps.js";
import { describeStep, formatDuration, stepAt, stepIndex } from "./run-steps.js";
import { gateFailed, interrupted, interval, SCALE_UP, supervise, wake } from "./plan-step.js";
import { PRIMARY_ONLY, sameRoute } from "./traffic-route.js";
import { enterStep, rollback, toPaused, toPromoting, toWaitingPromotion } from "./transitions.js";

/** Runs the current step: route, confirmation, analysis, completion, then the next. */
export function planProgressing(c: Ctx, s: RolloutStatus): Step {
  const early = interrupted(c, s);
  if (early !== undefined) return early;
  if (c.target.progressDeadlineExceeded) {
    return rollback(
      c,
      s,
      "ProgressDeadlineExceeded",
      `Deployment ${targetName(c)} exceeded its progress deadline`,
    );
  }
  const actions = c.target.scaledUp ? [] : [SCALE_UP];
  const index = stepIndex(c.steps, s);
  const at: RolloutStatus = { ...s, currentStep: index };
  const step = stepAt(c.steps, index);
  if (step === undefined) return planScaleUp(c, at, actions);

  const where = describeStep(step, index, c.steps.length);
  const sup = supervise(c, at, index, where, { countPasses: step.kind === "traffic", actions });
  if (sup.kind !== "supervised") return sup;
  const { status: cur, effects, queries, nextDueAt } = sup;
  const route = step.route;
  const progress = `${cur.failedChecks}/${c.spec.analysis.threshold} failed checks`;
  const unready = !c.target.ready;
  if (unready && pastProgressDeadline(c, cur, "canaryReady")) {
    return withEffects(
      effects,
      rollback(
        c,
        cur,
        "ProgressDeadlineExceeded",
        `canary ${targetName(c)} not ready for ${deadlineText(c)}`,
      ),
    );
  }
  if (queries.length > 0) {
    return stay(cur, `${where}: analysing (${progress})`, {
      actions: [...actions, ...queries],
      effects,
      route,
    });
  }
  if (unready) {
    return stay(cur, `${where}: waiting for canary ${targetName(c)} to become ready`, {
      actions,
      effects,
      route,
      wait: "canaryReady",
      ...wake(nextDueAt),
    });
  }
  const held = holdStep(c, cur, step);
  if (held !== undefined) {
    if (held.kind === "pausedUntilPromoted") {
      return withEffects(effects, toPaused(c, cur, `${where} holds until promoted`, true));
    }
    return stay(cur, `${where}: ${held.text}, ${progress}`, {
      actions,
      effects,
      route,
      ...wake(Math.min(held.until ?? Infinity, nextDueAt ?? Infinity)),
    });
  }
  return withEffects(effects, advance(c, cur, index, { actions, route, nextDueAt }));
}

/** Step 0: the canary scales up with the primary taking all traffic, then pre-rollout runs. */
function planScaleUp(c: Ctx, s: RolloutStatus, actions: readonly Action[]): Step {
  const route = PRIMARY_ONLY;
  const revision = s.canaryRevision ?? c.target.revision;
  if (!c.target.scaledUp || !c.target.ready) {
    if (pastProgressDeadline(c, s, "canaryReady")) {
      return rollback(
        c,
        s,
        "ProgressDeadlineExceeded",
        `canary ${targetName(c)} not ready within ${deadlineText(c)}`,
      );
    }
    return stay(s, `Waiting for canary ${targetName(c)} (revision ${revision}) to become ready`, {
      actions,
      route,
      wait: "canaryReady",
    });
  }
  if (!sameRoute(c.o.traffic.verified, route)) {
    // A restarted or retried run starts from weight 0, confirmed, like any other.
    if (pastProgressDeadline(c, s, "trafficVerified")) {
      return rollback(
        c,
        s,
        "ProgressDeadlineExceeded",
        `proxies did not confirm weight 0 within ${deadlineText(c)}${unconfirmed(c, route)}`,
      );
    }
    return stay(
      s,
      `Canary ready; waiting for every proxy to confirm weight 0 %${unconfirmed(c, route)}`,
      {
        actions,
        route,
        wait: "trafficVerified",
      },
    );
  }
  let cur = s;
  const effects: Action[] = [];
  if (hasWebhooks(c.spec, "pre-rollout") && s.iterations === 0) {
    const answer = c.o.gates["pre-rollout"];
    if (answer === undefined) {
      const last = s.lastAnalysisAt === undefined ? undefined : Date.parse(s.lastAnalysisAt);
      const dueAt = last === undefined ? c.now : last + interval(c);
      if (c.now < dueAt) {
        return stay(
          s,
          `Canary ready; pre-rollout webhooks failed (${s.failedChecks}/${c.spec.analysis.threshold} failed checks), retrying in ${formatDuration(dueAt - c.now)}`,
          { actions, route, wakeAt: dueAt },
        );
      }
      return stay(s, "Canary ready; running pre-rollout webhooks", {
        actions: [...actions, ask("pre-rollout")],
        route,
      });
    }
    if (answer === "open") {
      // iterations counts what passed in the current step; for step 0 that is pre-rollout.
      cur = { ...s, iterations: 1 };
    } else {
      cur = { ...s, failedChecks: s.failedChecks + 1, lastAnalysisAt: c.nowIso };
      const text = `pre-rollout webhooks ${answer === "failed" ? "failed" : "did not pass"} (${cur.failedChecks}/${c.spec.analysis.threshold} failed checks)`;
      effects.push(event("Warning", "PreRolloutFailed", text));
      if (cur.failedChecks >= c.spec.analysis.threshold) {
        return withEffects(effects, rollback(c, cur, "FailedChecks", text));
      }
      return stay(cur, `Canary ready; ${text}`, {
        actions,
        effects,
        route,
        wakeAt: c.now + interval(c),
      });
    }
  }
  return withEffects(effects, advance(c, cur, 0, { actions, route, nextDueAt: undefined }));
}

type Hold =
  | { readonly kind: "waiting"; readonly text: string; readonly until?: number }
  | { readonly kind: "pausedUntilPromoted" };

/** Why a step whose route is confirmed cannot be left yet; undefined when it is complete. */
function holdStep(c: Ctx, s: RolloutStatus, step: RunStep): Hold | undefined {
  switch (step.kind) {
    case "traffic":
      return s.iterations >= step.passes
        ? undefined
        : { kind: "waiting", text: `${s.iterations}/${step.passes} analyses passed` };
    case "pause": {
      // iterations marks a `pause: {}` released by promote.
      if (step.durationMs === undefined) {
        return s.iterations > 0 ? undefined : { kind: "pausedUntilPromoted" };
      }
      const until = Date.parse(s.stepStartedAt ?? c.nowIso) + step.durationMs;
      return c.now >= until
        ? undefined
        : { kind: "waiting", text: `${formatDuration(until - c.now)} left`, until };
    }
  }
}

interface Next {
  readonly actions: readonly Action[];
  readonly route: TrafficRoute;
  readonly nextDueAt: number | undefined;
}

/** Step `index` is complete: on to the next step, or to promotion after the last. */
function advance(c: Ctx, s: RolloutStatus, index: number, next: Next): Step {
  const where =
    index === 0
      ? "Canary ready"
      : `${describeStep(c.steps[index - 1] ?? { kind: "pause", route: next.route }, index, c.steps.length)} complete`;
  const { actions, route } = next;
  if (!c.o.inPromotionWindow) {
    return stay(s, `${where}; waiting for a promotion window`, {
      actions,
      route,
      wakeAt: Math.min(next.nextDueAt ?? Infinity, c.now + interval(c)),
    });
  }
  const following = c.steps[index];
  if (following === undefined) return toPromotion(c, s, actions, route);
  if (following.kind === "traffic" && following.route.canaryWeight > route.canaryWeight) {
    const text = `${where}; waiting for approval to raise the canary weight to ${following.route.canaryWeight} % (confirm-traffic-increase)`;
    switch (gate(c, "confirm-traffic-increase")) {
      case "ask":
        return stay(s, text, { actions: [...actions, ask("confirm-traffic-increase")], route });
      case "closed":
        if (pastGateDeadline(c, s, "confirm-traffic-increase")) {
          return rollback(
            c,
            s,
            "GateFailed",
            "confirm-traffic-increase did not open before its deadline",
          );
        }
        return stay(s, text, {
          actions,
          route,
          wait: "approval",
          wakeAt: Math.min(next.nextDueAt ?? Infinity, c.now + interval(c)),
        });
      case "failed":
        return gateFailed(c, s, "confirm-traffic-increase", {
          actions,
          route,
          wakeAt: Math.min(next.nextDueAt ?? Infinity, c.now + interval(c)),
        });
      case "open":
        break;
    }
  }
  return enterStep(c, s, index + 1);
}

/** After the last step: confirm-promotion, then Promoting. */
function toPromotion(
  c: Ctx,
  s: RolloutStatus,
  actions: readonly Action[],
  route: TrafficRoute,
): Step {
  switch (gate(c, "confirm-promotion")) {
    case "ask":
      return stay(s, "All steps complete; asking confirm-promotion", {
        actions: [...actions, ask("confirm-promotion")],
        route,
      });
    case "closed":
      return toWaitingPromotion(c, s);
    case "failed":
      return gateFailed(c, s, "confirm-promotion", { actions, route });
    case "open":
      return toPromoting(c, s, "all steps complete");
  }
}
