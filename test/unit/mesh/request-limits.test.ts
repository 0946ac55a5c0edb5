// The limits on a request body as it arrives: one that stalls is cut off with 408 (flag SI) by
// the request-body idle timeout, one that grows past maxRequestBodyBytes with 413 whatever its
// framing, on HTTP/1.1 and HTTP/2; a body held up by the upstream's back-pressure is not idle.
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { Readable } from "node:stream";
import type { Upstream } from "./harness.js";
import { send, startProxy, startUpstream } from "./harness.js";
import { buildSnapshot } from "./snapshot-builder.js";
import type { RecordingUpstream } from "./smuggling-corpus.js";
import { startRecordingUpstream } from "./smuggling-corpus.js";

const snapshotTo = (port: number) =>
  buildSnapshot({
    vhosts: [{ domains: ["*"], routes: [{ to: "app" }] }],
    clusters: { app: { endpoints: [port] } },
  });

/** What came back on a raw connection until it closed (or `capMs` passed). */
function collect(s: net.Socket, capMs: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    let text = "";
    const timer = setTimeout(() => {
      resolve({ text, closed: false });
    }, capMs);
    s.on("data", (d: Buffer) => (text += d.toString("latin1")));
    s.on("error", () => undefined);
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
  });
}

/** A body that never ends: 16 KiB chunks for as long as it is read. */
const endless = (): Readable =>
  new Readable({
    read() {
      this.push(Buffer.alloc(16 * 1024, 0x61));
    },
  });

describe("request body limits", function () {
  this.timeout(30_000);
  let up: RecordingUpstream | undefined;
  const extra: Upstream[] = [];
  afterEach(async () => {
    await up?.close();
    up = undefined;
    await Promise.all(extra.splice(0).map((u) => u.close()));
  });

  it("cuts off a body trickled at one byte a second (408, SI); the upstream never sees it end", async () => {
    up = await startRecordingUpstream();
    const p = await startProxy(snapshotTo(up.port), { limits: { requestBodyIdleTimeoutMs: 300 } });
    const s = net.connect(p.port, "127.0.0.1");
    let trickle: NodeJS.Timeout | undefined;
    try {
      await new Promise((resolve) => s.once("connect", resolve));
      s.write("POST / HTTP/1.1\r\nHost: app\r\nContent-Length: 100\r\n\r\nx");
      trickle = setInterval(() => {
        if (!s.destroyed) s.write("x");
      }, 1_000);
      const { text, closed } = await collect(s, 10_000);
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.match(text, /\r\nconnection: close\r\n/i);
      assert.ok(closed, "the connection is closed after the 408");
      const [rec] = await p.recorded(1);
      assert.equal(rec?.status, 408);
      assert.deepEqual(rec.flags, ["SI"]);
      await up.settled(4_000);
      assert.ok(
        up.requests.every((r) => r.bodyBytes < 0),
        `upstream saw ${JSON.stringify(up.requests.map((r) => r.bodyBytes))}`,
      );
      assert.equal((await send(p.port, { host: "app" })).status, 200);
    } finally {
      clearInterval(trickle);
      s.destroy();
      await p.proxy.close();
    }
  });

  it("cuts off a stalled HTTP/2 request body with 408 on its stream", async () => {
    up = await startRecordingUpstream();
    const p = await startProxy(snapshotTo(up.port), { limits: { requestBodyIdleTimeoutMs: 300 } });
    const session = http2.connect(`http://127.0.0.1:${p.port}`);
    session.on("error", () => undefined);
    try {
      const req = session.request({ ":method": "POST", ":path": "/", ":authority": "app" });
      req.on("error", () => undefined);
      req.write("x");
      const status = await new Promise<number>((resolve, reject) => {
        req.once("response", (h) => {
          resolve(Number(h[":status"]));
        });
        req.once("close", () => {
          reject(new Error(`stream closed without a response (code ${req.rstCode})`));
        });
      });
      assert.equal(status, 408);
      const [rec] = await p.recorded(1);
      assert.deepEqual(rec?.flags, ["SI"]);
      // The session itself is fine.
      const ok = session.request({ ":path": "/", ":authority": "app" });
      const okStatus = await new Promise<number>((resolve) => {
        ok.once("response", (h) => {
          resolve(Number(h[":status"]));
        });
      });
      ok.resume();
      ok.end();
      assert.equal(okStatus, 200);
    } finally {
      session.destroy();
      await p.proxy.close();
    }
  });

  it("does not cut off a body held back by a slow upstream (back-pressure is not idleness)", async () => {
    let received = 0;
    const slow = await startUpstream((req, res) => {
      req.pause();
      // Reads nothing for five idle timeouts, then all of it.
      setTimeout(() => {
        req.on("data", (c: Buffer) => (received += c.length));
        req.on("end", () => res.end(String(received)));
        req.resume();
      }, 1_500);
    });
    extra.push(slow);
    const p = await startProxy(snapshotTo(slow.port), {
      limits: { requestBodyIdleTimeoutMs: 300 },
    });
    try {
      const reply = await send(p.port, {
        method: "POST",
        host: "app",
        body: Buffer.alloc(16 * 1024 * 1024, 0x62),
      });
      assert.equal(reply.status, 200);
      assert.equal(reply.body, String(16 * 1024 * 1024));
    } finally {
      await p.proxy.close();
    }
  });

  it("cuts off an endless chunked body at maxRequestBodyBytes (413); the upstream never sees it end", async () => {
    up = await startRecordingUpstream();
    const p = await startProxy(snapshotTo(up.port), {
      limits: { maxRequestBodyBytes: 256 * 1024 },
    });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          { port: p.port, host: "127.0.0.1", method: "POST", path: "/", headers: { host: "app" } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        endless().pipe(req);
      });
      assert.equal(status, 413);
      await up.settled(4_000);
      assert.ok(up.requests.every((r) => r.bodyBytes < 0));
      const [rec] = await p.recorded(1);
      assert.equal(rec?.status, 413);
      assert.ok(rec.bytes.received > 256 * 1024 && rec.bytes.received < 1024 * 1024);
    } finally {
      await p.proxy.close();
    }
  });

  it("cuts off an endless HTTP/2 body at maxRequestBodyBytes (413)", async () => {
    up = await startRecordingUpstream();
    const p = await startProxy(snapshotTo(up.port), {
      limits: { maxRequestBodyBytes: 256 * 1024 },
    });
    const session = http2.connect(`http://127.0.0.1:${p.port}`);
    session.on("error", () => undefined);
    try {
      const req = session.request({ ":method": "POST", ":path": "/", ":authority": "app" });
      req.on("error", () => undefined);
      endless().pipe(req);
      const status = await new Promise<number>((resolve) => {
        req.once("response", (h) => {
          resolve(Number(h[":status"]));
        });
      });
      assert.equal(status, 413);
      await up.settled(4_000);
      assert.ok(up.requests.every((r) => r.bodyBytes < 0));
    } finally {
      session.destroy();
      await p.proxy.close();
    }
  });
});
