// A RouteConfiguration as the model's RouteTable: virtual hosts indexed by domain, each route's
// match and action, with route, virtual host and configuration level policies resolved here.
import type { RouteAction__Output } from "../../src/xds/generated/envoy/config/route/v3/RouteAction.js";
import type { Route__Output } from "../../src/xds/generated/envoy/config/route/v3/Route.js";
import type { RouteConfiguration__Output } from "../../src/xds/generated/envoy/config/route/v3/RouteConfiguration.js";
import type { VirtualHost__Output } from "../../src/xds/generated/envoy/config/route/v3/VirtualHost.js";
import type { Any__Output } from "../../src/xds/generated/google/protobuf/Any.js";
import type {
  FaultPolicy,
  Route,
  RouteAction,
  RouteEdits,
  RouteTable,
  VirtualHost,
  WeightedCluster,
} from "../routing/model.js";
import type { HeaderMutations, LevelEdits } from "./convert-headers.js";
import { headerLevels, levelEdits } from "./convert-headers.js";
import { routeMatch } from "./convert-match.js";
import { FAULT_FILTER, faultPolicy, mirrorPolicy, retryPolicy } from "./convert-policy.js";
import { DEFAULT_MAX_DIRECT_BODY, directResponse, redirect } from "./convert-reply.js";
import { prefixRewrite, regexRewrite } from "./convert-rewrite.js";
import { durationMs, fail, InvalidResource, lower, u32 } from "./proto-values.js";

/** Envoy's route timeout when none is given; our translator always sets one (0 = none). */
export const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;

/** The levels a policy may be set at, most specific first. */
interface Scope {
  readonly rc: RouteConfiguration__Output;
  readonly vh: VirtualHost__Output;
  /** The virtual host's and the route configuration's header changes, in that order. */
  readonly outer: readonly LevelEdits[];
}

function clusters(a: RouteAction__Output): { list: WeightedCluster[]; total: number } {
  switch (a.cluster_specifier) {
    case "cluster":
      if (a.cluster === undefined || a.cluster === "") fail("route action names an empty cluster");
      return { list: [{ cluster: a.cluster, weight: 1 }], total: 1 };
    case "weighted_clusters": {
      const wc = a.weighted_clusters;
      if (wc === null || wc === undefined || wc.clusters.length === 0)
        fail("weighted_clusters lists no clusters");
      if (wc.header_name !== undefined) fail("weighted_clusters header_name is not supported");
      const list = wc.clusters.map((c) => {
        if (c.name === "") fail("weighted_clusters entry without a cluster name");
        const bad = [
          ...mutations(c),
          c.host_rewrite_specifier !== undefined && c.host_rewrite_specifier,
        ].filter((x): x is string => typeof x === "string");
        if (bad.length > 0)
          fail(`weighted_clusters entry ${c.name}: ${bad.join(", ")} not supported`);
        return { cluster: c.name, weight: c.weight?.value ?? 0 };
      });
      const sum = list.reduce((n, c) => n + c.weight, 0);
      if (sum === 0) fail("weighted_clusters weights sum to 0");
      const total = wc.total_weight?.value;
      if (total !== undefined && total !== 0 && total !== sum)
        fail(`weighted_clusters total_weight ${total} differs from the weights' sum ${sum}`);
      return { list, total: sum };
    }
    case "cluster_header":
    case "cluster_specifier_plugin":
    case "inline_cluster_specifier_plugin":
      return fail(`route action ${a.cluster_specifier} is not supported`);
    case undefined:
      return fail("route action names no cluster");
  }
}

/** The header mutation lists a weighted cluster entry sets: not implemented there. */
function mutations(m: HeaderMutations): string[] {
  return (
    [
      "request_headers_to_add",
      "request_headers_to_remove",
      "response_headers_to_add",
      "response_headers_to_remove",
    ] as const
  ).filter((k) => m[k].length > 0);
}

/** Fields that would change the request in ways the proxy does not implement: refuse, not ignore. */
function checkUnsupported(a: RouteAction__Output): void {
  const bad = [
    a.host_rewrite_specifier !== undefined &&
      a.host_rewrite_specifier !== "host_rewrite_literal" &&
      a.host_rewrite_specifier,
    a.path_rewrite_policy !== null && "path_rewrite_policy",
    a.append_x_forwarded_host && "append_x_forwarded_host",
  ].filter((x): x is string => typeof x === "string");
  if (bad.length > 0) fail(`${bad.join(", ")} not supported`);
}

/** The route's edits with the outer levels', or undefined when nothing changes. */
function routeEdits(
  r: Route__Output,
  a: RouteAction__Output,
  scope: Scope,
): RouteEdits | undefined {
  const { request, response } = headerLevels(
    [levelEdits(r, "route"), ...scope.outer],
    scope.rc.most_specific_header_mutations_wins,
  );
  const host =
    a.host_rewrite_specifier === "host_rewrite_literal" ? (a.host_rewrite_literal ?? "") : "";
  if (/[\r\n\0/?#@\s]/u.test(host))
    fail(`host_rewrite_literal ${JSON.stringify(host)} is not a valid authority`);
  if (a.prefix_rewrite !== "" && a.regex_rewrite !== null)
    fail("only one of prefix_rewrite and regex_rewrite may be set");
  const path =
    a.regex_rewrite !== null
      ? regexRewrite(a.regex_rewrite, "regex_rewrite")
      : a.prefix_rewrite !== ""
        ? prefixRewrite(a.prefix_rewrite, "prefix_rewrite")
        : undefined;
  if (request.length === 0 && response.length === 0 && path === undefined && host === "")
    return undefined;
  return {
    request,
    response,
    ...(path !== undefined && { path }),
    ...(host !== "" && { hostRewrite: host }),
  };
}

function routeAction(a: RouteAction__Output, scope: Scope): RouteAction {
  checkUnsupported(a);
  const { list, total } = clusters(a);
  const mirrors =
    a.request_mirror_policies.length > 0
      ? a.request_mirror_policies
      : scope.vh.request_mirror_policies.length > 0
        ? scope.vh.request_mirror_policies
        : scope.rc.request_mirror_policies;
  const retry = retryPolicy(a.retry_policy ?? scope.vh.retry_policy);
  const notFound = CLUSTER_NOT_FOUND[a.cluster_not_found_response_code];
  if (notFound === undefined)
    fail(`cluster_not_found_response_code ${a.cluster_not_found_response_code} is not supported`);
  return {
    clusters: list,
    totalWeight: total,
    timeoutMs: durationMs(a.timeout, "timeout") ?? DEFAULT_ROUTE_TIMEOUT_MS,
    ...(retry !== undefined && { retry }),
    mirrors: mirrors.map(mirrorPolicy),
    ...(notFound !== 503 && { clusterNotFoundStatus: notFound }),
  };
}

/** RouteAction.ClusterNotFoundResponseCode, as the decoder names it. */
const CLUSTER_NOT_FOUND: Readonly<Record<string, number>> = {
  SERVICE_UNAVAILABLE: 503,
  NOT_FOUND: 404,
  INTERNAL_SERVER_ERROR: 500,
};

/** The most specific fault configuration: route, then virtual host, then route configuration. */
function fault(r: Route__Output, scope: Scope): FaultPolicy | undefined {
  const levels: Record<string, Any__Output>[] = [
    r.typed_per_filter_config,
    scope.vh.typed_per_filter_config,
    scope.rc.typed_per_filter_config,
  ];
  const config = levels.map((l) => l[FAULT_FILTER]).find((c) => c !== undefined);
  return config === undefined ? undefined : faultPolicy(config);
}

/** A redirect or a direct response: the proxy answers, with the response header levels. */
function localRoute(r: Route__Output, scope: Scope): Route {
  if (fault(r, scope) !== undefined)
    fail(`fault injection on a ${r.action ?? ""} route is not supported`);
  const reply =
    r.action === "redirect" && r.redirect
      ? redirect(r.redirect)
      : r.action === "direct_response" && r.direct_response
        ? directResponse(
            r.direct_response,
            u32(scope.rc.max_direct_response_body_size_bytes, DEFAULT_MAX_DIRECT_BODY),
          )
        : fail(`route action ${r.action ?? "(none)"} is not supported`);
  const { response } = headerLevels(
    [levelEdits(r, "route"), ...scope.outer],
    scope.rc.most_specific_header_mutations_wins,
  );
  return { kind: "local", name: r.name, match: routeMatch(r.match), reply, response };
}

function forwardRoute(r: Route__Output, a: RouteAction__Output, scope: Scope): Route {
  const f = fault(r, scope);
  const action = routeAction(a, scope);
  const edits = routeEdits(r, a, scope);
  return {
    kind: "forward",
    name: r.name,
    match: routeMatch(r.match),
    action,
    ...(f !== undefined && { fault: f }),
    ...(edits !== undefined && { edits }),
  };
}

function route(r: Route__Output, index: number, scope: Scope): Route {
  try {
    if (r.action === "route" && r.route) return forwardRoute(r, r.route, scope);
    return localRoute(r, scope);
  } catch (err) {
    if (!(err instanceof InvalidResource)) throw err;
    const where = `virtual host ${scope.vh.name}, route ${r.name === "" ? `#${index}` : r.name}`;
    return fail(`${err.message} (${where})`);
  }
}

/** Envoy allows `*` alone, or one `*` at the start or the end of a domain. */
function checkDomain(d: string, vh: string): void {
  if (d === "") fail(`virtual host ${vh} has an empty domain`);
  const stars = d.split("*").length - 1;
  if (stars > 1 || (stars === 1 && !d.startsWith("*") && !d.endsWith("*")))
    fail(`virtual host ${vh}: invalid wildcard domain ${d}`);
}

/**
 * Envoy's order among wildcards: suffix wildcards (`*.example.com`), then prefix wildcards
 * (`example.*`), each longest first, then `*`.
 */
function wildcardRank(p: string): [number, number] {
  if (p === "*") return [2, 0];
  return [p.startsWith("*") ? 0 : 1, -p.length];
}

export function routeTable(rc: RouteConfiguration__Output): RouteTable {
  if (rc.vhds !== null) fail("vhds is not supported");
  if (rc.ignore_port_in_host_matching) fail("ignore_port_in_host_matching is not supported");
  const rcEdits = levelEdits(rc, "route configuration");
  const byDomain = new Map<string, VirtualHost>();
  const wildcards: { pattern: string; host: VirtualHost }[] = [];
  const seen = new Map<string, string>();
  const virtualHosts = rc.virtual_hosts.map((vh): VirtualHost => {
    if (vh.domains.length === 0) fail(`virtual host ${vh.name} has no domains`);
    const outer = [levelEdits(vh, `virtual host ${vh.name}`), rcEdits];
    const host: VirtualHost = {
      name: vh.name,
      domains: vh.domains.map(lower),
      routes: vh.routes.map((r, i) => route(r, i, { rc, vh, outer })),
    };
    for (const d of host.domains) {
      checkDomain(d, vh.name);
      const other = seen.get(d);
      if (other !== undefined) fail(`domain ${d} appears in virtual hosts ${other} and ${vh.name}`);
      seen.set(d, vh.name);
      if (d.includes("*")) wildcards.push({ pattern: d, host });
      else byDomain.set(d, host);
    }
    return host;
  });
  wildcards.sort((a, b) => {
    const [ra, la] = wildcardRank(a.pattern);
    const [rb, lb] = wildcardRank(b.pattern);
    return ra - rb || la - lb;
  });
  return { name: rc.name, virtualHosts, byDomain, wildcards };
}
