import assert from "node:assert/strict";
import type { Route as EnvoyRoute } from "../../../src/xds/generated/envoy/config/route/v3/Route.js";
import type { RouteAction as EnvoyRouteAction } from "../../../src/xds/generated/envoy/config/route/v3/RouteAction.js";
import type { VirtualHost as EnvoyVirtualHost } from "../../../src/xds/generated/envoy/config/route/v3/VirtualHost.js";
import { typeUrlOf } from "../../../src/xds/protos.js";
import { translate } from "../../../src/xds/translate/translate.js";
import {
  convertListener,
  convertRouteConfiguration,
  DEFAULT_ROUTE_TIMEOUT_MS,
} from "../../../mesh/xds-client/convert.js";
import {
  convert,
  convertAny,
  defaultAction,
  ok,
  packFault,
  rejected,
} from "./xds-client-convert-helpers.js";
import { CANARY, clusterState, codecs, decoded, PRIMARY, ROUTE } from "./xds-client-fixtures.js";

describe("xDS client conversion: routes from the translator", () => {
  it("converts vireo's own route configuration: weights, timeout, retries, mirror and fault", () => {
    const set = translate(
      clusterState({
        canaryWeight: 25,
        timeoutMs: 3000,
        retries: { attempts: 2, perTryTimeoutMs: 500, retryOn: "5xx,reset" },
        mirrorPercent: 5,
        fault: { delay: { percent: 10, delayMs: 200 }, abort: { percent: 0.5, httpStatus: 503 } },
        canaryMatches: [{ headers: { "x-canary": { exact: "yes" } } }],
      }),
    );
    const rc = set.routes.get(ROUTE);
    assert.ok(rc !== undefined);
    const t = ok(convertRouteConfiguration(decoded(codecs.RouteConfiguration, rc)));
    const [ab, fallback] = t.virtualHosts[0]?.routes ?? [];
    assert.ok(ab?.kind === "forward" && fallback?.kind === "forward");
    assert.deepEqual(ab.match.headers, [
      {
        name: "x-canary",
        match: { kind: "exact", value: "yes", ignoreCase: false },
        invert: false,
      },
    ]);
    assert.deepEqual(ab.action.clusters, [{ cluster: CANARY, weight: 1 }]);
    assert.deepEqual(fallback?.action, {
      clusters: [
        { cluster: PRIMARY, weight: 75 },
        { cluster: CANARY, weight: 25 },
      ],
      totalWeight: 100,
      timeoutMs: 3000,
      retry: {
        retryOn: new Set(["5xx", "reset"]),
        numRetries: 2,
        perTryTimeoutMs: 500,
        retriableStatusCodes: new Set(),
        backoffBaseMs: 25,
        backoffMaxMs: 250,
      },
      mirrors: [{ cluster: CANARY, fraction: 0.05 }],
    });
    assert.deepEqual(fallback.fault, {
      delay: { ms: 200, fraction: 0.1 },
      abort: { httpStatus: 503, fraction: 0.005 },
    });
    assert.deepEqual(fallback.match.path, { kind: "prefix", value: "/" });
    assert.equal(t.byDomain.get(`podinfo.demo:9898`)?.name, ROUTE);
    assert.equal(t.byDomain.get(`podinfo.demo.svc.cluster.local`)?.name, ROUTE);
  });

  it("converts every listener the translator makes to its route configuration name", () => {
    const set = translate(clusterState());
    for (const [name, l] of set.listeners) {
      const c = ok(convertListener(decoded(codecs.Listener, l.message)));
      assert.deepEqual(c, { kind: "api", name, routeConfig: l.routeConfigs[0] });
    }
  });
});

describe("xDS client conversion: actions and policies", () => {
  it("a single cluster, weighted clusters, and total_weight defaulting to the sum", () => {
    assert.deepEqual(ok(convert({})).action.clusters, [{ cluster: "c", weight: 1 }]);
    const w = ok(
      convert({
        route: {
          weighted_clusters: {
            clusters: [
              { name: "a", weight: { value: 3 } },
              { name: "b", weight: { value: 1 } },
            ],
          },
        },
      }),
    ).action;
    assert.deepEqual(
      [w.clusters, w.totalWeight],
      [
        [
          { cluster: "a", weight: 3 },
          { cluster: "b", weight: 1 },
        ],
        4,
      ],
    );
  });

  const rejections: [string, EnvoyRoute, string][] = [
    [
      "weights summing to 0",
      { route: { weighted_clusters: { clusters: [{ name: "a", weight: { value: 0 } }] } } },
      "RouteConfiguration r: weighted_clusters weights sum to 0 (virtual host vh, route x)",
    ],
    [
      "a total_weight other than the sum",
      {
        route: {
          weighted_clusters: {
            clusters: [{ name: "a", weight: { value: 60 } }],
            total_weight: { value: 100 },
          },
        },
      },
      "RouteConfiguration r: weighted_clusters total_weight 100 differs from the weights' sum 60 (virtual host vh, route x)",
    ],
    [
      "a path_rewrite_policy",
      {
        route: {
          ...defaultAction,
          path_rewrite_policy: { name: "envoy.path.rewrite.uri_template.uri_template_rewriter" },
        },
      },
      "RouteConfiguration r: path_rewrite_policy not supported (virtual host vh, route x)",
    ],
    [
      "auto_host_rewrite",
      { route: { ...defaultAction, auto_host_rewrite: { value: true } } },
      "RouteConfiguration r: auto_host_rewrite not supported (virtual host vh, route x)",
    ],
    [
      "a non-forwarding action",
      { route: null, non_forwarding_action: {} },
      "RouteConfiguration r: route action non_forwarding_action is not supported (virtual host vh, route x)",
    ],
    [
      "header changes on a weighted cluster",
      {
        route: {
          weighted_clusters: {
            clusters: [
              {
                name: "a",
                weight: { value: 1 },
                request_headers_to_remove: ["x"],
                host_rewrite_literal: "h",
              },
            ],
          },
        },
      },
      "RouteConfiguration r: weighted_clusters entry a: request_headers_to_remove, host_rewrite_literal not supported (virtual host vh, route x)",
    ],
    [
      "cluster_header",
      { route: { cluster_header: "x-cluster" } },
      "RouteConfiguration r: route action cluster_header is not supported (virtual host vh, route x)",
    ],
    [
      "a lookahead",
      { match: { safe_regex: { regex: "/(?=a)" } } },
      'RouteConfiguration r: regex "/(?=a)": lookaround assertions are not supported (RE2) (virtual host vh, route x)',
    ],
    [
      "a backreference",
      { match: { prefix: "/", headers: [{ name: "x", safe_regex_match: { regex: "(a)\\1" } }] } },
      'RouteConfiguration r: regex "(a)\\\\1": backreferences are not supported (RE2) (virtual host vh, route x)',
    ],
    [
      "a range match",
      { match: { prefix: "/", headers: [{ name: "x", range_match: { start: 1, end: 2 } }] } },
      "RouteConfiguration r: header matcher x: range_match is not supported (virtual host vh, route x)",
    ],
    [
      "max back-off below the base",
      {
        route: {
          ...defaultAction,
          retry_policy: {
            retry_on: "5xx",
            retry_back_off: { base_interval: { seconds: 1 }, max_interval: { nanos: 1e6 } },
          },
        },
      },
      "RouteConfiguration r: retry_policy: retry_back_off.max_interval is below base_interval (virtual host vh, route x)",
    ],
    [
      "an abort status out of range",
      {
        typed_per_filter_config: packFault({
          abort: { http_status: 700, percentage: { numerator: 1 } },
        }),
      },
      "RouteConfiguration r: fault abort http_status 700 is outside 200-599 (virtual host vh, route x)",
    ],
  ];
  for (const [what, route, message] of rejections) {
    it(`rejects ${what}`, () => {
      assert.equal(rejected(convertAny(route)), message);
    });
  }

  it("timeouts: Envoy's 15 s when unset, 0 for none, milliseconds otherwise", () => {
    const timeout = (t: EnvoyRouteAction["timeout"]) =>
      ok(convert({ route: { cluster: "c", timeout: t } })).action.timeoutMs;
    assert.equal(timeout(undefined), DEFAULT_ROUTE_TIMEOUT_MS);
    assert.equal(timeout({ seconds: 0 }), 0);
    assert.equal(timeout({ seconds: 1, nanos: 500_000_000 }), 1500);
  });

  it("retries: Envoy's defaults, the virtual host's policy, and none for zero retries", () => {
    const retry = (p: EnvoyRouteAction["retry_policy"], vh: Partial<EnvoyVirtualHost> = {}) =>
      ok(convert({ route: { ...defaultAction, retry_policy: p } }, vh)).action.retry;
    assert.deepEqual(
      retry({
        retry_on: " 5xx, reset ,connect-failure",
        retriable_status_codes: [409],
        retry_back_off: { base_interval: { nanos: 100e6 } },
      }),
      {
        retryOn: new Set(["5xx", "reset", "connect-failure"]),
        numRetries: 1,
        perTryTimeoutMs: 0,
        retriableStatusCodes: new Set([409]),
        backoffBaseMs: 100,
        backoffMaxMs: 1000,
      },
    );
    assert.equal(retry({ retry_on: "5xx", num_retries: { value: 0 } }), undefined);
    assert.equal(retry({ retry_on: "" }), undefined);
    assert.equal(
      retry(undefined, { retry_policy: { retry_on: "reset", num_retries: { value: 4 } } })
        ?.numRetries,
      4,
    );
  });

  it("mirrors: every request without a fraction; the virtual host's when the route has none", () => {
    assert.deepEqual(
      ok(convert({ route: { ...defaultAction, request_mirror_policies: [{ cluster: "m" }] } }))
        .action.mirrors,
      [{ cluster: "m", fraction: 1 }],
    );
    assert.deepEqual(
      ok(
        convert(
          {},
          {
            request_mirror_policies: [
              {
                cluster: "v",
                runtime_fraction: { default_value: { numerator: 10, denominator: "HUNDRED" } },
              },
            ],
          },
        ),
      ).action.mirrors,
      [{ cluster: "v", fraction: 0.1 }],
    );
  });

  it("faults: gRPC aborts, per-million fractions, virtual host level, and FilterConfig wrapping", () => {
    const grpc = ok(
      convert({
        typed_per_filter_config: packFault({
          abort: { grpc_status: 14, percentage: { numerator: 500_000, denominator: "MILLION" } },
        }),
      }),
    ).fault;
    assert.deepEqual(grpc, { abort: { grpcStatus: 14, fraction: 0.5 } });
    const fromVh = ok(
      convert(
        {},
        {
          typed_per_filter_config: packFault({
            delay: { fixed_delay: { seconds: 2 }, percentage: { numerator: 100 } },
          }),
        },
      ),
    ).fault;
    assert.deepEqual(fromVh, { delay: { ms: 2000, fraction: 1 } });
    // FilterConfig { config: Any(HTTPFault) }, encoded by hand: no codec ships for it.
    const field = (n: number, b: Buffer) =>
      Buffer.concat([Buffer.from([(n << 3) | 2, b.length]), b]);
    const fault = codecs.HTTPFault.serialize({
      abort: { http_status: 418, percentage: { numerator: 5 } },
    });
    const any = Buffer.concat([field(1, Buffer.from(typeUrlOf("HTTPFault"))), field(2, fault)]);
    const wrapped = {
      "envoy.filters.http.fault": {
        type_url: "type.googleapis.com/envoy.config.route.v3.FilterConfig",
        value: field(1, any),
      },
    };
    assert.deepEqual(ok(convert({ typed_per_filter_config: wrapped })).fault, {
      abort: { httpStatus: 418, fraction: 0.05 },
    });
    assert.equal(ok(convert({ typed_per_filter_config: packFault({}) })).fault, undefined);
  });
});
