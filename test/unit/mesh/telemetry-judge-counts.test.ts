// The proxy's judge counts, record by record: only inbound requests, 5xx and gRPC server faults
// as failures (a client's own gRPC errors are not), the warm-up kept out of the histogram only.
import assert from "node:assert/strict";
import type { RequestRecord } from "../../../mesh/filters/request-record.js";
import { JudgeCounts } from "../../../mesh/telemetry/judge-counts.js";

function rec(over: Partial<RequestRecord>): RequestRecord {
  return {
    direction: "inbound",
    method: "GET",
    authority: "podinfo:9898",
    path: "/",
    protocol: "http",
    status: 200,
    flags: [],
    upstreamCluster: undefined,
    upstreamHost: undefined,
    durationMs: 3,
    bytes: { received: 0, sent: 0 },
    grpcStatus: undefined,
    ...over,
  };
}

describe("proxy judge counts", () => {
  it("counts inbound requests and server faults, and times all but the warm-up", () => {
    const c = new JudgeCounts(2);
    c.record(rec({ durationMs: 900, status: 503 })); // warm-up: counted, not timed
    c.record(rec({ durationMs: 900 })); // warm-up
    c.record(rec({ direction: "outbound", status: 500 })); // another workload's request
    c.record(rec({ direction: "gateway", status: 500 }));
    c.record(rec({ durationMs: 1 }));
    c.record(rec({ durationMs: 110, status: 502 }));
    c.record(rec({ protocol: "grpc", grpcStatus: 14, durationMs: 4 })); // UNAVAILABLE: server's
    c.record(rec({ protocol: "grpc", grpcStatus: 5, durationMs: 4 })); // NOT_FOUND: client's
    const s = c.snapshot();
    assert.equal(s.requests, 6);
    assert.equal(s.failures, 3);
    assert.equal(s.warmup, 2);
    const at = new Map(s.buckets);
    assert.equal(at.get("1"), 1);
    assert.equal(at.get("4"), 3);
    assert.equal(at.get("100"), 3);
    assert.equal(at.get("125"), 4);
    assert.equal(at.get("+Inf"), 4);
    assert.equal(s.buckets.length, 62);
  });
});
