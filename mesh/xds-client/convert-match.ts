// Envoy route matches (path, headers, query parameters, runtime fraction) as the model's matchers.
import type { HeaderMatcher__Output } from "../../src/xds/generated/envoy/config/route/v3/HeaderMatcher.js";
import type { QueryParameterMatcher__Output } from "../../src/xds/generated/envoy/config/route/v3/QueryParameterMatcher.js";
import type { RouteMatch__Output } from "../../src/xds/generated/envoy/config/route/v3/RouteMatch.js";
import type { RegexMatcher__Output } from "../../src/xds/generated/envoy/type/matcher/v3/RegexMatcher.js";
import type { StringMatcher__Output } from "../../src/xds/generated/envoy/type/matcher/v3/StringMatcher.js";
import type {
  HeaderMatcher,
  PathMatcher,
  QueryMatcher,
  RouteMatch,
  StringMatcher,
} from "../routing/model.js";
import { fail, fraction, lower } from "./proto-values.js";
import { compileRe2 } from "./re2.js";

function regex(m: RegexMatcher__Output | null | undefined, what: string): RegExp {
  if (m === null || m === undefined) fail(`${what}: regex matcher is empty`);
  return compileRe2(m.regex);
}

export function stringMatcher(m: StringMatcher__Output | null, what: string): StringMatcher {
  if (m === null) fail(`${what}: string matcher is empty`);
  const ignoreCase = m.ignore_case;
  switch (m.match_pattern) {
    case "exact":
      return { kind: "exact", value: m.exact ?? "", ignoreCase };
    case "prefix":
      return { kind: "prefix", value: m.prefix ?? "", ignoreCase };
    case "suffix":
      return { kind: "suffix", value: m.suffix ?? "", ignoreCase };
    case "contains":
      return { kind: "contains", value: m.contains ?? "", ignoreCase };
    case "safe_regex":
      // Envoy ignores ignore_case for regexes; a pattern says (?i) itself.
      return { kind: "regex", regex: regex(m.safe_regex, what) };
    case "custom":
      return fail(`${what}: custom string matchers are not supported`);
    case undefined:
      return fail(`${what}: string matcher sets no pattern`);
  }
}

/**
 * Envoy's header matcher. With no specifier the header must be present; `present_match: false`
 * means absent, which is presence inverted.
 */
export function headerMatcher(h: HeaderMatcher__Output): HeaderMatcher {
  const name = lower(h.name);
  const what = `header matcher ${name}`;
  if (name === "") fail("header matcher without a name");
  if (h.treat_missing_header_as_empty)
    fail(`${what}: treat_missing_header_as_empty is not supported`);
  const at = (match: StringMatcher, invert = h.invert_match): HeaderMatcher => ({
    name,
    match,
    invert,
  });
  switch (h.header_match_specifier) {
    case "exact_match":
      return at({ kind: "exact", value: h.exact_match ?? "", ignoreCase: false });
    case "prefix_match":
      return at({ kind: "prefix", value: h.prefix_match ?? "", ignoreCase: false });
    case "suffix_match":
      return at({ kind: "suffix", value: h.suffix_match ?? "", ignoreCase: false });
    case "contains_match":
      return at({ kind: "contains", value: h.contains_match ?? "", ignoreCase: false });
    case "safe_regex_match":
      return at({ kind: "regex", regex: regex(h.safe_regex_match, what) });
    case "string_match":
      return at(stringMatcher(h.string_match ?? null, what));
    case "present_match":
      return at({ kind: "present" }, h.present_match === false ? !h.invert_match : h.invert_match);
    case "range_match":
      return fail(`${what}: range_match is not supported`);
    case undefined:
      return at({ kind: "present" });
  }
}

/** Envoy's query matcher; with neither field set the parameter must be present. */
export function queryMatcher(q: QueryParameterMatcher__Output): QueryMatcher {
  const what = `query parameter matcher ${q.name}`;
  if (q.name === "") fail("query parameter matcher without a name");
  switch (q.query_parameter_match_specifier) {
    case "string_match":
      return { name: q.name, match: stringMatcher(q.string_match ?? null, what) };
    case "present_match":
      // Envoy never matches `present_match: false`; refusing it beats a route that never matches.
      if (q.present_match !== true) fail(`${what}: present_match false never matches`);
      return { name: q.name, match: { kind: "present" } };
    case undefined:
      return { name: q.name, match: { kind: "present" } };
  }
}

function pathMatcher(m: RouteMatch__Output): PathMatcher {
  switch (m.path_specifier) {
    case "prefix":
      return { kind: "prefix", value: m.prefix ?? "" };
    case "path":
      return { kind: "exact", value: m.path ?? "" };
    case "safe_regex":
      return { kind: "regex", regex: regex(m.safe_regex, "path") };
    case "path_separated_prefix":
    case "connect_matcher":
    case "path_match_policy":
      return fail(`path specifier ${m.path_specifier} is not supported`);
    case undefined:
      return fail("route match has no path specifier");
  }
}

/** A gRPC match is a content-type prefix match, as Envoy implements it. */
const GRPC_HEADER: HeaderMatcher = {
  name: "content-type",
  match: { kind: "prefix", value: "application/grpc", ignoreCase: false },
  invert: false,
};

export function routeMatch(m: RouteMatch__Output | null): RouteMatch {
  if (m === null) fail("route has no match");
  if (m.tls_context !== null) fail("tls_context matches are not supported");
  if (m.dynamic_metadata.length > 0) fail("dynamic_metadata matches are not supported");
  const headers = m.headers.map(headerMatcher);
  return {
    path: pathMatcher(m),
    caseSensitive: m.case_sensitive?.value ?? true,
    headers: m.grpc === null ? headers : [...headers, GRPC_HEADER],
    query: m.query_parameters.map(queryMatcher),
    fraction: fraction(m.runtime_fraction?.default_value, 1),
  };
}
