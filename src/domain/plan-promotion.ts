// Promoting and Finalising: move all traffic to the analysed canary (scaled to the full replica
// count, so it can take it), copy its revision to the primary, whose rolling update then serves
// nobody, wait for the primary, route everything back to it, and scale the canary down. Pods
// replaced while they serve are what drops requests, so none is.
import type { Ctx, Step } from "./plan-support.js";
import {
  deadlineText,
  overdue,
  pastProgressDeadline,
  primaryName,
  stay,
  targetName,
  unconfirmed,
} from "./plan-support.js";
import type { RolloutStatus } from "./rollout.js";
import { routeAt, stepIndex } from "./run-steps.js";
import { CANARY_ONLY, PRIMARY_ONLY, sameRoute } from "./traffic-route.js";
import {
  failPromotion,
  revisionChange,
  rollback,
  toFinalising,
  toSucceeded,
} from "./transitions.js";

export function planPromoting(c: Ctx, s: RolloutStatus): Step {
  const p = c.o.primary;
  const revision = s.canaryRevision ?? c.target.revision;
  const promoted = p.exists && p.revision === revision;
  if (!promoted) {
    // The promote action copies the target's template: only while it is still what was analysed.
    const changed = revisionChange(c, s);
    if (changed !== undefined) return changed;
  }
  // Until the primary is ready with the new revision, all traffic is on the canary.
  const before = CANARY_ONLY;
  if (promoted && p.ready) {
    if (!sameRoute(c.o.traffic.verified, PRIMARY_ONLY)) {
      return overdue(
        c,
        s,
        "trafficVerified",
        `${primaryName(c)} serves revision ${revision}; waiting for every proxy to route to it`,
        { route: PRIMARY_ONLY },
      );
    }
    return toFinalising(c, s);
  }
  if (!promoted) {
    const held = switchToCanary(c, s);
    if (held !== undefined) return held;
    return stay(s, `Promoting revision ${revision} to ${primaryName(c)}`, {
      actions: [{ kind: "promote", revision }],
      route: before,
      wait: "primaryReady",
    });
  }
  if (p.progressDeadlineExceeded || pastProgressDeadline(c, s, "primaryReady")) {
    return failPromotion(
      c,
      s,
      `${primaryName(c)} did not become ready with the new revision within ${deadlineText(c)}${c.target.ready ? "; traffic stays on the canary" : ""}`,
    );
  }
  return stay(s, `Waiting for ${primaryName(c)} to become ready with revision ${revision}`, {
    route: before,
    wait: "primaryReady",
  });
}

/** Everything to a ready canary, confirmed, before the primary changes; undefined once done. */
function switchToCanary(c: Ctx, s: RolloutStatus): Step | undefined {
  if (!c.target.ready) {
    if (pastProgressDeadline(c, s, "canaryReady")) {
      return rollback(
        c,
        s,
        "ProgressDeadlineExceeded",
        `canary ${targetName(c)} not ready for ${deadlineText(c)}`,
      );
    }
    return stay(s, `Waiting for canary ${targetName(c)} to become ready before the switch`, {
      route: routeAt(c.steps, stepIndex(c.steps, s)),
      wait: "canaryReady",
    });
  }
  if (sameRoute(c.o.traffic.verified, CANARY_ONLY)) return undefined;
  if (pastProgressDeadline(c, s, "trafficVerified")) {
    return rollback(
      c,
      s,
      "ProgressDeadlineExceeded",
      `proxies did not confirm the switch to ${targetName(c)} within ${deadlineText(c)}${unconfirmed(c, CANARY_ONLY)}`,
    );
  }
  return stay(s, `Switching all traffic to ${targetName(c)} before promotion`, {
    route: CANARY_ONLY,
    wait: "trafficVerified",
  });
}

export function planFinalising(c: Ctx, s: RolloutStatus): Step {
  if (!sameRoute(c.o.traffic.verified, PRIMARY_ONLY)) {
    return overdue(c, s, "trafficVerified", "Waiting for every proxy to route to the primary", {
      route: PRIMARY_ONLY,
    });
  }
  if (c.target.scaledUp) {
    // Something else (an autoscaler, a GitOps sync of spec.replicas) can keep scaling it up.
    return overdue(c, s, "targetScaledDown", `Scaling canary ${targetName(c)} down`, {
      actions: [{ kind: "scaleCanaryDown" }],
      route: PRIMARY_ONLY,
    });
  }
  return toSucceeded(c, s);
}
