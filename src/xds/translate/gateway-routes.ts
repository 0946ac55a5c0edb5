// Gateway API routes compiled for one Service port (src/gateway/compile.ts) as Envoy routes, with
// the edge cases Istio handles for HTTPRoute (its route.go and conversion.go). Pure;
// producer-routes.ts chooses the Service ports whose default routes they replace.
import type { HeaderValueOption } from "../generated/envoy/config/core/v3/HeaderValueOption.js";
import type { HeaderMatcher } from "../generated/envoy/config/route/v3/HeaderMatcher.js";
import type { QueryParameterMatcher } from "../generated/envoy/config/route/v3/QueryParameterMatcher.js";
import type { RedirectAction } from "../generated/envoy/config/route/v3/RedirectAction.js";
import type { Route } from "../generated/envoy/config/route/v3/Route.js";
import type { RouteAction } from "../generated/envoy/config/route/v3/RouteAction.js";
import type { RouteMatch as EnvoyRouteMatch } from "../generated/envoy/config/route/v3/RouteMatch.js";
import type { CompiledAction, CompiledBackend, CompiledRoute } from "../../gateway/compile.js";
import type { HeaderModifier, PathModifier, RouteMatch, ValueMatch } from "../../gateway/model.js";
import { INVALID_BACKEND_CLUSTER } from "../names.js";
import { regex } from "./matches.js";
import { duration, fraction } from "./proto-values.js";
import { DEFAULT_RETRY, timeoutFields } from "./routes.js";

/** The xDS cluster of a backend Service port (usually `clusterName` of its namespace, name, port). */
export type ClusterOf = (b: CompiledBackend) => string;

const RESPONSE_CODES: Readonly<Record<number, RedirectAction["response_code"]>> = {
  301: "MOVED_PERMANENTLY",
  302: "FOUND",
  303: "SEE_OTHER",
  307: "TEMPORARY_REDIRECT",
  308: "PERMANENT_REDIRECT",
};

const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443 };

/** A PathPrefix without its trailing slashes; `/` stays `/` (it matches everything). */
function trimPrefix(value: string): string {
  const trimmed = value.replace(/\/+$/u, "");
  return trimmed === "" ? "/" : trimmed;
}

/**
 * The path specifiers of one match. PathPrefix matches whole path elements: Envoy's
 * path_separated_prefix, which Istio uses, is not one the proxy implements, so `/foo` becomes two
 * routes, `path: /foo` and `prefix: /foo/`, which match exactly the same requests.
 */
function pathSpecifiers(m: RouteMatch): Pick<EnvoyRouteMatch, "prefix" | "path" | "safe_regex">[] {
  const p = m.path;
  if (p === undefined) return [{ prefix: "/" }];
  switch (p.type) {
    case "Exact":
      return [{ path: p.value }];
    case "RegularExpression":
      return [{ safe_regex: regex(p.value) }];
    case "PathPrefix": {
      const prefix = trimPrefix(p.value);
      return prefix === "/" ? [{ prefix: "/" }] : [{ path: prefix }, { prefix: `${prefix}/` }];
    }
  }
}

/**
 * The per-kind header fields, as routes.ts uses for gRPC C-core; names lower-cased (they are
 * case-insensitive, and the method is the `:method` pseudo-header).
 */
function headerMatcher(m: ValueMatch): HeaderMatcher {
  const name = m.name.toLowerCase();
  return m.type === "Exact"
    ? { name, exact_match: m.value }
    : { name, safe_regex_match: regex(m.value) };
}

/** Query parameter names are case-sensitive (Gateway API: "names exact"). */
function queryMatcher(m: ValueMatch): QueryParameterMatcher {
  return {
    name: m.name,
    string_match: m.type === "Exact" ? { exact: m.value } : { safe_regex: regex(m.value) },
  };
}

function routeMatches(m: RouteMatch): EnvoyRouteMatch[] {
  const headers = [
    ...m.headers.map(headerMatcher),
    ...(m.method === undefined ? [] : [{ name: ":method", exact_match: m.method }]),
  ];
  const query = m.queryParams.map(queryMatcher);
  return pathSpecifiers(m).map((path) => ({
    ...path,
    ...(headers.length > 0 && { headers }),
    ...(query.length > 0 && { query_parameters: query }),
  }));
}

/** Envoy reads header values as formatter templates; Gateway API values are literal. */
const literal = (v: string): string => v.replaceAll("%", "%%");

/**
 * A header modifier as Envoy's lists. Host cannot be changed through them (Envoy and the proxy
 * refuse the whole configuration), so a `set` or `add` of Host is returned as a host rewrite, as
 * Istio does, and removing it is left out.
 */
function headerLists(m: HeaderModifier | undefined): {
  add: HeaderValueOption[];
  remove: string[];
  host?: string;
} {
  if (m === undefined) return { add: [], remove: [] };
  const isHost = (n: string): boolean => n.toLowerCase() === "host";
  const option = (
    h: { name: string; value: string },
    action: HeaderValueOption["append_action"],
  ): HeaderValueOption => ({
    header: { key: h.name.toLowerCase(), value: literal(h.value) },
    append_action: action,
  });
  const host = [...m.set, ...m.add].find((h) => isHost(h.name));
  return {
    add: [
      ...m.set.filter((h) => !isHost(h.name)).map((h) => option(h, "OVERWRITE_IF_EXISTS_OR_ADD")),
      ...m.add.filter((h) => !isHost(h.name)).map((h) => option(h, "APPEND_IF_EXISTS_OR_ADD")),
    ],
    remove: m.remove.filter((n) => !isHost(n)).map((n) => n.toLowerCase()),
    ...(host !== undefined && { host: host.value }),
  };
}

/** The specifier a ReplacePrefixMatch acts on; a match without a path is PathPrefix `/`. */
function matchedPath(
  route: EnvoyRouteMatch,
): { kind: "exact" | "prefix"; value: string } | undefined {
  if (route.path !== undefined) return { kind: "exact", value: route.path };
  if (route.prefix !== undefined) return { kind: "prefix", value: route.prefix };
  return undefined;
}

/**
 * ReplacePrefixMatch as Envoy's prefix_rewrite, with Gateway API's slashes: prefix `/foo` to `/xyz`
 * or `/xyz/` turns `/foo/bar` into `/xyz/bar` and `/foo` into `/xyz`; to `""` or `/` turns
 * `/foo/bar` into `/bar` and `/foo` into `/`. The `/foo/` route swaps `/foo/` for `/xyz/`, the
 * `path: /foo` route swaps the whole path (an empty prefix_rewrite would mean no rewrite). A
 * regex match has no prefix to replace (CEL forbids the combination): undefined.
 */
function prefixRewrite(route: EnvoyRouteMatch, replacement: string): string | undefined {
  const matched = matchedPath(route);
  if (matched === undefined) return undefined;
  const base = replacement.replace(/\/+$/u, "");
  return matched.kind === "prefix" || base === "" ? `${base}/` : base;
}

function redirectAction(
  a: Extract<CompiledAction, { kind: "redirect" }>,
  match: EnvoyRouteMatch,
): RedirectAction {
  const scheme = a.scheme ?? "http";
  // The proxy, as Envoy, writes an explicit port_redirect into the Location: leave the scheme's own
  // out (Gateway API: "SHOULD NOT add the port number" for http:80 and https:443). Without one and
  // without a hostname, the Location keeps the request's port unless the scheme changes from that
  // port's default, so a request to `web:8080` redirected to port 80 (or to https) still names 8080.
  const port = a.port !== undefined && a.port !== DEFAULT_PORTS[scheme] ? a.port : undefined;
  const rewrite =
    a.path?.type === "ReplacePrefixMatch" ? prefixRewrite(match, a.path.value) : undefined;
  return {
    // parse-route.ts admits only the five codes; 302 is Gateway API's default.
    response_code: RESPONSE_CODES[a.statusCode] ?? "FOUND",
    ...(a.scheme !== undefined && { scheme_redirect: a.scheme }),
    ...(a.hostname !== undefined && { host_redirect: a.hostname }),
    ...(port !== undefined && { port_redirect: port }),
    ...(a.path?.type === "ReplaceFullPath" && { path_redirect: a.path.value }),
    ...(rewrite !== undefined && { prefix_rewrite: rewrite }),
  };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * One backend with everything: `cluster`. Otherwise weighted_clusters, duplicates merged and
 * weights divided by their common divisor, with total_weight set (gRPC C-core before 1.55 needs
 * it). The invalid backends' share goes to a cluster that is never in CDS, answered 500 through
 * cluster_not_found_response_code as Istio and Envoy Gateway do.
 */
function clusterSpecifier(
  a: Extract<CompiledAction, { kind: "forward" }>,
  clusterOf: ClusterOf,
): Pick<RouteAction, "cluster" | "weighted_clusters" | "cluster_not_found_response_code"> {
  const weights = new Map<string, number>();
  for (const b of a.backends) {
    if (!(b.weight > 0)) continue;
    const name = clusterOf(b);
    weights.set(name, (weights.get(name) ?? 0) + b.weight);
  }
  if (a.failedWeight > 0)
    weights.set(
      INVALID_BACKEND_CLUSTER,
      (weights.get(INVALID_BACKEND_CLUSTER) ?? 0) + a.failedWeight,
    );
  const failed = a.failedWeight > 0 && {
    cluster_not_found_response_code: "INTERNAL_SERVER_ERROR" as const,
  };
  const entries = [...weights];
  const [only] = entries;
  if (entries.length === 1 && only !== undefined) return { cluster: only[0], ...failed };
  const divisor = entries.reduce((d, [, w]) => gcd(w, d), 0) || 1;
  const clusters = entries.map(([name, w]) => ({ name, weight: { value: w / divisor } }));
  const total = clusters.reduce((n, c) => n + c.weight.value, 0);
  return { weighted_clusters: { clusters, total_weight: { value: total } }, ...failed };
}

/**
 * Request timeout as the route's (0: none, not Envoy's 15 s), and for gRPC clients, which read
 * only max_stream_duration, as routes.ts sets it; backendRequest bounds each attempt of vireo's
 * default retries.
 */
function policy(
  c: CompiledRoute,
): Pick<RouteAction, "timeout" | "max_stream_duration" | "retry_policy"> {
  const perTry = c.perTryTimeoutMs ?? 0;
  return {
    ...timeoutFields(c.timeoutMs ?? 0),
    retry_policy: {
      ...DEFAULT_RETRY,
      ...(perTry >= 1 && { per_try_timeout: duration(perTry) }),
    },
  };
}

/** URLRewrite: ReplaceFullPath swaps the path and keeps the query (regex_rewrite sees no query). */
function pathRewrite(
  path: PathModifier | undefined,
  match: EnvoyRouteMatch,
): Pick<RouteAction, "prefix_rewrite" | "regex_rewrite"> {
  if (path === undefined) return {};
  if (path.type === "ReplaceFullPath")
    return {
      regex_rewrite: {
        pattern: regex("^/.*$"),
        substitution: path.value.replaceAll("\\", "\\\\"),
      },
    };
  const rewrite = prefixRewrite(match, path.value);
  return rewrite === undefined ? {} : { prefix_rewrite: rewrite };
}

function forwardAction(
  c: CompiledRoute,
  a: Extract<CompiledAction, { kind: "forward" }>,
  match: EnvoyRouteMatch,
  clusterOf: ClusterOf,
  hostFromHeaders: string | undefined,
): RouteAction {
  // URLRewrite's hostname and a Host set by the header modifier: the rewrite is the explicit one.
  const host = c.rewrite?.hostname ?? hostFromHeaders;
  return {
    ...clusterSpecifier(a, clusterOf),
    ...policy(c),
    ...pathRewrite(c.rewrite?.path, match),
    ...(host !== undefined && { host_rewrite_literal: host }),
    ...(c.mirrors.length > 0 && {
      request_mirror_policies: c.mirrors.map((m) => ({
        cluster: clusterOf(m.backend),
        runtime_fraction: { default_value: fraction(m.percent) },
      })),
    }),
  };
}

function envoyRoute(c: CompiledRoute, match: EnvoyRouteMatch, clusterOf: ClusterOf): Route {
  const request = headerLists(c.requestHeaders);
  const response = headerLists(c.responseHeaders);
  const base: Route = {
    name: `${c.route}/${String(c.rule)}`,
    match,
    ...(response.add.length > 0 && { response_headers_to_add: response.add }),
    ...(response.remove.length > 0 && { response_headers_to_remove: response.remove }),
  };
  switch (c.action.kind) {
    case "redirect":
      return { ...base, redirect: redirectAction(c.action, match) };
    case "status":
      return { ...base, direct_response: { status: c.action.code } };
    case "forward":
      // compile.ts answers such a rule with a status itself; an empty weighted_clusters is NACKed.
      if (!c.action.backends.some((b) => b.weight > 0) && !(c.action.failedWeight > 0))
        return { ...base, direct_response: { status: 500 } };
      return {
        ...base,
        ...(request.add.length > 0 && { request_headers_to_add: request.add }),
        ...(request.remove.length > 0 && { request_headers_to_remove: request.remove }),
        route: forwardAction(c, c.action, match, clusterOf, request.host),
      };
  }
}

/**
 * The Envoy routes of one Service port's compiled Gateway API routes, in the order given (the
 * order the proxy must try them). A PathPrefix match other than `/` yields two routes.
 * Requests matching none of them are the caller's to answer (404 when the port has routes).
 */
export function gatewayRoutes(compiled: readonly CompiledRoute[], clusterOf: ClusterOf): Route[] {
  return compiled.flatMap((c) => routeMatches(c.match).map((m) => envoyRoute(c, m, clusterOf)));
}
