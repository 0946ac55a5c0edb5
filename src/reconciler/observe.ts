// Reads everything the planner needs about one Rollout: its parsed spec and status, the target,
// primary and Services, the traffic the proxies have confirmed, and a pending manual request.
import { isDeepStrictEqual } from "node:util";
import { CronTime } from "cron";
import type { ParseResult } from "../api/parse.js";
import { parseRollout } from "../api/parse.js";
import { parseStatus } from "../api/parse-status.js";
import type { RolloutWire } from "../api/rollout-wire.js";
import type { InvalidSpec, ManualRequest, Observed, TrafficRoute } from "../domain/plan-model.js";
import type { RolloutSpec } from "../domain/rollout.js";
import { FINALIZER } from "../kube/rollout-store.js";
import type { RoutingModel } from "../xds/model.js";
import type { ReconcilerDeps } from "./ports.js";
import { routingModel } from "./routing-model.js";

export const ACTION_ANNOTATION = "vireo.dev/action";
export const ACTION_ID_ANNOTATION = "vireo.dev/action-id";
const MANUAL = ["promote", "abort", "retry", "pause", "resume"] as const;

export function manualRequest(r: RolloutWire): ManualRequest | undefined {
  const a = r.metadata.annotations ?? {};
  const action = MANUAL.find((m) => m === a[ACTION_ANNOTATION]);
  const id = a[ACTION_ID_ANNOTATION];
  return action === undefined || id === undefined || id === "" ? undefined : { action, id };
}

export function routeOf(m: RoutingModel): TrafficRoute {
  return {
    canaryWeight: m.canaryWeight,
    ...(m.canary === m.service ? { toApex: true as const } : {}),
    ...(m.mirrorPercent === undefined ? {} : { mirrorPercent: m.mirrorPercent }),
    ...(m.canaryMatches === undefined ? {} : { matches: m.canaryMatches }),
  };
}

/** Whether `now` falls inside one of the windows: a window opens at each cron tick for its duration. */
export function inPromotionWindow(spec: RolloutSpec, now: number): boolean {
  if (spec.promotionWindows.length === 0) return true;
  return spec.promotionWindows.some((w) => {
    // The last tick before now: step back from the next tick after (now - duration).
    const from = new Date(now - w.durationMs);
    const next = new CronTime(w.schedule, "UTC").getNextDateFrom(from).toMillis();
    return next <= now;
  });
}

/** What one reconcile observed: the planner's input, plus what applying its actions needs. */
export interface Observation {
  readonly observed: Observed;
  /** Replicas the target runs with when scaled up (its own, remembered, or the primary's). */
  readonly desiredReplicas: number;
}

export async function observe(
  r: RolloutWire,
  deps: ReconcilerDeps,
  now: number,
): Promise<Observation> {
  const namespace = r.metadata.namespace ?? "default";
  const name = r.metadata.name ?? "";
  const parsed = parseRollout(r);
  const base = {
    generation: r.metadata.generation ?? 0,
    status: parseStatus(r),
    analysis: undefined,
    gates: {},
    manual: manualRequest(r),
    deleting:
      r.metadata.deletionTimestamp !== undefined &&
      (r.metadata.finalizers ?? []).includes(FINALIZER),
  };
  const { spec, refused } = specToObserve(parsed);
  if (spec === undefined) {
    const observed: Observed = {
      ...base,
      spec: refused,
      target: { exists: false },
      primary: { exists: false },
      services: { apex: false, primary: false, canary: false },
      traffic: { requested: undefined, verified: undefined },
      inPromotionWindow: true,
    };
    return { observed, desiredReplicas: 1 };
  }
  const w = await deps.workload.observe({
    namespace,
    name,
    targetName: spec.targetRef.name,
    service: spec.service,
  });
  const t = deps.traffic.state(namespace, spec.service.name);
  const requested = t.requested === undefined ? undefined : routeOf(t.requested);
  // What the control plane holds, against the same route with the spec's policy as it is now.
  const policyStale =
    t.requested !== undefined &&
    requested !== undefined &&
    !isDeepStrictEqual(t.requested, routingModel(namespace, name, spec, requested));
  const observed: Observed = {
    ...base,
    // A refused spec with a fallback: the world observed through the fallback, for a rollback.
    spec: refused === undefined ? spec : { ...refused, fallback: spec },
    target:
      w.target.exists && w.target.revision !== undefined
        ? {
            exists: true,
            revision: w.target.revision,
            scaledUp: w.target.replicas > 0,
            ready: w.target.ready,
            progressDeadlineExceeded: w.target.progressDeadlineExceeded,
          }
        : { exists: false },
    primary:
      w.primary.exists && w.primary.revision !== undefined
        ? {
            exists: true,
            revision: w.primary.revision,
            ready: w.primary.ready,
            progressDeadlineExceeded: w.primary.progressDeadlineExceeded,
          }
        : { exists: false },
    services: w.services,
    traffic: {
      requested,
      verified: t.confirmed ? requested : undefined,
      ...(policyStale ? { policyStale } : {}),
      ...(t.confirmed || t.waitingOn === undefined ? {} : { waitingOn: t.waitingOn }),
      ...(t.boundBy === undefined || t.boundBy.length === 0 ? {} : { boundBy: t.boundBy }),
    },
    inPromotionWindow: inPromotionWindow(spec, now),
  };
  return { observed, desiredReplicas: w.desiredReplicas };
}

/** The spec the world is observed through: the spec, or a refused spec's fallback, or none. */
function specToObserve(
  parsed: ParseResult,
):
  | { readonly spec: RolloutSpec; readonly refused?: InvalidSpec }
  | { readonly spec: undefined; readonly refused: InvalidSpec } {
  if (parsed.ok) return { spec: parsed.spec };
  const refused: InvalidSpec = { invalid: true, reason: parsed.reason, message: parsed.message };
  return parsed.fallback === undefined
    ? { spec: undefined, refused }
    : { spec: parsed.fallback, refused };
}
