// The HTTP/1.1 upstream side through the proxy, on real sockets on loopback: how each way an
// upstream can fail is flagged, the resend of a request that a stale keep-alive connection lost,
// the cluster's connection cap across its endpoints, 1xx responses, and the request head sent.
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { classifyError } from "../../../mesh/upstream/outcome.js";
import type { FailureReason } from "../../../mesh/upstream/outcome.js";
import type { Upstream } from "./harness.js";
import { namedUpstream, send, sleep, startProxy, startUpstream } from "./harness.js";
import type { ClusterSpec } from "./snapshot-builder.js";
import { buildSnapshot } from "./snapshot-builder.js";

/** One request as a raw upstream read it: its head, and the connection it came on (from 1). */
interface RawRequest {
  readonly head: string;
  readonly connection: number;
  /** The request's number on its connection, from 1. */
  readonly onConnection: number;
  readonly socket: net.Socket;
}

interface RawUpstream extends Upstream {
  readonly requests: RawRequest[];
  /** Connections open now. */
  readonly open: () => number;
}

/** Connections open at once across upstreams that share it, and the most seen. */
interface Gauge {
  open: number;
  max: number;
}

/**
 * A TCP server that reads request heads (and skips Content-Length bodies) and lets `answer`
 * write whatever bytes it likes, or nothing, on the socket.
 */
async function rawUpstream(
  answer: (r: RawRequest) => void,
  gauge: Gauge = { open: 0, max: 0 },
): Promise<RawUpstream> {
  const requests: RawRequest[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    const connection = ++connections;
    sockets.add(socket);
    gauge.open++;
    // Read a moment later: a connection the proxy closed to make room may still be closing here.
    setTimeout(() => (gauge.max = Math.max(gauge.max, gauge.open)), 20);
    socket.on("close", () => {
      sockets.delete(socket);
      gauge.open--;
    });
    socket.on("error", () => undefined);
    let buffered = Buffer.alloc(0);
    let skip = 0;
    let n = 0;
    socket.on("data", (d: Buffer) => {
      buffered = Buffer.concat([buffered, d]);
      for (;;) {
        if (skip > 0) {
          const take = Math.min(skip, buffered.length);
          skip -= take;
          buffered = buffered.subarray(take);
          if (skip > 0) return;
        }
        const end = buffered.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString("latin1");
        buffered = buffered.subarray(end + 4);
        skip = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        const r = { head, connection, onConnection: ++n, socket };
        requests.push(r);
        answer(r);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    requests,
    open: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const OK = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

/** The request's header lines, lower-cased names, in the order sent. */
function headerLines(head: string): string[] {
  return head
    .split("\r\n")
    .slice(1)
    .map((l) => {
      const i = l.indexOf(":");
      return `${l.slice(0, i).toLowerCase()}:${l.slice(i + 1).trim()}`;
    });
}

describe("mesh HTTP/1.1 upstream: failures classified", () => {
  const table: [string, string | undefined, boolean, FailureReason][] = [
    ["refused", "ECONNREFUSED", false, "connect-failure"],
    ["connect timeout", "ETIMEDOUT", false, "connect-failure"],
    ["reset while connecting", "ECONNRESET", false, "connect-failure"],
    ["no code, not connected", undefined, false, "connect-failure"],
    ["reset once connected", "ECONNRESET", true, "connection-termination"],
    ["peer closed once connected", "UND_ERR_SOCKET", true, "connection-termination"],
    ["unparsable response", "HPE_INVALID_CONSTANT", true, "connection-termination"],
    [
      "TLS peer refused by secure naming",
      "ERR_VIREO_UPSTREAM_TLS",
      false,
      "connection-termination",
    ],
  ];
  for (const [what, code, connected, want] of table) {
    it(`${what} (${code ?? "no code"}, ${connected ? "connected" : "connecting"}) → ${want}`, () => {
      const err = Object.assign(new Error(what), code === undefined ? {} : { code });
      assert.equal(classifyError(err, connected), want);
    });
  }
});

describe("mesh HTTP/1.1 upstream through the proxy", function () {
  this.timeout(20_000);
  const ups: Upstream[] = [];
  afterEach(async () => {
    await Promise.all(ups.splice(0).map((u) => u.close()));
  });

  async function raw(answer: (r: RawRequest) => void, gauge?: Gauge): Promise<RawUpstream> {
    const up = await rawUpstream(answer, gauge);
    ups.push(up);
    return up;
  }

  const proxyTo = (cluster: ClusterSpec) =>
    startProxy(
      buildSnapshot({
        vhosts: [{ domains: ["*"], routes: [{ to: "up" }] }],
        clusters: { up: cluster },
      }),
    );

  /** GET through the proxy: status, then "ended" or "reset" for how the body finished. */
  function fetchEnd(port: number): Promise<string> {
    return new Promise((resolve) => {
      const req = http.get({ port, host: "127.0.0.1", headers: { host: "svc" } }, (res) => {
        res.on("data", () => undefined);
        res.on("error", () => {
          resolve(`${res.statusCode} reset`);
        });
        res.on("end", () => {
          resolve(`${res.statusCode} ended`);
        });
      });
      req.on("error", (e) => {
        resolve(`request failed: ${e.message}`);
      });
    });
  }

  describe("failures", () => {
    it("answers 503 UC when the upstream closes before answering", async () => {
      const up = await raw((r) => r.socket.end());
      const p = await proxyTo({ endpoints: [up.port] });
      try {
        const r = await send(p.port);
        assert.equal(r.status, 503);
        assert.match(r.body, /reset reason: connection termination/);
        assert.deepEqual((await p.recorded(1))[0]?.flags, ["UC"]);
      } finally {
        await p.proxy.close();
      }
    });

    it("answers 503 UC when the upstream's answer is not HTTP", async () => {
      const up = await raw((r) => r.socket.end("SSH-2.0-OpenSSH_9.6\r\n"));
      const p = await proxyTo({ endpoints: [up.port] });
      try {
        const r = await send(p.port);
        assert.equal(r.status, 503);
        assert.deepEqual((await p.recorded(1))[0]?.flags, ["UC"]);
      } finally {
        await p.proxy.close();
      }
    });

    it("resets the downstream and flags UR when the upstream dies mid-body", async () => {
      const up = await raw((r) => {
        r.socket.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial");
        setTimeout(() => r.socket.destroy(), 50);
      });
      const p = await proxyTo({ endpoints: [up.port] });
      try {
        assert.equal(await fetchEnd(p.port), "200 reset");
        const [rec] = await p.recorded(1);
        assert.equal(rec?.status, 200);
        assert.deepEqual(rec.flags, ["UR"]);
      } finally {
        await p.proxy.close();
      }
    });

    it("resets the downstream and flags UR when a chunked body stops short", async () => {
      const up = await raw((r) => {
        r.socket.end("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n");
      });
      const p = await proxyTo({ endpoints: [up.port] });
      try {
        assert.equal(await fetchEnd(p.port), "200 reset");
        assert.deepEqual((await p.recorded(1))[0]?.flags, ["UR"]);
      } finally {
        await p.proxy.close();
      }
    });
  });

  describe("stale keep-alive connections", () => {
    /** Answers a connection's first request; closes it, unanswered, on the second. */
    const closesOnReuse = (r: RawRequest): void => {
      if (r.onConnection === 1) r.socket.write(OK);
      else r.socket.destroy();
    };

    it("resends a bodiless request, once, on a new connection", async () => {
      const up = await raw(closesOnReuse);
      const p = await proxyTo({ endpoints: [up.port] });
      try {
        assert.equal((await send(p.port)).status, 200);
        const r = await send(p.port);
        assert.equal(r.status, 200);
        assert.equal(r.body, "ok");
        assert.deepEqual(
          up.requests.map((q) => [q.connection, q.onConnection]),
          [
            [1, 1],
            [1, 2],
            [2, 1],
          ],
        );
        const recs = await p.recorded(2);
        assert.deepEqual(
          recs.map((x) => x.flags),
          [[], []],
        );
      } finally {
        await p.proxy.close();
      }
    });

    it("does not resend a request with a body: 503 UC", async () => {
      const up = await raw(closesOnReuse);
      const p = await proxyTo({ endpoints: [up.port] });
      try {
        assert.equal((await send(p.port)).status, 200);
        const r = await send(p.port, { method: "POST", body: "payload" });
        assert.equal(r.status, 503);
        assert.equal(up.requests.length, 2);
        assert.deepEqual((await p.recorded(2))[1]?.flags, ["UC"]);
      } finally {
        await p.proxy.close();
      }
    });

    it("does not resend on a new connection that fails: 503 UC", async () => {
      const up = await raw((r) => r.socket.destroy());
      const p = await proxyTo({ endpoints: [up.port] });
      try {
        assert.equal((await send(p.port)).status, 503);
        assert.equal(up.requests.length, 1);
      } finally {
        await p.proxy.close();
      }
    });
  });

  describe("the cluster's connection cap", () => {
    /** Holds every request until `release()`, which answers those held so far. */
    async function holding(gauge: Gauge): Promise<{ up: RawUpstream; release: () => void }> {
      const held: RawRequest[] = [];
      const up = await raw((r) => held.push(r), gauge);
      return {
        up,
        release: () => {
          for (const r of held.splice(0)) r.socket.write(OK);
        },
      };
    }

    it("never opens more than max_connections across the cluster's endpoints", async () => {
      const gauge = { open: 0, max: 0 };
      const a = await holding(gauge);
      const b = await holding(gauge);
      const p = await proxyTo({
        endpoints: [a.up.port, b.up.port],
        lb: "ROUND_ROBIN",
        circuitBreaker: { maxConnections: 3, maxPendingRequests: 100 },
      });
      try {
        const replies = Array.from({ length: 8 }, () => send(p.port));
        const held = () => a.up.requests.length + b.up.requests.length;
        while (held() < 3) await sleep(2);
        await sleep(100);
        assert.equal(held(), 3, "requests beyond the cap wait for a connection");
        while (held() < 8) {
          a.release();
          b.release();
          await sleep(5);
        }
        a.release();
        b.release();
        const statuses = (await Promise.all(replies)).map((r) => r.status);
        assert.deepEqual(statuses, Array<number>(8).fill(200));
        await sleep(30);
        assert.ok(gauge.max <= 3, `${gauge.max} connections open at once`);
      } finally {
        await p.proxy.close();
      }
    });
    it("at the cap, closes an idle connection to one endpoint to reach another at once", async () => {
      const gauge = { open: 0, max: 0 };
      const a = await raw((r) => r.socket.write(OK), gauge);
      const b = await raw((r) => r.socket.write(OK), gauge);
      const p = await proxyTo({
        endpoints: [a.port, b.port],
        lb: "ROUND_ROBIN",
        circuitBreaker: { maxConnections: 1 },
      });
      try {
        assert.equal((await send(p.port)).status, 200);
        const t0 = Date.now();
        assert.equal((await send(p.port)).status, 200);
        const took = Date.now() - t0;
        // node's Agent kept the idle one until its 4 s idle timeout and made the other wait.
        assert.ok(took < 1_000, `the second endpoint waited ${took} ms for a connection`);
        assert.deepEqual([a.requests.length, b.requests.length], [1, 1]);
        await sleep(30);
        assert.equal(gauge.max, 1);
      } finally {
        await p.proxy.close();
      }
    });
  });

  describe("1xx responses", () => {
    it("drops 102 and 103 and forwards the final response, keeping the connection", async () => {
      const up = await raw((r) =>
        r.socket.write(
          "HTTP/1.1 102 Processing\r\n\r\n" +
            "HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n" +
            OK,
        ),
      );
      const p = await proxyTo({ endpoints: [up.port] });
      try {
        for (let i = 0; i < 2; i++) {
          const r = await send(p.port);
          assert.equal(r.status, 200);
          assert.equal(r.body, "ok");
          assert.equal(r.headers.link, undefined);
        }
        assert.equal(up.connections(), 1);
      } finally {
        await p.proxy.close();
      }
    });

    // RFC 9110 (15.2) asks clients to skip a 1xx they did not expect, and node's client did;
    // undici's refuses a 100 on HTTP/1.1 ("bad response") and closes the connection. The proxy
    // never sends Expect upstream (below), so only a server sending 100 unasked meets this.
    it("fails an attempt answered with a 100 Continue it did not ask for (UC)", async () => {
      const up = await raw((r) => r.socket.write(`HTTP/1.1 100 Continue\r\n\r\n${OK}`));
      const p = await proxyTo({ endpoints: [up.port] });
      try {
        const r = await send(p.port);
        assert.equal(r.status, 503);
        assert.deepEqual((await p.recorded(1))[0]?.flags, ["UC"]);
      } finally {
        await p.proxy.close();
      }
    });

    it("answers a client's Expect: 100-continue itself and never sends Expect upstream", async () => {
      const seen: (string | undefined)[] = [];
      const up = await startUpstream((req, res) => {
        seen.push(req.headers.expect);
        req.resume();
        req.on("end", () => res.end("got it"));
      });
      ups.push(up);
      const p = await proxyTo({ endpoints: [up.port] });
      try {
        const outcome = await new Promise<string>((resolve, reject) => {
          const req = http.request({
            port: p.port,
            host: "127.0.0.1",
            method: "POST",
            headers: { host: "svc", expect: "100-continue", "content-length": "5" },
          });
          let continued = false;
          req.on("continue", () => {
            continued = true;
            req.end("hello");
          });
          req.on("response", (res) => {
            let body = "";
            res.on("data", (c: Buffer) => (body += c.toString()));
            res.on("end", () => {
              resolve(`${continued ? "100, " : ""}${res.statusCode} ${body}`);
            });
          });
          req.on("error", reject);
        });
        assert.equal(outcome, "100, 200 got it");
        assert.deepEqual(seen, [undefined]);
      } finally {
        await p.proxy.close();
      }
    });
  });

  describe("the request head", () => {
    it("sends Host as the authority once and no hop-by-hop header", async () => {
      const up = await raw((r) => r.socket.write(OK));
      const p = await proxyTo({ endpoints: [up.port] });
      try {
        const r = await send(p.port, {
          host: "reviews:9080",
          path: "/a?b=c",
          headers: {
            connection: "keep-alive, x-hop",
            "x-hop": "1",
            "keep-alive": "timeout=5",
            "proxy-connection": "keep-alive",
            te: "gzip",
            upgrade: "websocket",
            "x-end": "2",
          },
        });
        assert.equal(r.status, 200);
        const [req] = up.requests;
        assert.ok(req);
        assert.equal(req.head.split("\r\n")[0], "GET /a?b=c HTTP/1.1");
        const lines = headerLines(req.head);
        assert.deepEqual(
          lines.filter((l) => l.startsWith("host:")),
          ["host:reviews:9080"],
        );
        assert.ok(lines.includes("x-end:2"));
        for (const name of ["x-hop", "keep-alive", "proxy-connection", "te", "upgrade"])
          assert.ok(!lines.some((l) => l.startsWith(`${name}:`)), `${name} was sent: ${req.head}`);
        const connection = lines.filter((l) => l.startsWith("connection:"));
        assert.ok(
          connection.every((l) => l === "connection:keep-alive"),
          `connection sent as ${connection.join(", ")}`,
        );
      } finally {
        await p.proxy.close();
      }
    });

    it("answers HEAD without a body, and the next request after it", async () => {
      const up = await namedUpstream("a");
      ups.push(up);
      const p = await proxyTo({ endpoints: [up.port] });
      try {
        const head = await send(p.port, { method: "HEAD" });
        assert.equal(head.status, 200);
        assert.equal(head.body, "");
        assert.equal((await send(p.port)).body, "a");
      } finally {
        await p.proxy.close();
      }
    });
  });
});
