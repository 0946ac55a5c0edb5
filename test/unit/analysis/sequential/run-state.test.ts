import assert from "node:assert/strict";
import type { JudgeCounters, JudgeStatus } from "../../../../src/domain/judge.js";
import type { JudgeConfig, Read } from "../../../../src/analysis/sequential/run-state.js";
import {
  advance,
  edgesToRead,
  emptyState,
  freezePairs,
  judgeRun,
  needsPairs,
  PAIR_WINDOW_REQUESTS,
  pairWindowRequests,
  placePairs,
} from "../../../../src/analysis/sequential/run-state.js";

const EDGES = [50, 100, 250];

const CONFIG: JudgeConfig = {
  metrics: [
    { name: "request-success-rate", margin: { kind: "points", points: 0.5 } },
    { name: "request-duration", margin: { kind: "ms", ms: 20 } },
  ],
  settings: { alphaHarm: 0.01, alphaPass: 0.05 },
  warmupRequests: 20,
  minStepRequests: 50,
};

/** Counters with `slow` requests above 250 ms and `fast` at or below 100 ms. */
function c(requests: number, failures: number, fast = requests, mid = fast): JudgeCounters {
  return { requests, failures, atOrBelow: { "+Inf": requests, "100": fast, "250": mid } };
}

const read = (weight: number, canary: JudgeCounters, primary: JudgeCounters): Read => ({
  at: "2026-12-04T12:00:00.000Z",
  weight,
  canary,
  primary,
});

function fold(reads: readonly [number, Read][], start?: JudgeStatus): JudgeStatus {
  let s =
    start ?? freezePairs(emptyState("r2", CONFIG), CONFIG, [{ quantile: 0.5, ms: 100 }], EDGES);
  for (const [step, r] of reads) s = advance(s, r, step, CONFIG);
  return s;
}

describe("the judge's run state", () => {
  it("freezes request-duration's pairs once, and reads their edges", () => {
    const empty = emptyState("r2", CONFIG);
    assert.ok(needsPairs(empty));
    // Before the pairs: every edge, for the window they are placed from.
    assert.deepEqual(edgesToRead(empty, EDGES), ["50", "100", "250", "+Inf"]);
    assert.equal(freezePairs(empty, CONFIG, [{ quantile: 0.5, ms: NaN }], EDGES), empty);
    const frozen = freezePairs(empty, CONFIG, [{ quantile: 0.5, ms: 100 }], EDGES);
    assert.equal(needsPairs(frozen), false);
    assert.deepEqual(edgesToRead(frozen, EDGES), ["+Inf", "100", "250"]);
    const again = freezePairs(frozen, CONFIG, [{ quantile: 0.5, ms: 1000 }], EDGES);
    assert.deepEqual(again.metrics, frozen.metrics);
  });

  describe("placing the pairs from the primary's requests in this run", () => {
    /** Primary counters: n requests, `under50` of them ≤ 50 ms, `under100` ≤ 100, the rest ≤ 250. */
    const p = (n: number, under50: number, under100: number): JudgeCounters => ({
      requests: n,
      failures: 0,
      atOrBelow: { "50": under50, "100": under100, "250": n, "+Inf": n },
    });
    /** Folds a read (weight 10) and places, as runJudged does. */
    const step = (s: JudgeStatus, primary: JudgeCounters): JudgeStatus =>
      placePairs(advance(s, read(10, c(0, 0), primary), 1, CONFIG), CONFIG, primary, EDGES);

    it("ignores the primary's history: the window opens at the run's first read", () => {
      // A history of slow requests (the last promotion's busy minutes): 10,000, none ≤ 100 ms.
      const history = p(10_000, 0, 0);
      let s = step(emptyState("r2", CONFIG), history);
      assert.deepEqual(s.pairWindow, history);
      assert.ok(needsPairs(s));
      // 299 more, 290 of them ≤ 50 ms: not enough yet; the report can say how many so far.
      s = step(s, p(10_299, 290, 299));
      assert.ok(needsPairs(s));
      assert.equal(pairWindowRequests(s), 299);
      // The 300th, ≤ 100 ms: p50 is inside (0, 50] and p99 inside (50, 100] of the window
      // alone (the history would have put both above 250 ms). Each rounds down to an edge with
      // at least its share of the primary above it: 50 (the first) and 50, one pair, 50 → 100.
      assert.equal(PAIR_WINDOW_REQUESTS, 300);
      s = step(s, p(10_300, 290, 300));
      assert.equal(needsPairs(s), false);
      assert.equal(s.pairWindow, undefined);
      assert.deepEqual(s.metrics[1]?.pairs, [{ quantile: 0.5, primaryLe: 50, canaryLe: 100 }]);
    });

    it("judges nothing the window saw: latency counts from the read after the placing", () => {
      let s = emptyState("r2", CONFIG);
      for (const primary of [p(0, 0, 0), p(300, 300, 300)]) s = step(s, primary);
      assert.equal(needsPairs(s), false);
      // The canary is warm by now in this test's terms only after 20 requests; make it so.
      s = { ...s, warm: true };
      assert.deepEqual(s.metrics[1]?.series, [[]]);
      s = step(s, p(400, 390, 400));
      // One pair (p50 and p99 both ≤ 50 → 50 → 100): the batch 300 → 400 only.
      assert.deepEqual(s.metrics[1]?.series, [
        [{ step: 1, rho: 0.1, a: 0, b: 10, nC: 0, nP: 100 }],
      ]);
    });

    it("opens the window again when the primary's counters go down (a proxy restarted)", () => {
      let s = step(emptyState("r2", CONFIG), p(5_000, 0, 0));
      s = step(s, p(200, 200, 200));
      assert.deepEqual(s.pairWindow, p(200, 200, 200));
      s = step(s, p(499, 499, 499));
      assert.ok(needsPairs(s));
      s = step(s, p(500, 500, 500));
      assert.equal(needsPairs(s), false);
    });
  });

  it("the first read is a baseline, never evidence", () => {
    const s = fold([[1, read(10, c(500, 100), c(5000, 5))]]);
    assert.equal(s.dropped, 1);
    assert.equal(s.canaryRequests, 0);
    assert.deepEqual(s.metrics[0]?.series, [[]]);
  });

  it("counts deltas into one segment per step and weight; latency only after the warm-up", () => {
    const s = fold([
      [1, read(10, c(0, 0), c(0, 0))],
      [1, read(10, c(10, 1, 10, 10), c(90, 0, 90, 90))],
      [1, read(10, c(30, 2, 25, 28), c(270, 1, 260, 268))],
      [2, read(10, c(40, 2, 35, 38), c(360, 1, 350, 358))],
    ]);
    assert.deepEqual(s.metrics[0]?.series, [
      [
        { step: 1, rho: 0.1, a: 2, b: 1, nC: 30, nP: 270 },
        { step: 2, rho: 0.1, a: 0, b: 0, nC: 10, nP: 90 },
      ],
    ]);
    // Warm after 30 canary requests (≥ 20): the first two batches do not count for latency.
    // Pair 100 → 250: canary above 250, primary above 100.
    assert.deepEqual(s.metrics[1]?.series, [[{ step: 2, rho: 0.1, a: 0, b: 0, nC: 10, nP: 90 }]]);
    assert.equal(s.canaryRequests, 40);
    assert.equal(s.canaryFailed, 2);
  });

  it("counts a batch that straddles a weight change at the larger weight, for harm only; drops one in which a counter went down", () => {
    const s = fold([
      [1, read(10, c(0, 0), c(0, 0))],
      [2, read(30, c(50, 5), c(450, 0))],
      [2, read(30, c(20, 0), c(400, 0))],
      [2, read(30, c(40, 1), c(440, 0))],
    ]);
    assert.equal(s.dropped, 2, "the first read and the restart");
    assert.deepEqual(s.metrics[0]?.series, [
      [
        { step: 2, rho: 0.3, a: 5, b: 0, nC: 50, nP: 450, upper: true },
        { step: 2, rho: 0.3, a: 1, b: 0, nC: 20, nP: 40 },
      ],
    ]);
    // The batch across the restart cannot be counted (its counters start from another origin).
    assert.equal(s.canaryRequests, 70);
    assert.equal(s.canaryFailed, 6);
  });

  it("the first batch of a release (0 to the first weight) counts for harm", () => {
    // A canary failing every request from its first: 3 of 3 failed at 10 % in the straddling batch.
    const s = fold([
      [0, read(0, c(0, 0), c(0, 0))],
      [1, read(10, c(3, 3), c(27, 0))],
      [1, read(10, c(5, 5), c(45, 0))],
    ]);
    assert.deepEqual(s.metrics[0]?.series, [
      [
        { step: 1, rho: 0.1, a: 3, b: 0, nC: 3, nP: 27, upper: true },
        { step: 1, rho: 0.1, a: 2, b: 0, nC: 2, nP: 18 },
      ],
    ]);
    const cfg = { ...CONFIG, metrics: CONFIG.metrics.slice(0, 1) };
    const run = judgeRun(s, cfg, 1);
    assert.equal(run.decision.outcome, "harm", "5 canary failures, none on the primary, at 10 %");
    // Without the straddling batch: 2 failures at 10 % are not enough (E < 100).
    const without = judgeRun(
      {
        ...s,
        metrics: [
          {
            ...s.metrics[0],
            name: "request-success-rate",
            series: [[s.metrics[0]?.series[0]?.[1] ?? assert.fail()]],
          },
        ],
      },
      cfg,
      1,
    );
    assert.equal(without.decision.outcome, "inconclusive");
  });

  it("a straddling batch gives no pass by the ratio and no step minimum", () => {
    // A ratio margin: a pass needs the ratio e-process, which a bounded share cannot feed.
    const cfg: JudgeConfig = {
      ...CONFIG,
      metrics: [{ name: "request-success-rate", margin: { kind: "ratio", ratio: 2 } }],
      minStepRequests: 1,
    };
    const straddle = fold([
      [0, read(10, c(0, 0), c(0, 0))],
      [1, read(50, c(5000, 0), c(5000, 200))],
    ]);
    assert.equal(straddle.metrics[0]?.series[0]?.[0]?.upper, true);
    assert.equal(judgeRun(straddle, cfg, 1).decision.outcome, "inconclusive");
    // The same counts at a known 50 % pass.
    const known = fold([
      [1, read(50, c(0, 0), c(0, 0))],
      [1, read(50, c(5000, 0), c(5000, 200))],
    ]);
    assert.equal(judgeRun(known, cfg, 1).decision.outcome, "pass");
    // With a points margin the canary's own rate passes on all its requests, but the step's
    // minimum counts only those at its own weight.
    const points = { ...CONFIG, metrics: CONFIG.metrics.slice(0, 1), minStepRequests: 50 };
    const min = judgeRun(straddle, points, 1);
    assert.equal(min.metrics[0]?.evidence.passed, true);
    assert.equal(min.decision.outcome, "inconclusive");
    assert.equal(min.metrics[0]?.needs, 50);
  });

  it("at weight 0 a batch only moves the cursor", () => {
    const s = fold([
      [1, read(0, c(0, 0), c(0, 0))],
      [1, read(0, c(0, 0), c(100, 3))],
    ]);
    assert.equal(s.dropped, 1);
    assert.deepEqual(s.metrics[0]?.series, [[]]);
    assert.equal(s.cursor?.primary.requests, 100);
  });

  it("a pass waits for the step's own minimum of canary requests", () => {
    // 1,000 clean canary requests at 10 %, but only 20 of them in step 2.
    const s = fold([
      [1, read(10, c(0, 0), c(0, 0))],
      [1, read(10, c(980, 0), c(8820, 9))],
      [2, read(10, c(1000, 0), c(9000, 9))],
    ]);
    const cfg = { ...CONFIG, metrics: CONFIG.metrics.slice(0, 1) };
    const inStep2 = judgeRun(s, cfg, 2);
    assert.equal(inStep2.decision.outcome, "inconclusive");
    assert.equal(inStep2.metrics[0]?.needs, 30);
    assert.equal(judgeRun(s, cfg, 1).decision.outcome, "pass");
  });
});
