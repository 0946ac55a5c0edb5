// The proxy's admin port on loopback: readiness transitions, Prometheus exposition, a readable
// config dump, and drain/quit that wait for a request in flight through a real proxy.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  formatConfigDump,
  routingSnapshotDump,
  toJsonValue,
} from "../../../mesh/admin/config-dump.js";
import type { AdminDeps, AdminServer } from "../../../mesh/admin/server.js";
import { startAdminServer } from "../../../mesh/admin/server.js";
import { createProxy } from "../../../mesh/proxy.js";
import { proxyIdentity } from "../../../mesh/telemetry/identity.js";
import { ProxyMetrics } from "../../../mesh/telemetry/metrics.js";
import { systemClock } from "../../../src/common/clock.js";
import { silentLog, sleep } from "./harness.js";
import { parseProm, series } from "./prom-text.js";
import { buildSnapshot, header } from "./snapshot-builder.js";

interface Got {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

function request(port: number, method: string, path: string, host?: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, method, path, agent: false, headers: { host: host ?? "admin" } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const self = proxyIdentity({ workload: "podinfo", namespace: "demo", labels: { version: "v2" } });

describe("mesh admin server", function () {
  this.timeout(20_000);
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function admin(over: Partial<AdminDeps> = {}): Promise<AdminServer> {
    const server = await startAdminServer(
      {
        registry: new ProxyMetrics({ processMetrics: false }).registry,
        ready: () => true,
        configDump: () => ({}),
        drain: () => Promise.resolve(),
        exit: () => undefined,
        log: silentLog,
        ...over,
      },
      { port: 0 },
    );
    cleanup.push(() => server.close());
    return server;
  }

  it("listens on 127.0.0.1 by default", async () => {
    const a = await admin();
    assert.equal(a.address, "127.0.0.1");
    assert.ok(a.port > 0);
  });

  it("is ready once the injected check says so, and not while draining", async () => {
    let ready = false;
    let finish: () => void = () => undefined;
    const a = await admin({
      ready: () => ready,
      drain: () =>
        new Promise<void>((resolve) => {
          finish = resolve;
        }),
    });
    assert.deepEqual(await request(a.port, "GET", "/ready").then((r) => [r.status, r.body]), [
      503,
      "PRE_INITIALIZING\n",
    ]);
    ready = true;
    assert.deepEqual(await request(a.port, "GET", "/ready").then((r) => [r.status, r.body]), [
      200,
      "LIVE\n",
    ]);
    const draining = request(a.port, "POST", "/drain");
    await sleep(20);
    assert.deepEqual(await request(a.port, "GET", "/ready").then((r) => [r.status, r.body]), [
      503,
      "DRAINING\n",
    ]);
    assert.equal((await request(a.port, "GET", "/healthz")).status, 200, "alive while draining");
    finish();
    assert.equal((await draining).status, 200);
    assert.equal((await request(a.port, "GET", "/ready")).status, 503);
  });

  it("answers 503 when the readiness check throws", async () => {
    const a = await admin({
      ready: () => {
        throw new Error("boom");
      },
    });
    assert.equal((await request(a.port, "GET", "/ready")).status, 503);
  });

  it("serves the registry at /stats/prometheus", async () => {
    const metrics = new ProxyMetrics({ processMetrics: false });
    metrics.recordRequest(
      {
        direction: "inbound",
        method: "GET",
        authority: "podinfo:9898",
        path: "/",
        protocol: "http",
        status: 500,
        flags: [],
        upstreamCluster: "inbound|9898||",
        upstreamHost: undefined,
        durationMs: 12,
        bytes: { received: 0, sent: 0 },
        grpcStatus: undefined,
      },
      self,
    );
    const a = await admin({ registry: metrics.registry });
    const r = await request(a.port, "GET", "/stats/prometheus");
    assert.equal(r.status, 200);
    assert.match(r.headers["content-type"] ?? "", /^text\/plain; version=0\.0\.4/);
    const s = series(parseProm(r.body), "vireo_requests_total", {
      reporter: "destination",
      destination_workload: "podinfo",
      response_code: "500",
    });
    assert.equal(s[0]?.value, 1);
    const head = await request(a.port, "HEAD", "/stats/prometheus");
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
  });

  it("dumps config as JSON with Maps as objects and RegExps as /source/flags", async () => {
    const snapshot = buildSnapshot({
      vhosts: [
        {
          domains: ["reviews.demo.svc.cluster.local", "reviews.demo"],
          routes: [
            {
              path: { kind: "regex", regex: /^\/api\/v[12]$/u },
              to: "v2",
              headers: [header("x-canary", "1")],
            },
            { to: "v1" },
          ],
        },
      ],
      clusters: { v1: { endpoints: [9001] }, v2: { endpoints: [9002] } },
    });
    const versions = new Map([
      ["type.googleapis.com/envoy.config.route.v3.RouteConfiguration", "7"],
    ]);
    const a = await admin({
      configDump: () => ({
        snapshot: routingSnapshotDump({ ...snapshot, versions }),
        status: { server: "x:1" },
      }),
    });
    const r = await request(a.port, "GET", "/config_dump");
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/json");
    const dump = JSON.parse(r.body) as {
      snapshot: {
        versions: Record<string, string>;
        routeTables: Record<string, { virtualHosts: { routes: { match: { path: unknown } }[] }[] }>;
        clusters: Record<string, { name: string }>;
        endpoints: Record<string, { endpoints: { port: number }[] }>;
      };
      status: unknown;
    };
    assert.deepEqual(dump.snapshot.versions, {
      "type.googleapis.com/envoy.config.route.v3.RouteConfiguration": "7",
    });
    const table = Object.values(dump.snapshot.routeTables)[0];
    assert.deepEqual(Object.keys(table ?? {}), ["name", "virtualHosts"], "no derived indexes");
    assert.deepEqual(table?.virtualHosts[0]?.routes[0]?.match.path, {
      kind: "regex",
      regex: "/^\\/api\\/v[12]$/u",
    });
    assert.deepEqual(Object.keys(dump.snapshot.clusters).sort(), ["v1", "v2"]);
    assert.equal(dump.snapshot.endpoints.v2?.endpoints[0]?.port, 9002);
    assert.deepEqual(dump.status, { server: "x:1" });
  });

  it("makes any value JSON-safe", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const shared = { x: 1 };
    assert.deepEqual(
      toJsonValue({
        m: new Map<unknown, unknown>([[1, "one"]]),
        s: new Set(["a", /b/g]),
        big: 10n,
        inf: Infinity,
        fn: () => 1,
        u: undefined,
        arr: [undefined, shared, shared],
        err: new TypeError("bad"),
        cyclic,
      }),
      {
        m: [[1, "one"]],
        s: ["a", "/b/g"],
        big: "10",
        inf: "Infinity",
        arr: [null, { x: 1 }, { x: 1 }],
        err: { name: "TypeError", message: "bad" },
        cyclic: { a: 1, self: "[Circular]" },
      },
    );
    assert.equal(formatConfigDump(undefined), "null\n");
  });

  it("answers 500 when the config dump fails, 404 and 405 for wrong paths and methods", async () => {
    const a = await admin({
      configDump: () => {
        throw new Error("no snapshot");
      },
    });
    const dump = await request(a.port, "GET", "/config_dump");
    assert.deepEqual([dump.status, dump.body], [500, "no snapshot\n"]);
    assert.equal((await request(a.port, "GET", "/nope")).status, 404);
    const getDrain = await request(a.port, "GET", "/drain");
    assert.deepEqual([getDrain.status, getDrain.headers.allow], [405, "POST"]);
    const postReady = await request(a.port, "POST", "/ready");
    assert.deepEqual([postReady.status, postReady.headers.allow], [405, "GET, HEAD"]);
    assert.equal((await request(a.port, "GET", "/ready?verbose=1")).status, 200);
    assert.match((await request(a.port, "GET", "/")).body, /\/quitquitquit/);
  });

  it("drains once however often asked, and reports a failed or slow drain", async () => {
    let calls = 0;
    let finish: () => void = () => undefined;
    const a = await admin({
      drain: () => {
        calls++;
        return new Promise<void>((resolve) => {
          finish = resolve;
        });
      },
    });
    const first = request(a.port, "POST", "/drain");
    const second = request(a.port, "POST", "/drain");
    await sleep(30);
    finish();
    assert.deepEqual(
      (await Promise.all([first, second])).map((r) => r.status),
      [200, 200],
    );
    assert.equal(calls, 1);

    const failing = await admin({ drain: () => Promise.reject(new Error("stuck listener")) });
    const f = await request(failing.port, "POST", "/drain");
    assert.deepEqual([f.status, f.body], [500, "drain failed: stuck listener\n"]);

    const slow = await admin({
      drain: () => new Promise<void>(() => undefined),
      drainTimeoutMs: 50,
    });
    const s = await request(slow.port, "POST", "/drain");
    assert.equal(s.status, 504);
  });

  it("quitquitquit drains, answers, then exits once", async () => {
    const events: string[] = [];
    let finish: () => void = () => undefined;
    const a = await admin({
      drain: () => {
        events.push("drain");
        return new Promise<void>((resolve) => {
          finish = () => {
            events.push("drained");
            resolve();
          };
        });
      },
      exit: () => events.push("exit"),
    });
    const quit = request(a.port, "POST", "/quitquitquit");
    await sleep(30);
    assert.deepEqual(events, ["drain"]);
    finish();
    const r = await quit;
    assert.deepEqual([r.status, r.body], [200, "OK\n"]);
    await request(a.port, "POST", "/quitquitquit");
    await sleep(20);
    assert.deepEqual(events, ["drain", "drained", "exit"]);
  });

  it("drains a real proxy: answers only after a slow request in flight has finished", async () => {
    let arrived: () => void = () => undefined;
    const arrival = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    let release: () => void = () => undefined;
    let answered = false;
    const app = http.createServer((req, res) => {
      req.resume();
      arrived();
      res.once("finish", () => {
        answered = true;
      });
      release = () => res.end("slow answer");
    });
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          app.closeAllConnections();
          app.close(() => {
            resolve();
          });
        }),
    );
    const metrics = new ProxyMetrics({ processMetrics: false });
    const proxy = createProxy({
      role: "sidecar",
      namespace: "demo",
      snapshot: () => buildSnapshot({ vhosts: [], clusters: {} }),
      clock: systemClock,
      log: silentLog,
      onRequestDone: (r) => {
        metrics.recordRequest(r, self);
      },
    });
    cleanup.push(() => proxy.close());
    const inbound = await proxy.listenInbound("127.0.0.1", 0, (app.address() as AddressInfo).port);
    const a = await admin({ registry: metrics.registry, drain: () => proxy.drain() });

    const inflight = request(inbound.port, "GET", "/slow", "podinfo:9898");
    await arrival;
    let answeredAtDrain: boolean | undefined;
    const drained = request(a.port, "POST", "/drain").then((r) => {
      answeredAtDrain = answered;
      return r;
    });
    await sleep(150);
    assert.equal(answeredAtDrain, undefined, "drain answered while a request was in flight");
    await assert.rejects(request(inbound.port, "GET", "/", "podinfo"), /ECONNREFUSED/);
    release();
    const [r, d] = await Promise.all([inflight, drained]);
    assert.deepEqual([r.status, r.body], [200, "slow answer"]);
    assert.deepEqual([d.status, d.body], [200, "drained\n"]);
    assert.equal(answeredAtDrain, true);

    const stats = parseProm((await request(a.port, "GET", "/stats/prometheus")).body);
    const s = series(stats, "vireo_requests_total", {
      reporter: "destination",
      response_code: "200",
    });
    assert.equal(s.length, 1);
    assert.equal(s[0]?.labels.destination_service, "podinfo.demo.svc.cluster.local");
    assert.equal(s[0]?.labels.destination_version, "v2");
    const slow = series(stats, "vireo_request_duration_milliseconds_bucket", { le: "100" });
    assert.equal(slow[0]?.value, 0, "the request took at least 150 ms");
  });
});
