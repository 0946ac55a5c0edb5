import assert from "node:assert/strict";
import type { Segment } from "../../../../src/analysis/sequential/eprocess.js";
import type { WeightedEvidence } from "../../../../src/analysis/sequential/verdict.js";
import {
  decide,
  errorEvidence,
  latencyEvidence,
} from "../../../../src/analysis/sequential/verdict.js";

const S = { alphaHarm: 0.01, alphaPass: 0.05 };
const seg = (rho: number, a: number, b: number, nC: number, nP: number): Segment => ({
  rho,
  a,
  b,
  nC,
  nP,
});

describe("verdicts", () => {
  it("an outage: harm at 3 canary failures, with the effect and its bound", () => {
    const e = errorEvidence([seg(0.1, 3, 0, 10, 90)], { kind: "points", points: 1 }, S);
    assert.ok(e.harmAllowed);
    assert.ok(e.logEHarm >= Math.log(100));
    assert.equal(e.effect.kind, "errors");
    if (e.effect.kind === "errors") {
      assert.equal(e.effect.canaryRate, 0.3);
      assert.equal(e.effect.ratio, Infinity);
      assert.equal(e.effect.ratioLowerBound, 1.5); // rejects r0 = 1.5 too (V8)
    }
    const d = decide([{ name: "request-success-rate", weight: 1, evidence: e }], S);
    assert.deepEqual(d.outcome, "harm");
  });

  it("strong evidence of an excess inside the points margin is not harm: it passes", () => {
    // 0.6 % against 0.1 %: E ≫ 100 against r = 1, but +0.5 points < a 1-point margin.
    const e = errorEvidence([seg(0.1, 60, 90, 10_000, 90_000)], { kind: "points", points: 1 }, S);
    assert.ok(e.logEHarm > Math.log(100));
    assert.equal(e.harmAllowed, false);
    assert.equal(decide([{ name: "e", weight: 1, evidence: e }], S).outcome, "pass");
  });

  it("a clean canary passes a 1-point margin after 424 requests, not before", () => {
    const before = errorEvidence([seg(0.1, 0, 0, 423, 3800)], { kind: "points", points: 1 }, S);
    assert.equal(before.passed, false);
    assert.equal(before.needs, 1);
    const after = errorEvidence([seg(0.1, 0, 0, 424, 3800)], { kind: "points", points: 1 }, S);
    assert.equal(after.passed, true);
    assert.equal(after.needs, undefined);
  });

  it("no data: inconclusive, says nothing passed, E stays 1", () => {
    const e = errorEvidence([], { kind: "points", points: 0.5 }, S);
    assert.equal(e.passed, false);
    assert.equal(e.logEHarm, 0);
    const l = latencyEvidence([], S);
    assert.equal(l.passed, false);
    const d = decide(
      [
        { name: "e", weight: 0.5, evidence: e },
        { name: "l", weight: 0.5, evidence: l },
      ],
      S,
    );
    assert.deepEqual(d, { outcome: "inconclusive", logE: 0 });
  });

  it("a ratio margin: V10 passes (E_P = 2290 ≥ 20)", () => {
    const e = errorEvidence([seg(0.1, 10, 190, 1000, 9000)], { kind: "ratio", ratio: 1.5 }, S);
    assert.ok(e.passed);
    assert.ok(Math.abs(e.logEHarm - -11.941104) < 1e-6);
  });

  it("latency: V12's pair is growing harm, V11's pair not yet a pass, and how many more", () => {
    const grow = latencyEvidence(
      [
        {
          primaryLe: 50,
          canaryLe: 100,
          segments: [seg(0.1, 30, 170, 200, 1800), seg(0.3, 40, 60, 600, 1400)],
        },
      ],
      S,
    );
    assert.ok(Math.abs(grow.logEHarm - 2.666349) < 1e-6);
    assert.equal(grow.passed, false);
    const slow = latencyEvidence(
      [{ primaryLe: 50, canaryLe: 100, segments: [seg(0.1, 25, 375, 400, 3600)] }],
      S,
    );
    assert.equal(slow.passed, false);
    assert.ok(slow.needs !== undefined && slow.needs > 0, `${slow.needs}`);
  });

  it("a p99 pair the primary no longer reaches passes on the canary's own tail: 424 canary requests, none slower than T′", () => {
    // The primary answers 2 of 3,816 above T (0.05 %): the ratio's bad events never come.
    const pair = (nC: number) => ({
      quantile: 0.99,
      primaryLe: 63,
      canaryLe: 126,
      segments: [seg(0.1, 0, 2, nC, 9 * nC)],
    });
    // U(0, n) at passAlpha/2 with the Beta(½, 2/0.01) mixture: 0.010014 at 423, 0.009993 at 424
    // (rate-bounds.test.ts checks the bound itself against numerical integration).
    const before = latencyEvidence([pair(423)], S);
    assert.equal(before.passed, false);
    assert.equal(before.needs, 1);
    const at = latencyEvidence([pair(424)], S);
    assert.equal(at.passed, true);
    assert.equal(at.effect.kind, "latency");
    if (at.effect.kind === "latency") {
      const u = at.effect.pairs[0]?.canaryUpper ?? 1;
      assert.ok(u < 0.01 && u > 0.0099, String(u));
      assert.ok((at.effect.pairs[0]?.logEPass ?? 0) < Math.log(20), "not by the ratio");
    }
    // The same counts at the median: no tail route, no pass.
    assert.equal(latencyEvidence([{ ...pair(424), quantile: 0.5 }], S).passed, false);
  });

  it("a p99 pair's two passes share passAlpha: its ratio needs E_P ≥ 40, the median's 20", () => {
    // E_P = 20.04 (3 canary of 100 above T′, 100 primary of 900 above T); the canary's own 3 %
    // is above p99's 1 %, so only the ratio could pass it.
    const segments = [seg(0.1, 3, 100, 100, 900)];
    const median = latencyEvidence([{ quantile: 0.5, primaryLe: 5, canaryLe: 10, segments }], S);
    const tail = latencyEvidence([{ quantile: 0.99, primaryLe: 50, canaryLe: 100, segments }], S);
    assert.equal(median.passed, true);
    assert.equal(tail.passed, false);
    const more = [seg(0.1, 3, 120, 100, 900)]; // E_P = 76.5
    assert.equal(
      latencyEvidence([{ quantile: 0.99, primaryLe: 50, canaryLe: 100, segments: more }], S).passed,
      true,
    );
  });

  it("a canary whose tail is above the quantile's share does not pass on it: 2 % slower than T′", () => {
    const l = latencyEvidence(
      [{ quantile: 0.99, primaryLe: 63, canaryLe: 126, segments: [seg(0.1, 40, 2, 2000, 18000)] }],
      S,
    );
    assert.equal(l.passed, false);
    assert.equal(l.effect.kind === "latency" && (l.effect.pairs[0]?.canaryUpper ?? 0) > 0.02, true);
  });

  it("harm combines metrics by their weights (½ each: E 300 alone is 150 > 100)", () => {
    const ev = (logEHarm: number): WeightedEvidence["evidence"] => ({
      logEHarm,
      harmAllowed: true,
      passed: false,
      effect: { kind: "latency", pairs: [] },
    });
    const one = decide(
      [
        { name: "a", weight: 0.5, evidence: ev(Math.log(300)) },
        { name: "b", weight: 0.5, evidence: ev(0) },
      ],
      S,
    );
    assert.equal(one.outcome, "harm");
    if (one.outcome === "harm") assert.equal(one.metric, "a");
    const none = decide(
      [
        { name: "a", weight: 0.5, evidence: ev(Math.log(150)) },
        { name: "b", weight: 0.5, evidence: ev(Math.log(40)) },
      ],
      S,
    );
    assert.equal(none.outcome, "inconclusive");
  });
});
