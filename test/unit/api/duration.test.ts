import assert from "node:assert/strict";
import { parseDuration } from "../../../src/api/duration.js";

describe("parseDuration", () => {
  const cases: [string, number | undefined][] = [
    ["500ms", 500],
    ["30s", 30_000],
    ["1m30s", 90_000],
    ["1.5h", 5_400_000],
    ["2h45m", 9_900_000],
    ["0s", 0],
    ["1.2345s", 1235],
    ["1h1h", 7_200_000],
    ["", undefined],
    ["30", undefined],
    ["5 minutes", undefined],
    ["1d", undefined],
    ["-1s", undefined],
    ["1us", undefined],
    [".5s", undefined],
    ["1.s", undefined],
    ["30s ", undefined],
  ];
  for (const [s, want] of cases) {
    it(`${JSON.stringify(s)} -> ${String(want)}`, () => {
      assert.equal(parseDuration(s), want);
    });
  }
});
