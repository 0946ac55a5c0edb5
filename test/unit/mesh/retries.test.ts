// Retries and timeouts: Envoy's retry_on conditions, per-try and route timeouts, back-off, the
// retry buffer and the retry budget, against real upstreams.
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { AttemptResult } from "../../../mesh/filters/retry-policy.js";
import { backoffMs, isRetriable } from "../../../mesh/filters/retry-policy.js";
import type { RetryPolicy } from "../../../mesh/routing/model.js";
import type { Upstream } from "./harness.js";
import { send, startProxy, startUpstream } from "./harness.js";
import type { RouteSpec } from "./snapshot-builder.js";
import { buildSnapshot } from "./snapshot-builder.js";

const policy = (retryOn: string[], codes: number[] = []): RetryPolicy => ({
  retryOn: new Set(retryOn),
  numRetries: 2,
  perTryTimeoutMs: 0,
  retriableStatusCodes: new Set(codes),
  backoffBaseMs: 25,
  backoffMaxMs: 250,
});
const status = (s: number, grpcStatus?: number): AttemptResult => ({
  kind: "response",
  status: s,
  grpcStatus,
});
const fail = (reason: Extract<AttemptResult, { kind: "failure" }>["reason"]): AttemptResult => ({
  kind: "failure",
  reason,
});

describe("mesh retry policy", () => {
  const table: [string[], AttemptResult, boolean][] = [
    [["5xx"], status(500), true],
    [["5xx"], status(404), false],
    [["5xx"], fail("connect-failure"), true],
    [["5xx"], fail("per-try-timeout"), true],
    [["gateway-error"], status(500), false],
    [["gateway-error"], status(503), true],
    [["reset"], status(503), false],
    [["reset"], fail("connection-termination"), true],
    [["connect-failure"], fail("connect-failure"), true],
    [["connect-failure"], fail("remote-reset"), false],
    [["refused-stream"], fail("refused-stream"), true],
    [["refused-stream"], fail("remote-reset"), false],
    [["retriable-4xx"], status(409), true],
    [["retriable-4xx"], status(400), false],
    [["5xx"], fail("overflow"), false],
    [["5xx"], fail("no-healthy-upstream"), false],
    [["unavailable"], status(200, 14), true],
    [["cancelled", "internal"], status(200, 13), true],
    [["deadline-exceeded"], status(200, 14), false],
    [["resource-exhausted"], status(200, 8), true],
  ];
  for (const [on, result, want] of table) {
    it(`${on.join(",")} ${want ? "retries" : "does not retry"} ${JSON.stringify(result)}`, () => {
      assert.equal(isRetriable(policy(on), result), want);
    });
  }

  it("retriable-status-codes retries only the listed codes", () => {
    assert.ok(isRetriable(policy(["retriable-status-codes"], [418]), status(418)));
    assert.ok(!isRetriable(policy(["retriable-status-codes"], [418]), status(500)));
  });

  it("backs off with full jitter, exponentially, capped at the maximum", () => {
    const p = { backoffBaseMs: 25, backoffMaxMs: 250 };
    assert.equal(
      backoffMs(1, p, () => 0.999),
      24,
    );
    assert.equal(
      backoffMs(2, p, () => 0.999),
      74,
    );
    assert.equal(
      backoffMs(5, p, () => 0.999),
      249,
    );
    assert.equal(
      backoffMs(3, p, () => 0),
      0,
    );
    assert.equal(
      backoffMs(1, { backoffBaseMs: 0, backoffMaxMs: 0 }, () => 0.999),
      24,
    );
  });
});

describe("mesh retries and timeouts through the proxy", function () {
  this.timeout(20_000);
  const ups: Upstream[] = [];
  afterEach(async () => {
    await Promise.all(ups.splice(0).map((u) => u.close()));
  });

  /** Upstream that answers each request by its sequence number; `hang` never answers. */
  async function scripted(
    script: (n: number) => number | "hang",
  ): Promise<{ up: Upstream; seen: () => number; bodies: string[] }> {
    let n = 0;
    const bodies: string[] = [];
    const up = await startUpstream((req, res) => {
      const step = script(n++);
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        bodies.push(body);
        if (step === "hang") return;
        res.statusCode = step;
        res.end(`status ${step}`);
      });
    });
    ups.push(up);
    return { up, seen: () => n, bodies };
  }

  function proxyTo(ports: number[], route: Omit<RouteSpec, "to">, maxRetries?: number) {
    return startProxy(
      buildSnapshot({
        vhosts: [{ domains: ["*"], routes: [{ ...route, to: "up" }] }],
        clusters: {
          up: {
            endpoints: ports,
            ...(maxRetries !== undefined && { circuitBreaker: { maxRetries } }),
          },
        },
      }),
    );
  }

  it("retries a 503 and returns the success, replaying the request body", async () => {
    const s = await scripted((n) => (n < 2 ? 503 : 200));
    const p = await proxyTo([s.up.port], { retry: { retryOn: ["5xx"], numRetries: 2 } });
    try {
      const r = await send(p.port, { method: "POST", body: "hello" });
      assert.equal(r.status, 200);
      assert.equal(s.seen(), 3);
      assert.deepEqual(s.bodies, ["hello", "hello", "hello"]);
      const [rec] = await p.recorded(1);
      assert.deepEqual(rec?.flags, []);
      assert.equal(rec.bytes.received, 5);
    } finally {
      await p.proxy.close();
    }
  });

  it("gives the last response and flags URX when retries run out", async () => {
    const s = await scripted(() => 503);
    const p = await proxyTo([s.up.port], { retry: { retryOn: ["gateway-error"], numRetries: 1 } });
    try {
      const r = await send(p.port);
      assert.equal(r.status, 503);
      assert.equal(r.body, "status 503");
      assert.equal(s.seen(), 2);
      assert.deepEqual((await p.recorded(1))[0]?.flags, ["URX"]);
    } finally {
      await p.proxy.close();
    }
  });

  it("does not retry bodies larger than the retry buffer", async () => {
    const s = await scripted(() => 503);
    const p = await proxyTo([s.up.port], { retry: { retryOn: ["5xx"], numRetries: 2 } });
    try {
      const r = await send(p.port, { method: "POST", body: Buffer.alloc(100 * 1024, 97) });
      assert.equal(r.status, 503);
      assert.equal(s.seen(), 1);
      assert.equal(s.bodies[0]?.length, 100 * 1024);
    } finally {
      await p.proxy.close();
    }
  });

  it("retries when the per-try timeout expires", async () => {
    const s = await scripted((n) => (n === 0 ? "hang" : 200));
    const p = await proxyTo([s.up.port], {
      retry: { retryOn: ["5xx"], numRetries: 2, perTryTimeoutMs: 100 },
    });
    try {
      const r = await send(p.port);
      assert.equal(r.status, 200);
      assert.equal(s.seen(), 2);
    } finally {
      await p.proxy.close();
    }
  });

  it("answers 504 UT when per-try timeouts use up the retries", async () => {
    const s = await scripted(() => "hang");
    const p = await proxyTo([s.up.port], {
      retry: { retryOn: ["5xx"], numRetries: 1, perTryTimeoutMs: 50 },
    });
    try {
      const r = await send(p.port);
      assert.equal(r.status, 504);
      assert.equal(s.seen(), 2);
      assert.deepEqual((await p.recorded(1))[0]?.flags, ["URX", "UT"]);
    } finally {
      await p.proxy.close();
    }
  });

  it("answers 504 UT at the route timeout, which bounds all the retries", async () => {
    const s = await scripted(() => "hang");
    const p = await proxyTo([s.up.port], {
      timeoutMs: 200,
      retry: { retryOn: ["5xx"], numRetries: 10, perTryTimeoutMs: 60 },
    });
    try {
      const t0 = Date.now();
      const r = await send(p.port);
      const took = Date.now() - t0;
      assert.equal(r.status, 504);
      assert.equal(r.body, "upstream request timeout");
      assert.ok(took >= 190 && took < 1_000, `took ${took} ms`);
      assert.ok(s.seen() >= 2 && s.seen() <= 4, `tries ${s.seen()}`);
      const [rec] = await p.recorded(1);
      assert.ok(rec);
      assert.ok(rec.flags.includes("UT"));
      assert.ok(rec.durationMs >= 190);
    } finally {
      await p.proxy.close();
    }
  });

  it("resets a response still streaming when the route timeout expires (UT)", async () => {
    const up = await startUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("partial");
    });
    ups.push(up);
    const p = await proxyTo([up.port], { timeoutMs: 150 });
    try {
      const outcome = await new Promise<string>((resolve) => {
        http.get({ port: p.port, host: "127.0.0.1", headers: { host: "x" } }, (res) => {
          res.on("data", () => undefined);
          res.on("error", () => {
            resolve(`status ${res.statusCode} then reset`);
          });
          res.on("end", () => {
            resolve("ended");
          });
        });
      });
      assert.equal(outcome, "status 200 then reset");
      const [rec] = await p.recorded(1);
      assert.equal(rec?.status, 200);
      assert.deepEqual(rec.flags, ["UT"]);
    } finally {
      await p.proxy.close();
    }
  });

  it("retries connect failures on another host", async () => {
    const closed = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, "127.0.0.1", () => {
        const port = (srv.address() as net.AddressInfo).port;
        srv.close(() => {
          resolve(port);
        });
      });
    });
    const s = await scripted(() => 200);
    const p = await proxyTo([closed, s.up.port], {
      retry: { retryOn: ["connect-failure"], numRetries: 1 },
    });
    try {
      for (let i = 0; i < 4; i++) assert.equal((await send(p.port)).status, 200);
      assert.equal(s.seen(), 4);
    } finally {
      await p.proxy.close();
    }
  });

  it("skips the retry and flags UO when the cluster's retry budget is spent", async () => {
    const s = await scripted(() => 503);
    const p = await proxyTo([s.up.port], { retry: { retryOn: ["5xx"], numRetries: 2 } }, 0);
    try {
      assert.equal((await send(p.port)).status, 503);
      assert.equal(s.seen(), 1);
      assert.deepEqual((await p.recorded(1))[0]?.flags, ["UO"]);
    } finally {
      await p.proxy.close();
    }
  });
});
