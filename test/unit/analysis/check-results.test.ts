// What the status keeps of an analysis report: the numbers rounded for reading, no query text.
import assert from "node:assert/strict";
import { checkResults, roundValue } from "../../../src/analysis/check-results.js";

describe("checkResults", () => {
  const rounding: [number, number][] = [
    [98.76543, 98.77],
    [497.49999, 497.5],
    [1234.56, 1235],
    [0.00123456, 0.001235],
    [100, 100],
    [0, 0],
    [-3.14159, -3.142],
  ];
  for (const [raw, shown] of rounding) {
    it(`keeps 4 significant digits: ${raw} -> ${shown}`, () => {
      assert.equal(roundValue(raw), shown);
    });
  }

  it("keeps what people read and leaves the query out", () => {
    const out = checkResults([
      {
        name: "request-duration",
        kind: "metric",
        value: 497.4999,
        unit: "ms",
        primaryValue: 99.94999,
        threshold: { max: 119.93999 },
        outcome: "fail",
        message: "request-duration 497.5 ms > 119.94 ms (primary 99.95 ms + 20 %)",
        query: "histogram_quantile(0.99, ...)",
      },
      {
        name: "smoke",
        kind: "webhook",
        threshold: {},
        outcome: "pass",
        message: "webhook smoke: 200",
      },
    ]);
    assert.deepEqual(out, [
      {
        name: "request-duration",
        kind: "metric",
        value: 497.5,
        unit: "ms",
        primaryValue: 99.95,
        threshold: { max: 119.9 },
        outcome: "fail",
        message: "request-duration 497.5 ms > 119.94 ms (primary 99.95 ms + 20 %)",
      },
      {
        name: "smoke",
        kind: "webhook",
        threshold: {},
        outcome: "pass",
        message: "webhook smoke: 200",
      },
    ]);
  });
});
