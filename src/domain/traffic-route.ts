// Pure helpers over TrafficRoute: the primary-only route, equality, and how a route reads.
import { canonicalJson } from "../common/canonical-json.js";
import type { TrafficRoute } from "./plan-model.js";

/** Everything to the primary: between releases and after a rollback. */
export const PRIMARY_ONLY: TrafficRoute = { canaryWeight: 0 };

/** Everything to the canary (the target): blue/green before promotion, and on revert. */
export const CANARY_ONLY: TrafficRoute = { canaryWeight: 100 };

/** Everything to the apex Service's own endpoints (the target's, once a revert gave them back). */
export const APEX_ONLY: TrafficRoute = { canaryWeight: 100, toApex: true };

/** Whether `a` is known and routes exactly like `b`; absent mirror and matches equal none. */
export function sameRoute(a: TrafficRoute | undefined, b: TrafficRoute): boolean {
  if (a === undefined) return false;
  return (
    a.canaryWeight === b.canaryWeight &&
    (a.toApex ?? false) === (b.toApex ?? false) &&
    (a.mirrorPercent ?? 0) === (b.mirrorPercent ?? 0) &&
    canonicalJson(a.matches ?? []) === canonicalJson(b.matches ?? [])
  );
}

/** Whether any request reaches the canary through this route. */
export function carriesTraffic(route: TrafficRoute): boolean {
  return (
    route.canaryWeight > 0 || (route.mirrorPercent ?? 0) > 0 || (route.matches ?? []).length > 0
  );
}

export function describeRoute(route: TrafficRoute): string {
  const parts = [`weight ${route.canaryWeight} %`];
  if ((route.matches ?? []).length > 0) parts.push("matching requests");
  if ((route.mirrorPercent ?? 0) > 0) parts.push(`mirror ${route.mirrorPercent ?? 0} %`);
  return parts.join(" + ");
}
