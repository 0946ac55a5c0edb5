// The listeners: bad input (400, 431, 408) without harm to the proxy, bodies streamed both ways
// with back-pressure, HTTP/2 with prior knowledge on the same port, inbound and gateway modes,
// and drain.
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import { Readable } from "node:stream";
import { systemClock } from "../../../src/common/clock.js";
import { createProxy } from "../../../mesh/proxy.js";
import type { Upstream } from "./harness.js";
import {
  namedUpstream,
  raw,
  send,
  silentLog,
  sleep,
  startProxy,
  startUpstream,
} from "./harness.js";
import { buildSnapshot } from "./snapshot-builder.js";

const MiB = 1024 * 1024;

/** A request body of `total` bytes that counts what has been read from it. */
function counting(total: number): { stream: Readable; produced: () => number } {
  let produced = 0;
  const chunk = Buffer.alloc(64 * 1024, 120);
  const stream = new Readable({
    read() {
      if (produced >= total) {
        this.push(null);
        return;
      }
      produced += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, produced: () => produced };
}

describe("mesh listeners", function () {
  this.timeout(30_000);
  const ups: Upstream[] = [];
  afterEach(async () => {
    await Promise.all(ups.splice(0).map((u) => u.close()));
  });

  async function simple(options: Parameters<typeof startProxy>[1] = {}) {
    const up = await namedUpstream("app");
    ups.push(up);
    const snap = buildSnapshot({
      vhosts: [{ domains: ["*"], routes: [{ to: "app" }] }],
      clusters: { app: { endpoints: [up.port] } },
    });
    return startProxy(snap, options);
  }

  it("answers malformed requests with 400 (DPE) and keeps serving", async () => {
    const p = await simple();
    try {
      assert.match(
        await raw(p.port, "GET / HTTP/1.1\r\nHost: a\r\nBroken header\r\n\r\n"),
        /^HTTP\/1.1 400/,
      );
      assert.match(await raw(p.port, "GET nowhere HTTP/1.1\r\nHost: a\r\n\r\n"), /^HTTP\/1.1 400/);
      assert.match(
        await raw(p.port, "GET https://x/ HTTP/1.1\r\nHost: x\r\n\r\n"),
        /^HTTP\/1.1 400/,
      );
      assert.match(await raw(p.port, "\x16\x03\x01\x02\x00garbage\r\n\r\n"), /^HTTP\/1.1 400/);
      assert.equal((await send(p.port)).body, "app");
      const records = await p.recorded(5);
      assert.deepEqual(
        records.slice(0, 4).map((r) => [r.status, r.flags]),
        [
          [400, ["DPE"]],
          [400, ["DPE"]],
          [400, ["DPE"]],
          [400, ["DPE"]],
        ],
      );
    } finally {
      await p.proxy.close();
    }
  });

  it("survives an onRequestDone subscriber that throws", async () => {
    const p = await simple({
      onRequestDone: () => {
        throw new Error("subscriber bug");
      },
    });
    try {
      assert.equal((await send(p.port)).body, "app");
      assert.equal((await send(p.port)).body, "app");
    } finally {
      await p.proxy.close();
    }
  });

  it("limits header size (431), the time to send headers (408) and body size (413)", async () => {
    const p = await simple({
      limits: { maxHeaderBytes: 1024, headersTimeoutMs: 200, maxRequestBodyBytes: 1_000 },
    });
    try {
      const big = `GET / HTTP/1.1\r\nHost: a\r\nx-big: ${"b".repeat(2048)}\r\n\r\n`;
      assert.match(await raw(p.port, big), /^HTTP\/1.1 431/);
      const t0 = Date.now();
      assert.match(await raw(p.port, "GET / HTTP/1.1\r\nHost: a\r\n", 3_000), /^HTTP\/1.1 408/);
      assert.ok(Date.now() - t0 < 1_500);
      assert.equal((await send(p.port)).status, 200);
      const tooBig = await send(p.port, { method: "POST", body: "x".repeat(2_000) });
      assert.equal(tooBig.status, 413);
    } finally {
      await p.proxy.close();
    }
  });

  it("streams a large request body with back-pressure", async () => {
    let received = 0;
    let reading = false;
    const up = await startUpstream((req, res) => {
      req.pause();
      setTimeout(() => {
        reading = true;
        req.on("data", (c: Buffer) => (received += c.length));
        req.on("end", () => res.end(String(received)));
        req.resume();
      }, 300);
    });
    ups.push(up);
    const p = await startProxy(
      buildSnapshot({
        vhosts: [{ domains: ["*"], routes: [{ to: "up" }] }],
        clusters: { up: { endpoints: [up.port] } },
      }),
    );
    try {
      const body = counting(64 * MiB);
      const reply = new Promise<string>((resolve, reject) => {
        const req = http.request(
          { port: p.port, host: "127.0.0.1", method: "POST", path: "/", headers: { host: "up" } },
          (res) => {
            let s = "";
            res.on("data", (c: Buffer) => (s += c.toString()));
            res.on("end", () => {
              resolve(s);
            });
          },
        );
        req.on("error", reject);
        body.stream.pipe(req);
      });
      await sleep(250);
      assert.ok(!reading);
      assert.ok(
        body.produced() < 32 * MiB,
        `produced ${body.produced() / MiB} MiB while the upstream was not reading`,
      );
      assert.equal(await reply, String(64 * MiB));
    } finally {
      await p.proxy.close();
    }
  });

  it("streams a large response body with back-pressure", async () => {
    const body = counting(64 * MiB);
    const up = await startUpstream((req, res) => {
      req.resume();
      body.stream.pipe(res);
    });
    ups.push(up);
    const p = await startProxy(
      buildSnapshot({
        vhosts: [{ domains: ["*"], routes: [{ to: "up" }] }],
        clusters: { up: { endpoints: [up.port] } },
      }),
    );
    try {
      const res = await new Promise<http.IncomingMessage>((resolve) => {
        http.get({ port: p.port, host: "127.0.0.1", path: "/", headers: { host: "up" } }, resolve);
      });
      res.pause();
      await sleep(300);
      assert.ok(
        body.produced() < 32 * MiB,
        `produced ${body.produced() / MiB} MiB while the client was not reading`,
      );
      let got = 0;
      res.on("data", (c: Buffer) => (got += c.length));
      res.resume();
      await new Promise((resolve) => res.on("end", resolve));
      assert.equal(got, 64 * MiB);
      const [rec] = await p.recorded(1);
      assert.equal(rec?.bytes.sent, 64 * MiB);
    } finally {
      await p.proxy.close();
    }
  });

  it("serves HTTP/2 with prior knowledge on the same port, to an HTTP/1.1 upstream", async () => {
    const p = await simple();
    const session = http2.connect(`http://127.0.0.1:${p.port}`);
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const s = session.request({ ":path": "/x", ":authority": "reviews:9080" });
        let out = "";
        s.on("data", (c: Buffer) => (out += c.toString()));
        s.on("end", () => {
          resolve(out);
        });
        s.on("error", reject);
        s.end();
      });
      assert.equal(body, "app");
      const [rec] = await p.recorded(1);
      assert.equal(rec?.authority, "reviews:9080");
      assert.equal(rec.status, 200);
    } finally {
      session.close();
      await p.proxy.close();
    }
  });

  it("forwards inbound traffic to the app on localhost", async () => {
    const up = await namedUpstream("app");
    ups.push(up);
    const records: unknown[] = [];
    const proxy = createProxy({
      role: "sidecar",
      namespace: "demo",
      snapshot: () => buildSnapshot({ vhosts: [], clusters: {} }),
      clock: systemClock,
      log: silentLog,
      onRequestDone: (r) => records.push(r),
    });
    try {
      const inbound = await proxy.listenInbound("127.0.0.1", 0, up.port);
      const r = await send(inbound.port, { host: "podinfo.demo.svc.cluster.local:9898" });
      assert.equal(r.body, "app");
      assert.equal(r.headers["x-seen-host"], "podinfo.demo.svc.cluster.local:9898");
      await sleep(20);
      assert.deepEqual(
        records.map((x) => (x as { direction: string; upstreamCluster: string }).direction),
        ["inbound"],
      );
      await assert.rejects(proxy.listenGateway(0), /sidecar proxy has no gateway listener/);
    } finally {
      await proxy.close();
    }
  });

  it("routes by Host in gateway mode", async () => {
    const up = await namedUpstream("web");
    ups.push(up);
    const snap = buildSnapshot({
      vhosts: [{ domains: ["www.example.com"], routes: [{ to: "web" }] }],
      clusters: { web: { endpoints: [up.port] } },
    });
    const proxy = createProxy({
      role: "gateway",
      namespace: "ingress",
      snapshot: () => snap,
      clock: systemClock,
      log: silentLog,
    });
    try {
      const gw = await proxy.listenGateway(0, "127.0.0.1");
      assert.equal((await send(gw.port, { host: "www.example.com" })).body, "web");
      assert.equal((await send(gw.port, { host: "other.example.com" })).status, 404);
      await assert.rejects(proxy.listenOutbound(0), /gateway proxy has no outbound listener/);
    } finally {
      await proxy.close();
    }
  });

  it("drains: stops accepting, finishes requests in flight, then resolves", async () => {
    let release: () => void = () => undefined;
    const up = await startUpstream((req, res) => {
      req.resume();
      release = () => res.end("finished");
    });
    ups.push(up);
    const p = await startProxy(
      buildSnapshot({
        vhosts: [{ domains: ["*"], routes: [{ to: "up" }] }],
        clusters: { up: { endpoints: [up.port] } },
      }),
    );
    const agent = new http.Agent({ keepAlive: true });
    try {
      const inflight = send(p.port, { agent });
      await sleep(50);
      let drained = false;
      const draining = p.proxy.drain().then(() => (drained = true));
      await sleep(50);
      await assert.rejects(send(p.port), /ECONNREFUSED/);
      assert.ok(!drained);
      release();
      const r = await inflight;
      assert.equal(r.body, "finished");
      assert.equal(r.headers.connection, "close");
      await draining;
      assert.ok(drained);
    } finally {
      agent.destroy();
      await p.proxy.close();
    }
  });
});
