// The admin port as a real Prometheus scrapes it: requests through a real inbound proxy, counted
// by the telemetry hook, then queried the way the controller's success-rate check queries them.
import assert from "node:assert/strict";
import { access, constants } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { AdminServer } from "../../../mesh/admin/server.js";
import { startAdminServer } from "../../../mesh/admin/server.js";
import type { Proxy } from "../../../mesh/proxy.js";
import { createProxy } from "../../../mesh/proxy.js";
import { proxyIdentity } from "../../../mesh/telemetry/identity.js";
import { ProxyMetrics } from "../../../mesh/telemetry/metrics.js";
import { systemClock } from "../../../src/common/clock.js";
import type { PrometheusServer } from "../../support/prometheus.js";
import { PROMETHEUS_BIN, startPrometheus } from "../../support/prometheus.js";
import { send, silentLog } from "./harness.js";
import { buildSnapshot } from "./snapshot-builder.js";

/**
 * The shared launcher scrapes `/metrics`; this answers there with a redirect to the admin
 * port's `/stats/prometheus`, which Prometheus follows, so the scrape still ends on our endpoint.
 */
async function redirectTo(adminPort: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(302, { location: `http://127.0.0.1:${adminPort}/stats/prometheus` });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

function closeServer(s: http.Server): Promise<void> {
  return new Promise((resolve) => {
    s.closeAllConnections();
    s.close(() => {
      resolve();
    });
  });
}

describe("mesh admin: scraped by a real Prometheus", function () {
  this.timeout(60_000);
  let app: http.Server | undefined;
  let shim: http.Server | undefined;
  let proxy: Proxy | undefined;
  let admin: AdminServer | undefined;
  let prometheus: PrometheusServer | undefined;

  before(async () => {
    // Prometheus is a test dependency (Debian's `prometheus`, installed by `make install`): a
    // missing one fails the test with that said, it is never skipped.
    await access(PROMETHEUS_BIN, constants.X_OK).catch(() => {
      throw new Error(`no Prometheus at ${PROMETHEUS_BIN}: run make install-debs`);
    });
  });

  after(async () => {
    await prometheus?.stop();
    await admin?.close();
    await proxy?.close();
    if (shim !== undefined) await closeServer(shim);
    if (app !== undefined) await closeServer(app);
  });

  it("exposes vireo_requests_total{reporter=destination} that Prometheus can query", async () => {
    const started = http.createServer((req, res) => {
      req.resume();
      res.statusCode = req.url === "/fail" ? 500 : 200;
      res.end("ok");
    });
    app = started;
    await new Promise<void>((resolve) => started.listen(0, "127.0.0.1", resolve));
    const identity = proxyIdentity({
      workload: "podinfo",
      namespace: "demo",
      labels: { version: "v1" },
    });
    const metrics = new ProxyMetrics();
    const p = (proxy = createProxy({
      role: "sidecar",
      namespace: "demo",
      snapshot: () => buildSnapshot({ vhosts: [], clusters: {} }),
      clock: systemClock,
      log: silentLog,
      onRequestDone: (r) => {
        metrics.recordRequest(r, identity);
      },
    }));
    const inbound = await p.listenInbound("127.0.0.1", 0, (started.address() as AddressInfo).port);
    admin = await startAdminServer(
      {
        registry: metrics.registry,
        ready: () => true,
        configDump: () => ({}),
        drain: () => p.drain(),
        exit: () => undefined,
        log: silentLog,
      },
      { port: 0 },
    );
    for (const path of ["/a", "/b", "/c", "/fail"]) {
      const r = await send(inbound.port, { host: "podinfo:9898", path });
      assert.equal(r.status, path === "/fail" ? 500 : 200);
    }
    shim = await redirectTo(admin.port);
    prometheus = await startPrometheus({
      targets: [`127.0.0.1:${(shim.address() as AddressInfo).port}`],
      scrapeIntervalSeconds: 1,
    });

    const total = await prometheus.waitFor(
      'sum(vireo_requests_total{reporter="destination"})',
      (v) => v >= 4,
      30_000,
    );
    assert.equal(total, 4);
    const selector =
      'reporter="destination",destination_workload_namespace="demo",destination_workload=~"podinfo"';
    const successRate = await prometheus.value(
      `sum(vireo_requests_total{${selector},response_code!~"5.*"}) / sum(vireo_requests_total{${selector}}) * 100`,
    );
    assert.equal(successRate, 75);
    const fast = await prometheus.value(
      `sum(vireo_request_duration_milliseconds_bucket{${selector},le="+Inf"})`,
    );
    assert.equal(fast, 4);
    const service = await prometheus.value(
      'count(vireo_requests_total{destination_service="podinfo.demo.svc.cluster.local",destination_version="v1",response_flags="-"})',
    );
    assert.equal(service, 2, "one series per response code");
  });
});
