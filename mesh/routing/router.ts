// Route selection: the virtual host for an authority (exact, then without the port, then
// wildcards most specific first), its first matching route, and one cluster of its weighted set.
import { stripPort } from "./authority.js";
import type { MatchInput } from "./matchers.js";
import { matchRoute } from "./matchers.js";
import type { Route, RouteAction, RouteTable, VirtualHost } from "./model.js";

/** Envoy wildcards match at least one character: `*.foo.com`, `foo.*`, or `*` alone. */
export function wildcardMatches(pattern: string, host: string): boolean {
  if (pattern === "*") return true;
  if (pattern.startsWith("*")) {
    return host.length >= pattern.length && host.endsWith(pattern.slice(1));
  }
  if (pattern.endsWith("*")) {
    return host.length >= pattern.length && host.startsWith(pattern.slice(0, -1));
  }
  return false;
}

/** `authority` must be lower case. */
export function selectVirtualHost(table: RouteTable, authority: string): VirtualHost | undefined {
  const exact = table.byDomain.get(authority);
  if (exact !== undefined) return exact;
  const bare = stripPort(authority);
  if (bare !== authority) {
    const v = table.byDomain.get(bare);
    if (v !== undefined) return v;
  }
  for (const w of table.wildcards) {
    if (wildcardMatches(w.pattern, authority)) return w.host;
    if (bare !== authority && wildcardMatches(w.pattern, bare)) return w.host;
  }
  return undefined;
}

/** The first route that matches, each taking its `fraction` of the requests it matches. */
export function selectRoute(
  vhost: VirtualHost,
  input: MatchInput,
  random: () => number,
): Route | undefined {
  for (const r of vhost.routes) {
    if (!matchRoute(r.match, input)) continue;
    if (r.match.fraction >= 1 || random() < r.match.fraction) return r;
  }
  return undefined;
}

/** A cluster drawn in proportion to its weight; weight-0 clusters only when all are 0. */
export function pickCluster(action: RouteAction, random: () => number): string | undefined {
  const { clusters } = action;
  if (clusters.length <= 1 || action.totalWeight <= 0) return clusters[0]?.cluster;
  let r = random() * action.totalWeight;
  for (const c of clusters) {
    r -= c.weight;
    if (r < 0) return c.cluster;
  }
  return clusters[clusters.length - 1]?.cluster;
}
