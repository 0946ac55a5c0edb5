// HTTPRoute and GRPCRoute objects to MeshRoute: the v1 defaults written out, matches and filters
// as the spec defines them, and a rule the mesh cannot implement kept with its reason.
import assert from "node:assert/strict";
import { GATEWAY_GROUP } from "../../../src/gateway/model.js";
import { isServiceParent, parseRoute } from "../../../src/gateway/parse-route.js";

const meta = {
  namespace: "demo",
  name: "r",
  generation: 3,
  creationTimestamp: "2026-12-04T10:00:00Z",
};

describe("gateway: parsing routes", () => {
  it("fills the v1 defaults: parent group and kind, backend kind, weight 1, a rule without matches", () => {
    const r = parseRoute({
      kind: "HTTPRoute",
      metadata: meta,
      spec: {
        parentRefs: [{ name: "edge" }, { group: "", kind: "Service", name: "podinfo", port: 9898 }],
        rules: [{ backendRefs: [{ name: "podinfo-primary", port: 9898 }] }],
      },
    });
    assert.deepEqual(r?.parents, [
      { group: GATEWAY_GROUP, kind: "Gateway", namespace: "demo", name: "edge" },
      { group: "", kind: "Service", namespace: "demo", name: "podinfo", port: 9898 },
    ]);
    assert.deepEqual(r?.parents.map(isServiceParent), [false, true]);
    assert.deepEqual(r?.rules, [
      {
        backends: [
          {
            group: "",
            kind: "Service",
            namespace: "demo",
            name: "podinfo-primary",
            port: 9898,
            weight: 1,
          },
        ],
        matches: [{ path: { type: "PathPrefix", value: "/" }, headers: [], queryParams: [] }],
        filters: [],
      },
    ]);
    assert.equal(r?.generation, 3);
    assert.equal(r?.created, "2026-12-04T10:00:00Z");
    assert.equal(parseRoute({ kind: "TCPRoute", metadata: meta, spec: {} }), undefined);
  });

  it("accepts group core for a Service parent, as Linkerd's docs write it", () => {
    const r = parseRoute({
      kind: "HTTPRoute",
      metadata: meta,
      spec: { parentRefs: [{ group: "core", kind: "Service", name: "podinfo" }], rules: [] },
    });
    assert.equal(r?.parents[0] !== undefined && isServiceParent(r.parents[0]), true);
  });

  it("reads matches: header names lowered and only the first per name, query params as written", () => {
    const r = parseRoute({
      kind: "HTTPRoute",
      metadata: meta,
      spec: {
        rules: [
          {
            matches: [
              {
                path: { type: "Exact", value: "/api" },
                headers: [
                  { name: "Version", value: "two" },
                  { name: "version", value: "three" },
                  { name: "x-re", type: "RegularExpression", value: "^a.*" },
                ],
                queryParams: [{ name: "Q", value: "1" }],
                method: "POST",
              },
            ],
          },
        ],
      },
    });
    assert.deepEqual(r?.rules[0]?.matches, [
      {
        path: { type: "Exact", value: "/api" },
        headers: [
          { name: "version", type: "Exact", value: "two" },
          { name: "x-re", type: "RegularExpression", value: "^a.*" },
        ],
        queryParams: [{ name: "Q", type: "Exact", value: "1" }],
        method: "POST",
      },
    ]);
  });

  it("reads filters, timeouts and a mirror's share (percent, fraction, or all)", () => {
    const r = parseRoute({
      kind: "HTTPRoute",
      metadata: meta,
      spec: {
        rules: [
          {
            filters: [
              {
                type: "RequestHeaderModifier",
                requestHeaderModifier: { set: [{ name: "X-A", value: "1" }], remove: ["X-B"] },
              },
              {
                type: "URLRewrite",
                urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/v2" } },
              },
              {
                type: "RequestMirror",
                requestMirror: {
                  backendRef: { name: "shadow", port: 80 },
                  fraction: { numerator: 1, denominator: 4 },
                },
              },
              { type: "RequestMirror", requestMirror: { backendRef: { name: "all", port: 80 } } },
            ],
            timeouts: { request: "10s", backendRequest: "500ms" },
          },
          {
            filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https" } }],
          },
        ],
      },
    });
    const [first, second] = r?.rules ?? [];
    assert.deepEqual(first?.filters[0], {
      type: "RequestHeaderModifier",
      set: [{ name: "x-a", value: "1" }],
      add: [],
      remove: ["x-b"],
    });
    assert.deepEqual(first?.filters[1], {
      type: "URLRewrite",
      path: { type: "ReplacePrefixMatch", value: "/v2" },
    });
    assert.deepEqual(
      first?.filters.flatMap((f) =>
        f.type === "RequestMirror" ? [[f.backend.name, f.percent]] : [],
      ),
      [
        ["shadow", 25],
        ["all", 100],
      ],
    );
    assert.equal(first?.requestTimeoutMs, 10_000);
    assert.equal(first?.backendRequestTimeoutMs, 500);
    assert.deepEqual(second?.filters, [
      { type: "RequestRedirect", scheme: "https", statusCode: 302 },
    ]);
  });

  it("keeps a rule it cannot implement, with the reason, and the other rules whole", () => {
    const r = parseRoute({
      kind: "HTTPRoute",
      metadata: meta,
      spec: {
        rules: [
          {
            name: "cors",
            filters: [{ type: "CORS", cors: {} }],
            backendRefs: [{ name: "a", port: 1 }],
          },
          { backendRefs: [{ name: "b", port: 1 }] },
        ],
      },
    });
    assert.equal(r?.rules[0]?.unsupported, "filter CORS is not supported");
    assert.equal(r?.rules[0]?.name, "cors");
    assert.equal(r?.rules[1]?.unsupported, undefined);
  });

  it("compiles gRPC method matches to paths and refuses HTTP-only filters on a GRPCRoute", () => {
    const r = parseRoute({
      kind: "GRPCRoute",
      metadata: meta,
      spec: {
        rules: [
          {
            matches: [
              { method: { service: "vireo.example.Greeter", method: "SayHello" } },
              { method: { service: "vireo.example.Greeter" } },
              { method: { type: "RegularExpression", method: "Say.*" } },
              { headers: [{ name: "env", value: "canary" }] },
            ],
          },
          {},
          { filters: [{ type: "URLRewrite", urlRewrite: {} }] },
        ],
      },
    });
    assert.deepEqual(
      r?.rules[0]?.matches.map((m) => m.path),
      [
        { type: "Exact", value: "/vireo.example.Greeter/SayHello" },
        { type: "PathPrefix", value: "/vireo.example.Greeter" },
        { type: "RegularExpression", value: "/[^/]+/Say.*" },
        undefined,
      ],
    );
    assert.deepEqual(r?.rules[1]?.matches, [{ headers: [], queryParams: [] }]);
    assert.equal(r?.rules[2]?.unsupported, "filter URLRewrite is not supported on a GRPCRoute");
  });
});
