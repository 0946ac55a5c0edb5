// Gateway API routes in the snapshot (GAMMA): a producer route replaces the default routes of the
// Service port it binds, in the per-port route configuration and in the shared outbound table; a
// Rollout's apex named by a route is split at the Rollout's weight; consumer routes stay out.
import assert from "node:assert/strict";
import type { MeshRoute } from "../../../src/gateway/model.js";
import { parseRoute } from "../../../src/gateway/parse-route.js";
import type { Route } from "../../../src/xds/generated/envoy/config/route/v3/Route.js";
import type { ClusterState, ServicePort } from "../../../src/xds/model.js";
import { INVALID_BACKEND_CLUSTER, OUTBOUND_HTTP_ROUTE } from "../../../src/xds/names.js";
import { loadXdsProtos } from "../../../src/xds/protos.js";
import { buildSnapshot, consistencyErrors } from "../../../src/xds/snapshot.js";
import { translate } from "../../../src/xds/translate/translate.js";
import {
  cluster,
  HTTP,
  NS,
  rc,
  rolloutServices,
  routing,
  service,
  state,
} from "./translate-fixtures.js";

const ADMIN: ServicePort = { name: "admin", port: 8080, protocol: "http" };

let age = 0;
/** An HTTPRoute (or GRPCRoute) as the API server stores it; each one newer than the last. */
function route(
  name: string,
  spec: { parentRefs: object[]; rules: object[] },
  opts: { namespace?: string; kind?: string } = {},
): MeshRoute {
  age++;
  const r = parseRoute({
    kind: opts.kind ?? "HTTPRoute",
    metadata: {
      namespace: opts.namespace ?? NS,
      name,
      generation: 1,
      creationTimestamp: `2026-12-05T00:00:${String(age).padStart(2, "0")}Z`,
    },
    spec,
  });
  assert.ok(r !== undefined);
  return r;
}

const parent = (name: string, port?: number, namespace?: string) => ({
  group: "",
  kind: "Service",
  name,
  ...(port !== undefined && { port }),
  ...(namespace !== undefined && { namespace }),
});
const to = (name: string, port = HTTP.port, weight?: number) => ({
  name,
  port,
  ...(weight !== undefined && { weight }),
});
const header = (name: string, value: string) => ({ headers: [{ name, value }] });

/** `web` on 9898 and 8080, `api` and `search` on 9898. */
const web = (routes: MeshRoute[], extra: Partial<ClusterState> = {}): ClusterState =>
  state({
    services: [service("web", [HTTP, ADMIN]), service("api"), service("search")],
    routes,
    ...extra,
  });

/** Route name and where each route sends: a cluster, weights, or a direct status. */
function summary(routes: readonly Route[] | undefined): string[] {
  return (routes ?? []).map((r) => {
    const m = r.match;
    const at = m?.path ?? m?.prefix ?? "regex";
    const headers = (m?.headers ?? []).map((h) => `${h.name ?? ""}=${h.exact_match ?? ""}`);
    const where =
      r.direct_response != null
        ? `status ${String(r.direct_response.status)}`
        : r.route?.cluster !== undefined
          ? (r.route.cluster ?? "")
          : (r.route?.weighted_clusters?.clusters ?? [])
              .map((c) => `${c.name ?? ""}*${String(c.weight?.value ?? 0)}`)
              .join(" + ");
    return [r.name, at, ...headers, "->", where].join(" ");
  });
}

/** The routes of a Service port in its own route configuration and in the outbound table. */
function routesOf(
  s: ClusterState,
  svc: string,
  port = HTTP.port,
): { own: string[]; out: string[] } {
  const set = translate(s);
  assert.deepEqual(consistencyErrors(set), []);
  buildSnapshot(1, set, loadXdsProtos().codecs);
  const own = set.routes.get(rc(svc, port))?.virtual_hosts?.[0]?.routes;
  const out = set.routes
    .get(OUTBOUND_HTTP_ROUTE)
    ?.virtual_hosts?.find((vh) => vh.name === rc(svc, port))?.routes;
  return { own: summary(own), out: summary(out) };
}

const DEFAULT = (svc: string, port = HTTP.port) => [`default / -> ${cluster(svc, port)}`];
const R = `${NS}/r/0`;

describe("xDS translation: producer routes (GAMMA)", () => {
  const cases: {
    name: string;
    routes: () => MeshRoute[];
    want: { svc: string; port: number; routes: string[] }[];
  }[] = [
    {
      name: "a route with a port replaces that port's routes only",
      routes: () => [
        route("r", {
          parentRefs: [parent("web", 9898)],
          rules: [{ matches: [header("x-to", "api")], backendRefs: [to("api")] }],
        }),
      ],
      want: [
        { svc: "web", port: 9898, routes: [`${R} / x-to=api -> ${cluster("api")}`] },
        { svc: "web", port: 8080, routes: DEFAULT("web", 8080) },
        { svc: "api", port: 9898, routes: DEFAULT("api") },
      ],
    },
    {
      name: "a route without a port replaces every port's routes",
      routes: () => [
        route("r", {
          parentRefs: [parent("web")],
          rules: [{ matches: [header("x-to", "api")], backendRefs: [to("api")] }],
        }),
      ],
      want: [
        { svc: "web", port: 9898, routes: [`${R} / x-to=api -> ${cluster("api")}`] },
        { svc: "web", port: 8080, routes: [`${R} / x-to=api -> ${cluster("api")}`] },
      ],
    },
    {
      name: "a sectionName binds the port of that name",
      routes: () => [
        route("r", {
          parentRefs: [{ ...parent("web"), sectionName: "admin" }],
          rules: [{ backendRefs: [to("api")] }],
        }),
      ],
      want: [
        { svc: "web", port: 9898, routes: DEFAULT("web") },
        { svc: "web", port: 8080, routes: [`${R} / -> ${cluster("api")}`] },
      ],
    },
    {
      name: "two routes merge by precedence: the exact path first, then the older route",
      routes: () => [
        route("old", {
          parentRefs: [parent("web", 9898)],
          rules: [{ backendRefs: [to("api")] }],
        }),
        route("new", {
          parentRefs: [parent("web", 9898)],
          rules: [
            { backendRefs: [to("search")] },
            {
              matches: [{ path: { type: "Exact", value: "/x" } }],
              backendRefs: [to("search")],
            },
          ],
        }),
      ],
      want: [
        {
          svc: "web",
          port: 9898,
          routes: [
            `${NS}/new/1 /x -> ${cluster("search")}`,
            `${NS}/old/0 / -> ${cluster("api")}`,
            `${NS}/new/0 / -> ${cluster("search")}`,
          ],
        },
      ],
    },
    {
      name: "a GRPCRoute on the port wins over an HTTPRoute",
      routes: () => [
        route("http", { parentRefs: [parent("web", 9898)], rules: [{ backendRefs: [to("api")] }] }),
        route(
          "grpc",
          {
            parentRefs: [parent("web", 9898)],
            rules: [
              { matches: [{ method: { service: "S", method: "M" } }], backendRefs: [to("search")] },
            ],
          },
          { kind: "GRPCRoute" },
        ),
      ],
      want: [{ svc: "web", port: 9898, routes: [`${NS}/grpc/0 /S/M -> ${cluster("search")}`] }],
    },
    {
      name: "a consumer route (another namespace) is not applied",
      routes: () => [
        route(
          "r",
          {
            parentRefs: [parent("web", 9898, NS)],
            rules: [{ matches: [header("x-to", "api")], backendRefs: [to("api")] }],
          },
          { namespace: "client" },
        ),
      ],
      want: [{ svc: "web", port: 9898, routes: DEFAULT("web") }],
    },
    {
      name: "a route whose every rule is unsupported leaves the defaults",
      routes: () => [
        route("r", {
          parentRefs: [parent("web", 9898)],
          rules: [{ filters: [{ type: "ExtensionRef" }], backendRefs: [to("api")] }],
        }),
      ],
      want: [{ svc: "web", port: 9898, routes: DEFAULT("web") }],
    },
    {
      name: "an unresolved backend's share is answered 500 through a cluster never in CDS",
      routes: () => [
        route("r", {
          parentRefs: [parent("web", 9898)],
          rules: [{ backendRefs: [to("api", 9898, 1), to("gone", 9898, 1)] }],
        }),
      ],
      want: [
        {
          svc: "web",
          port: 9898,
          routes: [`${R} / -> ${cluster("api")}*1 + ${INVALID_BACKEND_CLUSTER}*1`],
        },
      ],
    },
    {
      name: "a parent port the Service does not have binds nothing",
      routes: () => [
        route("r", { parentRefs: [parent("web", 7000)], rules: [{ backendRefs: [to("api")] }] }),
      ],
      want: [
        { svc: "web", port: 9898, routes: DEFAULT("web") },
        { svc: "web", port: 8080, routes: DEFAULT("web", 8080) },
      ],
    },
  ];

  for (const c of cases)
    it(c.name, () => {
      const s = web(c.routes());
      for (const w of c.want) {
        const got = routesOf(s, w.svc, w.port);
        assert.deepEqual(got.own, w.routes, `${w.svc}:${String(w.port)} route configuration`);
        assert.deepEqual(got.out, w.routes, `${w.svc}:${String(w.port)} in ${OUTBOUND_HTTP_ROUTE}`);
      }
    });

  it("leaves a Service with no route exactly as without any route", () => {
    const routes = [
      route("r", { parentRefs: [parent("web")], rules: [{ backendRefs: [to("api")] }] }),
    ];
    const withRoute = translate(web(routes));
    const without = translate(web([]));
    for (const svc of ["api", "search"])
      assert.deepEqual(withRoute.routes.get(rc(svc)), without.routes.get(rc(svc)));
  });

  describe("a route sending to a Rollout's apex", () => {
    const apexRoute = () =>
      route("r", {
        parentRefs: [parent("web", 9898)],
        rules: [{ matches: [header("x-beta", "1")], backendRefs: [to("podinfo")] }],
      });
    const rollout = (canaryWeight: number, services = rolloutServices()) =>
      web([apexRoute()], {
        services: [service("web", [HTTP, ADMIN]), ...services],
        routing: [routing({ canaryWeight })],
      });

    it("splits it between primary 70 and canary 30 at weight 30 (7:3 of 10), the route unchanged", () => {
      assert.deepEqual(routesOf(rollout(30), "web").own, [
        `${R} / x-beta=1 -> ${cluster("podinfo-primary")}*7 + ${cluster("podinfo-canary")}*3`,
      ]);
      const set = translate(rollout(30));
      const weighted = set.routes.get(rc("web"))?.virtual_hosts?.[0]?.routes?.[0]?.route;
      assert.deepEqual(weighted?.weighted_clusters?.total_weight, { value: 10 });
    });

    it("follows the weight: all to the primary at 0, all to the canary at 100", () => {
      assert.deepEqual(routesOf(rollout(0), "web").own, [
        `${R} / x-beta=1 -> ${cluster("podinfo-primary")}`,
      ]);
      assert.deepEqual(routesOf(rollout(100), "web").own, [
        `${R} / x-beta=1 -> ${cluster("podinfo-canary")}`,
      ]);
    });

    it("sends to the apex itself when the primary and canary Services are missing", () => {
      assert.deepEqual(routesOf(rollout(50, [service("podinfo")]), "web").own, [
        `${R} / x-beta=1 -> ${cluster("podinfo")}`,
      ]);
    });

    it("replaces the Rollout's own routes when the route is attached to the apex", () => {
      const s = state({
        services: rolloutServices(),
        routing: [routing({ canaryWeight: 30, timeoutMs: 2500 })],
        routes: [
          route("r", {
            parentRefs: [parent("podinfo", 9898)],
            rules: [{ matches: [header("x-beta", "1")] }],
          }),
        ],
      });
      assert.deepEqual(routesOf(s, "podinfo").own, [
        `${R} / x-beta=1 -> ${cluster("podinfo-primary")}*7 + ${cluster("podinfo-canary")}*3`,
      ]);
    });
  });
});
