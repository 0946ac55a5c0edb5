// Which routes bind a Service port and the order their matches are tried (Gateway API v1.6.3).
import assert from "node:assert/strict";
import type { MeshRoute } from "../../../src/gateway/model.js";
import { parseRoute } from "../../../src/gateway/parse-route.js";
import type { ServicePortRef } from "../../../src/gateway/precedence.js";
import { bindingRoutes, orderMatches } from "../../../src/gateway/precedence.js";

const SVC: ServicePortRef = { namespace: "demo", name: "echo", port: 80, portName: "http" };

function route(
  name: string,
  spec: object,
  o: { namespace?: string; created?: string; kind?: string } = {},
): MeshRoute {
  const r = parseRoute({
    kind: o.kind ?? "HTTPRoute",
    metadata: {
      namespace: o.namespace ?? "demo",
      name,
      generation: 1,
      creationTimestamp: o.created ?? "2026-12-04T10:00:00Z",
    },
    spec,
  });
  assert.ok(r !== undefined);
  return r;
}

const parent = (extra: object = {}, namespace?: string) => ({
  parentRefs: [
    { group: "", kind: "Service", name: "echo", ...(namespace && { namespace }), ...extra },
  ],
});
const names = (rs: readonly MeshRoute[]) => rs.map((r) => `${r.namespace}/${r.name}`);

describe("gateway: binding and precedence", () => {
  it("binds the port a parentRef names (by number or name), or every port without one", () => {
    const routes = [
      route("all", { ...parent(), rules: [] }),
      route("p80", { ...parent({ port: 80 }), rules: [] }),
      route("p8080", { ...parent({ port: 8080 }), rules: [] }),
      route("named", { ...parent({ sectionName: "http" }), rules: [] }),
      route("other", { parentRefs: [{ group: "", kind: "Service", name: "else" }], rules: [] }),
    ];
    assert.deepEqual(names(bindingRoutes(routes, SVC, "demo")), [
      "demo/all",
      "demo/p80",
      "demo/named",
    ]);
  });

  it("applies a consumer route to its own namespace's clients only, instead of the producer's", () => {
    const producer = route("producer", { ...parent(), rules: [] });
    const consumer = route("consumer", { ...parent({}, "demo"), rules: [] }, { namespace: "shop" });
    const routes = [producer, consumer];
    assert.deepEqual(names(bindingRoutes(routes, SVC, "shop")), ["shop/consumer"]);
    assert.deepEqual(names(bindingRoutes(routes, SVC, "web")), ["demo/producer"]);
    assert.deepEqual(names(bindingRoutes(routes, SVC, "demo")), ["demo/producer"]);
  });

  it("lets a GRPCRoute win over an HTTPRoute on the same port", () => {
    const routes = [
      route("h", { ...parent(), rules: [] }),
      route("g", { ...parent(), rules: [] }, { kind: "GRPCRoute" }),
    ];
    assert.deepEqual(names(bindingRoutes(routes, SVC, "demo")), ["demo/g"]);
  });

  it("tries Exact, then longer prefixes, then method, headers and query parameters", () => {
    const r = route("r", {
      ...parent(),
      rules: [
        { name: "root", matches: [{ path: { type: "PathPrefix", value: "/" } }] },
        {
          name: "root-two",
          matches: [
            {
              path: { type: "PathPrefix", value: "/" },
              headers: [{ name: "version", value: "two" }],
            },
          ],
        },
        { name: "v2", matches: [{ path: { type: "PathPrefix", value: "/v2" } }] },
        { name: "exact", matches: [{ path: { type: "Exact", value: "/v2/x" } }] },
        { name: "post", matches: [{ path: { type: "PathPrefix", value: "/" }, method: "POST" }] },
        {
          name: "query",
          matches: [
            { path: { type: "PathPrefix", value: "/" }, queryParams: [{ name: "a", value: "1" }] },
          ],
        },
      ],
    });
    assert.deepEqual(
      orderMatches([r]).map((m) => m.rule.name),
      ["exact", "v2", "post", "root-two", "query", "root"],
    );
  });

  it("breaks ties by the older route, then namespace/name, then rule order; skips dropped rules", () => {
    const rule = (name: string) => ({
      name,
      matches: [{ path: { type: "PathPrefix", value: "/" } }],
    });
    const young = route(
      "a-young",
      { ...parent(), rules: [rule("young")] },
      { created: "2026-12-04T12:00:00Z" },
    );
    const oldB = route("b-old", { ...parent(), rules: [rule("b1"), rule("b2")] });
    const oldA = route("a-old", {
      ...parent(),
      rules: [{ name: "cors", filters: [{ type: "CORS", cors: {} }] }, rule("a1")],
    });
    assert.deepEqual(
      orderMatches([young, oldB, oldA]).map((m) => `${m.rule.name ?? ""}@${String(m.ruleIndex)}`),
      ["a1@1", "b1@0", "b2@1", "young@0"],
    );
  });
});
