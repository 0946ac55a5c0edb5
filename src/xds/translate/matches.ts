// Istio-style request matches as Envoy RouteMatch: uri, headers and query parameters, all ANDed.
import type { HeaderMatcher } from "../generated/envoy/config/route/v3/HeaderMatcher.js";
import type { QueryParameterMatcher } from "../generated/envoy/config/route/v3/QueryParameterMatcher.js";
import type { RouteMatch } from "../generated/envoy/config/route/v3/RouteMatch.js";
import type { RegexMatcher } from "../generated/envoy/type/matcher/v3/RegexMatcher.js";
import type { StringMatcher } from "../generated/envoy/type/matcher/v3/StringMatcher.js";
import type { HttpMatch, StringMatch } from "../model.js";
import { compareStrings } from "./proto-values.js";

/** `google_re2` is deprecated but older Envoys and gRPC C-core require the engine to be named. */
export function regex(re: string): RegexMatcher {
  return { google_re2: {}, regex: re };
}

/** RE2 source matching `s` literally. */
export function escapeRegex(s: string): string {
  return s.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&");
}

/** A StringMatch other than presence as an Envoy StringMatcher. */
function stringMatcher(m: Exclude<StringMatch, { present: true }>): StringMatcher {
  if ("exact" in m) return { exact: m.exact };
  if ("prefix" in m) return { prefix: m.prefix };
  if ("suffix" in m) return { suffix: m.suffix };
  return { safe_regex: regex(m.regex) };
}

function isPresent(m: StringMatch): m is Extract<StringMatch, { present: true }> {
  return "present" in m;
}

/** Entries sorted by key: the model's records come from parsed YAML, whose key order varies. */
function sortedEntries(
  r: Readonly<Record<string, StringMatch>> | undefined,
): [string, StringMatch][] {
  return Object.entries(r ?? {}).sort(([a], [b]) => compareStrings(a, b));
}

/**
 * The per-kind header fields rather than `string_match`: Envoy deprecated them but still honours
 * them, while gRPC C-core 1.51 (Debian's) NACKs the whole route configuration for `string_match`
 * ("Invalid route header matcher specified").
 */
function headerMatcher(name: string, m: StringMatch): HeaderMatcher {
  if (isPresent(m)) return { name, present_match: true };
  if ("exact" in m) return { name, exact_match: m.exact };
  if ("prefix" in m) return { name, prefix_match: m.prefix };
  if ("suffix" in m) return { name, suffix_match: m.suffix };
  return { name, safe_regex_match: regex(m.regex) };
}

function queryMatcher(name: string, m: StringMatch): QueryParameterMatcher {
  return isPresent(m) ? { name, present_match: true } : { name, string_match: stringMatcher(m) };
}

/**
 * The path part of a match. Envoy has no suffix path specifier, so a suffix becomes an anchored
 * regex; a presence match on the path matches everything.
 */
function pathSpecifier(
  uri: StringMatch | undefined,
): Pick<RouteMatch, "prefix" | "path" | "safe_regex"> {
  if (uri === undefined || isPresent(uri)) return { prefix: "/" };
  if ("exact" in uri) return { path: uri.exact };
  if ("prefix" in uri) return { prefix: uri.prefix };
  if ("suffix" in uri) return { safe_regex: regex(`.*${escapeRegex(uri.suffix)}`) };
  return { safe_regex: regex(uri.regex) };
}

/** The route match for an HttpMatch; with no match at all, every request. */
export function routeMatch(match: HttpMatch | undefined): RouteMatch {
  const headers = sortedEntries(match?.headers).map(([n, m]) => headerMatcher(n, m));
  const query = sortedEntries(match?.queryParams).map(([n, m]) => queryMatcher(n, m));
  return {
    ...pathSpecifier(match?.uri),
    ...(headers.length > 0 && { headers }),
    ...(query.length > 0 && { query_parameters: query }),
  };
}
