// From an analysis report to the per-check results the Rollout's status keeps: the query text is
// left out (it is in the Rollout's spec or its MetricTemplate), numbers are rounded for reading.
import type { CheckResult } from "../domain/plan-model.js";
import type { Bounds, CheckReport } from "./judge.js";

/** Significant digits kept in the status: 98.77 %, 512.3 ms, 0.001234. */
const DIGITS = 4;

export function roundValue(v: number): number {
  return Number.isFinite(v) && v !== 0 ? Number(v.toPrecision(DIGITS)) : v;
}

export function checkResults(checks: readonly CheckReport[]): CheckResult[] {
  return checks.map((c) => ({
    name: c.name,
    kind: c.kind,
    outcome: c.outcome,
    ...(c.value === undefined ? {} : { value: roundValue(c.value) }),
    ...(c.unit === undefined || c.unit === "" ? {} : { unit: c.unit }),
    ...(c.primaryValue === undefined ? {} : { primaryValue: roundValue(c.primaryValue) }),
    threshold: roundBounds(c.threshold),
    message: c.message,
    ...(c.judge === undefined
      ? {}
      : {
          judge: {
            ...c.judge,
            eValue: roundValue(c.judge.eValue),
            ...(c.judge.effect === undefined ? {} : { effect: roundValue(c.judge.effect) }),
          },
        }),
  }));
}

function roundBounds(b: Bounds): Bounds {
  return {
    ...(b.min === undefined ? {} : { min: roundValue(b.min) }),
    ...(b.max === undefined ? {} : { max: roundValue(b.max) }),
  };
}
