// HTTP/2 stream floods against the proxy's listener: more streams than SETTINGS allow, and
// streams opened and reset at once (Rapid Reset, CVE-2023-44487). The proxy survives, keeps the
// streams it serves at once within maxConcurrentStreams, and serves a normal client afterwards.
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { RequestRecord } from "../../../mesh/filters/request-record.js";
import type { TestProxy } from "./harness.js";
import { startProxy } from "./harness.js";
import { FRAME, connectRawH2, getHeaders, reset } from "./h2-frames.js";
import { buildSnapshot } from "./snapshot-builder.js";

const LIMIT = 10;
/** Streams opened and reset at once, after the rounds. */
const BLAST = 3_000;

/** An upstream that holds every request until released, and counts how many it held at once. */
interface HoldingUpstream {
  readonly port: number;
  readonly stats: { active: number; max: number; total: number };
  /** Resolves once `n` requests are held at once (false after `capMs`). */
  holding(n: number, capMs: number): Promise<boolean>;
  /** Resolves once no request is held (false after `capMs`). */
  drained(capMs: number): Promise<boolean>;
  release(): void;
  close(): Promise<void>;
}

async function holdingUpstream(): Promise<HoldingUpstream> {
  const stats = { active: 0, max: 0, total: 0 };
  let held: http.ServerResponse[] = [];
  let waiter: { ready: () => boolean; done: () => void } | undefined;
  const changed = (): void => {
    if (waiter?.ready() === true) waiter.done();
  };
  const until = (ready: () => boolean, capMs: number): Promise<boolean> =>
    ready()
      ? Promise.resolve(true)
      : new Promise((resolve) => {
          const t = setTimeout(() => {
            waiter = undefined;
            resolve(false);
          }, capMs);
          waiter = {
            ready,
            done: () => {
              clearTimeout(t);
              waiter = undefined;
              resolve(true);
            },
          };
        });
  const server = http.createServer((req, res) => {
    if (req.url === "/after") {
      res.end("after");
      return;
    }
    stats.total++;
    stats.active++;
    stats.max = Math.max(stats.max, stats.active);
    res.once("close", () => {
      stats.active--;
      changed();
    });
    req.resume();
    held.push(res);
    changed();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stats,
    holding: (n, capMs) => until(() => stats.active >= n, capMs),
    drained: (capMs) => until(() => stats.active === 0, capMs),
    release: () => {
      for (const r of held.splice(0)) r.end("ok");
    },
    close: () =>
      new Promise<void>((resolve) => {
        held = [];
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** One GET over a new HTTP/2 session: its status. */
async function getOverH2(port: number): Promise<number> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => undefined);
  try {
    return await new Promise<number>((resolve, reject) => {
      const s = session.request({ ":path": "/after", ":authority": "app" });
      s.on("response", (h) => {
        resolve(Number(h[":status"]));
      });
      s.on("error", reject);
      s.resume();
      s.end();
    });
  } finally {
    session.destroy();
  }
}

describe("HTTP/2 stream floods", function () {
  this.timeout(60_000);
  let up: HoldingUpstream | undefined;
  let p: TestProxy | undefined;
  let records: RequestRecord[] = [];

  beforeEach(async () => {
    records = [];
    up = await holdingUpstream();
    p = await startProxy(
      buildSnapshot({
        vhosts: [{ domains: ["*"], routes: [{ to: "app" }] }],
        clusters: { app: { endpoints: [up.port] } },
      }),
      {
        limits: { maxConcurrentStreams: LIMIT },
        onRequestDone: (r) => {
          records.push(r);
        },
      },
    );
  });
  afterEach(async () => {
    up?.release();
    await p?.proxy.close();
    await up?.close();
  });

  it("advertises maxConcurrentStreams, which node's client keeps to", async () => {
    assert.ok(up !== undefined && p !== undefined);
    const session = http2.connect(`http://127.0.0.1:${p.port}`);
    session.on("error", () => undefined);
    // Streams opened before the server's SETTINGS arrive may exceed them, and be refused.
    await new Promise((resolve) => session.once("remoteSettings", resolve));
    try {
      const statuses = Array.from(
        { length: 5 * LIMIT },
        () =>
          new Promise<number>((resolve) => {
            const s = session.request({ ":path": "/", ":authority": "app" });
            s.on("response", (h) => {
              resolve(Number(h[":status"]));
            });
            s.on("error", () => {
              resolve(0);
            });
            s.resume();
            s.end();
          }),
      );
      assert.ok(await up.holding(LIMIT, 10_000), `held ${up.stats.active}`);
      assert.equal(session.remoteSettings.maxConcurrentStreams, LIMIT);
      // Release in rounds until every request has been answered.
      const all = Promise.all(statuses);
      const releasing = setInterval(() => {
        up?.release();
      }, 20);
      try {
        assert.deepEqual(new Set(await all), new Set([200]));
      } finally {
        clearInterval(releasing);
      }
      assert.equal(up.stats.total, 5 * LIMIT);
      assert.ok(up.stats.max <= LIMIT, `upstream held ${up.stats.max} at once`);
    } finally {
      session.destroy();
    }
  });

  it("refuses streams past the limit from a client that ignores it", async () => {
    assert.ok(up !== undefined && p !== undefined);
    const raw = await connectRawH2(p.port);
    try {
      const frames = Array.from({ length: 10 * LIMIT }, (_, i) => getHeaders(2 * i + 1, "app"));
      raw.write(Buffer.concat(frames));
      // nghttp2 resets the streams past the limit and ends the session (GOAWAY).
      const closed = await raw.closed(5_000);
      const got = Object.fromEntries(raw.received);
      assert.ok(closed, `connection still open; frames received: ${JSON.stringify(got)}`);
      assert.ok((raw.received.get(FRAME.GOAWAY) ?? 0) > 0, JSON.stringify(got));
      assert.ok(await up.drained(5_000), `still held ${up.stats.active}`);
      assert.ok(up.stats.max <= LIMIT, `upstream held ${up.stats.max} at once`);
      assert.equal(await getOverH2(p.port), 200);
    } finally {
      raw.destroy();
    }
  });

  it("survives a rapid reset flood: each reset stream's upstream request is cancelled", async () => {
    assert.ok(up !== undefined && p !== undefined);
    const raw = await connectRawH2(p.port);
    let id = 1;
    try {
      // Streams that reached the upstream, then reset: their upstream requests must end too,
      // or a client holds unbounded upstream work within its stream limit.
      for (let round = 0; round < 20; round++) {
        const ids = Array.from({ length: LIMIT }, (_, i) => id + 2 * i);
        id += 2 * LIMIT;
        raw.write(Buffer.concat(ids.map((s) => getHeaders(s, "app"))));
        assert.ok(await up.holding(LIMIT, 5_000), `round ${round}: held ${up.stats.active}`);
        raw.write(Buffer.concat(ids.map((s) => reset(s))));
        assert.ok(await up.drained(5_000), `round ${round}: still held ${up.stats.active}`);
      }
      // Then open-and-reset as fast as the socket takes it. nghttp2 (1.61 in node 20) takes
      // a few thousand such streams, then sends GOAWAY and ignores the rest.
      const blast: Buffer[] = [];
      for (let i = 0; i < BLAST; i++, id += 2) blast.push(getHeaders(id, "app"), reset(id));
      raw.write(Buffer.concat(blast));
      await raw.frameOrClose(FRAME.GOAWAY, 10_000);
    } finally {
      raw.destroy();
    }
    assert.equal(await getOverH2(p.port), 200);
    // Every stream the proxy took is over: each one reset was cancelled and recorded DC.
    await p.proxy.drain();
    assert.ok(await up.drained(5_000), `still held ${up.stats.active}`);
    const reset_ = records.filter((r) => r.path !== "/after");
    assert.ok(reset_.length > 20 * LIMIT, `${reset_.length} streams recorded`);
    assert.ok(
      reset_.every((r) => r.flags.includes("DC")),
      "every reset stream is recorded DC",
    );
    assert.ok(up.stats.max <= LIMIT, `upstream held ${up.stats.max} at once`);
  });

  it("resets a stream with more header fields than maxHeadersCount (100)", async () => {
    assert.ok(p !== undefined);
    const session = http2.connect(`http://127.0.0.1:${p.port}`);
    session.on("error", () => undefined);
    try {
      const headers: http2.OutgoingHttpHeaders = { ":path": "/after", ":authority": "app" };
      for (let i = 0; i < 101; i++) headers[`x-h${i}`] = "v";
      const s = session.request(headers);
      s.on("error", () => undefined);
      s.resume();
      s.end();
      await new Promise((resolve) => s.once("close", resolve));
      assert.equal(s.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    } finally {
      session.destroy();
    }
    assert.equal(await getOverH2(p.port), 200);
  });
});
