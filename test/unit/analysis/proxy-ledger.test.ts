// The controller's per-workload totals from the proxies' reports: monotone across pods that go
// away and proxies that restart, never counting a report twice.
import assert from "node:assert/strict";
import type { ProxyReport } from "../../../src/analysis/proxy-ledger.js";
import { parseProxyReport, WorkloadLedger } from "../../../src/analysis/proxy-ledger.js";

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
});
