// The proxy's request metrics: Istio's label set from request records, exact series and
// histogram buckets in the exposition, bounded cardinality, and a registry of their own.
import assert from "node:assert/strict";
import { register as globalRegistry } from "prom-client";
import type { TelemetryRecord } from "../../../mesh/telemetry/labels.js";
import { proxyIdentity } from "../../../mesh/telemetry/identity.js";
import { DURATION_BUCKETS_MS, ProxyMetrics } from "../../../mesh/telemetry/metrics.js";
import { parseProm, series } from "./prom-text.js";

const self = proxyIdentity({
  workload: "podinfo",
  namespace: "demo",
  labels: { version: "2.0.1" },
  serviceAccount: "podinfo",
});

function record(over: Partial<TelemetryRecord> = {}): TelemetryRecord {
  return {
    direction: "inbound",
    method: "GET",
    authority: "podinfo:9898",
    path: "/api/users/12345?session=abc",
    protocol: "http",
    status: 200,
    flags: [],
    upstreamCluster: "inbound|15006||",
    upstreamHost: "127.0.0.1:9898",
    durationMs: 3,
    bytes: { received: 0, sent: 120 },
    grpcStatus: undefined,
    ...over,
  };
}

async function samples(m: ProxyMetrics) {
  return parseProm(await m.expose());
}

describe("mesh telemetry: metrics", () => {
  it("reports an inbound request as reporter=destination with the full label set", async () => {
    const m = new ProxyMetrics({ processMetrics: false });
    m.recordRequest(record({ peer: { workload: "frontend", namespace: "web" } }), self);
    const s = series(await samples(m), "vireo_requests_total");
    assert.deepEqual(s, [
      {
        name: "vireo_requests_total",
        labels: {
          reporter: "destination",
          source_workload: "frontend",
          source_workload_namespace: "web",
          source_principal: "unknown",
          destination_workload: "podinfo",
          destination_workload_namespace: "demo",
          destination_service: "podinfo.demo.svc.cluster.local",
          destination_version: "2.0.1",
          request_protocol: "http",
          response_code: "200",
          grpc_response_status: "",
          response_flags: "-",
          connection_security_policy: "none",
        },
        value: 1,
      },
    ]);
  });

  it("reports an outbound request as reporter=source, with the peer's workload", async () => {
    const m = new ProxyMetrics({ processMetrics: false });
    m.recordRequest(
      record({
        direction: "outbound",
        authority: "reviews:9080",
        upstreamCluster: "outbound|9080||reviews-canary.demo.svc.cluster.local",
        status: 503,
        flags: ["UF", "URX"],
        peer: { workload: "reviews", namespace: "demo", version: "v2" },
      }),
      self,
    );
    const [s] = series(await samples(m), "vireo_requests_total");
    assert.deepEqual(s?.labels, {
      reporter: "source",
      source_workload: "podinfo",
      source_workload_namespace: "demo",
      source_principal: "unknown",
      destination_workload: "reviews",
      destination_workload_namespace: "demo",
      destination_service: "reviews.demo.svc.cluster.local",
      destination_version: "v2",
      request_protocol: "http",
      response_code: "503",
      grpc_response_status: "",
      response_flags: "UF,URX",
      connection_security_policy: "unknown",
    });
  });

  it("reports unknown peers, no route, no response and gRPC status as Istio does", async () => {
    const m = new ProxyMetrics({ processMetrics: false });
    m.recordRequest(
      record({ direction: "outbound", upstreamCluster: undefined, status: 404, flags: ["NR"] }),
      self,
    );
    m.recordRequest(record({ status: 0, flags: ["DC"] }), self);
    m.recordRequest(record({ protocol: "grpc", grpcStatus: 14, status: 200 }), self);
    const all = await samples(m);
    const nr = series(all, "vireo_requests_total", { response_flags: "NR" })[0]?.labels;
    assert.equal(nr?.destination_service, "unknown");
    assert.equal(nr?.destination_workload, "unknown");
    assert.equal(nr?.destination_version, "unknown");
    assert.equal(nr?.response_code, "404");
    const dc = series(all, "vireo_requests_total", { response_flags: "DC" })[0]?.labels;
    assert.equal(dc?.response_code, "0");
    assert.equal(dc?.source_workload, "unknown");
    const grpc = series(all, "vireo_requests_total", { request_protocol: "grpc" })[0]?.labels;
    assert.equal(grpc?.grpc_response_status, "14");
    assert.equal(grpc?.response_code, "200");
  });

  it("counts requests with the same labels in one series and never labels by path", async () => {
    const m = new ProxyMetrics({ processMetrics: false });
    for (let i = 0; i < 5; i++)
      m.recordRequest(record({ path: `/users/${i}`, method: i % 2 ? "GET" : "POST" }), self);
    const text = await m.expose();
    const s = series(parseProm(text), "vireo_requests_total");
    assert.equal(s.length, 1);
    assert.equal(s[0]?.value, 5);
    assert.ok(!text.includes("/users/"), "a path leaked into the labels");
    assert.ok(!text.includes("method="));
  });

  it("merges records that differ only in what the labels leave out, across scrapes", async () => {
    const m = new ProxyMetrics({ processMetrics: false });
    m.recordRequest(record({ authority: "podinfo" }), self);
    m.recordRequest(record({ authority: "podinfo.demo.svc.cluster.local:9898" }), self);
    assert.equal(series(await samples(m), "vireo_requests_total")[0]?.value, 2);
    m.recordRequest(record({ authority: "podinfo.demo:9898" }), self);
    const after = series(await samples(m), "vireo_requests_total");
    assert.deepEqual(
      after.map((s) => s.value),
      [3],
    );
    const other = proxyIdentity({ workload: "podinfo-primary", namespace: "demo" });
    m.recordRequest(record({ authority: "podinfo" }), other);
    const byWorkload = series(await samples(m), "vireo_requests_total").map((s) => [
      s.labels.destination_workload,
      s.value,
    ]);
    assert.deepEqual(byWorkload, [
      ["podinfo", 3],
      ["podinfo-primary", 1],
    ]);
  });

  it("fills duration buckets cumulatively, with sum and count", async () => {
    const m = new ProxyMetrics({ processMetrics: false });
    for (const ms of [0.3, 3, 3, 40, 70_000]) m.recordRequest(record({ durationMs: ms }), self);
    const all = await samples(m);
    const buckets = series(all, "vireo_request_duration_milliseconds_bucket");
    const byLe = new Map(buckets.map((b) => [b.labels.le, b.value]));
    assert.deepEqual(
      [...byLe.keys()],
      [...DURATION_BUCKETS_MS.map(String), "+Inf"],
      "bucket bounds",
    );
    assert.equal(byLe.get("0.5"), 1);
    assert.equal(byLe.get("2"), 1);
    assert.equal(byLe.get("5"), 3);
    assert.equal(byLe.get("25"), 3);
    assert.equal(byLe.get("50"), 4);
    assert.equal(byLe.get("60000"), 4);
    assert.equal(byLe.get("300000"), 5);
    assert.equal(byLe.get("+Inf"), 5);
    assert.equal(series(all, "vireo_request_duration_milliseconds_count")[0]?.value, 5);
    assert.equal(series(all, "vireo_request_duration_milliseconds_sum")[0]?.value, 70_046.3);
    for (const b of buckets) assert.equal(b.labels.reporter, "destination");
  });

  it("counts a duration equal to a bound in that bound's bucket (Prometheus le)", async () => {
    const m = new ProxyMetrics({ processMetrics: false });
    for (const ms of [0.5, 1, 1.0001]) m.recordRequest(record({ durationMs: ms }), self);
    const buckets = series(await samples(m), "vireo_request_duration_milliseconds_bucket");
    const byLe = new Map(buckets.map((b) => [b.labels.le, b.value]));
    assert.equal(byLe.get("0.5"), 1);
    assert.equal(byLe.get("1"), 2);
    assert.equal(byLe.get("2"), 3);
  });

  it("keeps flags in the order the request path set them, one series per order", async () => {
    const m = new ProxyMetrics({ processMetrics: false });
    m.recordRequest(record({ status: 503, flags: ["UF", "URX"] }), self);
    m.recordRequest(record({ status: 503, flags: ["URX", "UF"] }), self);
    m.recordRequest(record({ status: 503, flags: ["UF", "URX"] }), self);
    const s = series(await samples(m), "vireo_requests_total");
    assert.deepEqual(
      s.map((x) => [x.labels.response_flags, x.value]),
      [
        ["UF,URX", 2],
        ["URX,UF", 1],
      ],
    );
  });

  it("tells apart records that differ only in status, gRPC status or transport", async () => {
    const m = new ProxyMetrics({ processMetrics: false });
    const variants: Partial<TelemetryRecord>[] = [
      {},
      { status: 201 },
      { status: 1200 },
      { status: 0 },
      { protocol: "grpc", grpcStatus: 0 },
      { protocol: "grpc", grpcStatus: 99 },
      { protocol: "grpc", grpcStatus: 2 },
      { mutualTls: true, peerPrincipal: "spiffe://cluster.local/ns/web/sa/frontend" },
    ];
    for (const v of variants) m.recordRequest(record(v), self);
    const got = series(await samples(m), "vireo_requests_total").map((x) => [
      x.labels.response_code,
      x.labels.grpc_response_status,
      x.labels.connection_security_policy,
      x.value,
    ]);
    // An out-of-range status reads as 0 and an unknown gRPC code as 2, as the labels say.
    assert.deepEqual(got, [
      ["200", "", "none", 1],
      ["201", "", "none", 1],
      ["0", "", "none", 2],
      ["200", "0", "none", 1],
      ["200", "2", "none", 2],
      ["200", "", "mutual_tls", 1],
    ]);
  });

  it("records request and response sizes when asked to", async () => {
    const m = new ProxyMetrics({ processMetrics: false, bytes: true });
    m.recordRequest(record({ bytes: { received: 5_000, sent: 50 } }), self);
    const all = await samples(m);
    const req = series(all, "vireo_request_bytes_bucket");
    assert.equal(req.find((b) => b.labels.le === "1000")?.value, 0);
    assert.equal(req.find((b) => b.labels.le === "10000")?.value, 1);
    assert.equal(series(all, "vireo_response_bytes_sum")[0]?.value, 50);
    const off = new ProxyMetrics({ processMetrics: false });
    off.recordRequest(record(), self);
    assert.equal(series(await samples(off), "vireo_request_bytes_count").length, 0);
  });

  it("reports the xDS stream's state, read at each scrape, once a source is given", async () => {
    const m = new ProxyMetrics({ processMetrics: false });
    assert.equal(series(await samples(m), "vireo_proxy_xds_connected").length, 0);
    let state = { connected: true, rejectedTypes: 0 };
    m.reportXds(() => state);
    const at = async (name: string) => series(await samples(m), name)[0]?.value;
    assert.equal(await at("vireo_proxy_xds_connected"), 1);
    assert.equal(await at("vireo_proxy_xds_rejected_types"), 0);
    state = { connected: false, rejectedTypes: 2 };
    assert.equal(await at("vireo_proxy_xds_connected"), 0);
    assert.equal(await at("vireo_proxy_xds_rejected_types"), 2);
  });

  it("caps the distinct values a peer can put in a label", async () => {
    const m = new ProxyMetrics({ processMetrics: false, maxValuesPerLabel: 2 });
    for (const w of ["a", "b", "c", "d", "a"]) {
      m.recordRequest(record({ peer: { workload: w, namespace: "web" } }), self);
    }
    const s = series(await samples(m), "vireo_requests_total");
    const counts = Object.fromEntries(
      s.map((x) => [x.labels.source_workload ?? "", x.value] as const),
    );
    assert.deepEqual(counts, { a: 2, b: 1, unknown: 2 });
  });

  it("keeps its own registry: instances coexist and the global registry stays empty", async () => {
    const a = new ProxyMetrics();
    const b = new ProxyMetrics();
    a.recordRequest(record(), self);
    assert.equal(series(await samples(b), "vireo_requests_total").length, 0);
    assert.equal(globalRegistry.getSingleMetric("vireo_requests_total"), undefined);
    const text = await a.expose();
    assert.match(text, /^vireo_proxy_process_resident_memory_bytes \d+/m);
    assert.match(text, /^# TYPE vireo_requests_total counter$/m);
    assert.match(text, /^# TYPE vireo_request_duration_milliseconds histogram$/m);
  });
});
