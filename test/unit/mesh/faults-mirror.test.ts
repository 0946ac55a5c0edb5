// Fault injection (abort and delay by fraction, before the router) and mirroring (a copy with a
// `-shadow` host, fire and forget) through a running proxy.
import assert from "node:assert/strict";
import type http from "node:http";
import type { Upstream } from "./harness.js";
import { namedUpstream, send, sleep, startProxy, startUpstream } from "./harness.js";
import type { RouteSpec } from "./snapshot-builder.js";
import { buildSnapshot } from "./snapshot-builder.js";

describe("mesh fault injection and mirroring", function () {
  this.timeout(20_000);
  const ups: Upstream[] = [];
  afterEach(async () => {
    await Promise.all(ups.splice(0).map((u) => u.close()));
  });

  async function counted(): Promise<{ up: Upstream; seen: () => number }> {
    let n = 0;
    const up = await startUpstream((req, res) => {
      n++;
      req.resume();
      res.end("ok");
    });
    ups.push(up);
    return { up, seen: () => n };
  }

  const proxyTo = (port: number, route: Omit<RouteSpec, "to">) =>
    startProxy(
      buildSnapshot({
        vhosts: [{ domains: ["*"], routes: [{ ...route, to: "up" }] }],
        clusters: { up: { endpoints: [port] } },
      }),
    );

  it("aborts every request with the configured status, flag FI, never reaching upstream or retried", async () => {
    const s = await counted();
    const p = await proxyTo(s.up.port, {
      fault: { abort: { httpStatus: 418, fraction: 1 } },
      retry: { retryOn: ["retriable-status-codes"], retriableStatusCodes: new Set([418]) },
    });
    try {
      const r = await send(p.port);
      assert.equal(r.status, 418);
      assert.equal(r.body, "fault filter abort");
      assert.equal(s.seen(), 0);
      assert.deepEqual((await p.recorded(1))[0]?.flags, ["FI"]);
    } finally {
      await p.proxy.close();
    }
  });

  it("aborts about the configured fraction of requests", async () => {
    const s = await counted();
    const p = await proxyTo(s.up.port, { fault: { abort: { httpStatus: 503, fraction: 0.3 } } });
    try {
      let aborted = 0;
      for (let i = 0; i < 400; i++) if ((await send(p.port)).status === 503) aborted++;
      assert.ok(aborted > 80 && aborted < 160, `aborted ${aborted}/400`);
      assert.equal(s.seen(), 400 - aborted);
    } finally {
      await p.proxy.close();
    }
  });

  it("delays requests (flag DI), outside the route timeout", async () => {
    const s = await counted();
    const p = await proxyTo(s.up.port, {
      timeoutMs: 100,
      fault: { delay: { ms: 150, fraction: 1 } },
    });
    try {
      const t0 = Date.now();
      const r = await send(p.port);
      assert.equal(r.status, 200);
      assert.ok(Date.now() - t0 >= 145);
      const [rec] = await p.recorded(1);
      assert.deepEqual(rec?.flags, ["DI"]);
      assert.ok(rec.durationMs >= 145);
    } finally {
      await p.proxy.close();
    }
  });

  it("delays none when the fraction is 0", async () => {
    const s = await counted();
    const p = await proxyTo(s.up.port, { fault: { delay: { ms: 5_000, fraction: 0 } } });
    try {
      assert.equal((await send(p.port)).status, 200);
      assert.deepEqual((await p.recorded(1))[0]?.flags, []);
    } finally {
      await p.proxy.close();
    }
  });

  function mirrorSetup(mirror: Upstream | number, main: Upstream, fraction = 1) {
    return startProxy(
      buildSnapshot({
        vhosts: [
          {
            domains: ["*"],
            routes: [{ to: "main", timeoutMs: 500, mirrors: [{ cluster: "shadow", fraction }] }],
          },
        ],
        clusters: {
          main: { endpoints: [main.port] },
          shadow: { endpoints: [typeof mirror === "number" ? mirror : mirror.port] },
        },
      }),
    );
  }

  it("sends a copy with the body to the mirror cluster, host suffixed -shadow", async () => {
    const copies: { host: string; body: string; method: string }[] = [];
    const mirror = await startUpstream((req: http.IncomingMessage, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        copies.push({ host: req.headers.host ?? "", body, method: req.method ?? "" });
        res.statusCode = 500;
        res.end("mirror says no");
      });
    });
    const main = await namedUpstream("main");
    ups.push(mirror, main);
    const p = await mirrorSetup(mirror, main);
    try {
      const r = await send(p.port, { host: "reviews:9080", method: "POST", body: "payload" });
      assert.equal(r.status, 200);
      assert.equal(r.body, "main");
      for (let i = 0; i < 100 && copies.length === 0; i++) await sleep(5);
      assert.deepEqual(copies, [{ host: "reviews-shadow:9080", body: "payload", method: "POST" }]);
      const records = await p.recorded(1);
      assert.equal(records.length, 1, "the mirror is not a downstream request");
      assert.equal(records[0]?.upstreamCluster, "main");
    } finally {
      await p.proxy.close();
    }
  });

  it("serves the request untouched when the mirror hangs or is down", async () => {
    const hanging = await startUpstream(() => undefined);
    const main = await namedUpstream("main");
    ups.push(hanging, main);
    for (const mirror of [hanging, 1]) {
      const p = await mirrorSetup(mirror, main);
      try {
        const t0 = Date.now();
        const r = await send(p.port, { method: "POST", body: "x" });
        assert.equal(r.status, 200);
        assert.ok(Date.now() - t0 < 300);
        assert.deepEqual((await p.recorded(1))[0]?.flags, []);
      } finally {
        await p.proxy.close();
      }
    }
  });

  it("mirrors nothing at fraction 0", async () => {
    const m = await counted();
    const main = await namedUpstream("main");
    ups.push(main);
    const p = await mirrorSetup(m.up, main, 0);
    try {
      for (let i = 0; i < 20; i++) await send(p.port);
      await sleep(20);
      assert.equal(m.seen(), 0);
    } finally {
      await p.proxy.close();
    }
  });
});
