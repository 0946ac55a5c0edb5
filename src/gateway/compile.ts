// The routes that bind one Service port, compiled for one client namespace into what the mesh's
// route table needs: ordered matches, each with where it sends (weighted backends, a redirect, or
// a direct 500), its header changes, rewrite, mirrors and timeouts. Pure: no xDS names yet.
//
// A backend that is a Rollout's apex Service is split between the Rollout's primary and canary
// at the Rollout's current weight, inside vireo's own configuration: the route's spec keeps
// naming `podinfo`, so nobody rewrites the user's HTTPRoute (Flagger and Argo Rollouts do, and
// fight GitOps over it).
import type {
  BackendRef,
  HeaderModifier,
  MeshRoute,
  PathModifier,
  RouteMatch,
  RouteRule,
} from "./model.js";
import type { ServicePortRef } from "./precedence.js";
import { bindingRoutes, orderMatches } from "./precedence.js";
import type { ServiceLookup } from "./route-status.js";

/** A Service port requests are sent to, with a positive integer weight. */
export interface CompiledBackend {
  readonly namespace: string;
  readonly service: string;
  readonly port: number;
  readonly weight: number;
}

/** How a Rollout splits its apex Service right now. */
export interface ServiceSplit {
  readonly primary: string;
  readonly canary: string;
  /** 0-100 */
  readonly canaryWeight: number;
}

/** The split of a Rollout's apex Service on one of its ports, or undefined when it has none. */
export type SplitLookup = (
  namespace: string,
  service: string,
  port: number,
) => ServiceSplit | undefined;

export type CompiledAction =
  /** `failedWeight` is the share (same scale as the backends') answered 500: invalid backends. */
  | {
      readonly kind: "forward";
      readonly backends: readonly CompiledBackend[];
      readonly failedWeight: number;
    }
  | {
      readonly kind: "redirect";
      readonly scheme?: "http" | "https";
      readonly hostname?: string;
      readonly port?: number;
      readonly path?: PathModifier;
      readonly statusCode: number;
    }
  | { readonly kind: "status"; readonly code: number; readonly reason: string };

export interface CompiledRoute {
  /** `namespace/name` of the route and the rule's index, for status and debugging. */
  readonly route: string;
  readonly rule: number;
  readonly match: RouteMatch;
  readonly action: CompiledAction;
  readonly requestHeaders?: HeaderModifier;
  readonly responseHeaders?: HeaderModifier;
  readonly rewrite?: { readonly hostname?: string; readonly path?: PathModifier };
  readonly mirrors: readonly { readonly backend: CompiledBackend; readonly percent: number }[];
  readonly timeoutMs?: number;
  readonly perTryTimeoutMs?: number;
}

/** The backend as a Service port, or undefined when it cannot be sent to. */
function resolve(
  b: BackendRef,
  services: ServiceLookup,
): Omit<CompiledBackend, "weight"> | undefined {
  if (b.kind !== "Service" || (b.group !== "" && b.group !== "core")) return undefined;
  const svc = services(b.namespace, b.name);
  if (svc === undefined || b.port === undefined) return undefined;
  if (!svc.ports.some((p) => p.port === b.port)) return undefined;
  return { namespace: b.namespace, service: b.name, port: b.port };
}

/** A Rollout's apex becomes its primary and canary, weights scaled by 100 to stay integers. */
function expand(b: CompiledBackend, splits: SplitLookup): CompiledBackend[] {
  const split = splits(b.namespace, b.service, b.port);
  if (split === undefined) return [{ ...b, weight: b.weight * 100 }];
  const parts = [
    { ...b, service: split.primary, weight: b.weight * (100 - split.canaryWeight) },
    { ...b, service: split.canary, weight: b.weight * split.canaryWeight },
  ];
  return parts.filter((p) => p.weight > 0);
}

function forward(
  rule: RouteRule,
  parent: ServicePortRef,
  services: ServiceLookup,
  splits: SplitLookup,
): CompiledAction {
  // GEP-1686: a mesh rule without backendRefs sends to the parent Service itself.
  const refs: BackendRef[] =
    rule.backends.length > 0
      ? [...rule.backends]
      : [
          {
            group: "",
            kind: "Service",
            namespace: parent.namespace,
            name: parent.name,
            port: parent.port,
            weight: 1,
          },
        ];
  const backends: CompiledBackend[] = [];
  let failedWeight = 0;
  for (const b of refs) {
    if (b.weight <= 0) continue; // a weight-0 backend, even a missing one, takes nothing
    const r = resolve(b, services);
    if (r === undefined) failedWeight += b.weight * 100;
    else backends.push(...expand({ ...r, weight: b.weight }, splits));
  }
  if (backends.length === 0 && failedWeight === 0)
    return { kind: "status", code: 500, reason: "every backend has weight 0" };
  if (backends.length === 0)
    return { kind: "status", code: 500, reason: "no backend can be resolved" };
  return { kind: "forward", backends, failedWeight };
}

function action(
  rule: RouteRule,
  parent: ServicePortRef,
  services: ServiceLookup,
  splits: SplitLookup,
): CompiledAction {
  const redirect = rule.filters.find((f) => f.type === "RequestRedirect");
  if (redirect === undefined) return forward(rule, parent, services, splits);
  return {
    kind: "redirect",
    ...(redirect.scheme !== undefined && { scheme: redirect.scheme }),
    ...(redirect.hostname !== undefined && { hostname: redirect.hostname }),
    ...(redirect.port !== undefined && { port: redirect.port }),
    ...(redirect.path !== undefined && { path: redirect.path }),
    statusCode: redirect.statusCode,
  };
}

const modifier = (m: HeaderModifier): HeaderModifier => ({
  set: m.set,
  add: m.add,
  remove: m.remove,
});

/**
 * What a client in `clientNamespace` calling `parent` gets, in the order the proxy tries it.
 * Requests that match none of it are answered 404 (a Service with routes rejects the rest).
 */
export function compileServicePort(
  routes: readonly MeshRoute[],
  parent: ServicePortRef,
  clientNamespace: string,
  services: ServiceLookup,
  splits: SplitLookup,
): CompiledRoute[] {
  return orderMatches(bindingRoutes(routes, parent, clientNamespace)).map(
    ({ route, ruleIndex, rule, match }) => {
      const requestHeaders = rule.filters.find((f) => f.type === "RequestHeaderModifier");
      const responseHeaders = rule.filters.find((f) => f.type === "ResponseHeaderModifier");
      const rewrite = rule.filters.find((f) => f.type === "URLRewrite");
      const mirrors = rule.filters.flatMap((f) => {
        if (f.type !== "RequestMirror") return [];
        const r = resolve(f.backend, services);
        return r === undefined ? [] : [{ backend: { ...r, weight: 1 }, percent: f.percent }];
      });
      return {
        route: `${route.namespace}/${route.name}`,
        rule: ruleIndex,
        match,
        action: action(rule, parent, services, splits),
        ...(requestHeaders !== undefined && { requestHeaders: modifier(requestHeaders) }),
        ...(responseHeaders !== undefined && { responseHeaders: modifier(responseHeaders) }),
        ...(rewrite !== undefined && {
          rewrite: {
            ...(rewrite.hostname !== undefined && { hostname: rewrite.hostname }),
            ...(rewrite.path !== undefined && { path: rewrite.path }),
          },
        }),
        mirrors,
        ...(rule.requestTimeoutMs !== undefined && { timeoutMs: rule.requestTimeoutMs }),
        ...(rule.backendRequestTimeoutMs !== undefined && {
          perTryTimeoutMs: rule.backendRequestTimeoutMs,
        }),
      };
    },
  );
}
