// Translated Gateway API routes served by a running proxy with a real upstream: a redirect, header
// modifiers with a prefix rewrite, the 500 share of an invalid backend, and the direct 500 of a
// rule with nothing to send to.
import assert from "node:assert/strict";
import { OUTBOUND_HTTP_LISTENER } from "../../../src/xds/names.js";
import { gatewayRoutes } from "../../../src/xds/translate/gateway-routes.js";
import type { TestProxy, Upstream } from "../mesh/harness.js";
import { send, startProxy, startUpstream } from "../mesh/harness.js";
import { buildSnapshot } from "../mesh/snapshot-builder.js";
import { ok, table } from "../mesh/xds-client-convert-helpers.js";
import { backend, clusterOf, compiled, path } from "./gateway-fixtures.js";

describe("xds gateway routes in a running proxy", function () {
  this.timeout(20_000);
  let up: Upstream;
  let p: TestProxy | undefined;
  before(async () => {
    // Answers with the path and headers it got, and one header of its own to remove.
    up = await startUpstream((req, res) => {
      req.resume();
      req.on("end", () => {
        res.setHeader("x-internal", "1");
        res.end(JSON.stringify({ url: req.url, headers: req.headers }));
      });
    });
  });
  after(async () => {
    await p?.proxy.close();
    await up.close();
  });

  it("serves the redirect, the header modifiers, the invalid share's 500 and the direct 500", async () => {
    const routes = gatewayRoutes(
      [
        compiled({
          rule: 0,
          match: path({ type: "PathPrefix", value: "/old" }),
          action: {
            kind: "redirect",
            statusCode: 301,
            hostname: "b.example",
            path: { type: "ReplacePrefixMatch", value: "/new" },
          },
        }),
        compiled({
          rule: 1,
          match: path({ type: "PathPrefix", value: "/api/" }),
          requestHeaders: {
            set: [{ name: "X-Set", value: "set" }],
            add: [{ name: "x-add", value: "added" }],
            remove: ["x-gone"],
          },
          responseHeaders: {
            set: [{ name: "x-resp", value: "1" }],
            add: [],
            remove: ["x-internal"],
          },
          rewrite: { path: { type: "ReplacePrefixMatch", value: "/" } },
        }),
        compiled({
          rule: 2,
          match: path({ type: "PathPrefix", value: "/half" }),
          // Half the weight names a backend that cannot be resolved.
          action: { kind: "forward", backends: [backend("a", 100)], failedWeight: 100 },
        }),
        compiled({ rule: 3, action: { kind: "status", code: 500, reason: "no backend" } }),
      ],
      clusterOf,
    );
    const t = ok(table([{ name: "vh", domains: ["*"], routes }]));
    const base = buildSnapshot({
      vhosts: [],
      clusters: { [clusterOf(backend("a"))]: { endpoints: [up.port] } },
    });
    p = await startProxy({ ...base, routeTables: new Map([[OUTBOUND_HTTP_LISTENER, t]]) });

    const redirect = await send(p.port, { host: "web.demo:8080", path: "/old/x?q=1" });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, "http://b.example/new/x?q=1");

    const api = await send(p.port, {
      path: "/api/items?id=7",
      headers: { "x-add": "client", "x-set": "client", "x-gone": "client" },
    });
    assert.equal(api.status, 200, api.body);
    const seen = JSON.parse(api.body) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, "/items?id=7");
    assert.deepEqual(
      ["x-set", "x-add", "x-gone"].map((h) => seen.headers[h]),
      ["set", "client, added", undefined],
    );
    assert.equal(api.headers["x-resp"], "1");
    assert.equal(api.headers["x-internal"], undefined);

    // The invalid backend's share is answered 500, the rest reaches the upstream.
    const statuses = new Map<number, number>();
    for (let i = 0; i < 60; i++) {
      const { status } = await send(p.port, { path: "/half" });
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    assert.deepEqual([...statuses.keys()].sort(), [200, 500], JSON.stringify([...statuses]));

    // /apix is not below /api/: it falls through to the last rule.
    assert.equal((await send(p.port, { path: "/apix" })).status, 500);
  });
});
