// Compiled Gateway API routes for the translator's tests: builders, and the cases the table test
// checks field by field and the round-trip test feeds to the proxy's converter.
import type { CompiledBackend, CompiledRoute } from "../../../src/gateway/compile.js";
import type { RouteMatch } from "../../../src/gateway/model.js";
import type { Route } from "../../../src/xds/generated/envoy/config/route/v3/Route.js";
import type { RouteAction } from "../../../src/xds/generated/envoy/config/route/v3/RouteAction.js";
import { clusterName, INVALID_BACKEND_CLUSTER } from "../../../src/xds/names.js";
import { DEFAULT_RETRY } from "../../../src/xds/translate/routes.js";

export const NS = "demo";
export const backend = (service: string, weight = 100, port = 9898): CompiledBackend => ({
  namespace: NS,
  service,
  port,
  weight,
});
export const clusterOf = (b: CompiledBackend): string =>
  clusterName(b.namespace, b.service, b.port);
export const [A, B] = [clusterOf(backend("a")), clusterOf(backend("b"))];

const anyPath: RouteMatch = {
  path: { type: "PathPrefix", value: "/" },
  headers: [],
  queryParams: [],
};

/** A rule forwarding everything to `a`, overridden by `o`. */
export function compiled(o: Partial<CompiledRoute> = {}): CompiledRoute {
  return {
    route: `${NS}/web`,
    rule: 0,
    match: anyPath,
    action: { kind: "forward", backends: [backend("a")], failedWeight: 0 },
    mirrors: [],
    ...o,
  };
}

const NO_TIMEOUT = { timeout: { seconds: 0, nanos: 0 }, retry_policy: DEFAULT_RETRY };
export const NAME = `${NS}/web/0`;
const forward = (
  match: Route["match"],
  action: RouteAction = {},
  extra: Partial<Route> = {},
): Route => ({
  name: NAME,
  match,
  ...extra,
  route: { cluster: A, ...NO_TIMEOUT, ...action },
});
export const path = (p: RouteMatch["path"], more: Partial<RouteMatch> = {}): RouteMatch => ({
  ...(p !== undefined && { path: p }),
  headers: [],
  queryParams: [],
  ...more,
});

export const cases: { name: string; route: CompiledRoute; want: Route[] }[] = [
  // Matches
  {
    name: "Exact path: path",
    route: compiled({ match: path({ type: "Exact", value: "/a/" }) }),
    want: [forward({ path: "/a/" })],
  },
  {
    name: "PathPrefix: the path itself, then below it, trailing slash ignored",
    route: compiled({ match: path({ type: "PathPrefix", value: "/foo/" }) }),
    want: [forward({ path: "/foo" }), forward({ prefix: "/foo/" })],
  },
  {
    name: "PathPrefix / and a match without a path: everything",
    route: compiled({ match: path(undefined) }),
    want: [forward({ prefix: "/" })],
  },
  {
    name: "RegularExpression: safe_regex with RE2 named",
    route: compiled({ match: path({ type: "RegularExpression", value: "/v[0-9]+/.*" }) }),
    want: [forward({ safe_regex: { google_re2: {}, regex: "/v[0-9]+/.*" } })],
  },
  {
    name: "headers lower-cased, exact or regex, then the method as :method",
    route: compiled({
      match: path(undefined, {
        headers: [
          { name: "X-Version", type: "Exact", value: "Two" },
          { name: "x-env", type: "RegularExpression", value: "prod|stage" },
        ],
        method: "POST",
      }),
    }),
    want: [
      forward({
        prefix: "/",
        headers: [
          { name: "x-version", exact_match: "Two" },
          { name: "x-env", safe_regex_match: { google_re2: {}, regex: "prod|stage" } },
          { name: ":method", exact_match: "POST" },
        ],
      }),
    ],
  },
  {
    name: "query parameters keep their names' case",
    route: compiled({
      match: path(undefined, {
        queryParams: [
          { name: "Animal", type: "Exact", value: "whale" },
          { name: "n", type: "RegularExpression", value: "[0-9]+" },
        ],
      }),
    }),
    want: [
      forward({
        prefix: "/",
        query_parameters: [
          { name: "Animal", string_match: { exact: "whale" } },
          { name: "n", string_match: { safe_regex: { google_re2: {}, regex: "[0-9]+" } } },
        ],
      }),
    ],
  },
  // Forward
  {
    name: "weights reduced by their common divisor, total_weight set",
    route: compiled({
      action: {
        kind: "forward",
        backends: [backend("a", 300), backend("b", 100)],
        failedWeight: 0,
      },
    }),
    want: [
      forward(
        { prefix: "/" },
        {
          cluster: undefined,
          weighted_clusters: {
            clusters: [
              { name: A, weight: { value: 3 } },
              { name: B, weight: { value: 1 } },
            ],
            total_weight: { value: 4 },
          },
        },
      ),
    ],
  },
  {
    name: "a backend listed twice is one cluster with both weights",
    route: compiled({
      action: {
        kind: "forward",
        backends: [backend("a", 100), backend("a", 100)],
        failedWeight: 0,
      },
    }),
    want: [forward({ prefix: "/" })],
  },
  {
    name: "invalid backends' share: a cluster never in CDS, answered 500",
    route: compiled({
      action: { kind: "forward", backends: [backend("a", 200)], failedWeight: 100 },
    }),
    want: [
      forward(
        { prefix: "/" },
        {
          cluster: undefined,
          weighted_clusters: {
            clusters: [
              { name: A, weight: { value: 2 } },
              { name: INVALID_BACKEND_CLUSTER, weight: { value: 1 } },
            ],
            total_weight: { value: 3 },
          },
          cluster_not_found_response_code: "INTERNAL_SERVER_ERROR",
        },
      ),
    ],
  },
  // Redirect and status
  {
    name: "redirect: status, scheme, hostname; https's own port left out",
    route: compiled({
      action: {
        kind: "redirect",
        statusCode: 301,
        scheme: "https",
        hostname: "b.example",
        port: 443,
      },
    }),
    want: [
      {
        name: NAME,
        match: { prefix: "/" },
        redirect: {
          response_code: "MOVED_PERMANENTLY",
          scheme_redirect: "https",
          host_redirect: "b.example",
        },
      },
    ],
  },
  {
    name: "redirect: another port kept; ReplaceFullPath as path_redirect",
    route: compiled({
      action: {
        kind: "redirect",
        statusCode: 308,
        port: 8080,
        path: { type: "ReplaceFullPath", value: "/new" },
      },
    }),
    want: [
      {
        name: NAME,
        match: { prefix: "/" },
        redirect: {
          response_code: "PERMANENT_REDIRECT",
          port_redirect: 8080,
          path_redirect: "/new",
        },
      },
    ],
  },
  {
    name: "redirect: http's port 80 left out",
    route: compiled({ action: { kind: "redirect", statusCode: 303, scheme: "http", port: 80 } }),
    want: [
      {
        name: NAME,
        match: { prefix: "/" },
        redirect: { response_code: "SEE_OTHER", scheme_redirect: "http" },
      },
    ],
  },
  {
    name: "redirect: ReplacePrefixMatch on both routes of a PathPrefix",
    route: compiled({
      match: path({ type: "PathPrefix", value: "/foo" }),
      action: {
        kind: "redirect",
        statusCode: 307,
        path: { type: "ReplacePrefixMatch", value: "/xyz" },
      },
    }),
    want: [
      {
        name: NAME,
        match: { path: "/foo" },
        redirect: { response_code: "TEMPORARY_REDIRECT", prefix_rewrite: "/xyz" },
      },
      {
        name: NAME,
        match: { prefix: "/foo/" },
        redirect: { response_code: "TEMPORARY_REDIRECT", prefix_rewrite: "/xyz/" },
      },
    ],
  },
  {
    name: "forward with nothing weighted: the direct 500 compile would have given",
    route: compiled({ action: { kind: "forward", backends: [backend("a", 0)], failedWeight: 0 } }),
    want: [{ name: NAME, match: { prefix: "/" }, direct_response: { status: 500 } }],
  },
  {
    name: "status: a direct response",
    route: compiled({
      action: { kind: "status", code: 500, reason: "no backend can be resolved" },
    }),
    want: [{ name: NAME, match: { prefix: "/" }, direct_response: { status: 500 } }],
  },
  // Filters
  {
    name: "request headers: set overwrites, add appends, remove; % is literal",
    route: compiled({
      requestHeaders: {
        set: [{ name: "X-Set", value: "100%" }],
        add: [{ name: "x-add", value: "b" }],
        remove: ["X-Gone"],
      },
    }),
    want: [
      forward(
        { prefix: "/" },
        {},
        {
          request_headers_to_add: [
            {
              header: { key: "x-set", value: "100%%" },
              append_action: "OVERWRITE_IF_EXISTS_OR_ADD",
            },
            { header: { key: "x-add", value: "b" }, append_action: "APPEND_IF_EXISTS_OR_ADD" },
          ],
          request_headers_to_remove: ["x-gone"],
        },
      ),
    ],
  },
  {
    name: "request headers: Host set becomes a host rewrite, Host removal is left out",
    route: compiled({
      requestHeaders: { set: [{ name: "Host", value: "b.example" }], add: [], remove: ["host"] },
    }),
    want: [forward({ prefix: "/" }, { host_rewrite_literal: "b.example" })],
  },
  {
    name: "response headers, on a redirect as well",
    route: compiled({
      action: { kind: "redirect", statusCode: 302 },
      responseHeaders: { set: [{ name: "x-r", value: "1" }], add: [], remove: ["x-up"] },
    }),
    want: [
      {
        name: NAME,
        match: { prefix: "/" },
        response_headers_to_add: [
          { header: { key: "x-r", value: "1" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" },
        ],
        response_headers_to_remove: ["x-up"],
        redirect: { response_code: "FOUND" },
      },
    ],
  },
  {
    name: "URLRewrite: hostname wins over a Host header, ReplaceFullPath as regex_rewrite",
    route: compiled({
      requestHeaders: { set: [{ name: "host", value: "ignored" }], add: [], remove: [] },
      rewrite: { hostname: "b.example", path: { type: "ReplaceFullPath", value: "/new" } },
    }),
    want: [
      forward(
        { prefix: "/" },
        {
          host_rewrite_literal: "b.example",
          regex_rewrite: { pattern: { google_re2: {}, regex: "^/.*$" }, substitution: "/new" },
        },
      ),
    ],
  },
  {
    name: "URLRewrite: ReplacePrefixMatch to empty: / for the path, / for what is below it",
    route: compiled({
      match: path({ type: "PathPrefix", value: "/foo" }),
      rewrite: { path: { type: "ReplacePrefixMatch", value: "" } },
    }),
    want: [
      forward({ path: "/foo" }, { prefix_rewrite: "/" }),
      forward({ prefix: "/foo/" }, { prefix_rewrite: "/" }),
    ],
  },
  {
    name: "mirrors: whole and fractional percents",
    route: compiled({
      mirrors: [
        { backend: backend("b", 1), percent: 100 },
        { backend: backend("m", 1), percent: 0.5 },
      ],
    }),
    want: [
      forward(
        { prefix: "/" },
        {
          request_mirror_policies: [
            {
              cluster: B,
              runtime_fraction: { default_value: { numerator: 100, denominator: "HUNDRED" } },
            },
            {
              cluster: clusterOf(backend("m")),
              runtime_fraction: { default_value: { numerator: 5000, denominator: "MILLION" } },
            },
          ],
        },
      ),
    ],
  },
  {
    name: "timeouts: request as timeout and max_stream_duration, backendRequest per try",
    route: compiled({ timeoutMs: 1500, perTryTimeoutMs: 500 }),
    want: [
      forward(
        { prefix: "/" },
        {
          timeout: { seconds: 1, nanos: 500_000_000 },
          max_stream_duration: {
            max_stream_duration: { seconds: 1, nanos: 500_000_000 },
            grpc_timeout_header_max: { seconds: 1, nanos: 500_000_000 },
          },
          retry_policy: { ...DEFAULT_RETRY, per_try_timeout: { seconds: 0, nanos: 500_000_000 } },
        },
      ),
    ],
  },
  {
    name: "timeouts: 0s disables the request timeout",
    route: compiled({ timeoutMs: 0, perTryTimeoutMs: 0 }),
    want: [forward({ prefix: "/" })],
  },
];
