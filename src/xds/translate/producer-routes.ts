// The Gateway API routes that replace a Service port's default routes in the route tables every
// client reads: producer routes only (GEP-1294: the route lives in the Service's namespace).
// Consumer routes apply to one client namespace and need a table per namespace (issue 15), so
// they are left out here, and their status says so (src/gateway/route-status.ts).
import type { SplitLookup } from "../../gateway/compile.js";
import { compileServicePort } from "../../gateway/compile.js";
import type { MeshRoute } from "../../gateway/model.js";
import { isServiceParent } from "../../gateway/parse-route.js";
import type { ServiceLookup } from "../../gateway/route-status.js";
import type { Route } from "../generated/envoy/config/route/v3/Route.js";
import type { RoutingModel, ServiceModel, ServicePort } from "../model.js";
import { clusterName } from "../names.js";
import { gatewayRoutes } from "./gateway-routes.js";
import { weightPercent } from "./proto-values.js";

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

/** Producer routes by the Service they are attached to (`namespace/name`). */
export function producerRoutesByService(
  routes: readonly MeshRoute[],
): ReadonlyMap<string, readonly MeshRoute[]> {
  const by = new Map<string, MeshRoute[]>();
  for (const r of routes) {
    const parents = new Set(
      r.parents
        .filter((p) => isServiceParent(p) && p.namespace === r.namespace)
        .map((p) => key(p.namespace, p.name)),
    );
    for (const k of parents) {
      const list = by.get(k);
      if (list === undefined) by.set(k, [r]);
      else list.push(r);
    }
  }
  return by;
}

/**
 * How routes split a Rollout's apex: the same choices as the Rollout's own routes (translate.ts
 * `routeTargets`): a primary or canary Service without this port is not sent to, the apex's own
 * cluster standing in for a missing primary; the weight rounded to whole percents.
 */
export function rolloutSplits(
  routing: ReadonlyMap<string, RoutingModel>,
  ports: ReadonlyMap<string, ReadonlySet<number>>,
): SplitLookup {
  return (namespace, service, port) => {
    const r = routing.get(key(namespace, service));
    if (r === undefined) return undefined;
    const has = (name: string): boolean => ports.get(key(namespace, name))?.has(port) === true;
    return {
      primary: has(r.primary) ? r.primary : service,
      canary: r.canary,
      canaryWeight: has(r.canary) ? weightPercent(r.canaryWeight) : 0,
    };
  };
}

/**
 * The Services whose producer routes send to `namespace/service` through a backendRef of a rule
 * the mesh keeps: their route configurations carry that Service's split too.
 */
export function servicesRoutingTo(
  routes: readonly MeshRoute[],
  namespace: string,
  service: string,
): { readonly namespace: string; readonly name: string }[] {
  const out = new Map<string, { namespace: string; name: string }>();
  for (const r of routes) {
    const sends = r.rules.some(
      (rule) =>
        rule.unsupported === undefined &&
        rule.backends.some(
          (b) => b.namespace === namespace && b.name === service && b.kind === "Service",
        ),
    );
    if (!sends) continue;
    for (const p of r.parents)
      if (isServiceParent(p) && p.namespace === r.namespace)
        out.set(key(p.namespace, p.name), { namespace: p.namespace, name: p.name });
  }
  return [...out.values()];
}

export interface ProducerRouteInputs {
  readonly byService: ReadonlyMap<string, readonly MeshRoute[]>;
  readonly services: ServiceLookup;
  readonly splits: SplitLookup;
  readonly domain: string;
}

/**
 * The Envoy routes of the producer routes bound to `svc`'s `port`, in the order the proxy tries
 * them, or undefined when none binds it (the port keeps its default routes). Requests matching
 * none of them are answered 404 by the proxy (NR), as a Service with routes must.
 */
export function producerRoutes(
  svc: ServiceModel,
  port: ServicePort,
  inputs: ProducerRouteInputs,
): Route[] | undefined {
  const routes = inputs.byService.get(key(svc.namespace, svc.name));
  if (routes === undefined) return undefined;
  const parent = { namespace: svc.namespace, name: svc.name, port: port.port, portName: port.name };
  const compiled = compileServicePort(
    routes,
    parent,
    svc.namespace,
    inputs.services,
    inputs.splits,
  );
  if (compiled.length === 0) return undefined;
  return gatewayRoutes(compiled, (b) => clusterName(b.namespace, b.service, b.port, inputs.domain));
}
