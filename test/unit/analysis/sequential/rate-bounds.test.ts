import assert from "node:assert/strict";
import {
  logMixture,
  priorFor,
  rateInterval,
} from "../../../../src/analysis/sequential/rate-bounds.js";
import { Rng } from "../../../bench/analysis/rng.js";

/**
 * M_n(p) by integrating the Beta(a, b) prior numerically (midpoint rule in u = x^(1/(2a)), which
 * removes the x^(a−1) singularity at 0), with the normalising constant integrated the same way:
 * no ln Γ involved, unlike the closed form under test.
 */
function mixtureByQuadrature(p: number, s: number, n: number, a: number, b: number): number {
  const steps = 200_000;
  const k = 1 / a; // x = u^k, dx = k u^(k−1) du; x^(a−1) dx = k du when k = 1/a
  let num = 0;
  let den = 0;
  const lp = s * Math.log(p) + (n - s) * Math.log1p(-p);
  for (let i = 0; i < steps; i++) {
    const u = (i + 0.5) / steps;
    const x = u ** k;
    const w = k * Math.exp((b - 1) * Math.log1p(-x)); // prior density × Jacobian, unnormalised
    den += w;
    num += w * Math.exp(s * Math.log(x) + (n - s) * Math.log1p(-x) - lp);
  }
  return num / den;
}

describe("Beta-mixture confidence sequence for an error rate", () => {
  const prior = { a: 0.5, b: 200 };

  it("the closed form equals the integral", () => {
    for (const [p, s, n] of [
      [0.0098, 0, 431],
      [0.007, 1, 1000],
      [0.2, 3, 10],
      [0.002, 0, 50],
    ] as const) {
      const closed = Math.exp(logMixture(p, s, n, prior));
      const quad = mixtureByQuadrature(p, s, n, prior.a, prior.b);
      assert.ok(Math.abs(closed / quad - 1) < 1e-4, `(${p}, ${s}, ${n}): ${closed} vs ${quad}`);
    }
  });

  // The research note's §8.4 ends, α = 0.025 each: (S, n) → U, L.
  const ends: { s: number; n: number; upper: number; lower?: number }[] = [
    { s: 0, n: 431, upper: 0.009844 },
    { s: 0, n: 300, upper: 0.01373 },
    { s: 1, n: 1000, upper: 0.007447, lower: 0.000004 },
    { s: 3, n: 10, upper: 0.932681, lower: 0.001726 },
  ];
  for (const e of ends) {
    it(`(${e.s}, ${e.n}): ends match the note and sit where M = 1/α`, () => {
      const ci = rateInterval(e.s, e.n, 0.025, prior);
      assert.ok(Math.abs(ci.upper - e.upper) < 5e-7, `upper ${ci.upper}`);
      if (e.lower !== undefined)
        assert.ok(Math.abs(ci.lower - e.lower) < 5e-7, `lower ${ci.lower}`);
      // Independently: the quadrature's M at the upper end is 40 (= 1/0.025).
      const m = mixtureByQuadrature(ci.upper, e.s, e.n, prior.a, prior.b);
      assert.ok(Math.abs(m / 40 - 1) < 1e-3, `M at the upper end ${m}`);
    });
  }

  it("no requests: the whole range", () => {
    assert.deepEqual(rateInterval(0, 0, 0.05, prior), { lower: 0, upper: 1 });
  });

  it("covers the truth at every n at once, at least 1 − α of the time (Monte Carlo, seed 3)", () => {
    const rng = new Rng(3);
    const alpha = 0.05;
    const p = 0.01;
    const pr = priorFor(0.01);
    const paths = 400;
    let missed = 0;
    for (let i = 0; i < paths; i++) {
      let s = 0;
      for (let n = 1; n <= 3000; n++) {
        if (rng.bernoulli(p)) s++;
        // Check every 25 requests: looking often is allowed; a miss at any look counts.
        if (n % 25 === 0) {
          const ci = rateInterval(s, n, alpha, pr);
          if (p < ci.lower || p > ci.upper) {
            missed++;
            break;
          }
        }
      }
    }
    assert.ok(missed / paths <= alpha, `missed ${missed}/${paths}`);
  });
});
