// Figures per judge and per fault: false-rollback rate (with its one-sided 95 % Clopper–Pearson
// upper bound), detection rate, time to decision and failed canary requests before the rollback.
import { lgamma } from "../../../src/analysis/sequential/special.js";
import type { Outcome } from "./judges.js";

export interface Row {
  readonly judge: string;
  readonly group: string;
  readonly outcomes: readonly Outcome[];
  readonly faulty: boolean;
}

function logBinomPmf(k: number, n: number, p: number): number {
  if (p <= 0) return k === 0 ? 0 : -Infinity;
  if (p >= 1) return k === n ? 0 : -Infinity;
  return (
    lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p)
  );
}

/** The p at which P(X ≤ k | n, p) = 0.05: the one-sided 95 % upper bound for k of n. */
export function clopperPearsonUpper(k: number, n: number): number {
  if (k >= n) return 1;
  const cdf = (p: number) => {
    let s = 0;
    for (let i = 0; i <= k; i++) s += Math.exp(logBinomPmf(i, n, p));
    return s;
  };
  let lo = k / n;
  let hi = 1;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) > 0.05) lo = mid;
    else hi = mid;
  }
  return hi;
}

function quantile(xs: readonly number[], q: number): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

const pct = (x: number) => `${(100 * x).toFixed(x < 0.1 ? 2 : 1)} %`;
const num = (x: number | undefined, unit = "") =>
  x === undefined ? "—" : `${Math.round(x * 10) / 10}${unit}`;

export function formatRows(rows: readonly Row[]): string {
  const out = [
    "| judge | releases | n | rolled back | 95 % upper | median / p90 time to decision | median failed canary requests before rollback | sequential: inconclusive at end |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const n = r.outcomes.length;
    const back = r.outcomes.filter((o) => o.decision === "rollback");
    const k = back.length;
    const decided = r.outcomes.filter(
      (o) => o.at !== undefined && (r.faulty ? o.decision === "rollback" : true),
    );
    const times = decided.map((o) => o.at ?? 0);
    const failed = back.map((o) => o.failedBefore ?? 0);
    const inconclusive = r.outcomes.filter((o) => o.decision === "inconclusive").length;
    out.push(
      `| ${r.judge} | ${r.group} | ${n} | ${k} (${pct(k / Math.max(1, n))}) | ${r.faulty ? "" : pct(clopperPearsonUpper(k, n))} | ${num(quantile(times, 0.5), " s")} / ${num(quantile(times, 0.9), " s")} | ${r.faulty ? num(quantile(failed, 0.5)) : ""} | ${r.judge.startsWith("sequential") ? pct(inconclusive / Math.max(1, n)) : ""} |`,
    );
  }
  return out.join("\n");
}
