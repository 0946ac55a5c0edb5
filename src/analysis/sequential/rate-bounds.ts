// Anytime-valid bounds on one arm's error probability, for the absolute-margin pass: the conjugate
// Beta(a, b) mixture of Bernoulli likelihood ratios (Robbins; Howard et al. 2021, Props 6–7).
// M_n(p) = B(a+S, b+n−S) / (B(a, b)·p^S·(1−p)^(n−S)) is a test martingale when p is the truth, so
// {p : M_n(p) < 1/α} covers p at every n at once with probability ≥ 1 − α.
import { logBeta } from "./special.js";

export interface BetaPrior {
  readonly a: number;
  readonly b: number;
}

/** The prior for a margin Δ (a fraction): its mass sits near rates of order Δ. */
export function priorFor(margin: number): BetaPrior {
  return { a: 0.5, b: 2 / margin };
}

/** ln M_n(p): the mixture's evidence against "the error probability is p". */
export function logMixture(p: number, failures: number, n: number, prior: BetaPrior): number {
  const { a, b } = prior;
  const s = failures;
  const logLik = (s === 0 ? 0 : s * Math.log(p)) + (n - s === 0 ? 0 : (n - s) * Math.log1p(-p));
  return logBeta(a + s, b + n - s) - logBeta(a, b) - logLik;
}

export interface RateInterval {
  readonly lower: number;
  readonly upper: number;
}

/**
 * {p : M_n(p) < 1/α}: an interval, since ln M_n is convex in p with its minimum at S/n. Its ends
 * are found by bisection to 1e-12.
 */
export function rateInterval(
  failures: number,
  n: number,
  alpha: number,
  prior: BetaPrior,
): RateInterval {
  if (n === 0) return { lower: 0, upper: 1 };
  const limit = Math.log(1 / alpha);
  const inside = (p: number) => logMixture(p, failures, n, prior) < limit;
  const centre = failures / n;
  const edge = (from: number, to: number): number => {
    // `from` is inside (or the boundary of [0, 1]); find where the set ends towards `to`.
    if (inside(to)) return to;
    let lo = from;
    let hi = to;
    for (let i = 0; i < 200 && Math.abs(hi - lo) > 1e-12; i++) {
      const mid = (lo + hi) / 2;
      if (inside(mid)) lo = mid;
      else hi = mid;
    }
    return lo;
  };
  const clampedCentre = Math.min(1 - 1e-15, Math.max(1e-15, centre));
  return {
    lower: failures === 0 ? 0 : edge(clampedCentre, 0),
    upper: failures === n ? 1 : edge(clampedCentre, 1),
  };
}
