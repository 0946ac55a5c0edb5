// Envoy route-match semantics over one request: path (prefix on :path, exact and regex on the
// path without its query), headers (pseudo-headers included, invert), query parameters. Regular
// expressions must match the whole value.
import type { IncomingHttpHeaders } from "node:http";
import type {
  HeaderMatcher,
  PathMatcher,
  QueryMatcher,
  RouteMatch,
  StringMatcher,
} from "./model.js";

/** The parts of a request routes match on. */
export interface MatchInput {
  readonly method: string;
  readonly authority: string;
  /** `:path`, query included. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

export function fullMatch(regex: RegExp, value: string): boolean {
  regex.lastIndex = 0;
  const m = regex.exec(value);
  return m !== null && m.index === 0 && m[0].length === value.length;
}

export function matchString(m: StringMatcher, value: string): boolean {
  switch (m.kind) {
    case "exact":
      return m.ignoreCase ? value.toLowerCase() === m.value.toLowerCase() : value === m.value;
    case "prefix":
      return m.ignoreCase
        ? value.toLowerCase().startsWith(m.value.toLowerCase())
        : value.startsWith(m.value);
    case "suffix":
      return m.ignoreCase
        ? value.toLowerCase().endsWith(m.value.toLowerCase())
        : value.endsWith(m.value);
    case "contains":
      return m.ignoreCase
        ? value.toLowerCase().includes(m.value.toLowerCase())
        : value.includes(m.value);
    case "regex":
      return fullMatch(m.regex, value);
    case "present":
      return true;
  }
}

function pathOnly(path: string): string {
  const q = path.indexOf("?");
  return q === -1 ? path : path.slice(0, q);
}

export function matchPath(m: PathMatcher, path: string, caseSensitive: boolean): boolean {
  switch (m.kind) {
    case "prefix":
      return caseSensitive
        ? path.startsWith(m.value)
        : path.toLowerCase().startsWith(m.value.toLowerCase());
    case "exact": {
      const p = pathOnly(path);
      return caseSensitive ? p === m.value : p.toLowerCase() === m.value.toLowerCase();
    }
    case "regex":
      return fullMatch(m.regex, pathOnly(path));
  }
}

function headerOf(input: MatchInput, name: string): string | undefined {
  switch (name) {
    case ":method":
      return input.method;
    case ":authority":
      return input.authority;
    case ":path":
      return input.path;
    default: {
      const v = input.headers[name];
      return Array.isArray(v) ? v.join(",") : v;
    }
  }
}

/**
 * A missing header fails every matcher but an inverted one, where it counts as empty (Istio's
 * `withoutHeaders`); an inverted presence check succeeds on it.
 */
export function matchHeader(m: HeaderMatcher, input: MatchInput): boolean {
  const value = headerOf(input, m.name);
  if (value === undefined)
    return m.invert && (m.match.kind === "present" || !matchString(m.match, ""));
  return matchString(m.match, value) !== m.invert;
}

export function matchQuery(matchers: readonly QueryMatcher[], path: string): boolean {
  const q = path.indexOf("?");
  const params = new URLSearchParams(q === -1 ? "" : path.slice(q + 1));
  return matchers.every((m) => {
    const v = params.get(m.name);
    return v !== null && matchString(m.match, v);
  });
}

export function matchRoute(m: RouteMatch, input: MatchInput): boolean {
  if (!matchPath(m.path, input.path, m.caseSensitive)) return false;
  for (const h of m.headers) if (!matchHeader(h, input)) return false;
  return m.query.length === 0 || matchQuery(m.query, input.path);
}
