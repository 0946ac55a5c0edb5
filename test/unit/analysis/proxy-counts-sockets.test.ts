// The judge's counts end to end over real sockets, no Prometheus: requests through a real inbound
// proxy, counted by the proxy's JudgeCounts, served on its real status port, read by the
// controller's ProxyCounts over HTTP. Then the proxy restarts under the same pod name: the
// controller's totals go on from where they were, neither counting the old requests twice nor
// losing them.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { StatusServer } from "../../../mesh/admin/status.js";
import { startStatusServer } from "../../../mesh/admin/status.js";
import type { Proxy } from "../../../mesh/proxy.js";
import { createProxy } from "../../../mesh/proxy.js";
import { DEFAULT_WARMUP_REQUESTS, JudgeCounts } from "../../../mesh/telemetry/judge-counts.js";
import { ProxyMetrics } from "../../../mesh/telemetry/metrics.js";
import type { CountScope, CountSource } from "../../../src/analysis/counts.js";
import type { ProxyDirectory, ProxyEndpoint } from "../../../src/analysis/proxy-counts.js";
import { ProxyCounts } from "../../../src/analysis/proxy-counts.js";
import { systemClock } from "../../../src/common/clock.js";
import { send, silentLog } from "../mesh/harness.js";
import { buildSnapshot } from "../mesh/snapshot-builder.js";

const SCOPE: CountScope = { namespace: "demo", workload: "podinfo" };

/** Our own port, in memory: the one pod of the workload, at whatever status port it has now. */
class OnePod implements ProxyDirectory {
  url = "";
  proxies(scope: CountScope): Promise<readonly ProxyEndpoint[]> {
    assert.deepEqual(scope, SCOPE);
    return Promise.resolve([{ pod: "podinfo-7d9f8c6b5-x2x9q", url: this.url }]);
  }
}

interface PodProxy {
  readonly proxy: Proxy;
  readonly status: StatusServer;
  readonly inboundPort: number;
  readonly counts: JudgeCounts;
}

/** A proxy as mesh/main.ts wires one: the telemetry hook feeds both metrics and judge counts. */
async function startPodProxy(appPort: number): Promise<PodProxy> {
  const metrics = new ProxyMetrics({ processMetrics: false });
  const counts = new JudgeCounts();
  const proxy = createProxy({
    role: "sidecar",
    namespace: "demo",
    snapshot: () => buildSnapshot({ vhosts: [], clusters: {} }),
    clock: systemClock,
    log: silentLog,
    onRequestDone: (r) => {
      counts.record(r);
    },
  });
  const inbound = await proxy.listenInbound("127.0.0.1", 0, appPort);
  const status = await startStatusServer(
    {
      registry: metrics.registry,
      state: () => "LIVE",
      probes: new Map(),
      log: silentLog,
      judgeCounts: counts,
    },
    { port: 0, host: "127.0.0.1" },
  );
  return { proxy, status, inboundPort: inbound.port, counts };
}

async function stop(p: PodProxy): Promise<void> {
  await p.status.close();
  await p.proxy.close();
}

describe("judge counts: from a real proxy to the controller, no Prometheus", function () {
  this.timeout(30_000);
  let app: http.Server | undefined;
  let pod: PodProxy | undefined;

  after(async () => {
    if (pod !== undefined) await stop(pod);
    const a = app;
    if (a !== undefined) {
      a.closeAllConnections();
      await new Promise<void>((resolve) =>
        a.close(() => {
          resolve();
        }),
      );
    }
  });

  it("times requests after the cold start, counts every failure, and survives a proxy restart", async () => {
    const started = http.createServer((req, res) => {
      req.resume();
      const answer = (): void => {
        res.statusCode = req.url === "/fail" ? 503 : 200;
        res.end("ok");
      };
      // The app's own latency, not a wait in the test: /slow answers after 80 ms.
      if (req.url === "/slow") setTimeout(answer, 80);
      else answer();
    });
    app = started;
    await new Promise<void>((resolve) => started.listen(0, "127.0.0.1", resolve));
    const appPort = (started.address() as AddressInfo).port;
    const directory = new OnePod();
    const source: CountSource = new ProxyCounts(directory);

    pod = await startPodProxy(appPort);
    directory.url = `http://127.0.0.1:${String(pod.status.port)}`;
    // The cold start: slow requests, counted as requests but kept out of the latency histogram.
    for (let i = 0; i < DEFAULT_WARMUP_REQUESTS; i++) {
      const r = await send(pod.inboundPort, { host: "podinfo:9898", path: "/slow" });
      assert.equal(r.status, 200);
    }
    const le = ["50", "100", "+Inf"];
    const cold = await source.counts(SCOPE, le, Date.now());
    assert.deepEqual(cold, {
      kind: "counts",
      counts: { requests: 10, failures: 0, atOrBelow: { "50": 0, "100": 0, "+Inf": 0 } },
    });

    for (const path of ["/a", "/b", "/fail", "/slow", "/c"]) {
      await send(pod.inboundPort, { host: "podinfo:9898", path });
    }
    const first = await source.counts(SCOPE, le, Date.now());
    assert.deepEqual(first, {
      kind: "counts",
      counts: { requests: 15, failures: 1, atOrBelow: { "50": 4, "100": 5, "+Inf": 5 } },
    });
    // Read again with nothing new: the same totals, nothing added twice.
    assert.deepEqual(await source.counts(SCOPE, le, Date.now()), first);

    // The proxy restarts (same pod, new process): its counters start again from zero.
    const old = pod;
    pod = undefined;
    await stop(old);
    pod = await startPodProxy(appPort);
    assert.notEqual(pod.counts.incarnation, old.counts.incarnation);
    directory.url = `http://127.0.0.1:${String(pod.status.port)}`;
    for (let i = 0; i < DEFAULT_WARMUP_REQUESTS; i++) {
      await send(pod.inboundPort, { host: "podinfo:9898", path: "/fail" });
    }
    for (const path of ["/fail", "/d"]) {
      await send(pod.inboundPort, { host: "podinfo:9898", path });
    }
    const after = await source.counts(SCOPE, le, Date.now());
    assert.deepEqual(after, {
      kind: "counts",
      counts: { requests: 27, failures: 12, atOrBelow: { "50": 6, "100": 7, "+Inf": 7 } },
    });
  });

  it("makes a read inconclusive when a proxy does not answer", async () => {
    const directory = new OnePod();
    // A port nothing listens on: a status server started and closed again.
    const gone = await startStatusServer(
      {
        registry: new ProxyMetrics().registry,
        state: () => "LIVE",
        probes: new Map(),
        log: silentLog,
      },
      { port: 0, host: "127.0.0.1" },
    );
    directory.url = `http://127.0.0.1:${String(gone.port)}`;
    await gone.close();
    const source: CountSource = new ProxyCounts(directory);
    const out = await source.counts(SCOPE, ["+Inf"], Date.now());
    assert.equal(out.kind, "error");
  });
});
