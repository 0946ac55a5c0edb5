// HTTPRoute filters as RDS expresses them, from the Envoy protos through conversion to a running
// proxy and a real upstream: header mutations at each level, prefix and Host rewrites, redirects
// and direct responses.
import assert from "node:assert/strict";
import type { HeaderValueOption } from "../../../src/xds/generated/envoy/config/core/v3/HeaderValueOption.js";
import type { Route as EnvoyRoute } from "../../../src/xds/generated/envoy/config/route/v3/Route.js";
import type { RouteConfiguration as EnvoyRouteConfiguration } from "../../../src/xds/generated/envoy/config/route/v3/RouteConfiguration.js";
import type { VirtualHost as EnvoyVirtualHost } from "../../../src/xds/generated/envoy/config/route/v3/VirtualHost.js";
import { OUTBOUND_HTTP_LISTENER } from "../../../src/xds/names.js";
import type { RoutingSnapshot } from "../../../mesh/routing/model.js";
import type { Reply, SendOptions, TestProxy, Upstream } from "./harness.js";
import { blackholePort, send, sleep, startProxy, startUpstream } from "./harness.js";
import { buildSnapshot } from "./snapshot-builder.js";
import { ok, packFault, table } from "./xds-client-convert-helpers.js";

interface Seen {
  readonly url: string;
  /** Each header line as sent, by lower-case name. */
  readonly headers: Record<string, string[] | undefined>;
}

/** Answers with what it received, and two headers of its own (x-up, x-drop). */
function echoUpstream(): Promise<Upstream> {
  return startUpstream((req, res) => {
    req.resume();
    req.on("end", () => {
      const headers: Record<string, string[]> = {};
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        const name = (req.rawHeaders[i] ?? "").toLowerCase();
        (headers[name] ??= []).push(req.rawHeaders[i + 1] ?? "");
      }
      res.setHeader("x-up", "1");
      res.setHeader("x-drop", "1");
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ url: req.url, headers }));
    });
  });
}

const hv = (key: string, value: string, more: Partial<HeaderValueOption> = {}) => ({
  header: { key, value },
  ...more,
});

const to = (route: Partial<EnvoyRoute> & { match: EnvoyRoute["match"] }): EnvoyRoute => ({
  route: { cluster: "c", timeout: { seconds: 5 } },
  ...route,
});

describe("mesh route filters through a running proxy", function () {
  this.timeout(20_000);
  let up: Upstream;
  let p: TestProxy | undefined;
  before(async () => {
    up = await echoUpstream();
  });
  after(async () => {
    await up.close();
  });
  afterEach(async () => {
    await p?.proxy.close();
    p = undefined;
  });

  function snapshot(
    vh: Partial<EnvoyVirtualHost>,
    rc: Partial<EnvoyRouteConfiguration> = {},
    port = up.port,
    mirrorPort?: number,
  ): RoutingSnapshot {
    const t = ok(table([{ name: "vh", domains: ["*"], ...vh }], rc));
    const clusters = {
      c: { endpoints: [port] },
      ...(mirrorPort !== undefined && { m: { endpoints: [mirrorPort] } }),
    };
    const base = buildSnapshot({ vhosts: [], clusters });
    return { ...base, routeTables: new Map([[OUTBOUND_HTTP_LISTENER, t]]) };
  }

  async function proxy(
    vh: Partial<EnvoyVirtualHost>,
    rc: Partial<EnvoyRouteConfiguration> = {},
  ): Promise<TestProxy> {
    p = await startProxy(snapshot(vh, rc));
    return p;
  }

  async function seen(port: number, o: SendOptions = {}): Promise<Seen & { reply: Reply }> {
    const reply = await send(port, o);
    assert.equal(reply.status, 200, reply.body);
    return { ...(JSON.parse(reply.body) as Seen), reply };
  }

  it("request headers: each append action, and removal", async () => {
    const { port } = await proxy({
      routes: [
        to({
          match: { prefix: "/" },
          request_headers_to_add: [
            hv("x-a", "new"),
            hv("x-b", "new", { append_action: "ADD_IF_ABSENT" }),
            hv("x-b2", "new", { append_action: "ADD_IF_ABSENT" }),
            hv("x-c", "new", { append_action: "OVERWRITE_IF_EXISTS_OR_ADD" }),
            hv("x-c2", "new", { append_action: "OVERWRITE_IF_EXISTS_OR_ADD" }),
            hv("x-d", "new", { append_action: "OVERWRITE_IF_EXISTS" }),
            hv("x-d2", "new", { append_action: "OVERWRITE_IF_EXISTS" }),
            hv("x-e", "new", { append: { value: false } }),
          ],
          request_headers_to_remove: ["x-r"],
        }),
      ],
    });
    const old = "old";
    const { headers } = await seen(port, {
      headers: { "x-a": old, "x-b": old, "x-c": old, "x-d": old, "x-e": old, "x-r": old },
    });
    assert.deepEqual(
      ["x-a", "x-b", "x-b2", "x-c", "x-c2", "x-d", "x-d2", "x-e", "x-r"].map((h) => headers[h]),
      [["old", "new"], ["old"], ["new"], ["new"], ["new"], ["new"], undefined, ["new"], undefined],
    );
  });

  it("levels: the route's apply first, so the virtual host's and the configuration's win", async () => {
    const set = (v: string) => hv("x-level", v, { append_action: "OVERWRITE_IF_EXISTS_OR_ADD" });
    const vh: Partial<EnvoyVirtualHost> = {
      routes: [
        to({
          match: { prefix: "/" },
          request_headers_to_add: [set("route")],
          request_headers_to_remove: ["x-back"],
        }),
      ],
      request_headers_to_add: [set("vhost"), hv("x-back", "vhost")],
    };
    const rc = { request_headers_to_add: [set("config")] };
    const outerWins = await seen((await proxy(vh, rc)).port, { headers: { "x-back": "client" } });
    assert.deepEqual(outerWins.headers["x-level"], ["config"]);
    // Removed by the route, added again by the virtual host after it.
    assert.deepEqual(outerWins.headers["x-back"], ["vhost"]);
    await p?.proxy.close();
    const reversed = await proxy(vh, { ...rc, most_specific_header_mutations_wins: true });
    assert.deepEqual((await seen(reversed.port)).headers["x-level"], ["route"]);
  });

  it("response headers: added and removed on upstream responses and the router's own replies", async () => {
    const vh: Partial<EnvoyVirtualHost> = {
      routes: [
        to({
          match: { prefix: "/" },
          response_headers_to_add: [hv("x-resp", "route")],
          response_headers_to_remove: ["x-drop"],
        }),
      ],
      response_headers_to_add: [hv("x-up", "vhost", { append_action: "ADD_IF_ABSENT" })],
    };
    const { reply } = await seen((await proxy(vh)).port);
    assert.equal(reply.headers["x-resp"], "route");
    assert.equal(reply.headers["x-drop"], undefined);
    assert.equal(reply.headers["x-up"], "1");
    await p?.proxy.close();
    const down = await blackholePort();
    down.close();
    p = await startProxy(snapshot(vh, {}, down.port));
    const failed = await send(p.port);
    assert.equal(failed.status, 503);
    assert.equal(failed.headers["x-resp"], "route");
    assert.equal(failed.headers["x-up"], "vhost");
  });

  it("mirrors get the edited request, as Envoy's shadows do, with -shadow on the new Host", async () => {
    const copies: Seen[] = [];
    const mirror = await startUpstream((req, res) => {
      req.resume();
      copies.push({
        url: req.url ?? "",
        headers: { host: [req.headers.host ?? ""], "x-added": [String(req.headers["x-added"])] },
      });
      res.end();
    });
    try {
      const vh: Partial<EnvoyVirtualHost> = {
        routes: [
          to({
            match: { prefix: "/old/" },
            route: {
              cluster: "c",
              prefix_rewrite: "/new/",
              host_rewrite_literal: "b.example",
              request_mirror_policies: [{ cluster: "m" }],
            },
            request_headers_to_add: [hv("x-added", "1")],
          }),
        ],
      };
      p = await startProxy(snapshot(vh, {}, up.port, mirror.port));
      assert.equal((await seen(p.port, { path: "/old/x" })).url, "/new/x");
      for (let i = 0; i < 100 && copies.length === 0; i++) await sleep(10);
      assert.deepEqual(copies, [
        { url: "/new/x", headers: { host: ["b.example-shadow"], "x-added": ["1"] } },
      ]);
    } finally {
      await mirror.close();
    }
  });

  it("a fault abort comes first, as Envoy's fault filter before the router: no route edits on it", async () => {
    const { port } = await proxy({
      routes: [
        to({
          match: { prefix: "/" },
          response_headers_to_add: [hv("x-resp", "route")],
          typed_per_filter_config: packFault({
            abort: { http_status: 418, percentage: { numerator: 100 } },
          }),
        }),
      ],
    });
    const r = await send(port);
    assert.deepEqual([r.status, r.headers["x-resp"]], [418, undefined]);
  });

  it("prefix_rewrite replaces what the route matched: trailing slashes as Envoy's docs say", async () => {
    const { port } = await proxy({
      routes: [
        to({ match: { prefix: "/prefix/" }, route: { cluster: "c", prefix_rewrite: "/" } }),
        to({ match: { prefix: "/prefix" }, route: { cluster: "c", prefix_rewrite: "/" } }),
        to({ match: { prefix: "/only" }, route: { cluster: "c", prefix_rewrite: "/" } }),
        to({ match: { prefix: "/v1" }, route: { cluster: "c", prefix_rewrite: "/v2" } }),
        to({ match: { path: "/exact" }, route: { cluster: "c", prefix_rewrite: "/other" } }),
        to({
          match: { safe_regex: { regex: "/re/[0-9]+" } },
          route: { cluster: "c", prefix_rewrite: "/numbered" },
        }),
        to({ match: { prefix: "/" } }),
      ],
    });
    const cases: [string, string][] = [
      ["/prefix/etc?q=1", "/etc?q=1"],
      ["/prefix", "/"],
      ["/prefix/", "/"],
      ["/only/etc", "//etc"],
      ["/v1/users", "/v2/users"],
      ["/exact?q", "/other?q"],
      ["/re/42?x=y", "/numbered?x=y"],
      ["/untouched", "/untouched"],
    ];
    for (const [path, want] of cases) assert.equal((await seen(port, { path })).url, want, path);
  });

  it("regex_rewrite replaces every match in the path (RE2's examples), the query kept", async () => {
    const regex = (regex: string, substitution: string) => ({
      cluster: "c",
      regex_rewrite: { pattern: { regex }, substitution },
    });
    const { port } = await proxy({
      routes: [
        to({
          match: { prefix: "/service/" },
          route: regex("^/service/([^/]+)(/.*)$", "\\2/instance/\\1"),
        }),
        to({ match: { prefix: "/xxx/" }, route: regex("one", "two") }),
        to({ match: { prefix: "/full" }, route: regex(".*", "/replaced") }),
      ],
    });
    const cases: [string, string][] = [
      ["/service/foo/v1/api?q=1", "/v1/api/instance/foo?q=1"],
      ["/xxx/one/yyy/one/zzz", "/xxx/two/yyy/two/zzz"],
      // RE2 replaces no empty match right after a non-empty one: one substitution, not two.
      ["/full/path?x", "/replaced?x"],
    ];
    for (const [path, want] of cases) assert.equal((await seen(port, { path })).url, want, path);
  });

  it("host_rewrite_literal sets the Host sent upstream", async () => {
    const { port } = await proxy({
      routes: [
        to({
          match: { prefix: "/" },
          route: { cluster: "c", host_rewrite_literal: "b.example:81" },
        }),
      ],
    });
    assert.deepEqual((await seen(port)).headers.host, ["b.example:81"]);
  });

  describe("redirects", () => {
    const redirect = (path: string, r: EnvoyRoute["redirect"], more: Partial<EnvoyRoute> = {}) => ({
      match: { prefix: path },
      redirect: r,
      ...more,
    });
    const routes: EnvoyRoute[] = [
      redirect("/same", {}),
      redirect("/https", { https_redirect: true }),
      redirect("/all", {
        scheme_redirect: "https",
        host_redirect: "b.example",
        port_redirect: 8443,
        path_redirect: "/new",
        strip_query: true,
        response_code: "PERMANENT_REDIRECT",
      }),
      redirect("/path", { path_redirect: "/new" }),
      redirect("/fixed-query", { path_redirect: "/new?x=2", strip_query: true }),
      redirect("/pre/", { prefix_rewrite: "/post/" }),
      redirect("/pre-strip/", { prefix_rewrite: "/post/", strip_query: true }),
      redirect("/host", { host_redirect: "b.example" }),
      redirect("/regex/", {
        regex_rewrite: { pattern: { regex: "^/regex/(.*)$" }, substitution: "/to/\\1" },
      }),
      redirect("/port", { port_redirect: 9090 }),
      redirect("/302", { response_code: "FOUND" }),
      redirect("/303", { response_code: "SEE_OTHER" }),
      redirect("/307", { response_code: "TEMPORARY_REDIRECT" }),
      redirect(
        "/with-header",
        { response_code: "FOUND" },
        { response_headers_to_add: [hv("x-redirected", "yes")] },
      ),
    ];
    const cases: [string, string, number, string][] = [
      ["a.example", "/same?q=1", 301, "http://a.example/same?q=1"],
      ["a.example:80", "/https", 301, "https://a.example/https"],
      ["a.example:8080", "/https", 301, "https://a.example:8080/https"],
      ["a.example:8080", "/all?q=1", 308, "https://b.example:8443/new"],
      ["a.example", "/path?q=1", 301, "http://a.example/new?q=1"],
      ["a.example", "/fixed-query?q=1", 301, "http://a.example/new?x=2"],
      ["a.example", "/pre/a?b=1", 301, "http://a.example/post/a?b=1"],
      ["a.example", "/pre-strip/a?b=1", 301, "http://a.example/post/a"],
      // Envoy drops the request's port with its host (envoyproxy/envoy#17318).
      ["a.example:8080", "/host", 301, "http://b.example/host"],
      ["a.example:8080", "/port", 301, "http://a.example:9090/port"],
      ["a.example", "/regex/a/b?c", 301, "http://a.example/to/a/b?c"],
      ["a.example", "/302", 302, "http://a.example/302"],
      ["a.example", "/303", 303, "http://a.example/303"],
      ["a.example", "/307", 307, "http://a.example/307"],
    ];
    it("Location and status for each field, the rest kept from the request", async () => {
      const { port, records } = await proxy({ routes });
      for (const [host, path, status, location] of cases) {
        const r = await send(port, { host, path });
        assert.deepEqual([r.status, r.headers.location, r.body], [status, location, ""], path);
      }
      assert.equal(records.length > 0 && records[0]?.upstreamCluster, undefined);
    });

    it("an https request's own scheme, and the route's response headers", async () => {
      const { port } = await proxy({ routes });
      const r = await send(port, {
        host: "a.example:443",
        path: "/with-header",
        headers: { "x-forwarded-proto": "https" },
      });
      assert.equal(r.status, 302);
      assert.equal(r.headers["x-redirected"], "yes");
      // x-forwarded-proto is read for the port, not the scheme (HTTP/1.1 over plaintext).
      assert.equal(r.headers.location, "http://a.example/with-header");
    });
  });

  it("direct responses, with and without a body, and their response headers", async () => {
    const { port } = await proxy(
      {
        routes: [
          {
            match: { prefix: "/invalid" },
            direct_response: { status: 500, body: { inline_string: "no valid backend" } },
            response_headers_to_add: [hv("x-why", "invalid")],
          },
          { match: { prefix: "/empty" }, direct_response: { status: 503 } },
          { match: { prefix: "/moved" }, direct_response: { status: 302 } },
        ],
      },
      { response_headers_to_add: [hv("x-rc", "1")] },
    );
    const invalid = await send(port, { path: "/invalid" });
    assert.deepEqual(
      [invalid.status, invalid.body, invalid.headers["content-type"], invalid.headers["x-why"]],
      [500, "no valid backend", "text/plain", "invalid"],
    );
    assert.equal(invalid.headers["x-rc"], "1");
    const empty = await send(port, { path: "/empty" });
    assert.deepEqual([empty.status, empty.body, empty.headers["content-length"]], [503, "", "0"]);
    // As Envoy: a 3xx direct response carries the request's own URL as its Location.
    const moved = await send(port, { host: "a.example", path: "/moved?x" });
    assert.equal(moved.headers.location, "http://a.example/moved?x");
  });
});
