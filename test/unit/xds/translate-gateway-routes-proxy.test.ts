// The translated routes through the real codecs into the proxy's converter: every case must be
// accepted (a field the proxy would NACK fails here), and the converted routes must do what
// Gateway API says when the proxy's own matcher and rewriter run them.
import assert from "node:assert/strict";
import type { CompiledRoute } from "../../../src/gateway/compile.js";
import type { PathModifier } from "../../../src/gateway/model.js";
import type { Route as EnvoyRoute } from "../../../src/xds/generated/envoy/config/route/v3/Route.js";
import { INVALID_BACKEND_CLUSTER } from "../../../src/xds/names.js";
import { gatewayRoutes } from "../../../src/xds/translate/gateway-routes.js";
import { rewritePath } from "../../../mesh/filters/route-edits.js";
import type { Route, VirtualHost } from "../../../mesh/routing/model.js";
import { selectRoute } from "../../../mesh/routing/router.js";
import { ok, table } from "../mesh/xds-client-convert-helpers.js";
import { A, backend, cases, clusterOf, compiled, path } from "./gateway-fixtures.js";

/** The routes as the proxy holds them after decoding the serialized RouteConfiguration. */
function proxyHost(routes: EnvoyRoute[]): VirtualHost {
  const t = ok(table([{ name: "vh", domains: ["*"], routes }]));
  return t.virtualHosts[0] ?? assert.fail("no virtual host");
}

const hostOf = (c: CompiledRoute[]): VirtualHost => proxyHost(gatewayRoutes(c, clusterOf));

function pick(
  vh: VirtualHost,
  p: string,
  o: { method?: string; headers?: Record<string, string> } = {},
): Route | undefined {
  const input = { method: o.method ?? "GET", authority: "web", path: p, headers: o.headers ?? {} };
  return selectRoute(vh, input, () => 0);
}

/** The path the proxy sends upstream, or undefined when no route matches. */
function forwarded(vh: VirtualHost, p: string): string | undefined {
  const r = pick(vh, p);
  if (r === undefined) return undefined;
  if (r.kind !== "forward") return assert.fail("a local route");
  const rw = r.edits?.path;
  return rw === undefined ? p : rewritePath(r.match.path, p, rw);
}

const prefixRule = (prefix: string, rewrite: PathModifier): CompiledRoute =>
  compiled({ match: path({ type: "PathPrefix", value: prefix }), rewrite: { path: rewrite } });

describe("xds gateway routes through the proxy's converter", () => {
  for (const c of cases)
    it(`accepted: ${c.name}`, () => {
      const vh = hostOf([c.route]);
      assert.equal(vh.routes.length, c.want.length);
    });

  it("PathPrefix matches whole path elements, the query aside", () => {
    const vh = hostOf([compiled({ match: path({ type: "PathPrefix", value: "/foo/" }) })]);
    const matched = ["/foo", "/foo/", "/foo/x", "/foo?x=1", "/foobar", "/fo", "/"].map(
      (p) => pick(vh, p) !== undefined,
    );
    assert.deepEqual(matched, [true, true, true, true, false, false, false]);
  });

  it("Exact, regex, header, method and query matches", () => {
    const vh = hostOf([
      compiled({ match: path({ type: "Exact", value: "/a" }), rule: 0 }),
      compiled({ match: path({ type: "RegularExpression", value: "/v[0-9]+" }), rule: 1 }),
      compiled({
        rule: 2,
        match: path(undefined, {
          headers: [{ name: "X-Version", type: "Exact", value: "two" }],
          queryParams: [{ name: "q", type: "RegularExpression", value: "[0-9]+" }],
          method: "POST",
        }),
      }),
    ]);
    const rule = (p: string, o?: Parameters<typeof pick>[2]) => pick(vh, p, o)?.name;
    const two = { "x-version": "two" };
    assert.deepEqual(
      [
        rule("/a?x"),
        rule("/a/"),
        rule("/v12"),
        rule("/v12/x"),
        rule("/z?q=7", { method: "POST", headers: two }),
        rule("/z?q=7", { method: "GET", headers: two }),
        rule("/z?q=x", { method: "POST", headers: two }),
        rule("/z?q=7", { method: "POST" }),
      ],
      [
        "demo/web/0",
        undefined,
        "demo/web/1",
        undefined,
        "demo/web/2",
        undefined,
        undefined,
        undefined,
      ],
    );
  });

  // The table of HTTPPathModifier's ReplacePrefixMatch in the Gateway API reference.
  const prefixTable: [prefix: string, replacement: string, request: string, want: string][] = [
    ["/foo", "/xyz", "/foo/bar", "/xyz/bar"],
    ["/foo", "/xyz/", "/foo/bar", "/xyz/bar"],
    ["/foo/", "/xyz", "/foo/bar", "/xyz/bar"],
    ["/foo/", "/xyz/", "/foo/bar", "/xyz/bar"],
    ["/foo", "/xyz", "/foo", "/xyz"],
    ["/foo", "/xyz", "/foo/", "/xyz/"],
    ["/foo", "", "/foo/bar", "/bar"],
    ["/foo", "", "/foo/", "/"],
    ["/foo", "", "/foo", "/"],
    ["/foo", "/", "/foo/", "/"],
    ["/foo", "/", "/foo", "/"],
    ["/foo", "/xyz", "/foo/bar?a=1", "/xyz/bar?a=1"],
    ["/", "/xyz", "/bar", "/xyz/bar"],
  ];
  for (const [prefix, replacement, request, want] of prefixTable)
    it(`ReplacePrefixMatch ${prefix} → "${replacement}": ${request} → ${want}`, () => {
      const vh = hostOf([prefixRule(prefix, { type: "ReplacePrefixMatch", value: replacement })]);
      assert.equal(forwarded(vh, request), want);
    });

  it("ReplaceFullPath keeps the query", () => {
    const vh = hostOf([prefixRule("/", { type: "ReplaceFullPath", value: "/new" })]);
    assert.deepEqual(
      ["/", "/a/b?x=1"].map((p) => forwarded(vh, p)),
      ["/new", "/new?x=1"],
    );
  });

  it("header modifiers and the Host rewrite reach the route's edits", () => {
    const vh = hostOf([
      compiled({
        requestHeaders: {
          set: [
            { name: "X-Set", value: "100%" },
            { name: "Host", value: "b.example" },
          ],
          add: [{ name: "x-add", value: "b" }],
          remove: ["x-gone"],
        },
        responseHeaders: { set: [], add: [{ name: "x-resp", value: "1" }], remove: [] },
      }),
    ]);
    const r = vh.routes[0];
    assert.equal(r?.kind, "forward");
    assert.deepEqual(r.edits, {
      request: [
        {
          remove: ["x-gone"],
          add: [
            { name: "x-set", value: "100%", action: "overwrite" },
            { name: "x-add", value: "b", action: "append" },
          ],
        },
      ],
      response: [{ remove: [], add: [{ name: "x-resp", value: "1", action: "append" }] }],
      hostRewrite: "b.example",
    });
  });

  it("weights, the invalid share, mirrors and timeouts in the proxy's action", () => {
    const vh = hostOf([
      compiled({
        action: { kind: "forward", backends: [backend("a", 200)], failedWeight: 100 },
        mirrors: [{ backend: backend("b", 1), percent: 25 }],
        timeoutMs: 2000,
        perTryTimeoutMs: 500,
      }),
    ]);
    const r = vh.routes[0];
    assert.equal(r?.kind, "forward");
    const { clusters, totalWeight, timeoutMs, retry, mirrors, clusterNotFoundStatus } = r.action;
    assert.deepEqual(
      {
        clusters,
        totalWeight,
        timeoutMs,
        perTry: retry?.perTryTimeoutMs,
        mirrors,
        clusterNotFoundStatus,
      },
      {
        clusters: [
          { cluster: A, weight: 2 },
          { cluster: INVALID_BACKEND_CLUSTER, weight: 1 },
        ],
        totalWeight: 3,
        timeoutMs: 2000,
        perTry: 500,
        mirrors: [{ cluster: clusterOf(backend("b")), fraction: 0.25 }],
        // The invalid share is answered 500, as Gateway API requires.
        clusterNotFoundStatus: 500,
      },
    );
  });

  it("redirects and direct responses are the proxy's local replies", () => {
    const vh = hostOf([
      compiled({
        rule: 0,
        match: path({ type: "PathPrefix", value: "/old" }),
        action: {
          kind: "redirect",
          statusCode: 301,
          scheme: "https",
          hostname: "b.example",
          port: 8443,
          path: { type: "ReplacePrefixMatch", value: "/new" },
        },
      }),
      compiled({ rule: 1, action: { kind: "status", code: 500, reason: "x" } }),
    ]);
    const replies = ["/old", "/old/x", "/other"].map((p) => {
      const r = pick(vh, p);
      return r?.kind === "local" ? r.reply : r?.kind;
    });
    assert.deepEqual(replies, [
      {
        kind: "redirect",
        status: 301,
        scheme: "https",
        host: "b.example",
        port: 8443,
        path: { kind: "prefix", value: "/new" },
        stripQuery: false,
      },
      {
        kind: "redirect",
        status: 301,
        scheme: "https",
        host: "b.example",
        port: 8443,
        path: { kind: "prefix", value: "/new/" },
        stripQuery: false,
      },
      { kind: "direct", status: 500, body: "" },
    ]);
  });
});
