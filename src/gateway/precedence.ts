// Which routes bind one Service port, and in which order their matches are tried (Gateway API
// v1.6.3, HTTPRoute `Matches` and GEP-1294; shared/research/gateway-api.md §3-§4):
// - a route binds the port its parentRef names, or every port of the Service without one;
// - only one kind applies per Service port: GRPCRoute beats HTTPRoute;
// - producer routes (the Service's namespace) apply to every client; a consumer route (another
//   namespace) only to clients of its own namespace, and for them it replaces the producer group;
// - across the rules of one group: Exact path, then the longer PathPrefix, then a method match,
//   then more header matches, then more query-parameter matches; ties go to the older route, then
//   to `namespace/name` alphabetically, then to rule and match order.
import type { MeshRoute, RouteMatch, RouteRule } from "./model.js";
import { isServiceParent } from "./parse-route.js";

export interface ServicePortRef {
  readonly namespace: string;
  readonly name: string;
  readonly port: number;
  /** The port's name, for a parentRef's sectionName. */
  readonly portName: string;
}

/** One match of one rule, in the order the proxy tries them. */
export interface OrderedMatch {
  readonly route: MeshRoute;
  readonly ruleIndex: number;
  readonly rule: RouteRule;
  readonly match: RouteMatch;
}

function binds(route: MeshRoute, svc: ServicePortRef): boolean {
  return route.parents.some(
    (p) =>
      isServiceParent(p) &&
      p.namespace === svc.namespace &&
      p.name === svc.name &&
      (p.port === undefined || p.port === svc.port) &&
      (p.sectionName === undefined || p.sectionName === svc.portName),
  );
}

/**
 * The routes that apply to `clientNamespace`'s calls to `svc`: the consumer routes of that
 * namespace if it has any, else the producer routes; of one kind only (GRPCRoute first).
 */
export function bindingRoutes(
  routes: readonly MeshRoute[],
  svc: ServicePortRef,
  clientNamespace: string,
): MeshRoute[] {
  const bound = routes.filter((r) => binds(r, svc));
  const consumer =
    clientNamespace === svc.namespace ? [] : bound.filter((r) => r.namespace === clientNamespace);
  const group = consumer.length > 0 ? consumer : bound.filter((r) => r.namespace === svc.namespace);
  const grpc = group.filter((r) => r.kind === "GRPCRoute");
  return grpc.length > 0 ? grpc : group;
}

/** Sort key of one match: smaller sorts first. */
function matchRank(m: RouteMatch): number[] {
  const path = m.path;
  return [
    path?.type === "Exact" ? 0 : 1,
    path?.type === "PathPrefix" ? -path.value.length : 0,
    m.method === undefined ? 1 : 0,
    -m.headers.length,
    -m.queryParams.length,
  ];
}

function compareRanks(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Every implementable match of `routes`, in the order the spec says they are tried. */
export function orderMatches(routes: readonly MeshRoute[]): OrderedMatch[] {
  const all: (OrderedMatch & { readonly seq: number })[] = [];
  const byAge = [...routes].sort(
    (a, b) =>
      a.created.localeCompare(b.created) ||
      `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`),
  );
  for (const route of byAge) {
    route.rules.forEach((rule, ruleIndex) => {
      if (rule.unsupported !== undefined) return;
      for (const match of rule.matches)
        all.push({ route, ruleIndex, rule, match, seq: all.length });
    });
  }
  // A stable order: equal ranks keep the age, name, rule and match order they were pushed in.
  return all
    .sort((a, b) => compareRanks(matchRank(a.match), matchRank(b.match)) || a.seq - b.seq)
    .map(({ route, ruleIndex, rule, match }) => ({ route, ruleIndex, rule, match }));
}
