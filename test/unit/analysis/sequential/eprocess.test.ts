import assert from "node:assert/strict";
import type { Segment } from "../../../../src/analysis/sequential/eprocess.js";
import {
  canaryShareOfBad,
  HARM_GRID,
  logE,
  logEHarm,
  logEPass,
  PASS_GRID,
  ratioEstimate,
  ratioLowerBound,
} from "../../../../src/analysis/sequential/eprocess.js";
import { Rng } from "../../../bench/analysis/rng.js";

const seg = (rho: number, a: number, b: number): Segment => ({ rho, a, b, nC: 0, nP: 0 });

function closeRel(actual: number, expected: number, rel: number, what: string): void {
  const err = Math.abs(actual - expected) / Math.max(1e-300, Math.abs(expected));
  assert.ok(err <= rel || Math.abs(actual - expected) < 1e-12, `${what}: ${actual} vs ${expected}`);
}

/**
 * The mixture computed the long way: one Bernoulli likelihood-ratio factor per bad event, in an
 * order of our choosing, averaged over the grid as probabilities (not logs). A different method
 * from the collapsed closed form under test.
 */
function perEventMixture(
  events: readonly { rho: number; canary: boolean }[],
  r0: number,
  grid: readonly number[],
): number {
  let sum = 0;
  for (const m of grid) {
    let prod = 1;
    for (const e of events) {
      const q0 = canaryShareOfBad(e.rho, r0);
      const qr = canaryShareOfBad(e.rho, r0 * m);
      prod *= e.canary ? qr / q0 : (1 - qr) / (1 - q0);
    }
    sum += prod / grid.length;
  }
  return sum;
}

/** Expands segments into events, primary ones first, then canary ones (the worst order for nothing). */
function events(segments: readonly Segment[]): { rho: number; canary: boolean }[] {
  return segments.flatMap((s) => [
    ...Array.from({ length: s.b }, () => ({ rho: s.rho, canary: false })),
    ...Array.from({ length: s.a }, () => ({ rho: s.rho, canary: true })),
  ]);
}

describe("known-split ratio e-process", () => {
  // The research note's §8.4 vectors (values are natural logs).
  const vectors: { id: string; segs: Segment[]; r0: number; harm: number; pass: number }[] = [
    { id: "V1", segs: [], r0: 1, harm: 0, pass: 0 },
    { id: "V2", segs: [seg(0.1, 1, 0)], r0: 1, harm: 1.735924, pass: -0.693415 },
    { id: "V3", segs: [seg(0.1, 2, 0)], r0: 1, harm: 3.76346, pass: -1.165619 },
    { id: "V4", segs: [seg(0.1, 3, 0)], r0: 1, harm: 5.914064, pass: -1.546761 },
    { id: "V5", segs: [seg(0.1, 0, 1)], r0: 1, harm: -0.73262, pass: 0.054081 },
    { id: "V6", segs: [seg(0.1, 2, 18)], r0: 1, harm: -1.662207, pass: -0.497872 },
    {
      id: "V7",
      segs: [seg(0.1, 1, 9), seg(0.3, 6, 14), seg(0.6, 15, 10)],
      r0: 1,
      harm: -2.960809,
      pass: -1.388316,
    },
    { id: "V8", segs: [seg(0.1, 3, 0)], r0: 1.5, harm: 4.960013, pass: -1.505836 },
    { id: "V9", segs: [seg(0.1, 10, 18)], r0: 1, harm: 5.040892, pass: -3.044602 },
    { id: "V10", segs: [seg(0.1, 10, 190)], r0: 1.5, harm: -11.941104, pass: 7.736352 },
    { id: "V11", segs: [seg(0.1, 25, 375)], r0: 1, harm: -11.576652, pass: 2.614486 },
    {
      id: "V12",
      segs: [seg(0.1, 30, 170), seg(0.3, 40, 60)],
      r0: 1,
      harm: 2.666349,
      pass: -6.997977,
    },
  ];

  for (const v of vectors) {
    it(`${v.id}: matches the research note to its 6 decimals`, () => {
      assert.ok(Math.abs(logEHarm(v.segs, v.r0) - v.harm) < 5e-7, `harm ${logEHarm(v.segs, v.r0)}`);
      assert.ok(Math.abs(logEPass(v.segs, v.r0) - v.pass) < 5e-7, `pass ${logEPass(v.segs, v.r0)}`);
    });
    it(`${v.id}: equals the per-event product computed independently`, () => {
      const ev = events(v.segs);
      closeRel(
        Math.exp(logEHarm(v.segs, v.r0)),
        perEventMixture(ev, v.r0, HARM_GRID),
        1e-9,
        "harm",
      );
      closeRel(
        Math.exp(logEPass(v.segs, v.r0)),
        perEventMixture(ev, v.r0, PASS_GRID),
        1e-9,
        "pass",
      );
    });
  }

  it("V13: batches do not matter (three events in one read or two)", () => {
    assert.equal(logEHarm([seg(0.1, 1, 0), seg(0.1, 2, 0)]), logEHarm([seg(0.1, 3, 0)]));
  });

  it("segments at ρ 0 or 1 carry no information", () => {
    assert.equal(logEHarm([seg(0, 0, 5), seg(1, 4, 0)]), 0);
  });

  it("V9 and V7: the ratio estimate", () => {
    closeRel(ratioEstimate([seg(0.1, 10, 18)]) ?? NaN, 5, 1e-9, "V9 r̂");
    closeRel(
      ratioEstimate([seg(0.1, 1, 9), seg(0.3, 6, 14), seg(0.6, 15, 10)]) ?? NaN,
      1,
      1e-9,
      "V7 r̂",
    );
    assert.equal(ratioEstimate([]), undefined);
  });

  it("V14 and V9: the anytime lower bound on the ratio", () => {
    assert.equal(ratioLowerBound([seg(0.1, 30, 0)], 0.01), 20);
    // V9 rejects r0 = 1 but not 1.1.
    assert.equal(ratioLowerBound([seg(0.1, 10, 18)], 0.01), 1);
    assert.equal(ratioLowerBound([seg(0.1, 2, 18)], 0.01), undefined);
  });

  it("an outage at ρ = 0.1 needs 3 canary failures to reach E ≥ 100 (the note's §2.3)", () => {
    const need = Math.log(100);
    assert.ok(logEHarm([seg(0.1, 2, 0)]) < need);
    assert.ok(logEHarm([seg(0.1, 3, 0)]) >= need);
    // ... and more at higher shares: 5 at ρ = 0.3, 8 at ρ = 0.5.
    for (const [rho, n] of [
      [0.3, 5],
      [0.5, 8],
    ] as const) {
      assert.ok(logEHarm([seg(rho, n - 1, 0)]) < need, `ρ ${rho}: ${n - 1} not enough`);
      assert.ok(logEHarm([seg(rho, n, 0)]) >= need, `ρ ${rho}: ${n} enough`);
    }
  });

  describe("validity, by exact enumeration", () => {
    /** Binomial pmf table for n trials, by the recurrence (no factorials). */
    function binomialPmf(n: number, p: number): number[] {
      let row = [1];
      for (let i = 0; i < n; i++) {
        const next = new Array<number>(row.length + 1).fill(0);
        for (const [k, v] of row.entries()) {
          next[k] = (next[k] ?? 0) + v * (1 - p);
          next[k + 1] = (next[k + 1] ?? 0) + v * p;
        }
        row = next;
      }
      return row;
    }

    it("E[E] = 1 on the null's boundary and < 1 inside it, after any number of events", () => {
      for (const rho of [0.05, 0.1, 0.3, 0.6]) {
        for (const r0 of [1, 1.5]) {
          for (const n of [1, 7, 40]) {
            for (const [truth, cmp] of [
              [r0, "eq"],
              [r0 * 0.5, "lt"],
            ] as const) {
              const pmf = binomialPmf(n, canaryShareOfBad(rho, truth));
              const mean = pmf.reduce(
                (s, p, a) => s + p * Math.exp(logEHarm([seg(rho, a, n - a)], r0)),
                0,
              );
              if (cmp === "eq") closeRel(mean, 1, 1e-9, `ρ ${rho} r0 ${r0} n ${n}`);
              else assert.ok(mean < 1, `ρ ${rho} r0 ${r0} n ${n} truth ${truth}: ${mean}`);
            }
          }
        }
      }
    });

    it("P(E ever ≥ 1/α within 600 events) ≤ α at the null's boundary (first-passage DP)", () => {
      // Exact: the probability of each count A of canary events among those that have not crossed.
      for (const [rho, alpha] of [
        [0.1, 0.01],
        [0.5, 0.01],
        [0.3, 0.05],
      ] as const) {
        const q = canaryShareOfBad(rho, 1);
        const limit = Math.log(1 / alpha);
        let alive = [1];
        let crossed = 0;
        for (let n = 1; n <= 600; n++) {
          const next = new Array<number>(n + 1).fill(0);
          for (const [a, p] of alive.entries()) {
            if (p === 0) continue;
            next[a] = (next[a] ?? 0) + p * (1 - q);
            next[a + 1] = (next[a + 1] ?? 0) + p * q;
          }
          for (const [a, p] of next.entries()) {
            if (p > 0 && logEHarm([seg(rho, a, n - a)]) >= limit) {
              crossed += p;
              next[a] = 0;
            }
          }
          alive = next;
        }
        assert.ok(crossed <= alpha, `ρ ${rho}: crossed ${crossed} > ${alpha}`);
        // ... and the bound is not vacuous: a good part of α is used.
        assert.ok(crossed > alpha / 10, `ρ ${rho}: crossed only ${crossed}`);
      }
    });
  });

  it("validity under data-driven weight changes and reads (Monte Carlo, seed 7)", () => {
    // Truth at the boundary r = 1; the controller raises ρ whenever the evidence looks good and
    // lowers it when it looks bad (an adversarial, predictable rule), reading after random batches.
    const rng = new Rng(7);
    const alpha = 0.01;
    const limit = Math.log(1 / alpha);
    const paths = 1500;
    let rejected = 0;
    for (let i = 0; i < paths; i++) {
      const segs: Segment[] = [];
      let rho = 0.1;
      let cur = { rho, a: 0, b: 0, nC: 0, nP: 0 };
      for (let read = 0; read < 120; read++) {
        const batch = rng.int(0, 40);
        const q = canaryShareOfBad(rho, 1);
        const a = rng.binomial(batch, q);
        cur = { ...cur, a: cur.a + a, b: cur.b + batch - a };
        const all = [...segs, cur];
        const le = logEHarm(all);
        if (le >= limit) {
          rejected++;
          break;
        }
        const want = le > 1 ? 0.05 : le < -2 ? 0.6 : rho;
        if (want !== rho) {
          segs.push(cur);
          rho = want;
          cur = { rho, a: 0, b: 0, nC: 0, nP: 0 };
        }
      }
    }
    const rate = rejected / paths;
    // α plus three binomial standard errors.
    const bound = alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / paths);
    assert.ok(rate <= bound, `false rejections ${rejected}/${paths} = ${rate} > ${bound}`);
  });

  it("the log-E grids are the note's", () => {
    assert.deepEqual(HARM_GRID, [1.5, 2, 3, 5, 10, 30, 100, 300, 1000]);
    assert.deepEqual(PASS_GRID, [0.8, 2 / 3, 0.5, 1 / 3, 0.1]);
    assert.equal(logE([seg(0.1, 3, 0)], 1, [2]), 3 * Math.log(2) - 3 * Math.log1p(0.1));
  });
});
