// The controller's per-workload totals from the proxies' reports: monotone across pods that go
// away and proxies that restart, never counting a report twice; and the quantile read from the
// buckets, against values worked out by hand with Prometheus's histogram_quantile rule.
import assert from "node:assert/strict";
import type { ProxyReport } from "../../../src/analysis/proxy-ledger.js";
import {
  bucketQuantile,
  parseProxyReport,
  WorkloadLedger,
} from "../../../src/analysis/proxy-ledger.js";

function report(
  incarnation: string,
  requests: number,
  failures: number,
  fast = requests,
): ProxyReport {
  return {
    incarnation,
    requests,
    failures,
    warmup: 10,
    buckets: [
      ["100", fast],
      ["+Inf", requests],
    ],
  };
}

const pick = (t: {
  requests: number;
  failures: number;
  warmup: number;
  buckets: ReadonlyMap<string, number>;
}) => ({
  requests: t.requests,
  failures: t.failures,
  warmup: t.warmup,
  buckets: Object.fromEntries(t.buckets),
});

describe("proxy ledger", () => {
  it("adds live pods, keeps a gone pod's last report, and starts a restarted proxy from zero", () => {
    const l = new WorkloadLedger();
    assert.deepEqual(
      pick(
        l.update(
          new Map([
            ["a", report("a1", 10, 1, 8)],
            ["b", report("b1", 5, 0)],
          ]),
          "w",
        ),
      ),
      { requests: 15, failures: 1, warmup: 20, buckets: { "100": 13, "+Inf": 15 } },
    );
    // The same reports again: nothing added.
    assert.equal(
      l.update(
        new Map([
          ["a", report("a1", 10, 1, 8)],
          ["b", report("b1", 5, 0)],
        ]),
        "w",
      ).requests,
      15,
    );
    // b is gone; a restarted (new incarnation, 2 requests since).
    const t = l.update(new Map([["a", report("a2", 2, 1)]]), "w");
    assert.deepEqual(pick(t), {
      requests: 17,
      failures: 2,
      warmup: 30,
      buckets: { "100": 15, "+Inf": 17 },
    });
    // a goes on counting in its new incarnation.
    assert.equal(l.update(new Map([["a", report("a2", 6, 1)]]), "w").requests, 21);
  });

  it("refuses counters that went down within one incarnation", () => {
    const l = new WorkloadLedger();
    l.update(new Map([["a", report("a1", 10, 1)]]), "demo/w");
    assert.throws(
      () => l.update(new Map([["a", report("a1", 9, 1)]]), "demo/w"),
      (e: Error & { code?: string }) =>
        e.code === "JudgeCountsDecreased" && e.message.includes("demo/w"),
    );
  });

  it("parses what the proxy serves and refuses anything else", () => {
    const body = { incarnation: "x", requests: 3, failures: 1, warmup: 10, buckets: [["+Inf", 3]] };
    assert.deepEqual(parseProxyReport(body, "p"), body);
    for (const bad of [
      null,
      [],
      { ...body, incarnation: "" },
      { ...body, requests: -1 },
      { ...body, buckets: [[1, 2]] },
    ]) {
      assert.throws(() => parseProxyReport(bad, "p"), /JudgeCountsMalformed|sent/);
    }
  });

  it("reads quantiles as histogram_quantile does", () => {
    const b = new Map([
      ["10", 50],
      ["20", 90],
      ["40", 100],
      ["+Inf", 100],
    ]);
    // rank 50 is the top of the first bucket; rank 70 is half-way through (10, 20].
    assert.equal(bucketQuantile(b, 0.5), 10);
    assert.equal(bucketQuantile(b, 0.7), 15);
    assert.equal(bucketQuantile(b, 0.95), 30);
    assert.equal(bucketQuantile(b, 0.25), 5);
    // Above the last finite edge: that edge.
    assert.equal(
      bucketQuantile(
        new Map([
          ["10", 1],
          ["+Inf", 4],
        ]),
        0.9,
      ),
      10,
    );
    assert.ok(Number.isNaN(bucketQuantile(new Map([["+Inf", 0]]), 0.5)));
  });
});
