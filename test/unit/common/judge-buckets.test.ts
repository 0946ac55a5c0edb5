// The judge's latency buckets: the edges are Renard's R10 series, and the proxy's index
// computation agrees with a plain linear scan (Prometheus `le` semantics) everywhere, including
// exactly at every edge and just either side of it, where the rounding of the edges bites.
import assert from "node:assert/strict";
import { bucketIndex, JUDGE_BUCKETS_MS } from "../../../src/common/judge-buckets.js";

function byScan(ms: number): number {
  const i = JUDGE_BUCKETS_MS.findIndex((edge) => ms <= edge);
  return i === -1 ? JUDGE_BUCKETS_MS.length : i;
}

describe("judge latency buckets", () => {
  it("are R10 from 0.1 ms to 100 s, ten per decade", () => {
    assert.equal(JUDGE_BUCKETS_MS.length, 61);
    assert.deepEqual(
      JUDGE_BUCKETS_MS.slice(0, 11),
      [0.1, 0.125, 0.16, 0.2, 0.25, 0.315, 0.4, 0.5, 0.63, 0.8, 1],
    );
    assert.deepEqual(
      JUDGE_BUCKETS_MS.slice(30, 41),
      [100, 125, 160, 200, 250, 315, 400, 500, 630, 800, 1000],
    );
    assert.equal(JUDGE_BUCKETS_MS.at(-1), 100_000);
  });

  it("see +50 ms at every threshold up to 200 ms: an edge lies in every 50 ms there", () => {
    for (let i = 1; i < JUDGE_BUCKETS_MS.length; i++) {
      const lo = JUDGE_BUCKETS_MS[i - 1] ?? 0;
      if (lo >= 200) break;
      assert.ok((JUDGE_BUCKETS_MS[i] ?? 0) - lo <= 50, String(lo));
    }
  });

  it("index like a linear scan at, around and between every edge", () => {
    const probes = [0, -1, 1e-6, 0.05, 1e6, Infinity, NaN];
    for (const edge of JUDGE_BUCKETS_MS) {
      probes.push(edge, edge * (1 + 1e-12), edge * (1 - 1e-12), edge * 1.001, edge * 0.999);
      probes.push(edge * 1.1, edge * 1.2);
    }
    for (const ms of probes) {
      // NaN falls in the first bucket for both (no comparison holds).
      const want = Number.isNaN(ms) ? 0 : byScan(ms);
      assert.equal(bucketIndex(ms), want, `ms=${String(ms)}`);
    }
  });
});
