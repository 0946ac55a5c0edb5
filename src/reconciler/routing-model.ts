// What the control plane is asked to route for a Rollout: the planner's route (weight, matches,
// mirror) plus the spec's policy for the apex (timeout, retries, traffic policy, fault).
import type { TrafficRoute } from "../domain/plan-model.js";
import type { RolloutSpec } from "../domain/rollout.js";
import type { RoutingModel } from "../xds/model.js";

export function routingModel(
  namespace: string,
  name: string,
  spec: RolloutSpec,
  route: TrafficRoute,
): RoutingModel {
  const svc = spec.service;
  return {
    namespace,
    service: svc.name,
    primary: `${svc.name}-primary`,
    // Routed to the apex itself, the route sends everything to the apex's own endpoints.
    canary: route.toApex === true ? svc.name : `${svc.name}-canary`,
    canaryWeight: route.canaryWeight,
    ...(route.mirrorPercent === undefined ? {} : { mirrorPercent: route.mirrorPercent }),
    ...(route.matches === undefined ? {} : { canaryMatches: route.matches }),
    ...(svc.timeoutMs === undefined ? {} : { timeoutMs: svc.timeoutMs }),
    ...(svc.retries === undefined ? {} : { retries: svc.retries }),
    ...(svc.trafficPolicy === undefined ? {} : { trafficPolicy: svc.trafficPolicy }),
    ...(spec.fault === undefined ? {} : { fault: spec.fault }),
  };
}
