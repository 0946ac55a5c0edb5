// GAMMA through real parts: an HTTPRoute attached to a Service, applied to the API server, reaches
// the proxy's own xDS client through the controller started in-process; a Rollout's weight on the
// apex the route names splits it in the xDS alone (the route's spec untouched); deleting the route
// gives the Service its default route back.
import assert from "node:assert/strict";
import { join } from "node:path";
import { CustomObjectsApi } from "@kubernetes/client-node";
import type { RoutingSnapshot } from "../../mesh/routing/model.js";
import { XdsClient } from "../../mesh/xds-client/client.js";
import type { RunningController } from "../../src/app.js";
import { startController } from "../../src/app.js";
import { systemClock } from "../../src/common/clock.js";
import { createLogger } from "../../src/common/logger.js";
import { GATEWAY_GROUP, MESH_CONTROLLER } from "../../src/gateway/model.js";
import { clusterName, OUTBOUND_HTTP_ROUTE, routeConfigName } from "../../src/xds/names.js";
import { ensureCrd } from "./crds.js";
import { cluster, controllerConfig, eventually, repoRoot, useNamespace } from "./harness.js";

const PORT = 80;

/** The routes the client holds for Service `web` in the shared outbound table, one line each. */
function webRoutes(s: RoutingSnapshot, namespace: string): string[] | undefined {
  const vh = s.routeTables
    .get(OUTBOUND_HTTP_ROUTE)
    ?.virtualHosts.find((h) => h.name === routeConfigName(namespace, "web", PORT));
  return vh?.routes.map((r) => {
    const headers = r.match.headers.map((h) => `${h.name}=${JSON.stringify(h.match)}`);
    const to =
      r.kind === "forward"
        ? r.action.clusters.map((c) => `${c.cluster}*${String(c.weight)}`).join(" + ")
        : r.reply.kind;
    return [r.name, ...headers, "->", to].join(" ");
  });
}

describe("Gateway API routes in the mesh (GAMMA), through the controller and a proxy's xDS client", function () {
  this.timeout(120_000);
  const ns = useNamespace("gamma");
  const custom = () => cluster().kc.makeApiClient(CustomObjectsApi);
  const at = () => ({ group: GATEWAY_GROUP, version: "v1", namespace: ns(), plural: "httproutes" });
  let running: RunningController | undefined;
  let client: XdsClient | undefined;

  after(async () => {
    client?.close();
    await running?.stop();
  });

  it("applies a producer route, splits the Rollout apex it names, and restores the default when it goes", async () => {
    await ensureCrd(join(repoRoot, "crds/rollouts.vireo.dev.yaml"));
    const { core, discovery } = cluster();
    // Services without selectors: the xDS needs their ports, not pods.
    for (const name of ["web", "api", "podinfo", "podinfo-primary", "podinfo-canary"])
      await core.createNamespacedService({
        namespace: ns(),
        body: { metadata: { name }, spec: { ports: [{ name: "http", port: PORT }] } },
      });
    // Ready endpoints for the primary and canary, which the router waits for before a split.
    for (const [i, name] of ["podinfo-primary", "podinfo-canary"].entries())
      await discovery.createNamespacedEndpointSlice({
        namespace: ns(),
        body: {
          metadata: { name, labels: { "kubernetes.io/service-name": name } },
          addressType: "IPv4",
          endpoints: [{ addresses: [`192.0.2.${String(i + 1)}`], conditions: { ready: true } }],
          ports: [{ name: "http", port: 8080, protocol: "TCP" }],
        },
      });
    running = await startController(controllerConfig(ns(), { xdsInsecure: true }), () => undefined);
    client = new XdsClient({
      log: createLogger({ component: "proxy-it", level: "warn" }),
      clock: systemClock,
      server: `127.0.0.1:${String(running.xdsPort)}`,
      node: { id: "gamma-proxy", cluster: "client.gamma", metadata: { NAMESPACE: ns() } },
    });
    client.start();
    const xds = client;
    const cl = (service: string) => clusterName(ns(), service, PORT);
    const routesNow = () => webRoutes(xds.current(), ns())?.join("\n");
    const until = (what: string, want: string[]) =>
      eventually(what, () => {
        const got = routesNow();
        if (got === want.join("\n")) return true;
        throw new Error(`web's routes: ${got ?? "none"}`);
      });

    await until("web's default route", [`default -> ${cl("web")}*1`]);

    const spec = {
      parentRefs: [{ group: "", kind: "Service", name: "web", port: PORT }],
      rules: [
        {
          matches: [{ headers: [{ name: "x-to", value: "api" }] }],
          backendRefs: [{ name: "api", port: PORT }],
        },
        { backendRefs: [{ name: "podinfo", port: PORT }] },
      ],
    };
    // As the API server stored it, its defaults filled in: what vireo must leave as it is.
    const created = (await custom().createNamespacedCustomObject({
      ...at(),
      body: {
        apiVersion: `${GATEWAY_GROUP}/v1`,
        kind: "HTTPRoute",
        metadata: { name: "web" },
        spec,
      },
    })) as { spec: unknown };
    const header = `x-to=${JSON.stringify({ kind: "exact", value: "api", ignoreCase: false })}`;
    await until("the route in the outbound table", [
      `${ns()}/web/0 ${header} -> ${cl("api")}*1`,
      `${ns()}/web/1 -> ${cl("podinfo")}*1`,
    ]);

    // A Rollout's router at 30 %: the route's podinfo share becomes primary 70, canary 30.
    running.traffic.setRouting({
      namespace: ns(),
      service: "podinfo",
      primary: "podinfo-primary",
      canary: "podinfo-canary",
      canaryWeight: 30,
    });
    await until("podinfo split at 30 % inside the route", [
      `${ns()}/web/0 ${header} -> ${cl("api")}*1`,
      `${ns()}/web/1 -> ${cl("podinfo-primary")}*7 + ${cl("podinfo-canary")}*3`,
    ]);
    const stored = (await custom().getNamespacedCustomObject({ ...at(), name: "web" })) as {
      metadata: { generation: number };
      spec: unknown;
      status?: {
        parents?: { controllerName: string; conditions: { type: string; status: string }[] }[];
      };
    };
    assert.equal(stored.metadata.generation, 1, "vireo never writes the route's spec");
    assert.deepEqual(stored.spec, created.spec, "the route as it was applied");
    await eventually("the route Accepted by vireo's mesh", async () => {
      const r = (await custom().getNamespacedCustomObject({
        ...at(),
        name: "web",
      })) as typeof stored;
      const mine = r.status?.parents?.find((p) => p.controllerName === MESH_CONTROLLER);
      return mine?.conditions.some((c) => c.type === "Accepted" && c.status === "True") === true
        ? true
        : undefined;
    });

    // What a Rollout of web would be told (condition RouteConflict when its spec has fields the
    // route replaces); podinfo, a backend of the route, has none attached.
    assert.deepEqual(running.traffic.state(ns(), "web").boundBy, [`HTTPRoute ${ns()}/web`]);
    assert.equal(running.traffic.state(ns(), "podinfo").boundBy, undefined);

    await custom().deleteNamespacedCustomObject({ ...at(), name: "web" });
    await until("web's default route back", [`default -> ${cl("web")}*1`]);
    assert.equal(running.traffic.state(ns(), "web").boundBy, undefined);
  });
});
