// Pure judgement of measured values: thresholds (absolute, and relative to the primary), the
// report's shape, and the messages people read in the status, in Events and in `vireo status`.
import type { CheckOutcome, JudgeCheck, JudgeStatus, RelativeBounds } from "../domain/rollout.js";

export type { CheckOutcome } from "../domain/rollout.js";

export interface Bounds {
  readonly min?: number;
  readonly max?: number;
}

export interface CheckReport {
  readonly name: string;
  readonly kind: "metric" | "webhook";
  /** The canary's value, when one was measured. */
  readonly value?: number;
  /** "%" or "ms" for the built-in checks; absent for templates and webhooks. */
  readonly unit?: string;
  /** The primary's value, for a check relative to it. */
  readonly primaryValue?: number;
  /** The bounds the value was held to: absolute and relative ones combined. */
  readonly threshold: Bounds;
  readonly outcome: CheckOutcome;
  /** Stands alone: "request-success-rate 98.7 % < 99 %". */
  readonly message: string;
  /** The query as sent (the canary's), for metric checks. */
  readonly query?: string;
  /** For a check the sequential judge made: its decision, e-value, effect and bound. */
  readonly judge?: JudgeCheck;
}

export interface AnalysisReport {
  /** When the checks were evaluated (ms since the epoch). */
  readonly at: number;
  /** The worst outcome of the checks the sequential judge did not make. */
  readonly outcome: CheckOutcome;
  readonly message: string;
  readonly checks: readonly CheckReport[];
  /** The sequential judge's decision and state, when the Rollout has checks it makes. */
  readonly sequential?: {
    readonly decision: "harm" | "pass" | "inconclusive";
    readonly state: JudgeStatus;
    readonly message: string;
  };
}

export interface Judgement {
  readonly outcome: "pass" | "fail";
  readonly threshold: Bounds;
  readonly message: string;
}

interface Bound {
  readonly limit: number;
  /** Where a relative bound comes from, for the message. */
  readonly why: string;
}

/** Holds `value` to `absolute` and, given the primary's value, to `relative`. */
export function judge(
  name: string,
  unit: string,
  value: number,
  absolute: Bounds,
  relative?: { readonly primary: number; readonly bounds: RelativeBounds },
): Judgement {
  const mins: Bound[] = absolute.min === undefined ? [] : [{ limit: absolute.min, why: "" }];
  const maxes: Bound[] = absolute.max === undefined ? [] : [{ limit: absolute.max, why: "" }];
  if (relative !== undefined) {
    const { primary, bounds } = relative;
    const p = `primary ${withUnit(formatNumber(primary), unit)}`;
    if (bounds.maxDecreasePoints !== undefined) {
      const n = bounds.maxDecreasePoints;
      mins.push({ limit: primary - n, why: ` (${p} - ${n} ${n === 1 ? "point" : "points"})` });
    }
    if (bounds.maxIncreasePercent !== undefined) {
      const n = bounds.maxIncreasePercent;
      maxes.push({ limit: primary * (1 + n / 100), why: ` (${p} + ${n} %)` });
    }
  }
  const min = mins.reduce<Bound | undefined>(
    (a, b) => (a === undefined || b.limit > a.limit ? b : a),
    undefined,
  );
  const max = maxes.reduce<Bound | undefined>(
    (a, b) => (a === undefined || b.limit < a.limit ? b : a),
    undefined,
  );
  const threshold = {
    ...(min === undefined ? {} : { min: min.limit }),
    ...(max === undefined ? {} : { max: max.limit }),
  };
  const show = (b: Bound): [string, string] => {
    const [v, l] = formatPair(value, b.limit);
    return [withUnit(v, unit), `${withUnit(l, unit)}${b.why}`];
  };
  if (min !== undefined && value < min.limit) {
    const [v, l] = show(min);
    return { outcome: "fail", threshold, message: `${name} ${v} < ${l}` };
  }
  if (max !== undefined && value > max.limit) {
    const [v, l] = show(max);
    return { outcome: "fail", threshold, message: `${name} ${v} > ${l}` };
  }
  const parts = [
    ...(min === undefined ? [] : [`>= ${show(min)[1]}`]),
    ...(max === undefined ? [] : [`<= ${show(max)[1]}`]),
  ];
  const v = withUnit(formatNumber(value), unit);
  return { outcome: "pass", threshold, message: `${name} ${v} ${parts.join(", ")}`.trimEnd() };
}

const SEVERITY: Readonly<Record<CheckOutcome, number>> = { pass: 0, noData: 1, error: 2, fail: 3 };

/** The worst outcome wins: fail, then error, then no data; no checks at all pass. */
export function summarize(checks: readonly CheckReport[]): {
  readonly outcome: CheckOutcome;
  readonly message: string;
} {
  if (checks.length === 0) return { outcome: "pass", message: "no checks configured" };
  const outcome = checks
    .map((c) => c.outcome)
    .reduce((a, b) => (SEVERITY[b] > SEVERITY[a] ? b : a), "pass");
  const n = checks.length;
  if (outcome === "pass")
    return { outcome, message: n === 1 ? "1 check passed" : `all ${n} checks passed` };
  const failing = checks.filter((c) => c.outcome !== "pass");
  const of = `${failing.length} of ${n} ${n === 1 ? "check" : "checks"} did not pass`;
  return { outcome, message: `${of}: ${failing.map((c) => c.message).join("; ")}` };
}

/** Two decimals from 1 up, three significant digits below: 98.7, 475, 0.00123. */
export function formatNumber(v: number, digits = 2): string {
  if (Number.isInteger(v)) return String(v);
  const text = Math.abs(v) >= 1 ? v.toFixed(digits) : v.toPrecision(digits + 1);
  return String(Number(text));
}

/** Two numbers with enough digits that unequal ones do not read as equal ("98.995 < 99"). */
export function formatPair(a: number, b: number): [string, string] {
  for (let digits = 2; digits < 8; digits++) {
    const pair: [string, string] = [formatNumber(a, digits), formatNumber(b, digits)];
    if (pair[0] !== pair[1] || a === b) return pair;
  }
  return [String(a), String(b)];
}

export function withUnit(text: string, unit: string): string {
  return unit === "" ? text : `${text} ${unit}`;
}
