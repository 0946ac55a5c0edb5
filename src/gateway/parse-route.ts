// HTTPRoute and GRPCRoute objects (gateway.networking.k8s.io/v1) to MeshRoute, once, at the
// boundary. The API server has validated them against the CRDs' schema and CEL rules; what is
// still refused here is what the schema allows and the mesh does not implement (a regex dialect,
// a filter kind, ...): that rule is kept with its reason, never half-applied.
import { parseDuration } from "../api/duration.js";
import type {
  BackendRef,
  HeaderModifier,
  MeshRoute,
  ParentRef,
  PathMatch,
  PathModifier,
  RouteFilter,
  RouteKind,
  RouteMatch,
  RouteRule,
  ValueMatch,
} from "./model.js";
import { GATEWAY_GROUP } from "./model.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const objs = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const int = (v: unknown): number | undefined => (Number.isInteger(v) ? (v as number) : undefined);

/** A rule the mesh cannot implement: carried up to the rule with the reason. */
class Unsupported extends Error {}

function unsupported(message: string): never {
  throw new Unsupported(message);
}

function parentRef(o: Obj, namespace: string): ParentRef {
  const port = int(o.port);
  const sectionName = str(o.sectionName);
  return {
    group: str(o.group) ?? GATEWAY_GROUP,
    kind: str(o.kind) ?? "Gateway",
    namespace: str(o.namespace) ?? namespace,
    name: str(o.name) ?? "",
    ...(port !== undefined && { port }),
    ...(sectionName !== undefined && { sectionName }),
  };
}

function backendRef(o: Obj, namespace: string): BackendRef {
  const port = int(o.port);
  return {
    group: str(o.group) ?? "",
    kind: str(o.kind) ?? "Service",
    namespace: str(o.namespace) ?? namespace,
    name: str(o.name) ?? "",
    ...(port !== undefined && { port }),
    weight: int(o.weight) ?? 1,
  };
}

function valueMatches(v: unknown, what: string): ValueMatch[] {
  const seen = new Set<string>();
  const out: ValueMatch[] = [];
  for (const m of objs(v)) {
    const type = str(m.type) ?? "Exact";
    if (type !== "Exact" && type !== "RegularExpression")
      unsupported(`${what} match type ${type} is not supported`);
    const name = str(m.name) ?? "";
    // Header names are case-insensitive and only the first entry per name counts.
    const key = what === "header" ? name.toLowerCase() : name;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ name: what === "header" ? key : name, type, value: str(m.value) ?? "" });
  }
  return out;
}

function pathMatch(v: unknown): PathMatch {
  const o = isObj(v) ? v : {};
  const type = str(o.type) ?? "PathPrefix";
  const value = str(o.value) ?? "/";
  if (type === "Exact" || type === "PathPrefix" || type === "RegularExpression")
    return { type, value };
  return unsupported(`path match type ${type} is not supported`);
}

function httpMatch(o: Obj): RouteMatch {
  const method = str(o.method);
  return {
    path: pathMatch(o.path),
    headers: valueMatches(o.headers, "header"),
    queryParams: valueMatches(o.queryParams, "query parameter"),
    ...(method !== undefined && { method }),
  };
}

/** A gRPC method match compiles to a path: `/<service>/<method>` (Exact), or a regex over it. */
function grpcMatch(o: Obj): RouteMatch {
  const m = isObj(o.method) ? o.method : undefined;
  const headers = valueMatches(o.headers, "header");
  if (m === undefined) return { headers, queryParams: [] };
  const type = str(m.type) ?? "Exact";
  const service = str(m.service);
  const method = str(m.method);
  let path: PathMatch;
  if (type === "Exact") {
    path =
      service !== undefined && method !== undefined
        ? { type: "Exact", value: `/${service}/${method}` }
        : service !== undefined
          ? { type: "PathPrefix", value: `/${service}` }
          : { type: "RegularExpression", value: `/[^/]+/${method ?? ""}` };
  } else if (type === "RegularExpression") {
    path = { type: "RegularExpression", value: `/${service ?? "[^/]+"}/${method ?? "[^/]+"}` };
  } else {
    return unsupported(`gRPC method match type ${type} is not supported`);
  }
  return { path, headers, queryParams: [] };
}

function headerModifier(v: unknown): HeaderModifier {
  const o = isObj(v) ? v : {};
  const pairs = (x: unknown) =>
    objs(x).map((h) => ({ name: (str(h.name) ?? "").toLowerCase(), value: str(h.value) ?? "" }));
  return {
    set: pairs(o.set),
    add: pairs(o.add),
    remove: (Array.isArray(o.remove) ? o.remove : [])
      .filter((x): x is string => typeof x === "string")
      .map((x) => x.toLowerCase()),
  };
}

function pathModifier(v: unknown): PathModifier | undefined {
  if (!isObj(v)) return undefined;
  const type = str(v.type);
  if (type === "ReplaceFullPath") return { type, value: str(v.replaceFullPath) ?? "/" };
  if (type === "ReplacePrefixMatch") return { type, value: str(v.replacePrefixMatch) ?? "" };
  return unsupported(`path modifier type ${String(type)} is not supported`);
}

function mirrorPercent(o: Obj): number {
  const percent = int(o.percent);
  if (percent !== undefined) return percent;
  const f = isObj(o.fraction) ? o.fraction : undefined;
  if (f === undefined) return 100;
  const num = int(f.numerator) ?? 0;
  const den = int(f.denominator) ?? 100;
  return den > 0 ? (100 * num) / den : 0;
}

const GRPC_FILTERS = new Set(["RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror"]);

function filter(o: Obj, kind: RouteKind, namespace: string): RouteFilter {
  const type = str(o.type) ?? "";
  if (kind === "GRPCRoute" && !GRPC_FILTERS.has(type))
    unsupported(`filter ${type} is not supported on a GRPCRoute`);
  switch (type) {
    case "RequestHeaderModifier":
      return { type, ...headerModifier(o.requestHeaderModifier) };
    case "ResponseHeaderModifier":
      return { type, ...headerModifier(o.responseHeaderModifier) };
    case "RequestRedirect": {
      const r = isObj(o.requestRedirect) ? o.requestRedirect : {};
      const scheme = str(r.scheme);
      if (scheme !== undefined && scheme !== "http" && scheme !== "https")
        unsupported(`redirect scheme ${scheme} is not supported`);
      const hostname = str(r.hostname);
      const path = pathModifier(r.path);
      const port = int(r.port);
      return {
        type,
        ...(scheme !== undefined && { scheme }),
        ...(hostname !== undefined && { hostname }),
        ...(path !== undefined && { path }),
        ...(port !== undefined && { port }),
        statusCode: int(r.statusCode) ?? 302,
      };
    }
    case "URLRewrite": {
      const r = isObj(o.urlRewrite) ? o.urlRewrite : {};
      const hostname = str(r.hostname);
      const path = pathModifier(r.path);
      return {
        type,
        ...(hostname !== undefined && { hostname }),
        ...(path !== undefined && { path }),
      };
    }
    case "RequestMirror": {
      const r = isObj(o.requestMirror) ? o.requestMirror : {};
      const ref = isObj(r.backendRef) ? r.backendRef : {};
      return { type, backend: backendRef(ref, namespace), percent: mirrorPercent(r) };
    }
    default:
      return unsupported(`filter ${type} is not supported`);
  }
}

function timeout(v: unknown, what: string): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  return parseDuration(s) ?? unsupported(`${what} "${s}" is not a duration`);
}

function rule(o: Obj, kind: RouteKind, namespace: string): RouteRule {
  const name = str(o.name);
  const backends = objs(o.backendRefs).map((b) => backendRef(b, namespace));
  const base = { ...(name !== undefined && { name }), backends };
  try {
    const rawMatches = objs(o.matches);
    const matches =
      kind === "HTTPRoute"
        ? rawMatches.length === 0
          ? [{ path: { type: "PathPrefix", value: "/" } as const, headers: [], queryParams: [] }]
          : rawMatches.map(httpMatch)
        : rawMatches.length === 0
          ? [{ headers: [], queryParams: [] }]
          : rawMatches.map(grpcMatch);
    const t = isObj(o.timeouts) ? o.timeouts : {};
    const requestTimeoutMs = timeout(t.request, "timeouts.request");
    const backendRequestTimeoutMs = timeout(t.backendRequest, "timeouts.backendRequest");
    return {
      ...base,
      matches,
      filters: objs(o.filters).map((f) => filter(f, kind, namespace)),
      ...(requestTimeoutMs !== undefined && { requestTimeoutMs }),
      ...(backendRequestTimeoutMs !== undefined && { backendRequestTimeoutMs }),
    };
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err;
    return { ...base, matches: [], filters: [], unsupported: err.message };
  }
}

interface RouteObject {
  readonly kind?: string;
  readonly metadata?: {
    readonly namespace?: string;
    readonly name?: string;
    readonly generation?: number;
    readonly creationTimestamp?: string | Date;
  };
  readonly spec?: unknown;
}

/** An HTTPRoute or GRPCRoute; undefined for any other kind. */
export function parseRoute(obj: RouteObject): MeshRoute | undefined {
  const kind = obj.kind;
  if (kind !== "HTTPRoute" && kind !== "GRPCRoute") return undefined;
  const namespace = obj.metadata?.namespace ?? "";
  const spec = isObj(obj.spec) ? obj.spec : {};
  const created = obj.metadata?.creationTimestamp;
  return {
    kind,
    namespace,
    name: obj.metadata?.name ?? "",
    generation: obj.metadata?.generation ?? 0,
    created: created instanceof Date ? created.toISOString() : (created ?? ""),
    parents: objs(spec.parentRefs).map((p) => parentRef(p, namespace)),
    rules: objs(spec.rules).map((r) => rule(r, kind, namespace)),
  };
}

/** A parentRef that names a Service: `group: ""` (or `core`, as Linkerd's docs write it). */
export function isServiceParent(p: ParentRef): boolean {
  return p.kind === "Service" && (p.group === "" || p.group === "core");
}
