// Cluster states for the translator tests: builders plus a set of samples every test shares.
import assert from "node:assert/strict";
import type { Any, Any__Output } from "../../../src/xds/generated/google/protobuf/Any.js";
import type {
  ClusterState,
  EndpointModel,
  RoutingModel,
  ServiceEndpoints,
  ServiceModel,
  ServicePort,
} from "../../../src/xds/model.js";
import { clusterName, routeConfigName } from "../../../src/xds/names.js";
import type { MeshRoute } from "../../../src/gateway/model.js";
import { parseRoute } from "../../../src/gateway/parse-route.js";

export const NS = "demo";

export const HTTP: ServicePort = { name: "http", port: 9898, protocol: "http" };
export const GRPC: ServicePort = { name: "grpc", port: 9999, protocol: "grpc" };

export function service(name: string, ports: readonly ServicePort[] = [HTTP]): ServiceModel {
  return { namespace: NS, name, ports };
}

export function endpoint(
  address: string,
  opts: Partial<Omit<EndpointModel, "address">> = {},
): EndpointModel {
  return { address, ports: { http: 8080, grpc: 9090 }, ready: true, ...opts };
}

export function endpoints(name: string, list: readonly EndpointModel[]): ServiceEndpoints {
  return { namespace: NS, service: name, endpoints: list };
}

export function routing(opts: Partial<RoutingModel> = {}): RoutingModel {
  return {
    namespace: NS,
    service: "podinfo",
    primary: "podinfo-primary",
    canary: "podinfo-canary",
    canaryWeight: 0,
    ...opts,
  };
}

/** The three Services of a canary Rollout on `ports`. */
export function rolloutServices(ports: readonly ServicePort[] = [HTTP]): ServiceModel[] {
  return ["podinfo", "podinfo-primary", "podinfo-canary"].map((n) => service(n, ports));
}

export function state(opts: Partial<ClusterState> = {}): ClusterState {
  return { services: [], endpoints: [], routing: [], ...opts };
}

/** Cluster and route configuration names for a Service in NS on the default domain. */
export const cluster = (svc: string, port = HTTP.port): string => clusterName(NS, svc, port);
export const rc = (svc: string, port = HTTP.port): string => routeConfigName(NS, svc, port);

/** Sample states covering every feature; invariants are checked on each. */
export const SAMPLES: readonly { readonly name: string; readonly state: ClusterState }[] = [
  { name: "empty", state: state() },
  {
    name: "one service without endpoints",
    state: state({ services: [service("podinfo")] }),
  },
  {
    name: "canary at 20 % with every policy",
    state: state({
      services: rolloutServices([HTTP, GRPC, { name: "redis", port: 6379, protocol: "tcp" }]),
      endpoints: [
        endpoints("podinfo-primary", [
          endpoint("10.0.0.2", { zone: "b" }),
          endpoint("10.0.0.1", { zone: "a" }),
        ]),
        endpoints("podinfo-canary", [endpoint("10.0.1.1"), endpoint("10.0.1.2", { ready: false })]),
      ],
      routing: [
        routing({
          canaryWeight: 20,
          canaryMatches: [{ headers: { "x-canary": { exact: "always" } } }],
          mirrorPercent: 10,
          timeoutMs: 2500,
          retries: { attempts: 3, perTryTimeoutMs: 500, retryOn: "5xx,unavailable" },
          fault: { abort: { percent: 50, httpStatus: 503, grpcStatus: 14 } },
          trafficPolicy: {
            loadBalancer: "LEAST_REQUEST",
            circuitBreaker: { maxRequests: 100 },
            outlierDetection: {
              consecutive5xx: 5,
              intervalMs: 10_000,
              baseEjectionTimeMs: 30_000,
              maxEjectionPercent: 10,
            },
          },
        }),
      ],
    }),
  },
  {
    name: "canary at 100 % on a custom domain",
    state: state({
      services: rolloutServices(),
      routing: [routing({ canaryWeight: 100 })],
      domain: "example.org",
    }),
  },
  {
    name: "routing whose primary and canary Services are missing",
    state: state({ services: [service("podinfo")], routing: [routing({ canaryWeight: 50 })] }),
  },
  {
    name: "two namespaces and a Service on port 80 and 8080",
    state: state({
      services: [
        { namespace: "a", name: "web", ports: [{ name: "", port: 80, protocol: "http" }] },
        {
          namespace: "b",
          name: "web",
          ports: [
            { name: "admin", port: 8080, protocol: "http" },
            { name: "http", port: 80, protocol: "http2" },
          ],
        },
      ],
    }),
  },
  {
    name: "Gateway API routes on a Rollout's apex and another Service, one backend missing",
    state: state({
      services: [...rolloutServices(), service("web")],
      routing: [routing({ canaryWeight: 30 })],
      routes: [
        meshRoute("to-apex", "web", [
          { name: "podinfo", port: HTTP.port, weight: 3 },
          { name: "gone", port: HTTP.port, weight: 1 },
        ]),
        meshRoute("on-apex", "podinfo", []),
      ],
    }),
  },
];

/** A producer HTTPRoute on `parent`'s HTTP port sending to `backendRefs`. */
function meshRoute(name: string, parent: string, backendRefs: object[]): MeshRoute {
  const r = parseRoute({
    kind: "HTTPRoute",
    metadata: { namespace: NS, name, generation: 1, creationTimestamp: "2026-12-05T00:00:00Z" },
    spec: {
      parentRefs: [{ group: "", kind: "Service", name: parent, port: HTTP.port }],
      rules: [{ backendRefs }],
    },
  });
  assert.ok(r !== undefined);
  return r;
}

/** The packed form of an Any as the translator builds it (never the `@type` JSON form). */
export function packed(any: Any | null | undefined): { type_url: string; value: Buffer } {
  assert.ok(any != null && "type_url" in any, "expected a packed Any");
  assert.ok(Buffer.isBuffer(any.value));
  return { type_url: any.type_url, value: any.value };
}

/** The type of a decoded Any: proto-loader's JSON form puts it under `@type`. */
export function anyType(any: Any__Output | null | undefined): string | undefined {
  if (any == null) return undefined;
  return "type_url" in any ? any.type_url : any["@type"];
}
