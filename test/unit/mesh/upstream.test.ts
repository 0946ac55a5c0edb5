// Upstream behaviour: load balancing, circuit breaking, outlier detection, and the 503s for no
// healthy host, connect failure and reset; connection reuse. Real upstreams on loopback.
import assert from "node:assert/strict";
import type http from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { FakeClock } from "../../../src/common/clock.js";
import type { Candidate } from "../../../mesh/upstream/load-balancer.js";
import { createLoadBalancer } from "../../../mesh/upstream/load-balancer.js";
import type { Upstream } from "./harness.js";
import { blackholePort, namedUpstream, send, sleep, startProxy, startUpstream } from "./harness.js";
import type { ClusterSpec } from "./snapshot-builder.js";
import { buildSnapshot } from "./snapshot-builder.js";

const cand = (key: string, weight = 1): Candidate => ({
  key,
  endpoint: { address: "127.0.0.1", port: Number(key), zone: "", weight },
});

describe("mesh load balancers", () => {
  it("round robin rotates, and follows weights smoothly", () => {
    const rr = createLoadBalancer("ROUND_ROBIN", Math.random);
    const list = [cand("1"), cand("2"), cand("3")] as const;
    assert.deepEqual(
      Array.from({ length: 6 }, () => rr.pick(list, () => 0).key),
      ["1", "2", "3", "1", "2", "3"],
    );
    const wrr = createLoadBalancer("ROUND_ROBIN", Math.random);
    const weighted = [cand("1", 3), cand("2", 1)] as const;
    assert.deepEqual(Array.from({ length: 4 }, () => wrr.pick(weighted, () => 0).key).sort(), [
      "1",
      "1",
      "1",
      "2",
    ]);
  });

  it("random draws by weight", () => {
    let r = 0;
    const lb = createLoadBalancer("RANDOM", () => r);
    const list = [cand("1", 3), cand("2", 1)] as const;
    r = 0.74;
    assert.equal(lb.pick(list, () => 0).key, "1");
    r = 0.76;
    assert.equal(lb.pick(list, () => 0).key, "2");
  });

  it("least request takes the less busy of two random choices", () => {
    const draws = [0, 0];
    const lb = createLoadBalancer("LEAST_REQUEST", () => draws.shift() ?? 0);
    const active = new Map([
      ["1", 5],
      ["2", 1],
      ["3", 0],
    ]);
    assert.equal(lb.pick([cand("1"), cand("2"), cand("3")], (k) => active.get(k) ?? 0).key, "2");
  });
});

describe("mesh upstream clusters through the proxy", function () {
  this.timeout(20_000);
  const ups: Upstream[] = [];
  afterEach(async () => {
    await Promise.all(ups.splice(0).map((u) => u.close()));
  });

  const proxyTo = (cluster: ClusterSpec, clock?: FakeClock) =>
    startProxy(
      buildSnapshot({
        vhosts: [{ domains: ["*"], routes: [{ to: "up" }] }],
        clusters: { up: cluster },
      }),
      clock === undefined ? {} : { clock },
    );

  /** An upstream whose requests wait until `release()`. */
  async function holding(): Promise<{ up: Upstream; release: () => void; held: () => number }> {
    const waiting: http.ServerResponse[] = [];
    const up = await startUpstream((req, res) => {
      req.resume();
      waiting.push(res);
    });
    ups.push(up);
    return {
      up,
      held: () => waiting.length,
      release: () => {
        waiting.splice(0).forEach((r) => r.end("late"));
      },
    };
  }

  it("round robin spreads requests evenly", async () => {
    const named = await Promise.all(["a", "b", "c"].map(namedUpstream));
    ups.push(...named);
    const p = await proxyTo({ endpoints: named.map((u) => u.port), lb: "ROUND_ROBIN" });
    try {
      const bodies = [];
      for (let i = 0; i < 9; i++) bodies.push((await send(p.port)).body);
      assert.deepEqual(bodies.sort(), ["a", "a", "a", "b", "b", "b", "c", "c", "c"]);
    } finally {
      await p.proxy.close();
    }
  });

  it("least request steers away from a host with requests in flight", async () => {
    const slow = await holding();
    const fast = await namedUpstream("fast");
    ups.push(fast);
    const p = await proxyTo({ endpoints: [slow.up.port, fast.port], lb: "LEAST_REQUEST" });
    try {
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < 10; i++) {
        pending.push(send(p.port));
        await sleep(15);
      }
      assert.ok(slow.held() <= 1, `slow host got ${slow.held()}`);
      slow.release();
      await Promise.all(pending);
    } finally {
      await p.proxy.close();
    }
  });

  it("sheds with 503 UO and x-envoy-overloaded past max requests", async () => {
    const h = await holding();
    const p = await proxyTo({ endpoints: [h.up.port], circuitBreaker: { maxRequests: 1 } });
    try {
      const first = send(p.port);
      while (h.held() < 1) await sleep(2);
      const r = await send(p.port);
      assert.equal(r.status, 503);
      assert.equal(r.headers["x-envoy-overloaded"], "true");
      assert.match(r.body, /reset reason: overflow/);
      h.release();
      assert.equal((await first).status, 200);
      const flags = (await p.recorded(2)).map((x) => x.flags);
      assert.deepEqual(flags, [["UO"], []]);
    } finally {
      await p.proxy.close();
    }
  });

  it("queues up to max pending requests behind max connections, then sheds", async () => {
    const h = await holding();
    const p = await proxyTo({
      endpoints: [h.up.port],
      circuitBreaker: { maxConnections: 1, maxPendingRequests: 1 },
    });
    try {
      const first = send(p.port);
      while (h.held() < 1) await sleep(2);
      const second = send(p.port);
      await sleep(30);
      const third = await send(p.port);
      assert.equal(third.status, 503);
      assert.equal(third.headers["x-envoy-overloaded"], "true");
      h.release();
      assert.equal((await first).status, 200);
      while (h.held() < 1) await sleep(2);
      h.release();
      assert.equal((await second).status, 200);
      assert.equal(h.up.connections(), 1);
    } finally {
      await p.proxy.close();
    }
  });

  it("ejects a host after consecutive 5xx for base × ejections, then brings it back", async () => {
    const clock = new FakeClock();
    const bad = await startUpstream((req, res) => {
      req.resume();
      res.statusCode = 500;
      res.end("bad");
    });
    const good = await namedUpstream("good");
    ups.push(bad, good);
    const outlier = {
      consecutive5xx: 2,
      intervalMs: 10_000,
      baseEjectionTimeMs: 30_000,
      maxEjectionPercent: 50,
    };
    const p = await proxyTo(
      { endpoints: [bad.port, good.port], lb: "ROUND_ROBIN", outlier },
      clock,
    );
    const statuses = async (n: number): Promise<number[]> => {
      const out = [];
      for (let i = 0; i < n; i++) out.push((await send(p.port)).status);
      return out;
    };
    try {
      assert.deepEqual(await statuses(4), [500, 200, 500, 200]);
      assert.deepEqual(await statuses(6), [200, 200, 200, 200, 200, 200]);
      await clock.advance(30_000);
      assert.deepEqual((await statuses(4)).sort(), [200, 200, 500, 500]);
      // Ejected a second time: 60 s.
      await clock.advance(30_000);
      assert.deepEqual(await statuses(2), [200, 200]);
      await clock.advance(30_000);
      assert.deepEqual((await statuses(2)).sort(), [200, 500]);
    } finally {
      await p.proxy.close();
    }
  });

  it("ejects no more than max ejection percent, but at least one host", async () => {
    const clock = new FakeClock();
    const failing = await Promise.all(
      [1, 2].map(() =>
        startUpstream((req, res) => {
          req.resume();
          res.statusCode = 503;
          res.end();
        }),
      ),
    );
    ups.push(...failing);
    const outlier = {
      consecutive5xx: 1,
      intervalMs: 10_000,
      baseEjectionTimeMs: 30_000,
      maxEjectionPercent: 10,
    };
    const p = await proxyTo({ endpoints: failing.map((u) => u.port), outlier }, clock);
    try {
      for (let i = 0; i < 6; i++) assert.equal((await send(p.port)).status, 503);
      const hosts = (await p.recorded(6)).map((r) => r.upstreamHost);
      assert.equal(new Set(hosts.slice(2)).size, 1, "one host ejected, the other still serving");
    } finally {
      await p.proxy.close();
    }
  });

  it("answers 503 UH without a healthy endpoint", async () => {
    const p = await proxyTo({ endpoints: [] });
    try {
      const r = await send(p.port);
      assert.equal(r.status, 503);
      assert.equal(r.body, "no healthy upstream");
      assert.deepEqual((await p.recorded(1))[0]?.flags, ["UH"]);
    } finally {
      await p.proxy.close();
    }
  });

  it("answers 503 UF when the connection is refused", async () => {
    const p = await proxyTo({ endpoints: [1] });
    try {
      const r = await send(p.port);
      assert.equal(r.status, 503);
      assert.match(r.body, /connection failure/);
      assert.deepEqual((await p.recorded(1))[0]?.flags, ["UF"]);
    } finally {
      await p.proxy.close();
    }
  });

  it("answers 503 UF when the connect timeout expires", async () => {
    const hole = await blackholePort();
    const p = await proxyTo({ endpoints: [hole.port], connectTimeoutMs: 100 });
    try {
      const t0 = Date.now();
      const r = await send(p.port);
      const took = Date.now() - t0;
      assert.equal(r.status, 503);
      assert.match(r.body, /connection failure/);
      assert.ok(took >= 95 && took < 1_000, `took ${took} ms`);
      assert.deepEqual((await p.recorded(1))[0]?.flags, ["UF"]);
    } finally {
      hole.close();
      await p.proxy.close();
    }
  });

  it("answers 503 UC when the upstream resets the connection", async () => {
    const up = await startUpstream((req) => {
      req.socket.destroy();
    });
    ups.push(up);
    const p = await proxyTo({ endpoints: [up.port] });
    try {
      const r = await send(p.port);
      assert.equal(r.status, 503);
      assert.match(r.body, /connection termination/);
      assert.deepEqual((await p.recorded(1))[0]?.flags, ["UC"]);
    } finally {
      await p.proxy.close();
    }
  });

  it("answers 503 NC when the route names a cluster the snapshot lacks", async () => {
    const p = await startProxy(
      buildSnapshot({ vhosts: [{ domains: ["*"], routes: [{ to: "gone" }] }], clusters: {} }),
    );
    try {
      assert.equal((await send(p.port)).status, 503);
      assert.deepEqual((await p.recorded(1))[0]?.flags, ["NC"]);
    } finally {
      await p.proxy.close();
    }
  });

  it("reuses upstream connections across downstream connections", async () => {
    const up = await namedUpstream("a");
    ups.push(up);
    const p = await proxyTo({ endpoints: [up.port] });
    try {
      for (let i = 0; i < 20; i++) assert.equal((await send(p.port)).status, 200);
      assert.equal(up.connections(), 1);
    } finally {
      await p.proxy.close();
    }
  });

  /** An upstream that answers after `delayMs` (per path) and notes when the proxy hangs up. */
  async function timedUpstream(keepAliveSeconds: number, delayMs: (path: string) => number) {
    const hangUps: number[] = [];
    let connections = 0;
    const server = createServer((req, res) => {
      req.resume();
      setTimeout(() => res.end("ok"), delayMs(req.url ?? "/"));
    });
    server.keepAliveTimeout = keepAliveSeconds * 1000;
    server.on("connection", (socket) => {
      connections++;
      // 'end' is the client's FIN: the proxy closed, not the server's own timeout.
      socket.once("end", () => hangUps.push(Date.now()));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    ups.push({
      port,
      connections: () => connections,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => {
            resolve();
          });
        }),
    });
    return { port, hangUps, connections: () => connections };
  }

  async function until(what: string, ok: () => boolean, withinMs: number): Promise<void> {
    const deadline = Date.now() + withinMs;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it("closes a pooled connection a second before the server's Keep-Alive timeout", async () => {
    const up = await timedUpstream(2, () => 0);
    const p = await proxyTo({ endpoints: [up.port] });
    try {
      assert.equal((await send(p.port)).status, 200);
      const answered = Date.now();
      await until("the proxy closed its idle connection", () => up.hangUps.length > 0, 1_900);
      const idleMs = (up.hangUps[0] ?? 0) - answered;
      assert.ok(idleMs >= 900, `closed after ${idleMs} ms`);
    } finally {
      await p.proxy.close();
    }
  });

  it("keeps a reused connection whose response takes longer than the idle timeout", async () => {
    const up = await timedUpstream(30, (path) => (path === "/slow" ? 4_500 : 0));
    const p = await proxyTo({ endpoints: [up.port] });
    try {
      assert.equal((await send(p.port)).status, 200);
      assert.equal((await send(p.port, { path: "/slow" })).status, 200);
      assert.equal(up.connections(), 1);
      assert.deepEqual(up.hangUps, []);
    } finally {
      await p.proxy.close();
    }
  });
});
