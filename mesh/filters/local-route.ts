// Routes the proxy answers itself: redirects, with the Location Envoy builds (Http::Utility::
// newUri), and direct responses; either with the route's response header levels.
import type { OutgoingHttpHeaders } from "node:http";
import type { LocalRoute, Redirect } from "../routing/model.js";
import { localReply } from "./local-reply.js";
import type { ProxyRequest, ProxyResponse } from "./pipeline.js";
import { applyHeaderEdits, rewritePath } from "./route-edits.js";

function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The request's scheme: HTTP/2's :scheme, else the connection's. */
function requestScheme(req: ProxyRequest): string {
  const s = firstValue(req.headers[":scheme"]);
  if (s !== undefined && s !== "") return s;
  return req.connection?.transport === "tls" ? "https" : "http";
}

/**
 * The request's Host for the Location: its port is dropped when a port_redirect replaces it, or
 * when the scheme changes and the port was the default of the scheme the request came with
 * (x-forwarded-proto, as Envoy reads it).
 */
function requestHost(req: ProxyRequest, scheme: string, port: string, proto: string): string {
  const host = req.authority;
  const end = host.startsWith("[") ? host.lastIndexOf("]:") + 1 : host.lastIndexOf(":");
  if (end <= 0) return host;
  const requestPort = host.slice(end);
  const remove =
    port !== "" ||
    (scheme !== proto &&
      ((proto === "https" && requestPort === ":443") ||
        (proto === "http" && requestPort === ":80")));
  return remove ? host.slice(0, end) : host;
}

function queryOf(path: string): string {
  const q = path.indexOf("?");
  return q < 0 ? "" : path.slice(q);
}

/** Envoy's Location: each part the request's unless the redirect replaces it. */
export function redirectLocation(
  route: LocalRoute,
  r: Redirect | undefined,
  req: ProxyRequest,
): string {
  const rw = r?.path;
  const current =
    rw === undefined || rw.kind === "path" ? req.path : rewritePath(route.match.path, req.path, rw);
  const scheme = r?.scheme ?? requestScheme(req);
  const port = r !== undefined && r.port > 0 ? `:${String(r.port)}` : "";
  const proto = firstValue(req.headers["x-forwarded-proto"]) ?? requestScheme(req);
  const host = r?.host ?? requestHost(req, scheme, port, proto);
  // A path_redirect with a query keeps it, whatever strip_query says.
  const fixedQuery = r?.path?.kind === "path" && r.path.value.includes("?");
  let path =
    r?.path?.kind === "path"
      ? fixedQuery
        ? r.path.value
        : r.path.value + queryOf(current)
      : current;
  if (!path.startsWith("/")) path = `/${path}`;
  if (r?.stripQuery === true && !fixedQuery) {
    const q = path.indexOf("?");
    if (q >= 0) path = path.slice(0, q);
  }
  return `${scheme}://${host}${port}${path}`;
}

/** RFC 9110 §10.2.2: Envoy adds a Location to 201 and 3xx replies, direct responses included. */
function takesLocation(status: number): boolean {
  return status === 201 || (status >= 300 && status < 400);
}

export function localRouteReply(route: LocalRoute, req: ProxyRequest): ProxyResponse {
  const { reply } = route;
  const redirect = reply.kind === "redirect" ? reply : undefined;
  const headers: OutgoingHttpHeaders = {};
  if (takesLocation(reply.status)) headers.location = redirectLocation(route, redirect, req);
  applyHeaderEdits(headers, route.response);
  return localReply(reply.status, reply.kind === "direct" ? reply.body : "", { headers });
}
