// Routes bound to a Service port compiled for the mesh: weights (a Rollout's apex split inside
// vireo), invalid and weight-0 backends, a rule without backends, redirects, filters, timeouts.
import assert from "node:assert/strict";
import type { SplitLookup } from "../../../src/gateway/compile.js";
import { compileServicePort } from "../../../src/gateway/compile.js";
import type { MeshRoute } from "../../../src/gateway/model.js";
import { parseRoute } from "../../../src/gateway/parse-route.js";
import type { ServicePortRef } from "../../../src/gateway/precedence.js";
import type { ServiceLookup } from "../../../src/gateway/route-status.js";

const PARENT: ServicePortRef = { namespace: "demo", name: "podinfo", port: 9898, portName: "http" };
const KNOWN = ["podinfo", "podinfo-primary", "podinfo-canary", "search", "shadow"];
const services: ServiceLookup = (namespace, name) =>
  namespace === "demo" && KNOWN.includes(name)
    ? { namespace, name, ports: [{ name: "http", port: 9898, protocol: "http" }] }
    : undefined;
const noSplit: SplitLookup = () => undefined;

function route(rules: object[]): MeshRoute {
  const r = parseRoute({
    kind: "HTTPRoute",
    metadata: {
      namespace: "demo",
      name: "r",
      generation: 1,
      creationTimestamp: "2026-12-04T10:00:00Z",
    },
    spec: { parentRefs: [{ group: "", kind: "Service", name: "podinfo", port: 9898 }], rules },
  });
  assert.ok(r !== undefined);
  return r;
}
const to = (name: string, weight?: number) => ({
  name,
  port: 9898,
  ...(weight !== undefined && { weight }),
});
const compile = (rules: object[], splits = noSplit) =>
  compileServicePort([route(rules)], PARENT, "demo", services, splits);

describe("gateway: compiling routes for a Service port", () => {
  it("keeps the route's weights (scaled by 100), dropping weight-0 backends even missing ones", () => {
    const [c] = compile([{ backendRefs: [to("search", 3), to("shadow", 1), to("nowhere", 0)] }]);
    assert.deepEqual(c?.action, {
      kind: "forward",
      backends: [
        { namespace: "demo", service: "search", port: 9898, weight: 300 },
        { namespace: "demo", service: "shadow", port: 9898, weight: 100 },
      ],
      failedWeight: 0,
    });
  });

  it("splits a Rollout's apex between primary and canary at the Rollout's weight, the route untouched", () => {
    const splits: SplitLookup = (ns, svc) =>
      ns === "demo" && svc === "podinfo"
        ? { primary: "podinfo-primary", canary: "podinfo-canary", canaryWeight: 10 }
        : undefined;
    const [c] = compile([{ backendRefs: [to("podinfo", 1), to("search", 1)] }], splits);
    assert.deepEqual(
      c?.action.kind === "forward" ? c.action.backends.map((b) => [b.service, b.weight]) : [],
      [
        ["podinfo-primary", 90],
        ["podinfo-canary", 10],
        ["search", 100],
      ],
    );
    const done = compile([{ backendRefs: [to("podinfo")] }], () => ({
      primary: "podinfo-primary",
      canary: "podinfo-canary",
      canaryWeight: 0,
    }));
    assert.deepEqual(
      done[0]?.action.kind === "forward" ? done[0].action.backends.map((b) => b.service) : [],
      ["podinfo-primary"],
    );
  });

  it("answers an invalid backend's share with 500, and a rule with nothing to send to with 500", () => {
    const [partly] = compile([{ backendRefs: [to("search", 1), to("nowhere", 1)] }]);
    assert.equal(partly?.action.kind === "forward" && partly.action.failedWeight, 100);
    const [none] = compile([{ backendRefs: [to("nowhere")] }]);
    assert.deepEqual(none?.action, {
      kind: "status",
      code: 500,
      reason: "no backend can be resolved",
    });
    const [zero] = compile([{ backendRefs: [to("search", 0)] }]);
    assert.deepEqual(zero?.action, {
      kind: "status",
      code: 500,
      reason: "every backend has weight 0",
    });
  });

  it("sends a rule without backendRefs to the parent Service itself (GEP-1686)", () => {
    const [c] = compile([{ matches: [{ path: { type: "PathPrefix", value: "/" } }] }]);
    assert.deepEqual(c?.action, {
      kind: "forward",
      backends: [{ namespace: "demo", service: "podinfo", port: 9898, weight: 100 }],
      failedWeight: 0,
    });
  });

  it("compiles a redirect, header modifiers, a rewrite, mirrors and timeouts", () => {
    const [redirect, rest] = compile([
      {
        matches: [{ path: { type: "Exact", value: "/old" } }],
        filters: [
          {
            type: "RequestRedirect",
            requestRedirect: { hostname: "new.example", statusCode: 301 },
          },
        ],
      },
      {
        filters: [
          {
            type: "RequestHeaderModifier",
            requestHeaderModifier: { add: [{ name: "X-Via", value: "mesh" }] },
          },
          { type: "ResponseHeaderModifier", responseHeaderModifier: { remove: ["Server"] } },
          { type: "URLRewrite", urlRewrite: { hostname: "search.internal" } },
          { type: "RequestMirror", requestMirror: { backendRef: to("shadow"), percent: 5 } },
          { type: "RequestMirror", requestMirror: { backendRef: to("nowhere") } },
        ],
        backendRefs: [to("search")],
        timeouts: { request: "3s", backendRequest: "1s" },
      },
    ]);
    assert.deepEqual(redirect?.action, {
      kind: "redirect",
      hostname: "new.example",
      statusCode: 301,
    });
    assert.deepEqual(rest?.requestHeaders, {
      set: [],
      add: [{ name: "x-via", value: "mesh" }],
      remove: [],
    });
    assert.deepEqual(rest?.responseHeaders, { set: [], add: [], remove: ["server"] });
    assert.deepEqual(rest?.rewrite, { hostname: "search.internal" });
    assert.deepEqual(rest?.mirrors, [
      { backend: { namespace: "demo", service: "shadow", port: 9898, weight: 1 }, percent: 5 },
    ]);
    assert.equal(rest?.timeoutMs, 3000);
    assert.equal(rest?.perTryTimeoutMs, 1000);
    assert.equal(rest?.route, "demo/r");
    assert.equal(rest?.rule, 1);
  });

  it("compiles nothing for a port no route binds", () => {
    const r = route([{ backendRefs: [to("search")] }]);
    assert.deepEqual(
      compileServicePort([r], { ...PARENT, port: 80, portName: "web" }, "demo", services, noSplit),
      [],
    );
  });
});
