// Back-pressure across the HTTP/1.1 upstream, at a size where buffering would show: 256 MiB
// through the proxy to a reader that keeps stopping, either way, with what is in flight and the
// process's RSS bounded. Real sockets on loopback; the upstream, the proxy and the client share
// this process, so RSS bounds all three together.
import assert from "node:assert/strict";
import http from "node:http";
import { Readable } from "node:stream";
import type { Upstream } from "./harness.js";
import { sleep, startProxy, startUpstream } from "./harness.js";
import { buildSnapshot } from "./snapshot-builder.js";

const MiB = 1024 * 1024;
const TOTAL = 256 * MiB;
/** The slow reader stops for PAUSE_MS after every STRIDE bytes. */
const STRIDE = 16 * MiB;
const PAUSE_MS = 40;
/** Bytes produced but not yet read, at most: socket buffers both hops, stream high-water marks. */
const IN_FLIGHT_LIMIT = 32 * MiB;
/** RSS above where it started, at most: half the body, far below what buffering it would take. */
const RSS_LIMIT = 128 * MiB;

/** `total` bytes that count what has been pulled from them. */
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

/**
 * Reads `source` to the end, stopping for PAUSE_MS every STRIDE bytes; samples in flight and
 * RSS at each stop. Resolves with the bytes read.
 */
function slowRead(
  source: Readable,
  produced: () => number,
  peaks: { inFlight: number; rss: number },
): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = 0;
    let next = STRIDE;
    source.on("data", (c: Buffer) => {
      got += c.length;
      if (got < next) return;
      next += STRIDE;
      source.pause();
      setTimeout(() => {
        peaks.inFlight = Math.max(peaks.inFlight, produced() - got);
        peaks.rss = Math.max(peaks.rss, process.memoryUsage.rss());
        source.resume();
      }, PAUSE_MS);
    });
    source.on("end", () => {
      resolve(got);
    });
    source.on("error", reject);
  });
}

describe("mesh HTTP/1.1 upstream: back-pressure at 256 MiB", function () {
  this.timeout(120_000);
  const ups: Upstream[] = [];
  afterEach(async () => {
    await Promise.all(ups.splice(0).map((u) => u.close()));
  });

  const proxyTo = (port: number) =>
    startProxy(
      buildSnapshot({
        vhosts: [{ domains: ["*"], routes: [{ to: "up" }] }],
        clusters: { up: { endpoints: [port] } },
      }),
    );

  it("streams a response to a slow client without buffering it", async () => {
    const body = counting(TOTAL);
    const up = await startUpstream((req, res) => {
      req.resume();
      res.setHeader("content-length", TOTAL);
      body.stream.pipe(res);
    });
    ups.push(up);
    const p = await proxyTo(up.port);
    try {
      const start = process.memoryUsage.rss();
      const peaks = { inFlight: 0, rss: start };
      const res = await new Promise<http.IncomingMessage>((resolve) => {
        http.get({ port: p.port, host: "127.0.0.1", headers: { host: "up" } }, resolve);
      });
      assert.equal(await slowRead(res, body.produced, peaks), TOTAL);
      assert.ok(peaks.inFlight < IN_FLIGHT_LIMIT, `${peaks.inFlight / MiB} MiB in flight`);
      const grew = peaks.rss - start;
      assert.ok(grew < RSS_LIMIT, `RSS grew ${Math.round(grew / MiB)} MiB`);
      const [rec] = await p.recorded(1);
      assert.equal(rec?.bytes.sent, TOTAL);
    } finally {
      await p.proxy.close();
    }
  });

  it("streams a request body to a slow upstream without buffering it", async () => {
    const body = counting(TOTAL);
    const start = process.memoryUsage.rss();
    const peaks = { inFlight: 0, rss: start };
    const up = await startUpstream((req, res) => {
      void slowRead(req, body.produced, peaks).then((n) => res.end(String(n)));
    });
    ups.push(up);
    const p = await proxyTo(up.port);
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const req = http.request(
          {
            port: p.port,
            host: "127.0.0.1",
            method: "POST",
            headers: { host: "up", "content-length": TOTAL },
          },
          (res) => {
            let s = "";
            res.on("data", (c: Buffer) => (s += c.toString()));
            res.on("end", () => {
              resolve(`${res.statusCode} ${s}`);
            });
          },
        );
        req.on("error", reject);
        body.stream.pipe(req);
      });
      assert.equal(reply, `200 ${TOTAL}`);
      assert.ok(peaks.inFlight < IN_FLIGHT_LIMIT, `${peaks.inFlight / MiB} MiB in flight`);
      const grew = peaks.rss - start;
      assert.ok(grew < RSS_LIMIT, `RSS grew ${Math.round(grew / MiB)} MiB`);
    } finally {
      await p.proxy.close();
    }
  });

  it("stops reading the upstream while the client reads nothing", async () => {
    const body = counting(TOTAL);
    const up = await startUpstream((req, res) => {
      req.resume();
      body.stream.pipe(res);
    });
    ups.push(up);
    const p = await proxyTo(up.port);
    try {
      const res = await new Promise<http.IncomingMessage>((resolve) => {
        http.get({ port: p.port, host: "127.0.0.1", headers: { host: "up" } }, resolve);
      });
      res.pause();
      // Long enough for 256 MiB to cross loopback several times over, were nothing holding it.
      await sleep(1_000);
      const stalled = body.produced();
      await sleep(300);
      assert.equal(body.produced(), stalled, "the upstream kept being read");
      assert.ok(stalled < IN_FLIGHT_LIMIT, `${stalled / MiB} MiB produced while nothing was read`);
      res.destroy();
    } finally {
      await p.proxy.close();
    }
  });
});
