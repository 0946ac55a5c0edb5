// The `status.parents` entries vireo writes on a route attached to a Service (GEP-1294): one per
// Service parentRef, under vireo's controllerName, with Accepted (True only for what the mesh
// applies: producer routes), ResolvedRefs and, when some rules were dropped, PartiallyInvalid;
// each condition at the route's current generation. Entries of other controllers are kept as
// they are. Pure: the caller reads and writes the object.
import type { ServiceModel } from "../xds/model.js";
import type {
  BackendRef,
  MeshRoute,
  ParentRef,
  RouteCondition,
  RouteParentStatus,
} from "./model.js";
import { MESH_CONTROLLER } from "./model.js";
import { isServiceParent } from "./parse-route.js";

export type ServiceLookup = (namespace: string, name: string) => ServiceModel | undefined;

type Verdict = Pick<RouteCondition, "type" | "status" | "reason" | "message">;

const ref = (namespace: string, name: string) => `${namespace}/${name}`;

/** Why the parent cannot take the route (NoMatchingParent), or undefined when it can. */
function parentProblem(p: ParentRef, services: ServiceLookup): string | undefined {
  const svc = services(p.namespace, p.name);
  if (svc === undefined) return `Service ${ref(p.namespace, p.name)} not found`;
  if (p.port !== undefined && !svc.ports.some((x) => x.port === p.port))
    return `Service ${ref(p.namespace, p.name)} has no port ${String(p.port)}`;
  if (p.sectionName !== undefined && !svc.ports.some((x) => x.name === p.sectionName))
    return `Service ${ref(p.namespace, p.name)} has no port named ${p.sectionName}`;
  return undefined;
}

function ruleLabel(index: number, name: string | undefined): string {
  return name === undefined ? `rule ${String(index)}` : `rule ${String(index)} (${name})`;
}

function accepted(route: MeshRoute, p: ParentRef, services: ServiceLookup): Verdict[] {
  const problem = parentProblem(p, services);
  if (problem !== undefined)
    return [{ type: "Accepted", status: "False", reason: "NoMatchingParent", message: problem }];
  // A consumer route binds only its own namespace's clients, which needs a route table per client
  // namespace (issue 15); until then it is not applied, and Accepted says so rather than True.
  if (p.namespace !== route.namespace)
    return [
      {
        type: "Accepted",
        status: "False",
        reason: "UnsupportedValue",
        message:
          `consumer routes are not supported yet: this route (namespace ${route.namespace}) is ` +
          `not applied to Service ${ref(p.namespace, p.name)}; only routes in the Service's own ` +
          `namespace are`,
      },
    ];
  const dropped = route.rules.flatMap((r, i) =>
    r.unsupported === undefined ? [] : [`${ruleLabel(i, r.name)}: ${r.unsupported}`],
  );
  if (route.rules.length > 0 && dropped.length === route.rules.length)
    return [
      {
        type: "Accepted",
        status: "False",
        reason: "UnsupportedValue",
        message: dropped.join("; "),
      },
    ];
  const ok: Verdict = {
    type: "Accepted",
    status: "True",
    reason: "Accepted",
    message: "Route accepted by vireo's mesh",
  };
  if (dropped.length === 0) return [ok];
  return [
    ok,
    {
      type: "PartiallyInvalid",
      status: "True",
      reason: "UnsupportedValue",
      message: `Dropped Rule(s): ${dropped.join("; ")}`,
    },
  ];
}

/** The first reason a backend cannot be resolved (InvalidKind before BackendNotFound). */
function backendProblem(
  b: BackendRef,
  services: ServiceLookup,
): { reason: string; message: string } | undefined {
  const at = `backendRef ${ref(b.namespace, b.name)}`;
  if (b.kind !== "Service" || (b.group !== "" && b.group !== "core"))
    return {
      reason: "InvalidKind",
      message: `${at}: ${b.group || "core"}/${b.kind} is not supported`,
    };
  const svc = services(b.namespace, b.name);
  if (svc === undefined) return { reason: "BackendNotFound", message: `${at}: Service not found` };
  if (b.port !== undefined && !svc.ports.some((x) => x.port === b.port))
    return { reason: "BackendNotFound", message: `${at}: Service has no port ${String(b.port)}` };
  return undefined;
}

function resolvedRefs(route: MeshRoute, services: ServiceLookup): Verdict {
  const backends = route.rules
    .filter((r) => r.unsupported === undefined)
    .flatMap((r) => [
      ...r.backends,
      ...r.filters.flatMap((f) => (f.type === "RequestMirror" ? [f.backend] : [])),
    ]);
  const problems = backends.flatMap((b) => backendProblem(b, services) ?? []);
  const first = problems.find((p) => p.reason === "InvalidKind") ?? problems[0];
  if (first === undefined)
    return {
      type: "ResolvedRefs",
      status: "True",
      reason: "ResolvedRefs",
      message: "All references resolved",
    };
  return {
    type: "ResolvedRefs",
    status: "False",
    reason: first.reason,
    message: [...new Set(problems.map((p) => p.message))].join("; "),
  };
}

const sameParent = (a: ParentRef, b: ParentRef): boolean =>
  a.group === b.group &&
  a.kind === b.kind &&
  a.namespace === b.namespace &&
  a.name === b.name &&
  a.port === b.port &&
  a.sectionName === b.sectionName;

/**
 * vireo's entries for `route`: one per Service parent. A condition keeps its lastTransitionTime
 * from `previous` while its status stays the same.
 */
export function meshParentStatuses(
  route: MeshRoute,
  services: ServiceLookup,
  now: string,
  previous: readonly RouteParentStatus[] = [],
): RouteParentStatus[] {
  const refs = resolvedRefs(route, services);
  return route.parents.filter(isServiceParent).map((parentRef) => {
    const before = previous.find(
      (e) => e.controllerName === MESH_CONTROLLER && sameParent(e.parentRef, parentRef),
    );
    const conditions = [...accepted(route, parentRef, services), refs].map((v) => {
      const old = before?.conditions.find((c) => c.type === v.type);
      return {
        ...v,
        observedGeneration: route.generation,
        lastTransitionTime: old?.status === v.status ? old.lastTransitionTime : now,
      };
    });
    return { parentRef, controllerName: MESH_CONTROLLER, conditions };
  });
}

/** `status.parents` with vireo's entries replaced by `ours`; other controllers' entries kept. */
export function mergeParentStatuses(
  existing: readonly { readonly controllerName?: string }[],
  ours: readonly RouteParentStatus[],
): unknown[] {
  return [...existing.filter((e) => e.controllerName !== MESH_CONTROLLER), ...ours];
}
