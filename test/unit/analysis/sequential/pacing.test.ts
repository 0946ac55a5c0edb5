import assert from "node:assert/strict";
import { HARM_GRID } from "../../../../src/analysis/sequential/eprocess.js";
import {
  badEventsNeeded,
  canaryRequestsFor,
  canaryRequestsToPass,
  Z_90,
} from "../../../../src/analysis/sequential/pacing.js";
import { priorFor, rateInterval } from "../../../../src/analysis/sequential/rate-bounds.js";

function harmRequests(pP: number, mult: number | "30%", rho: number, z = 0): number {
  const pC = mult === "30%" ? 0.3 : pP * mult;
  const bad = badEventsNeeded({ rho, r: pC / pP, r0: 1, grid: HARM_GRID, alpha: 0.01 }, z);
  return canaryRequestsFor(bad, rho, pC, pP);
}

describe("pacing", () => {
  // The research note's §5.3 harm table: expected canary requests (90 % power), α_H = 0.01.
  const table: [number, number | "30%", number, number, number][] = [
    [0.001, 2, 0.1, 20132, 40167],
    [0.001, 5, 0.05, 1853, 3833],
    [0.001, 5, 0.1, 2039, 4038],
    [0.001, 5, 0.5, 4674, 7787],
    [0.001, "30%", 0.1, 10, 14],
    [0.01, 2, 0.3, 2728, 5209],
    [0.01, 5, 0.1, 204, 404],
    [0.01, "30%", 0.5, 40, 55],
  ];
  for (const [pP, mult, rho, mean, power] of table) {
    it(`harm, p ${pP}, ×${mult}, ρ ${rho}: ${mean} (${power}) canary requests`, () => {
      // Within one request of the note (it rounds up in places: 40,167 for 40,166.08).
      assert.ok(
        Math.abs(harmRequests(pP, mult, rho) - mean) <= 1,
        `${harmRequests(pP, mult, rho)}`,
      );
      const p90 = harmRequests(pP, mult, rho, Z_90);
      assert.ok(Math.abs(p90 - power) <= 1, `${p90}`);
    });
  }

  it("the worked example: ×5 at 0.1 %, ρ = 0.1 expects ≈ 10.2 canary failures", () => {
    const bad = badEventsNeeded({ rho: 0.1, r: 5, r0: 1, grid: HARM_GRID, alpha: 0.01 });
    const q = (0.1 * 5) / (0.1 * 5 + 0.9);
    assert.ok(Math.abs(bad * q - 10.2) < 0.05, `${bad * q}`);
  });

  it("no grid point gains under the null: infinite", () => {
    assert.equal(
      badEventsNeeded({ rho: 0.1, r: 1, r0: 1, grid: HARM_GRID, alpha: 0.01 }),
      Infinity,
    );
  });

  // §5.3's absolute-margin pass, p = 0, says 869, 431 and 217 canary requests for 0.5, 1 and 2
  // points. The first n where the upper end drops below Δ is earlier: 850, 424 and 211 (checked
  // below against the bound itself, whose ends the note's own vectors and a quadrature confirm).
  for (const [points, want] of [
    [0.5, 850],
    [1, 424],
    [2, 211],
  ] as const) {
    it(`pass at ${points} pt with no failures needs ${want} canary requests`, () => {
      const d = points / 100;
      const got = canaryRequestsToPass(
        { failures: 0, n: 0 },
        { failures: 0, n: 0 },
        d,
        0.025,
        priorFor(d),
      );
      assert.equal(got, want);
      // Checked directly: at want the upper end is below Δ, at want − 1 it is not.
      assert.ok(rateInterval(0, want, 0.025, priorFor(d)).upper < d);
      assert.ok(rateInterval(0, want - 1, 0.025, priorFor(d)).upper >= d);
    });
  }
});
