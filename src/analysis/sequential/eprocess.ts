// The known-split ratio e-process (docs/analysis.md, "The statistics"). Bad events (5xx, or
// requests slower than a threshold) are counted per segment of constant canary share ρ: A on the
// canary, B on the primary. Under "the canary's bad-event rate is at most r0 times the primary's",
// each bad event is the canary's with probability at most q(ρ, r0) = ρ·r0 / (ρ·r0 + 1 − ρ),
// whatever the traffic, the primary's own rate or how ρ changes between segments. A mixture over
// alternatives r = r0·m of the likelihood ratios of those Bernoulli draws is a test
// supermartingale under that null, so Ville's inequality bounds P(ever E ≥ 1/α) by α.
import { logSumExp } from "./special.js";

/** Counts at one canary share: the unit of the judge's state. */
export interface Segment {
  /** The canary's share of requests, 0 < rho < 1 (the weight every proxy confirmed). */
  readonly rho: number;
  /** Bad events on the canary. */
  readonly a: number;
  /** Bad events on the primary. */
  readonly b: number;
  /** Requests to the canary and to the primary (the bad events' exposure). */
  readonly nC: number;
  readonly nP: number;
  /**
   * `rho` is only an upper bound on the canary's share (a batch straddling a weight change). The
   * harm e-process stays valid with it (a larger ρ only raises q0 under the null); a pass by the
   * ratio needs the share from below, so it leaves such segments out.
   */
  readonly upper?: boolean;
}

/** The segments whose canary share is known, not only bounded. */
export function exact(segments: readonly Segment[]): Segment[] {
  return segments.filter((s) => s.upper !== true);
}

/** Alternatives above the null for harm: "the canary is 1.5 to 1000 times worse". */
export const HARM_GRID: readonly number[] = [1.5, 2, 3, 5, 10, 30, 100, 300, 1000];
/** Alternatives below the null for non-inferiority: "the canary is better than the margin". */
export const PASS_GRID: readonly number[] = [0.8, 2 / 3, 0.5, 1 / 3, 0.1];

/** P(a bad event is the canary's | canary share ρ, rate ratio r). */
export function canaryShareOfBad(rho: number, r: number): number {
  return (rho * r) / (rho * r + 1 - rho);
}

/**
 * ln of one segment's likelihood ratio, alternative r against null r0:
 * A·ln(r/r0) − (A+B)·[ln(1+ρ(r−1)) − ln(1+ρ(r0−1))]. Segments with ρ ∈ {0, 1} carry no
 * information about the ratio and count as 1.
 */
export function segmentLogLR(s: Segment, r: number, r0: number): number {
  if (!(s.rho > 0 && s.rho < 1)) return 0;
  const n = s.a + s.b;
  if (n === 0) return 0;
  return s.a * Math.log(r / r0) - n * (Math.log1p(s.rho * (r - 1)) - Math.log1p(s.rho * (r0 - 1)));
}

/** ln E: the uniform mixture over `r0·m` for m in `grid` of the segments' likelihood ratios. */
export function logE(segments: readonly Segment[], r0: number, grid: readonly number[]): number {
  const lw = -Math.log(grid.length);
  return logSumExp(
    grid.map((m) => lw + segments.reduce((sum, s) => sum + segmentLogLR(s, r0 * m, r0), 0)),
  );
}

export function logEHarm(segments: readonly Segment[], r0 = 1): number {
  return logE(segments, r0, HARM_GRID);
}

export function logEPass(segments: readonly Segment[], r0 = 1): number {
  return logE(exact(segments), r0, PASS_GRID);
}

export interface Totals {
  readonly a: number;
  readonly b: number;
  readonly nC: number;
  readonly nP: number;
}

export function totals(segments: readonly Segment[]): Totals {
  return segments.reduce(
    (t, s) => ({ a: t.a + s.a, b: t.b + s.b, nC: t.nC + s.nC, nP: t.nP + s.nP }),
    { a: 0, b: 0, nC: 0, nP: 0 },
  );
}

/**
 * The ratio r̂ that makes the expected canary share of bad events equal the observed one:
 * Σ_s [A_s − N_s·q(ρ_s, r)] = 0, decreasing in r, bisected in ln r. Undefined without bad events;
 * 0 or Infinity when all of them are on one side.
 */
export function ratioEstimate(segments: readonly Segment[]): number | undefined {
  const used = exact(segments).filter((s) => s.rho > 0 && s.rho < 1 && s.a + s.b > 0);
  if (used.length === 0) return undefined;
  const t = totals(used);
  if (t.a === 0) return 0;
  if (t.b === 0) return Infinity;
  const excess = (lr: number) =>
    used.reduce((sum, s) => sum + s.a - (s.a + s.b) * canaryShareOfBad(s.rho, Math.exp(lr)), 0);
  let lo = -30;
  let hi = 30;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (excess(mid) > 0) lo = mid;
    else hi = mid;
  }
  return Math.exp((lo + hi) / 2);
}

/** The ratios scanned for the anytime lower bound on r. */
export const BOUND_SCAN: readonly number[] = [
  1, 1.1, 1.25, 1.5, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000,
];

/**
 * An anytime-valid lower bound on the rate ratio: the largest scanned r0 such that the harm
 * e-process rejects H0(r0') for every scanned r0' ≤ r0. P(ever r < bound) ≤ α, since the smallest
 * scanned r_b above the true r would then have rejected its own true null. Undefined when even
 * r0 = 1 is not rejected.
 */
export function ratioLowerBound(segments: readonly Segment[], alpha: number): number | undefined {
  const need = Math.log(1 / alpha);
  let bound: number | undefined;
  for (const r0 of BOUND_SCAN) {
    if (logEHarm(segments, r0) >= need) bound = r0;
    else break;
  }
  return bound;
}
