// The resting and bookend phases: Initializing (take over the target), Initialized and Succeeded
// (idle until a new revision), Failed (rolled back), and Terminating (give the target back).
import { getCondition } from "./conditions.js";
import type { Action, TrafficRoute } from "./plan-model.js";
import type { BaseCtx, Ctx, Stay, Step } from "./plan-support.js";
import {
  deadlineText,
  event,
  overdue,
  pastProgressDeadline,
  primaryName,
  stay,
  targetName,
  unconfirmed,
} from "./plan-support.js";
import type { RolloutStatus } from "./rollout.js";
import { APEX_ONLY, CANARY_ONLY, PRIMARY_ONLY, sameRoute } from "./traffic-route.js";
import { beginRelease, toInitialized } from "./transitions.js";

/**
 * Primary first, then Services; traffic moves to the primary only once it is ready and the target
 * scales to zero only once every proxy routes to the primary, so taking over costs no request.
 */
export function planInitializing(c: Ctx, s: RolloutStatus): Step {
  const p = c.o.primary;
  if (!p.exists) {
    const from = s.primaryRevision ?? c.target.revision;
    if (from !== c.target.revision) {
      // Recreating it from the target would put an unanalysed revision in front of everyone.
      const text = `${primaryName(c)} is missing and ${targetName(c)} no longer runs its revision ${from}; restore either`;
      return stay(s, text, { ready: { status: "False", reason: "PrimaryMissing", message: text } });
    }
    return stay(s, `Creating ${primaryName(c)} from revision ${from}`, {
      actions: [{ kind: "ensurePrimary", fromRevision: from }],
      wait: "primaryReady",
    });
  }
  if (!p.ready) {
    return overdue(
      c,
      s,
      "primaryReady",
      `Waiting for ${primaryName(c)} (revision ${p.revision}) to become ready`,
      { force: p.progressDeadlineExceeded },
    );
  }
  const svc = c.o.services;
  if (!svc.apex || !svc.primary || !svc.canary) {
    const missing = [
      ...(svc.apex ? [] : [c.spec.service.name]),
      ...(svc.primary ? [] : [`${c.spec.service.name}-primary`]),
      ...(svc.canary ? [] : [`${c.spec.service.name}-canary`]),
    ];
    return overdue(c, s, "servicesReady", `Creating the Services ${missing.join(", ")}`, {});
  }
  if (!sameRoute(c.o.traffic.verified, PRIMARY_ONLY)) {
    return overdue(
      c,
      s,
      "trafficVerified",
      `Waiting for every proxy to route to ${primaryName(c)}`,
      {
        route: PRIMARY_ONLY,
      },
    );
  }
  if (c.target.scaledUp) {
    // Something else (an autoscaler, a GitOps sync of spec.replicas) can keep scaling it up.
    return overdue(
      c,
      s,
      "targetScaledDown",
      `Scaling ${targetName(c)} to zero; ${primaryName(c)} serves revision ${p.revision}`,
      { actions: [{ kind: "scaleTargetToZero" }], route: PRIMARY_ONLY },
    );
  }
  return toInitialized(c, s, p.revision, "Initialized");
}

/** Initialized and Succeeded: the primary serves; a target revision it does not run is released. */
export function planIdle(c: Ctx, s: RolloutStatus): Step {
  const route = PRIMARY_ONLY;
  const p = c.o.primary;
  const serving = p.exists ? p.revision : (s.primaryRevision ?? "unknown");
  if (c.target.revision !== serving) return beginRelease(c, s, c.target.revision, route);
  const actions: Action[] =
    c.target.scaledUp && sameRoute(c.o.traffic.verified, route)
      ? [{ kind: s.phase === "Initialized" ? "scaleTargetToZero" : "scaleCanaryDown" }]
      : [];
  return stay(s, `${primaryName(c)} serves revision ${serving}`, { actions, route });
}

/**
 * Rolled back: traffic goes where the rollback put it (the primary, or the canary after a failed
 * promotion) and the canary scales down once no proxy sends it anything. A new revision starts a
 * new release; the target reverted to what the primary runs needs none.
 */
export function planFailed(c: Ctx, s: RolloutStatus): Step {
  const route: TrafficRoute = s.canaryWeight === 100 ? CANARY_ONLY : PRIMARY_ONLY;
  const revision = c.target.revision;
  const p = c.o.primary;
  if (revision !== s.canaryRevision) {
    if (p.exists && p.revision === revision) return toInitialized(c, s, revision, "Reverted");
    return beginRelease(c, s, revision, route);
  }
  const cond = getCondition(s.conditions, "Ready");
  const text = cond?.status === "False" ? cond.message : `Release of revision ${revision} failed`;
  if (!sameRoute(c.o.traffic.verified, route)) {
    // Already Stalled with the rollback's reason; past the deadline it says the proxies are why.
    const wait = "trafficVerified" as const;
    if (!pastProgressDeadline(c, s, wait)) {
      return stay(s, `${text}; waiting for every proxy to confirm${unconfirmed(c, route)}`, {
        route,
        wait,
      });
    }
    const late = `proxies did not confirm the rollback within ${deadlineText(c)}`;
    const told = s.message.endsWith(late);
    return stay(s, `${text}; ${late}`, {
      route,
      wait,
      effects: told ? [] : [event("Warning", "RollbackUnconfirmed", `${text}; ${late}`)],
    });
  }
  const actions: Action[] =
    route.canaryWeight === 0 && c.target.scaledUp ? [{ kind: "scaleCanaryDown" }] : [];
  return stay(s, text, { actions, route });
}

/**
 * Deleting with revertOnDeletion gives the target back as it was before vireo: scaled up to the
 * replicas it had, ready; every proxy routing to it; the apex Service selecting its pods; then,
 * once every proxy sends the apex only to its own endpoints, the primary Deployment, its Service
 * and configuration copies and the canary Service are deleted and the Rollout goes. Each move waits
 * for the one before, so no request meets a missing backend. A target that never gets ready, or
 * proxies that never confirm, do not block deletion past the progress deadline.
 */
export function planTerminating(c: BaseCtx, s: RolloutStatus): Stay {
  const done: Action = { kind: "removeFinalizer" };
  const t = c.o.target;
  const name = c.spec.targetRef.name;
  if (!c.spec.revertOnDeletion) return stay(s, "Deleting; nothing to revert", { actions: [done] });
  if (!t.exists) {
    return stay(s, `Deleting; Deployment ${name} not found, nothing to revert`, {
      actions: [done],
    });
  }
  const giveUp = (reason: "targetReady" | "trafficVerified", what: string): Stay | undefined => {
    if (!pastProgressDeadline(c, s, reason)) return undefined;
    const text = `${what} within ${deadlineText(c)}; deleting without reverting`;
    return stay(s, text, { actions: [done], effects: [event("Warning", "RevertFailed", text)] });
  };
  if (!t.scaledUp || !t.ready) {
    return (
      giveUp("targetReady", `${name} not ready`) ??
      stay(s, `Reverting: waiting for ${name} to become ready`, {
        actions: t.scaledUp ? [] : [{ kind: "revertTarget" }],
        wait: "targetReady",
      })
    );
  }
  const verified = c.o.traffic.verified;
  if (c.o.services.apexOnTarget !== true) {
    if (!sameRoute(verified, CANARY_ONLY)) {
      return (
        giveUp("trafficVerified", `proxies did not confirm routing to ${name}`) ??
        stay(s, `Reverting: waiting for every proxy to route to ${name}`, {
          route: CANARY_ONLY,
          wait: "trafficVerified",
        })
      );
    }
    // The apex's endpoints change while every proxy sends its requests to the canary Service.
    return (
      giveUp("targetReady", `the ${c.spec.service.name} Service did not select ${name}`) ??
      stay(s, `Reverting: pointing the ${c.spec.service.name} Service at ${name}`, {
        actions: [{ kind: "restoreApex" }],
        route: CANARY_ONLY,
        wait: "targetReady",
      })
    );
  }
  if (!sameRoute(verified, APEX_ONLY)) {
    return (
      giveUp(
        "trafficVerified",
        `proxies did not confirm routing to the ${c.spec.service.name} Service`,
      ) ??
      stay(
        s,
        `Reverting: waiting for every proxy to route to ${name} through ${c.spec.service.name}`,
        {
          route: APEX_ONLY,
          wait: "trafficVerified",
        },
      )
    );
  }
  const cleanup: Action[] = [
    ...(c.o.primary.exists || c.o.services.primary ? [{ kind: "removePrimary" } as const] : []),
    ...(c.o.services.canary ? [{ kind: "removeCanaryService" } as const] : []),
    { kind: "clearTraffic" },
    done,
  ];
  return stay(s, `Reverted to ${name}; deleting`, { actions: cleanup });
}
