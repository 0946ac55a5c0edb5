// Route selection: virtual hosts by authority, first-match routes, weighted clusters, and the
// same through a running proxy (Host, absolute-form URIs, bare Service names, 404 NR).
import assert from "node:assert/strict";
import { expandServiceName, stripPort } from "../../../mesh/routing/authority.js";
import type { MatchInput } from "../../../mesh/routing/matchers.js";
import { matchHeader, matchPath, matchRoute } from "../../../mesh/routing/matchers.js";
import { pickCluster, selectRoute, selectVirtualHost } from "../../../mesh/routing/router.js";
import type { Upstream } from "./harness.js";
import { namedUpstream, send, startProxy } from "./harness.js";
import { buildSnapshot, exact, header, prefix } from "./snapshot-builder.js";
import type { Route } from "../../../mesh/routing/model.js";

const firstCluster = (r: Route | undefined): string | undefined =>
  r?.kind === "forward" ? r.action.clusters[0]?.cluster : undefined;

const input = (o: Partial<MatchInput>): MatchInput => ({
  method: "GET",
  authority: "a",
  path: "/",
  headers: {},
  ...o,
});

describe("mesh routing: virtual hosts", () => {
  const snap = buildSnapshot({
    vhosts: [
      {
        domains: ["reviews.demo.svc.cluster.local", "reviews.demo.svc.cluster.local:9080"],
        routes: [{ to: "exact" }],
      },
      { domains: ["*.example.com"], routes: [{ to: "suffix" }] },
      { domains: ["api.*"], routes: [{ to: "prefix" }] },
      { domains: ["*"], routes: [{ to: "any" }] },
    ],
    clusters: {},
  });
  const table = [...snap.routeTables.values()][0];
  const cases: [string, string][] = [
    ["reviews.demo.svc.cluster.local", "exact"],
    ["reviews.demo.svc.cluster.local:9080", "exact"],
    ["reviews.demo.svc.cluster.local:1234", "exact"],
    ["www.example.com", "suffix"],
    ["www.example.com:8443", "suffix"],
    ["api.other.org", "prefix"],
    ["example.com", "any"],
    ["nothing", "any"],
  ];
  for (const [authority, want] of cases) {
    it(`${authority} → ${want}`, () => {
      assert.ok(table);
      const v = selectVirtualHost(table, authority);
      assert.equal(firstCluster(v?.routes[0]), want);
    });
  }

  it("expands bare Service names with the proxy's namespace", () => {
    assert.equal(
      expandServiceName("reviews", "demo", "cluster.local"),
      "reviews.demo.svc.cluster.local",
    );
    assert.equal(
      expandServiceName("Reviews:9080", "demo", "cluster.local"),
      "reviews.demo.svc.cluster.local:9080",
    );
    assert.equal(expandServiceName("reviews.other", "demo", "cluster.local"), "reviews.other");
    assert.equal(expandServiceName("localhost:80", "demo", "cluster.local"), "localhost:80");
    assert.equal(expandServiceName("10.0.0.1:80", "demo", "cluster.local"), "10.0.0.1:80");
    assert.equal(stripPort("[::1]:80"), "[::1]");
  });
});

describe("mesh routing: matches", () => {
  it("prefix on :path, exact and regex on the path without its query", () => {
    assert.ok(matchPath(prefix("/api"), "/apiv2?x=1", true));
    assert.ok(matchPath(exact("/a"), "/a?x=1", true));
    assert.ok(!matchPath(exact("/a"), "/A", true));
    assert.ok(matchPath(exact("/a"), "/A", false));
    assert.ok(matchPath({ kind: "regex", regex: /\/v\d+/ }, "/v12?q", true));
    assert.ok(!matchPath({ kind: "regex", regex: /\/v\d+/ }, "/v12/x", true));
  });

  it("headers, pseudo-headers, inversion and presence", () => {
    const i = input({ headers: { "x-user": "jason" }, method: "POST" });
    assert.ok(matchHeader(header("x-user", "jason"), i));
    assert.ok(!matchHeader(header("x-user", "jason", true), i));
    assert.ok(matchHeader(header(":method", "POST"), i));
    assert.ok(!matchHeader(header("x-missing", "v"), i));
    assert.ok(matchHeader(header("x-missing", "v", true), i));
    assert.ok(!matchHeader({ name: "x-missing", match: { kind: "present" }, invert: false }, i));
    assert.ok(matchHeader({ name: "x-missing", match: { kind: "present" }, invert: true }, i));
  });

  it("query parameters, all of them", () => {
    const m = {
      path: prefix("/"),
      caseSensitive: true,
      headers: [],
      query: [
        { name: "v", match: { kind: "exact", value: "2", ignoreCase: false } as const },
        { name: "id", match: { kind: "regex", regex: /\d+/ } as const },
      ],
      fraction: 1,
    };
    assert.ok(matchRoute(m, input({ path: "/x?v=2&id=123" })));
    assert.ok(!matchRoute(m, input({ path: "/x?v=2&id=a123" })));
    assert.ok(!matchRoute(m, input({ path: "/x?id=1" })));
  });

  it("first matching route wins; fractions and weights draw from random()", () => {
    const snap = buildSnapshot({
      vhosts: [
        {
          domains: ["*"],
          routes: [{ path: prefix("/a"), to: "a", fraction: 0.5 }, { to: "rest" }],
        },
      ],
      clusters: {},
    });
    const vhost = [...snap.routeTables.values()][0]?.virtualHosts[0];
    assert.ok(vhost);
    assert.equal(firstCluster(selectRoute(vhost, input({ path: "/a" }), () => 0.4)), "a");
    assert.equal(firstCluster(selectRoute(vhost, input({ path: "/a" }), () => 0.6)), "rest");
    const action = {
      clusters: [
        { cluster: "p", weight: 90 },
        { cluster: "c", weight: 10 },
      ],
      totalWeight: 100,
      timeoutMs: 0,
      mirrors: [],
    };
    assert.equal(
      pickCluster(action, () => 0.89),
      "p",
    );
    assert.equal(
      pickCluster(action, () => 0.9),
      "c",
    );
  });
});

describe("mesh routing: through the proxy", function () {
  this.timeout(20_000);
  const ups: Upstream[] = [];
  after(async () => {
    await Promise.all(ups.map((u) => u.close()));
  });

  async function setup() {
    const [a, b, c] = await Promise.all([
      namedUpstream("a"),
      namedUpstream("b"),
      namedUpstream("c"),
    ]);
    ups.push(a, b, c);
    const snap = buildSnapshot({
      vhosts: [
        {
          domains: ["reviews.demo.svc.cluster.local", "reviews.demo.svc.cluster.local:9080"],
          routes: [
            { headers: [header("end-user", "jason")], to: "b" },
            { path: prefix("/v3"), to: "c" },
            {
              query: [{ name: "canary", match: { kind: "exact", value: "1", ignoreCase: false } }],
              to: "b",
            },
            { to: "a" },
          ],
        },
        {
          domains: ["split.demo.svc.cluster.local"],
          routes: [
            {
              to: [
                ["a", 90],
                ["b", 10],
              ],
            },
          ],
        },
      ],
      clusters: {
        a: { endpoints: [a.port] },
        b: { endpoints: [b.port] },
        c: { endpoints: [c.port] },
      },
    });
    return startProxy(snap);
  }

  it("routes by host, header, path and query; Host reaches the upstream unchanged", async () => {
    const p = await setup();
    try {
      const h = "reviews.demo.svc.cluster.local";
      assert.equal((await send(p.port, { host: h })).body, "a");
      assert.equal((await send(p.port, { host: h, headers: { "end-user": "jason" } })).body, "b");
      assert.equal((await send(p.port, { host: h, path: "/v3/x" })).body, "c");
      assert.equal((await send(p.port, { host: h, path: "/x?canary=1" })).body, "b");
      const r = await send(p.port, { host: `${h}:9080` });
      assert.equal(r.headers["x-seen-host"], `${h}:9080`);
      const records = await p.recorded(5);
      assert.deepEqual(
        records.map((x) => x.upstreamCluster),
        ["a", "b", "c", "b", "a"],
      );
    } finally {
      await p.proxy.close();
    }
  });

  it("takes absolute-form URIs and bare Service names, as HTTP_PROXY clients send them", async () => {
    const p = await setup();
    try {
      const r = await send(p.port, { host: "ignored", path: "http://reviews:9080/v3/y?z=1" });
      assert.equal(r.body, "c");
      assert.equal(r.headers["x-seen-host"], "reviews:9080");
      assert.equal((await send(p.port, { host: "reviews" })).body, "a");
      const [first] = await p.recorded(1);
      assert.equal(first?.authority, "reviews:9080");
      assert.equal(first?.path, "/v3/y?z=1");
    } finally {
      await p.proxy.close();
    }
  });

  it("follows the snapshot as it is swapped, keeping nothing of the old one", async () => {
    const p = await setup();
    try {
      const h = "reviews.demo.svc.cluster.local";
      assert.equal((await send(p.port, { host: h })).body, "a");
      const [, , c] = ups.slice(-3);
      assert.ok(c);
      p.set(
        buildSnapshot({
          vhosts: [{ domains: [h], routes: [{ to: "c2" }] }],
          clusters: { c2: { endpoints: [c.port] } },
        }),
      );
      assert.equal((await send(p.port, { host: h })).body, "c");
      assert.equal((await send(p.port, { host: "split.demo.svc.cluster.local" })).status, 404);
    } finally {
      await p.proxy.close();
    }
  });

  it("answers 404 NR when no route matches", async () => {
    const p = await setup();
    try {
      const r = await send(p.port, { host: "unknown.demo.svc.cluster.local" });
      assert.equal(r.status, 404);
      const [rec] = await p.recorded(1);
      assert.deepEqual(rec?.flags, ["NR"]);
      assert.equal(rec.status, 404);
    } finally {
      await p.proxy.close();
    }
  });

  it("splits 90/10 within ±3 % over 5,000 requests", async () => {
    const p = await setup();
    try {
      const counts = { a: 0, b: 0 };
      let next = 0;
      const worker = async (): Promise<void> => {
        const agent = new (await import("node:http")).Agent({ keepAlive: true, maxSockets: 1 });
        while (next < 5_000) {
          next++;
          const r = await send(p.port, { host: "split.demo.svc.cluster.local", agent });
          counts[r.body as "a" | "b"]++;
        }
        agent.destroy();
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      assert.equal(counts.a + counts.b, 5_000);
      const share = counts.b / 5_000;
      assert.ok(share > 0.07 && share < 0.13, `canary share ${share}`);
    } finally {
      await p.proxy.close();
    }
  });
});
