import assert from "node:assert/strict";
import { lgamma, logBeta, logSumExp } from "../../../../src/analysis/sequential/special.js";

/** ln((n−1)!) by summing logs: a different method from Stirling's series. */
function logFactorial(n: number): number {
  let s = 0;
  for (let i = 2; i <= n; i++) s += Math.log(i);
  return s;
}

function close(actual: number, expected: number, rel: number, what: string): void {
  const err = Math.abs(actual - expected) / Math.max(1, Math.abs(expected));
  assert.ok(err <= rel, `${what}: ${actual} vs ${expected} (relative error ${err})`);
}

describe("special functions", () => {
  it("ln Γ(n) equals ln((n−1)!) for integers", () => {
    for (const n of [1, 2, 3, 5, 10, 14, 15, 16, 50, 171, 1000]) {
      close(lgamma(n), logFactorial(n - 1), 1e-13, `lgamma(${n})`);
    }
  });

  it("ln Γ(n + ½) equals ln((2n)! √π / (4^n n!))", () => {
    for (const n of [0, 1, 4, 10, 100, 200]) {
      const exact =
        logFactorial(2 * n) + 0.5 * Math.log(Math.PI) - n * Math.log(4) - logFactorial(n);
      close(lgamma(n + 0.5), exact, 1e-13, `lgamma(${n + 0.5})`);
    }
  });

  it("matches the research note's test values", () => {
    close(lgamma(0.5), 0.5723649429247001, 1e-14, "lgamma(0.5)");
    close(lgamma(10), 12.801827480081469, 1e-14, "lgamma(10)");
    close(lgamma(200.5), 860.5822035097825, 1e-14, "lgamma(200.5)");
    close(logBeta(0.5, 200), -2.0761687410004015, 1e-12, "ln B(0.5, 200)");
  });

  it("ln Γ of small arguments", () => {
    // Γ(0.1) = 9.513507698668731836...
    close(lgamma(0.1), Math.log(9.513507698668732), 1e-14, "lgamma(0.1)");
    assert.throws(() => lgamma(0), RangeError);
  });

  it("log-sum-exp does not overflow", () => {
    close(logSumExp([1000, 1000]), 1000 + Math.log(2), 1e-15, "lse");
    assert.equal(logSumExp([]), -Infinity);
  });
});
