// A Rollout whose apex Service has Gateway API routes attached: on the ports they bind, the routes
// replace the Service's own routing, so of the Rollout's routing fields only the canary weight
// applies there (it splits the route's share of the apex, docs/gateway-api.md). vireo never merges
// the two; the condition RouteConflict and a Warning Event say which fields do not apply.
import type { Health } from "./conditions.js";
import type { RolloutSpec } from "./rollout.js";

/** The spec's routing fields that a route attached to the apex Service replaces. */
export function routeOnlyFields(spec: RolloutSpec): string[] {
  const fields: string[] = [];
  if (spec.strategy.kind === "abTesting") fields.push("spec.strategy.abTesting.match");
  if (spec.strategy.kind === "mirroring") fields.push("spec.strategy.mirroring");
  if (spec.service.timeoutMs !== undefined) fields.push("spec.service.timeout");
  if (spec.service.retries !== undefined) fields.push("spec.service.retries");
  if (spec.fault !== undefined) fields.push("spec.fault");
  return fields;
}

/** RouteConflict while routes are attached and the spec has fields they replace; else none. */
export function routeConflict(
  spec: RolloutSpec,
  boundBy: readonly string[] | undefined,
): Health | undefined {
  if (boundBy === undefined || boundBy.length === 0) return undefined;
  const fields = routeOnlyFields(spec);
  if (fields.length === 0) return undefined;
  const routes = boundBy.join(", ");
  const they = boundBy.length === 1 ? "it replaces" : "they replace";
  const apply = fields.length === 1 ? "does" : "do";
  return {
    status: "True",
    reason: "OverriddenByRoute",
    message: `${routes} attached to Service ${spec.service.name}: on the ports ${they} the Rollout's routing, so ${fields.join(", ")} ${apply} not apply there; the canary weight does`,
  };
}
