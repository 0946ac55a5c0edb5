import assert from "node:assert/strict";
import type { CheckReport } from "../../../src/analysis/judge.js";
import { formatNumber, formatPair, judge, summarize } from "../../../src/analysis/judge.js";

describe("judge", () => {
  const cases: {
    name: string;
    args: Parameters<typeof judge>;
    want: ReturnType<typeof judge>;
  }[] = [
    {
      name: "a value at the minimum passes",
      args: ["sr", "%", 99, { min: 99 }],
      want: { outcome: "pass", threshold: { min: 99 }, message: "sr 99 % >= 99 %" },
    },
    {
      name: "below the minimum fails",
      args: ["sr", "%", 98.7, { min: 99 }],
      want: { outcome: "fail", threshold: { min: 99 }, message: "sr 98.7 % < 99 %" },
    },
    {
      name: "above the maximum fails",
      args: ["p99", "ms", 512.345, { max: 500 }],
      want: { outcome: "fail", threshold: { max: 500 }, message: "p99 512.35 ms > 500 ms" },
    },
    {
      name: "inside a range passes, both bounds shown",
      args: ["errors", "", 0.25, { min: 0, max: 0.5 }],
      want: {
        outcome: "pass",
        threshold: { min: 0, max: 0.5 },
        message: "errors 0.25 >= 0, <= 0.5",
      },
    },
    {
      name: "values that would print alike get more digits",
      args: ["sr", "%", 98.9951, { min: 99 }],
      want: { outcome: "fail", threshold: { min: 99 }, message: "sr 98.995 % < 99 %" },
    },
    {
      name: "a relative minimum tighter than the absolute one wins",
      args: ["sr", "%", 98, { min: 95 }, { primary: 99.5, bounds: { maxDecreasePoints: 1 } }],
      want: {
        outcome: "fail",
        threshold: { min: 98.5 },
        message: "sr 98 % < 98.5 % (primary 99.5 % - 1 point)",
      },
    },
    {
      name: "an absolute minimum tighter than the relative one wins",
      args: ["sr", "%", 98, { min: 99 }, { primary: 99.5, bounds: { maxDecreasePoints: 5 } }],
      want: { outcome: "fail", threshold: { min: 99 }, message: "sr 98 % < 99 %" },
    },
    {
      name: "a relative maximum",
      args: ["p99", "ms", 110, {}, { primary: 100, bounds: { maxIncreasePercent: 20 } }],
      want: {
        outcome: "pass",
        threshold: { max: 120 },
        message: "p99 110 ms <= 120 ms (primary 100 ms + 20 %)",
      },
    },
    {
      name: "both relative bounds on one check",
      args: [
        "x",
        "",
        130,
        {},
        { primary: 100, bounds: { maxDecreasePoints: 10, maxIncreasePercent: 25 } },
      ],
      want: {
        outcome: "fail",
        threshold: { min: 90, max: 125 },
        message: "x 130 > 125 (primary 100 + 25 %)",
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(judge(...c.args), c.want);
    });
  }
});

describe("summarize", () => {
  const check = (outcome: CheckReport["outcome"], message = outcome): CheckReport => ({
    name: message,
    kind: "metric",
    threshold: {},
    outcome,
    message,
  });
  const cases: { checks: CheckReport[]; want: ReturnType<typeof summarize> }[] = [
    { checks: [], want: { outcome: "pass", message: "no checks configured" } },
    { checks: [check("pass")], want: { outcome: "pass", message: "1 check passed" } },
    {
      checks: [check("pass"), check("pass")],
      want: { outcome: "pass", message: "all 2 checks passed" },
    },
    {
      checks: [check("pass"), check("noData")],
      want: { outcome: "noData", message: "1 of 2 checks did not pass: noData" },
    },
    {
      checks: [check("noData"), check("error"), check("pass")],
      want: { outcome: "error", message: "2 of 3 checks did not pass: noData; error" },
    },
    {
      checks: [check("error"), check("fail"), check("noData")],
      want: { outcome: "fail", message: "3 of 3 checks did not pass: error; fail; noData" },
    },
    {
      checks: [check("fail")],
      want: { outcome: "fail", message: "1 of 1 check did not pass: fail" },
    },
  ];
  for (const c of cases) {
    it(`${c.checks.map((x) => x.outcome).join(", ") || "no checks"} → ${c.want.outcome}`, () => {
      assert.deepEqual(summarize(c.checks), c.want);
    });
  }
});

describe("formatNumber", () => {
  for (const [v, text] of [
    [99, "99"],
    [98.7, "98.7"],
    [98.765, "98.77"],
    [474.9999999999999, "475"],
    [0.001234, "0.00123"],
    [-2.5, "-2.5"],
  ] as const) {
    it(`${v} → ${text}`, () => {
      assert.equal(formatNumber(v), text);
    });
  }
  it("keeps unequal values apart", () => {
    assert.deepEqual(formatPair(99.999, 100), ["99.999", "100"]);
    assert.deepEqual(formatPair(100, 100), ["100", "100"]);
  });
});
