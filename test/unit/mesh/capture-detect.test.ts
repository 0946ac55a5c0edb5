// What the outbound capture listener makes of a connection's first bytes, and the probes the
// status port runs for the kubelet against real servers.
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import { parseAppProbes, runProbe } from "../../../mesh/admin/app-probes.js";
import { startStatusServer } from "../../../mesh/admin/status.js";
import { detectProtocol } from "../../../mesh/listeners/detect.js";
import { decodeSockaddrIn, originalDestination } from "../../../mesh/listeners/orig-dst.js";
import { silentLog } from "./harness.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");

describe("protocol detection on captured connections", () => {
  const cases: [string, Buffer, ReturnType<typeof detectProtocol>][] = [
    ["the full h2 preface", b("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), { protocol: "h2" }],
    ["part of the preface: wait", b("PRI * HTTP/2"), undefined],
    [
      "a request head with Host",
      b("GET /x HTTP/1.1\r\nhost: Reviews:9080\r\n\r\n"),
      { protocol: "h1", host: "reviews:9080" },
    ],
    [
      "Host seen before the head ends",
      b("POST / HTTP/1.0\r\nHost: a\r\nx-y: 1"),
      { protocol: "h1", host: "a" },
    ],
    ["a head without Host", b("GET / HTTP/1.1\r\n\r\n"), { protocol: "h1", host: undefined }],
    ["a method still arriving: wait", b("GE"), undefined],
    ["a request line still arriving: wait", b("GET /index.html HTT"), undefined],
    ["a TLS ClientHello", Buffer.from([0x16, 3, 1, 0, 0xa5, 1]), { protocol: "other" }],
    ["lowercase text", b("hello\r\n"), { protocol: "other" }],
    ["HTTP/2 without the preface", b("GET / HTTP/2.0\r\n"), { protocol: "other" }],
    ["a Redis command", b("*1\r\n$4\r\nPING\r\n"), { protocol: "other" }],
  ];
  for (const [name, bytes, want] of cases) {
    it(name, () => {
      assert.deepEqual(detectProtocol(bytes), want);
    });
  }
  it("gives up waiting for a head larger than 16 KiB", () => {
    assert.deepEqual(detectProtocol(b("A".repeat(16 * 1024))), { protocol: "other" });
  });
});

describe("SO_ORIGINAL_DST decoding", () => {
  it("reads struct sockaddr_in (family in host order, port and address in network order)", () => {
    const buf = Buffer.from([2, 0, 0x26, 0x9a, 10, 96, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(decodeSockaddrIn(buf), { address: "10.96.0.10", port: 9882 });
    assert.equal(decodeSockaddrIn(Buffer.from([10, 0, 0, 0, 0, 0, 0, 0])), undefined);
  });
  it("a connection whose original destination is the listener itself was not redirected", async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const seen = new Promise<unknown>((resolve) => {
      server.once("connection", (s) => {
        resolve(originalDestination({ read: () => ({ address: "127.0.0.1", port }) }, s));
        s.destroy();
      });
    });
    net.connect(port, "127.0.0.1").on("error", () => undefined);
    assert.equal(await seen, undefined);
    server.close();
  });
});

describe("app probes run by the status port", () => {
  let app: http.Server;
  let port = 0;
  before(async () => {
    app = http.createServer((req, res) => {
      res.statusCode = req.url === "/ok" ? (req.headers.host === "probe.example" ? 204 : 302) : 500;
      res.end();
    });
    await new Promise<void>((r) => app.listen(0, "127.0.0.1", r));
    port = (app.address() as AddressInfo).port;
  });
  after(() => {
    app.close();
  });

  it("parses the injector's JSON and refuses named ports and stray paths", () => {
    const probes = parseAppProbes(
      JSON.stringify({
        "/app-health/web/readyz": {
          httpGet: { path: "ok", port: 80, httpHeaders: [{ name: "Host", value: "h" }] },
          timeoutSeconds: 2,
        },
        "/app-health/web/livez": { tcpSocket: { port: 81 } },
      }),
    );
    assert.deepEqual(probes.get("/app-health/web/readyz"), {
      kind: "httpGet",
      port: 80,
      path: "/ok",
      scheme: "HTTP",
      headers: [{ name: "Host", value: "h" }],
      timeoutMs: 2000,
    });
    assert.deepEqual(probes.get("/app-health/web/livez"), {
      kind: "tcpSocket",
      port: 81,
      timeoutMs: 1000,
    });
    assert.throws(
      () => parseAppProbes('{"/app-health/web/readyz":{"httpGet":{"port":"http"}}}'),
      /named ports/,
    );
    assert.throws(() => parseAppProbes('{"/config_dump":{"tcpSocket":{"port":1}}}'), /app-health/);
  });

  it("HTTP 200-399 passes, with the probe's Host header; other statuses and refusals fail", async () => {
    const get = (path: string, host?: string) => ({
      kind: "httpGet" as const,
      port,
      path,
      scheme: "HTTP" as const,
      headers: host === undefined ? [] : [{ name: "Host", value: host }],
      timeoutMs: 1000,
    });
    assert.equal(await runProbe(get("/ok", "probe.example")), true);
    assert.equal(await runProbe(get("/ok")), true); // 302
    assert.equal(await runProbe(get("/bad")), false);
    assert.equal(await runProbe({ kind: "tcpSocket", port, timeoutMs: 1000 }), true);
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const free = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) =>
      closed.close(() => {
        r();
      }),
    );
    assert.equal(await runProbe({ kind: "tcpSocket", port: free, timeoutMs: 1000 }), false);
  });

  it("the status port serves readiness, metrics and probes, and nothing of the admin port", async () => {
    let state = "PRE_INITIALIZING";
    const probes = parseAppProbes(
      JSON.stringify({
        "/app-health/web/readyz": { httpGet: { path: "/ok", port } },
        "/app-health/web/livez": { httpGet: { path: "/bad", port } },
      }),
    );
    const status = await startStatusServer(
      { registry: new Registry(), state: () => state, probes, log: silentLog },
      { port: 0, host: "127.0.0.1" },
    );
    const get = async (path: string, method = "GET"): Promise<number> =>
      (await fetch(`http://127.0.0.1:${String(status.port)}${path}`, { method })).status;
    try {
      assert.equal(await get("/ready"), 503);
      state = "LIVE";
      assert.equal(await get("/ready"), 200);
      assert.equal(await get("/healthz"), 200);
      assert.equal(await get("/stats/prometheus"), 200);
      assert.equal(await get("/app-health/web/readyz"), 200);
      assert.equal(await get("/app-health/web/livez"), 503);
      assert.equal(await get("/config_dump"), 404);
      assert.equal(await get("/quitquitquit", "POST"), 405);
    } finally {
      await status.close();
    }
  });
});
