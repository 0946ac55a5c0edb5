import assert from "node:assert/strict";
import type { Route } from "../../../src/xds/generated/envoy/config/route/v3/Route.js";
import type { RouteAction } from "../../../src/xds/generated/envoy/config/route/v3/RouteAction.js";
import type { HTTPFault } from "../../../src/xds/generated/envoy/extensions/filters/http/fault/v3/HTTPFault.js";
import type { FaultPolicy, RoutingModel, ServiceModel } from "../../../src/xds/model.js";
import { loadXdsProtos, typeUrlOf } from "../../../src/xds/protos.js";
import type { ResourceSet } from "../../../src/xds/snapshot.js";
import { DEFAULT_RETRY, faultConfig } from "../../../src/xds/translate/routes.js";
import { translate } from "../../../src/xds/translate/translate.js";
import {
  cluster,
  GRPC,
  HTTP,
  packed,
  rc,
  rolloutServices,
  routing,
  service,
  state,
} from "./translate-fixtures.js";

const codecs = loadXdsProtos().codecs;
/** What a route gets when the Rollout sets no timeout and no retries: none, and Istio's retries. */
const NO_TIMEOUT = { timeout: { seconds: 0, nanos: 0 }, retry_policy: DEFAULT_RETRY };
const [APEX, PRIMARY, CANARY] = [
  cluster("podinfo"),
  cluster("podinfo-primary"),
  cluster("podinfo-canary"),
];

const fallback = (route: RouteAction, extra: Partial<Route> = {}): Route => ({
  name: "default",
  match: { prefix: "/" },
  route: { ...NO_TIMEOUT, ...route },
  ...extra,
});

const weighted = (primary: number, canary: number): RouteAction => ({
  weighted_clusters: {
    clusters: [
      { name: PRIMARY, weight: { value: primary } },
      { name: CANARY, weight: { value: canary } },
    ],
    total_weight: { value: 100 },
  },
});

function apexRoutes(set: ResourceSet, port = HTTP.port): Route[] | undefined {
  return set.routes.get(rc("podinfo", port))?.virtual_hosts?.[0]?.routes;
}

const cases: {
  name: string;
  routing?: Partial<RoutingModel>;
  services?: ServiceModel[];
  want: Route[];
}[] = [
  { name: "no Rollout: to its own cluster", want: [fallback({ cluster: APEX })] },
  { name: "weight 0: straight to primary", routing: {}, want: [fallback({ cluster: PRIMARY })] },
  { name: "weight 20: 80/20", routing: { canaryWeight: 20 }, want: [fallback(weighted(80, 20))] },
  { name: "weight 99: 1/99", routing: { canaryWeight: 99 }, want: [fallback(weighted(1, 99))] },
  {
    name: "weight 100: straight to canary",
    routing: { canaryWeight: 100 },
    want: [fallback({ cluster: CANARY })],
  },
  {
    name: "fractional weight rounds, still summing to 100",
    routing: { canaryWeight: 33.6 },
    want: [fallback(weighted(66, 34))],
  },
  {
    name: "negative weight: 0",
    routing: { canaryWeight: -5 },
    want: [fallback({ cluster: PRIMARY })],
  },
  {
    name: "weight over 100: 100",
    routing: { canaryWeight: 250 },
    want: [fallback({ cluster: CANARY })],
  },
  { name: "NaN weight: 0", routing: { canaryWeight: NaN }, want: [fallback({ cluster: PRIMARY })] },
  {
    name: "A/B matches go to the canary first, in order",
    routing: {
      canaryWeight: 0,
      canaryMatches: [
        { headers: { "x-canary": { exact: "always" } } },
        { uri: { prefix: "/beta" } },
      ],
    },
    want: [
      {
        name: "canary-match-0",
        match: { prefix: "/", headers: [{ name: "x-canary", exact_match: "always" }] },
        route: { cluster: CANARY, ...NO_TIMEOUT },
      },
      {
        name: "canary-match-1",
        match: { prefix: "/beta" },
        route: { cluster: CANARY, ...NO_TIMEOUT },
      },
      fallback({ cluster: PRIMARY }),
    ],
  },
  {
    name: "mirror a share of primary traffic to the canary",
    routing: { mirrorPercent: 10 },
    want: [
      fallback({
        cluster: PRIMARY,
        request_mirror_policies: [
          {
            cluster: CANARY,
            runtime_fraction: { default_value: { numerator: 10, denominator: "HUNDRED" } },
          },
        ],
      }),
    ],
  },
  {
    name: "fractional mirror percent in millionths",
    routing: { mirrorPercent: 0.5, canaryWeight: 10 },
    want: [
      fallback({
        ...weighted(90, 10),
        request_mirror_policies: [
          {
            cluster: CANARY,
            runtime_fraction: { default_value: { numerator: 5000, denominator: "MILLION" } },
          },
        ],
      }),
    ],
  },
  {
    name: "no mirror once the canary gets everything",
    routing: { mirrorPercent: 10, canaryWeight: 100 },
    want: [fallback({ cluster: CANARY })],
  },
  {
    name: "timeout: route timeout and max_stream_duration (gRPC)",
    routing: { timeoutMs: 2500 },
    want: [
      fallback({
        cluster: PRIMARY,
        timeout: { seconds: 2, nanos: 500_000_000 },
        max_stream_duration: {
          max_stream_duration: { seconds: 2, nanos: 500_000_000 },
          grpc_timeout_header_max: { seconds: 2, nanos: 500_000_000 },
        },
      }),
    ],
  },
  {
    name: "retries",
    routing: { retries: { attempts: 3, perTryTimeoutMs: 500, retryOn: "5xx,unavailable" } },
    want: [
      fallback({
        cluster: PRIMARY,
        retry_policy: {
          retry_on: "5xx,unavailable",
          num_retries: { value: 3 },
          per_try_timeout: { seconds: 0, nanos: 500_000_000 },
        },
      }),
    ],
  },
  {
    name: "zero attempts: no retry policy (gRPC NACKs num_retries 0)",
    routing: { retries: { attempts: 0, retryOn: "5xx" } },
    want: [
      {
        name: "default",
        match: { prefix: "/" },
        route: { timeout: { seconds: 0, nanos: 0 }, cluster: PRIMARY },
      },
    ],
  },
  {
    name: "primary and canary Services missing: to its own cluster, nothing dangling",
    routing: { canaryWeight: 50, mirrorPercent: 10, canaryMatches: [{}] },
    services: [service("podinfo")],
    want: [fallback({ cluster: APEX })],
  },
  {
    name: "canary Service missing: all to primary, no A/B routes, no mirror",
    routing: { canaryWeight: 50, mirrorPercent: 10, canaryMatches: [{}] },
    services: [service("podinfo"), service("podinfo-primary")],
    want: [fallback({ cluster: PRIMARY })],
  },
  {
    name: "canary Service without this port counts as missing",
    routing: { canaryWeight: 50 },
    services: [service("podinfo"), service("podinfo-primary"), service("podinfo-canary", [GRPC])],
    want: [fallback({ cluster: PRIMARY })],
  },
];

describe("xDS translation: routes", () => {
  for (const c of cases) {
    it(c.name, () => {
      const set = translate(
        state({
          services: c.services ?? rolloutServices(),
          routing: c.routing === undefined ? [] : [routing(c.routing)],
        }),
      );
      assert.deepEqual(apexRoutes(set), c.want);
    });
  }

  it("primary and canary Services route to themselves", () => {
    const set = translate(
      state({ services: rolloutServices(), routing: [routing({ canaryWeight: 30 })] }),
    );
    for (const name of ["podinfo-primary", "podinfo-canary"]) {
      assert.deepEqual(set.routes.get(rc(name))?.virtual_hosts?.[0]?.routes, [
        fallback({ cluster: cluster(name) }),
      ]);
    }
  });

  it("puts the fault on every apex route, as a per-route HTTPFault", () => {
    const fault: FaultPolicy = { delay: { percent: 100, delayMs: 20_000 } };
    const set = translate(
      state({
        services: rolloutServices(),
        routing: [routing({ fault, canaryMatches: [{ uri: { prefix: "/beta" } }] })],
      }),
    );
    const routes = apexRoutes(set) ?? [];
    assert.equal(routes.length, 2);
    for (const r of routes) {
      const any = packed(r.typed_per_filter_config?.["envoy.filters.http.fault"]);
      assert.equal(any.type_url, typeUrlOf("HTTPFault"));
      const decoded = codecs.HTTPFault.deserialize(any.value);
      assert.deepEqual(decoded.delay?.fixed_delay, { seconds: "20", nanos: 0 });
      assert.deepEqual(decoded.delay.percentage, { numerator: 100, denominator: "HUNDRED" });
      assert.equal(decoded.abort, null);
    }
  });

  const faults: {
    name: string;
    fault: FaultPolicy;
    grpc?: boolean;
    want: HTTPFault | undefined;
  }[] = [
    { name: "nothing set", fault: {}, want: undefined },
    {
      name: "HTTP abort",
      fault: { abort: { percent: 50, httpStatus: 503 } },
      want: { abort: { http_status: 503, percentage: { numerator: 50, denominator: "HUNDRED" } } },
    },
    {
      name: "both codes on an HTTP port: HTTP status",
      fault: { abort: { percent: 50, httpStatus: 503, grpcStatus: 14 } },
      want: { abort: { http_status: 503, percentage: { numerator: 50, denominator: "HUNDRED" } } },
    },
    {
      name: "both codes on a gRPC port: gRPC status",
      grpc: true,
      fault: { abort: { percent: 50, httpStatus: 503, grpcStatus: 14 } },
      want: { abort: { grpc_status: 14, percentage: { numerator: 50, denominator: "HUNDRED" } } },
    },
    {
      name: "gRPC status only, on an HTTP port",
      fault: { abort: { percent: 0.1, grpcStatus: 16 } },
      want: { abort: { grpc_status: 16, percentage: { numerator: 1000, denominator: "MILLION" } } },
    },
    { name: "0 % abort: none", fault: { abort: { percent: 0, httpStatus: 503 } }, want: undefined },
    {
      name: "invalid HTTP status: none",
      fault: { abort: { percent: 5, httpStatus: 99 } },
      want: undefined,
    },
    {
      name: "delay and abort",
      fault: { delay: { percent: 150, delayMs: 1500 }, abort: { percent: 5, httpStatus: 500 } },
      want: {
        delay: {
          fixed_delay: { seconds: 1, nanos: 500_000_000 },
          percentage: { numerator: 100, denominator: "HUNDRED" },
        },
        abort: { http_status: 500, percentage: { numerator: 5, denominator: "HUNDRED" } },
      },
    },
    { name: "zero delay: none", fault: { delay: { percent: 50, delayMs: 0 } }, want: undefined },
  ];
  for (const c of faults) {
    it(`fault: ${c.name}`, () => {
      assert.deepEqual(faultConfig(c.fault, c.grpc === true ? "grpc" : "http"), c.want);
    });
  }
});
