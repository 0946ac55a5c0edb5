// The pure planner: from what the reconciler observed of one Rollout and the time, the actions to
// take and the complete new status. A plan either converges the world towards the current state
// (stay) or moves to a new state (go) and then acts on nothing, so that every state is written
// before anything is done in its name: a controller killed at any point resumes where it was.
import { assertNever } from "../common/assert-never.js";
import {
  defaultReady,
  getCondition,
  invalidProgress,
  progressHealth,
  promotedHealth,
  setCondition,
  setProgress,
  stampGeneration,
} from "./conditions.js";
import type { Health } from "./conditions.js";
import { planFailed, planIdle, planInitializing, planTerminating } from "./plan-lifecycle.js";
import { applyManual } from "./plan-manual.js";
import type { Action, InvalidSpec, Observed, Plan } from "./plan-model.js";
import { isInvalidSpec, isQuery } from "./plan-model.js";
import { planProgressing } from "./plan-progressing.js";
import { planFinalising, planPromoting } from "./plan-promotion.js";
import type { BaseCtx, Ctx, Go, Stay, Step } from "./plan-support.js";
import { event, go, iso, primaryName, stay, WAIT_POLL_MS } from "./plan-support.js";
import { planPaused, planWaiting, planWaitingPromotion } from "./plan-waiting.js";
import type { RolloutStatus, WaitReason } from "./rollout.js";
import { runSteps } from "./run-steps.js";
import { carriesTraffic, PRIMARY_ONLY, sameRoute } from "./traffic-route.js";
import { routeConflict } from "./route-conflict.js";
import { rollback } from "./transitions.js";

export function plan(observed: Observed, now: number): Plan {
  const nowIso = iso(now);
  const prev = observed.status;
  const effects: Action[] = [];
  let s: RolloutStatus = prev ?? initialStatus(observed.generation, nowIso);
  if (prev === undefined) {
    effects.push(event("Normal", "Initializing", "New Rollout: taking over its target"));
  }
  const spec = observed.spec;
  if (isInvalidSpec(spec)) return planInvalid(observed, prev, s, spec, now);

  const base: BaseCtx = { o: observed, spec, steps: runSteps(spec), now, nowIso };
  if (observed.deleting) {
    if (s.phase !== "Terminating") {
      effects.push(event("Normal", "Terminating", "Rollout deleted"));
      s = { ...s, phase: "Terminating", waitingFor: undefined };
    }
    return finish(base, prev, planTerminating(base, s), effects, false);
  }
  const target = observed.target;
  if (!target.exists) return finish(base, prev, targetMissing(base, s), effects, false);
  if (spec.suspend) {
    return finish(base, prev, stay(s, `Suspended (spec.suspend) while ${s.phase}`), effects, false);
  }

  const c: Ctx = { ...base, target };
  const manual = applyManual(c, s);
  if (manual !== undefined) {
    effects.push(...manual.effects);
    if (manual.kind === "go") return finish(c, prev, settle(c, manual), effects, false);
    s = manual.status;
  }
  const step = planPhase(c, s);
  if (step.kind === "go") {
    return finish(c, prev, settle(c, step), [...effects, ...step.effects], false);
  }
  return finish(c, prev, step, effects, true);
}

/** A transition's plan: the new state, no wait, and another plan right away to act on it. */
function settle(c: BaseCtx, g: Go): Stay {
  return stay({ ...g.status, waitingFor: undefined }, g.status.message, {
    wakeAt: c.now,
    ...(g.route === undefined ? {} : { route: g.route }),
  });
}

function planPhase(c: Ctx, s: RolloutStatus): Step {
  if (s.phase !== "Initializing" && s.phase !== "Terminating" && !c.o.primary.exists) {
    return go({ ...s, phase: "Initializing" }, [
      event("Warning", "PrimaryMissing", `${primaryName(c)} not found: initializing again`),
    ]);
  }
  switch (s.phase) {
    case "Initializing":
      return planInitializing(c, s);
    case "Initialized":
    case "Succeeded":
      return planIdle(c, s);
    case "Waiting":
      return planWaiting(c, s);
    case "Progressing":
      return planProgressing(c, s);
    case "Paused":
      return planPaused(c, s);
    case "WaitingPromotion":
      return planWaitingPromotion(c, s);
    case "Promoting":
      return planPromoting(c, s);
    case "Finalising":
      return planFinalising(c, s);
    case "Failed":
      return planFailed(c, s);
    case "Terminating":
      return planTerminating(c, s);
    default:
      return assertNever(s.phase, "phase");
  }
}

function initialStatus(generation: number, nowIso: string): RolloutStatus {
  return {
    phase: "Initializing",
    observedGeneration: generation,
    canaryWeight: 0,
    verifiedWeight: 0,
    currentStep: 0,
    failedChecks: 0,
    iterations: 0,
    message: "",
    lastTransitionTime: nowIso,
    conditions: [],
  };
}

/** Phases in which a release holds canary replicas or traffic. */
const IN_RELEASE: ReadonlySet<RolloutStatus["phase"]> = new Set([
  "Waiting",
  "Progressing",
  "Paused",
  "WaitingPromotion",
]);

/**
 * An invalid spec: reported once (Ready and Stalled, a Warning Event) and nothing moved, the
 * phase as it was; deletion goes on (without a revert: an invalid spec does not say what to
 * revert to). In the middle of a release, traffic holds where it is until the progress deadline,
 * then the release is rolled back through the spec's fallback (its Service and target, which
 * still parse) and finished like any rollback: weight 0 confirmed, the canary scaled down.
 */
function planInvalid(
  o: Observed,
  prev: RolloutStatus | undefined,
  s: RolloutStatus,
  spec: InvalidSpec,
  now: number,
): Plan {
  const nowIso = iso(now);
  const message = `Invalid spec: ${spec.message}`;
  const ready = getCondition(s.conditions, "Ready");
  const told =
    refusalSince(s, spec) !== undefined ||
    (ready?.reason === spec.reason && ready.message === message);
  const report = (st: RolloutStatus): RolloutStatus => ({
    ...st,
    observedGeneration: o.generation,
    conditions: stampGeneration(
      setProgress(
        // A new refusal starts its own clock (Stalled may have been True for another reason).
        told ? st.conditions : st.conditions.filter((c) => c.type !== "Stalled"),
        invalidProgress(spec.reason, message),
        nowIso,
      ),
      o.generation,
    ),
  });
  const tell: Action[] = told || o.deleting ? [] : [event("Warning", spec.reason, message)];
  const fallback = spec.fallback;
  const target = o.target;
  const c: Ctx | undefined =
    fallback === undefined || o.deleting || !target.exists
      ? undefined
      : {
          o: { ...o, spec: fallback },
          spec: fallback,
          steps: runSteps(fallback),
          now,
          nowIso,
          target,
        };
  if (c !== undefined && s.phase === "Failed" && c.target.revision === s.canaryRevision) {
    // A rollback, this one or an earlier, is finished as ever: weight 0 confirmed, canary down.
    const failed = planFailed(c, s);
    if (failed.kind === "stay") {
      const p = finish(c, prev, failed, tell, false);
      return { actions: p.actions, status: compact(report(p.status)) };
    }
  }
  if (c !== undefined && IN_RELEASE.has(s.phase)) {
    const deadlineMs = c.spec.progressDeadlineSeconds * 1000;
    const dueAt = (refusalSince(s, spec) ?? now) + deadlineMs;
    if (now >= dueAt) {
      const text = `the spec was invalid for ${String(c.spec.progressDeadlineSeconds)}s (progressDeadlineSeconds): ${spec.message}`;
      const g = rollback(c, s, "InvalidSpec", text);
      const p = finish(c, prev, settle(c, g), [...tell, ...g.effects], false);
      return { actions: p.actions, status: compact(report(p.status)) };
    }
    const held = holdInvalid(o, s, spec, report, tell, nowIso);
    return { ...held, actions: [...held.actions, { kind: "requeueAfter", ms: dueAt - now }] };
  }
  return holdInvalid(o, s, spec, report, tell, nowIso);
}

/** Nothing moves; Ready says why (Terminating while deleted). */
function holdInvalid(
  o: Observed,
  s: RolloutStatus,
  spec: InvalidSpec,
  report: (st: RolloutStatus) => RolloutStatus,
  tell: readonly Action[],
  nowIso: string,
): Plan {
  const message = `Invalid spec: ${spec.message}`;
  const deleting = o.deleting;
  const status = report({
    ...s,
    ...(deleting ? { phase: "Terminating" as const } : {}),
    message,
    conditions: setCondition(
      s.conditions,
      "Ready",
      { status: "False", reason: spec.reason, message },
      nowIso,
    ),
  });
  return {
    actions: [...tell, ...(deleting ? [{ kind: "removeFinalizer" } as const] : [])],
    status: compact(status),
  };
}

/** When the controller first refused this spec (Stalled says so), undefined if it has not. */
function refusalSince(s: RolloutStatus, spec: InvalidSpec): number | undefined {
  const stalled = getCondition(s.conditions, "Stalled");
  const same =
    stalled?.status === "True" &&
    stalled.reason === spec.reason &&
    stalled.message === `Invalid spec: ${spec.message}`;
  return same ? Date.parse(stalled.lastTransitionTime) : undefined;
}

/** The target is gone: report it, and send nothing to a canary that no longer exists. */
function targetMissing(c: BaseCtx, s: RolloutStatus): Stay {
  const text = `Deployment ${c.spec.targetRef.name} not found`;
  const requested = c.o.traffic.requested;
  const noticed = s.conditions.some((x) => x.type === "Ready" && x.reason === "TargetNotFound");
  return stay(s, text, {
    ready: { status: "False", reason: "TargetNotFound", message: text },
    ...(requested !== undefined && carriesTraffic(requested) ? { route: PRIMARY_ONLY } : {}),
    effects: noticed ? [] : [event("Warning", "TargetNotFound", text)],
  });
}

const SYSTEM_WAITS: readonly WaitReason[] = [
  "canaryReady",
  "primaryReady",
  "targetReady",
  "trafficVerified",
  "servicesReady",
  "targetScaledDown",
];

/** Turns the final state into the plan: routing, services, the wait's clock, conditions, requeue. */
function finish(
  c: BaseCtx,
  prev: RolloutStatus | undefined,
  end: Stay,
  effects: readonly Action[],
  manage: boolean,
): Plan {
  const actions: Action[] = [];
  const o = c.o;
  let status = end.status;
  if (manage && !(o.services.apex && o.services.primary && o.services.canary)) {
    actions.push({ kind: "ensureServices" });
  }
  if (end.route !== undefined) {
    if (!sameRoute(o.traffic.requested, end.route) || o.traffic.policyStale === true) {
      actions.push({ kind: "setTraffic", route: end.route });
    }
    status = { ...status, canaryWeight: end.route.canaryWeight, route: end.route };
  } else if (o.traffic.policyStale === true && o.traffic.requested !== undefined) {
    // A policy edit reaches the proxies in every phase, at the weight they already have; a plan
    // that forgets the routing (clearTraffic) makes it moot.
    if (!end.actions.some((a) => a.kind === "clearTraffic")) {
      actions.push({ kind: "setTraffic", route: o.traffic.requested });
    }
  }
  actions.push(...end.actions, ...effects, ...end.effects);

  // A plan that asks questions decides nothing about waits: the answers will.
  const asking = end.wait === undefined && end.actions.some(isQuery);
  const waitingFor = asking
    ? status.waitingFor
    : end.wait === undefined
      ? undefined
      : status.waitingFor?.reason === end.wait
        ? status.waitingFor
        : { reason: end.wait, since: c.nowIso };
  const phaseChanged = prev?.phase !== status.phase;
  status = {
    ...status,
    observedGeneration: o.generation,
    verifiedWeight: o.traffic.verified?.canaryWeight ?? status.verifiedWeight,
    waitingFor,
    lastTransitionTime: phaseChanged ? c.nowIso : status.lastTransitionTime,
  };
  const ready = end.ready ?? failedReady(status) ?? defaultReady(status.phase, status.message);
  let conditions = setCondition(status.conditions, "Ready", ready, c.nowIso);
  conditions = setCondition(conditions, "Promoted", promotedHealth(status.phase), c.nowIso);
  // The suspend branch of plan() is taken exactly when these hold.
  const suspended = c.spec.suspend && !o.deleting && o.target.exists;
  const progress = progressHealth(status.phase, status.message, ready, suspended);
  conditions = setProgress(conditions, progress, c.nowIso);
  const conflict = o.deleting ? undefined : routeConflict(c.spec, o.traffic.boundBy);
  if (conflict === undefined) {
    conditions = conditions.filter((x) => x.type !== "RouteConflict");
  } else {
    const before = prev === undefined ? undefined : getCondition(prev.conditions, "RouteConflict");
    if (before?.message !== conflict.message) {
      actions.push(event("Warning", "RouteConflict", conflict.message));
    }
    conditions = setCondition(conditions, "RouteConflict", conflict, c.nowIso);
  }
  conditions = stampGeneration(conditions, o.generation);
  status = { ...status, conditions };

  const polls = end.wait !== undefined && SYSTEM_WAITS.includes(end.wait);
  const wakeAt = Math.min(end.wakeAt ?? Infinity, polls ? c.now + WAIT_POLL_MS : Infinity);
  if (Number.isFinite(wakeAt))
    actions.push({ kind: "requeueAfter", ms: Math.max(0, wakeAt - c.now) });
  return { actions, status: compact(status) };
}

/** While Failed, Ready keeps the reason the rollback gave it. */
function failedReady(s: RolloutStatus): Health | undefined {
  if (s.phase !== "Failed") return undefined;
  const c = getCondition(s.conditions, "Ready");
  return c?.status === "False"
    ? { status: "False", reason: c.reason, message: c.message }
    : undefined;
}

/** Drops properties set to undefined, so equal statuses compare equal however they were built. */
function compact(status: RolloutStatus): RolloutStatus {
  return Object.fromEntries(
    Object.entries(status).filter(([, v]) => v !== undefined),
  ) as unknown as RolloutStatus;
}
