// What a forwarding route changes on the way, after fault injection as Envoy's router does it:
// the request's headers, path (prefix_rewrite) and Host before the mirrors and the router see it,
// and the response's headers, whether upstream's or the router's own reply.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { assertNever } from "../../src/common/assert-never.js";
import type {
  HeaderAdd,
  HeaderEdits,
  PathMatcher,
  PathRewrite,
  RouteEdits,
} from "../routing/model.js";
import type {
  ProxyRequest,
  ProxyResponse,
  Routed,
  RoutedFilter,
  RoutedHandler,
} from "./pipeline.js";

type HeaderValue = string | string[] | number;

/** Another value beside those there: one more header line, as Envoy's `addReferenceKey`. */
function appended(existing: HeaderValue | undefined, value: string): HeaderValue {
  if (existing === undefined) return value;
  if (Array.isArray(existing)) return [...existing, value];
  return [String(existing), value];
}

/**
 * Applies the levels in order to `out`, in place. Within a level, as Envoy's HeaderParser:
 * removals, then each add's condition read against the headers as they are then, then the
 * overwrites, then the appends.
 */
export function applyHeaderEdits(
  out: Record<string, HeaderValue | undefined>,
  levels: readonly HeaderEdits[],
): void {
  for (const level of levels) {
    for (const name of level.remove) Reflect.deleteProperty(out, name);
    const overwrite: HeaderAdd[] = [];
    const append: HeaderAdd[] = [];
    for (const a of level.add) {
      const present = out[a.name] !== undefined;
      switch (a.action) {
        case "append":
          append.push(a);
          break;
        case "add-if-absent":
          if (!present) append.push(a);
          break;
        case "overwrite-if-exists":
          if (present) overwrite.push(a);
          break;
        case "overwrite":
          overwrite.push(a);
          break;
        default:
          assertNever(a.action);
      }
    }
    for (const a of overwrite) out[a.name] = a.value;
    for (const a of append) out[a.name] = appended(out[a.name], a.value);
  }
}

/** How much of `path` the route's path matcher matched: Envoy's prefix_rewrite replaces that. */
function matchedLength(m: PathMatcher, path: string): number {
  switch (m.kind) {
    case "prefix":
    case "exact":
      return m.value.length;
    case "regex": {
      const q = path.indexOf("?");
      return q < 0 ? path.length : q;
    }
    default:
      return assertNever(m);
  }
}

function substitute(parts: readonly (string | number)[], m: RegExpExecArray): string {
  let out = "";
  for (const p of parts) out += typeof p === "string" ? p : (m[p] ?? "");
  return out;
}

/** RE2's GlobalReplace: every match, but no empty match right after a non-empty one. */
function replaceAll(s: string, rw: Extract<PathRewrite, { kind: "regex" }>): string {
  let out = "";
  let last = 0;
  let nonEmptyEnd = -1;
  for (const m of s.matchAll(rw.pattern)) {
    if (m[0] === "" && m.index === nonEmptyEnd) continue;
    out += s.slice(last, m.index) + substitute(rw.substitution, m);
    last = m.index + m[0].length;
    if (m[0] !== "") nonEmptyEnd = last;
  }
  return out + s.slice(last);
}

/**
 * `path` rewritten: a prefix rewrite replaces what `m` matched and keeps the rest (query
 * included); a regex rewrite replaces every match in the path without its query.
 */
export function rewritePath(m: PathMatcher, path: string, rw: PathRewrite): string {
  switch (rw.kind) {
    case "prefix":
      return rw.value + path.slice(matchedLength(m, path));
    case "regex": {
      const q = path.indexOf("?");
      const bare = q < 0 ? path : path.slice(0, q);
      const replaced = replaceAll(bare, rw);
      return q < 0 ? replaced : replaced + path.slice(q);
    }
    default:
      return assertNever(rw);
  }
}

function editRequest(x: Routed, edits: RouteEdits): ProxyRequest {
  const req = x.request;
  let headers = req.headers;
  if (edits.request.length > 0) {
    const copy: IncomingHttpHeaders = { ...req.headers };
    applyHeaderEdits(copy, edits.request);
    headers = copy;
  }
  const path =
    edits.path === undefined ? req.path : rewritePath(x.route.match.path, req.path, edits.path);
  return { ...req, headers, path, authority: edits.hostRewrite ?? req.authority };
}

function editResponse(r: ProxyResponse, levels: readonly HeaderEdits[]): ProxyResponse {
  switch (r.kind) {
    case "local": {
      const headers: OutgoingHttpHeaders = { ...r.headers };
      applyHeaderEdits(headers, levels);
      return { ...r, headers };
    }
    case "upstream": {
      const headers: OutgoingHttpHeaders = { ...r.response.headers };
      applyHeaderEdits(headers, levels);
      return { kind: "upstream", response: { ...r.response, headers } };
    }
    default:
      return assertNever(r);
  }
}

/** Routes that change nothing (nearly all) pass straight through, without an async frame. */
export function editFilter(): RoutedFilter {
  return (next) => (x) =>
    x.route.edits === undefined ? next(x) : forwardEdited(next, x, x.route.edits);
}

/** The request path for a route with edits: `next` sees the edited request. */
function forwardEdited(next: RoutedHandler, x: Routed, edits: RouteEdits): Promise<ProxyResponse> {
  const sent = next({ ...x, request: editRequest(x, edits) });
  return edits.response.length === 0 ? sent : sent.then((r) => editResponse(r, edits.response));
}
