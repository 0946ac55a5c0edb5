// From a run's segments to a decision: harm (roll back now), pass (non-inferiority shown) or
// inconclusive (with how many more canary requests it needs). Pure: the same segments and
// settings give the same verdict, which is what makes it safe to recompute after a restart.
import type { Segment } from "./eprocess.js";
import {
  exact,
  HARM_GRID,
  logE,
  logEHarm,
  logEPass,
  PASS_GRID,
  ratioEstimate,
  ratioLowerBound,
  totals,
} from "./eprocess.js";
import { badEventsNeeded, canaryRequestsToPass } from "./pacing.js";
import { logMixture, priorFor, rateInterval } from "./rate-bounds.js";
import { logSumExp } from "./special.js";

export interface JudgeSettings {
  /** False-rollback budget of the whole release: P(ever roll back | within the margins) ≤ it. */
  readonly alphaHarm: number;
  /** Per metric: P(pass | outside the margin) ≤ it. */
  readonly alphaPass: number;
}

export type ErrorMargin =
  /** The canary's error rate at most `points` percentage points above the primary's. */
  | { readonly kind: "points"; readonly points: number }
  /** The canary's error rate at most `ratio` times the primary's. */
  | { readonly kind: "ratio"; readonly ratio: number };

/** What one metric's evidence says, before the release-wide combination. */
export interface MetricEvidence {
  /** ln E of the harm e-process (the one that may roll back). */
  readonly logEHarm: number;
  /** False when an extra condition (the absolute margin's observed excess) vetoes harm. */
  readonly harmAllowed: boolean;
  readonly passed: boolean;
  /** More canary requests the pass would need at the rates seen so far; undefined: unknown. */
  readonly needs?: number;
  /** The effect and its anytime bound, for people. */
  readonly effect: Effect;
}

export type Effect =
  | {
      readonly kind: "errors";
      readonly canaryRate: number;
      readonly primaryRate: number;
      /** r̂ (canary/primary), when there were bad events. */
      readonly ratio?: number;
      /** Anytime lower bound on the ratio at alphaHarm, when it excludes 1. */
      readonly ratioLowerBound?: number;
      /** Anytime upper bound on the canary's rate at alphaPass/2 (points margin only). */
      readonly canaryUpper?: number;
    }
  | {
      readonly kind: "latency";
      /** Per threshold pair: shares above T' (canary) and T (primary), ratio and its bound. */
      readonly pairs: readonly PairEffect[];
    };

export interface PairEffect {
  readonly primaryLe: number;
  readonly canaryLe: number;
  readonly canaryAbove: number;
  readonly primaryAbove: number;
  readonly ratio?: number;
  readonly ratioLowerBound?: number;
  readonly logEPass: number;
  /**
   * A tail pair's (TAIL_QUANTILE and above): the anytime upper bound on the canary's share slower
   * than T′, at passAlpha/2, against the quantile's own share (1 % at p99).
   */
  readonly canaryUpper?: number;
  /** Whether the pair's own evidence passes it (by the ratio, or for a tail pair by its tail). */
  readonly passed: boolean;
}

const rate = (x: number, n: number) => (n > 0 ? x / n : 0);

/**
 * `detail` false leaves out what only people read (the ratio's estimate and bound, the pacing),
 * which costs more than the decision itself: the benchmark's judges decide thousands of times.
 */
export function errorEvidence(
  segments: readonly Segment[],
  margin: ErrorMargin,
  s: JudgeSettings,
  detail = true,
): MetricEvidence {
  const t = totals(segments);
  const canaryRate = rate(t.a, t.nC);
  const primaryRate = rate(t.b, t.nP);
  const ratio = detail ? ratioEstimate(segments) : undefined;
  const bound = detail ? ratioLowerBound(segments, s.alphaHarm) : undefined;
  const base = {
    kind: "errors" as const,
    canaryRate,
    primaryRate,
    ...(ratio === undefined ? {} : { ratio }),
    ...(bound === undefined ? {} : { ratioLowerBound: bound }),
  };
  if (margin.kind === "ratio") {
    const lp = logEPass(segments, margin.ratio);
    const need = Math.log(1 / s.alphaPass);
    let needs: number | undefined;
    if (detail && lp < need) {
      const rho = exact(segments).at(-1)?.rho ?? 0;
      const bad = badEventsNeeded({
        rho,
        r: 1,
        r0: margin.ratio,
        grid: PASS_GRID,
        alpha: Math.exp(-(need - Math.max(0, lp))),
      });
      const perCanary = t.nC > 0 ? (t.a + t.b) / t.nC : 0;
      needs = perCanary > 0 && Number.isFinite(bad) ? Math.ceil(bad / perCanary) : undefined;
    }
    return {
      logEHarm: logE(segments, margin.ratio, HARM_GRID),
      harmAllowed: true,
      passed: lp >= need,
      ...(needs === undefined ? {} : { needs }),
      effect: base,
    };
  }
  const delta = margin.points / 100;
  const prior = priorFor(delta);
  const half = s.alphaPass / 2;
  const canary = rateInterval(t.a, t.nC, half, prior);
  const primary = rateInterval(t.b, t.nP, half, prior);
  const passed = t.nC > 0 && canary.upper < primary.lower + delta;
  let needs: number | undefined;
  if (detail && !passed) {
    const total = canaryRequestsToPass(
      { failures: t.a, n: t.nC },
      { failures: t.b, n: t.nP },
      delta,
      half,
      prior,
    );
    needs = total === undefined ? undefined : Math.max(1, Math.ceil(total - t.nC));
  }
  return {
    // Harm against r0 = 1, allowed only once the observed excess reaches the margin: the extra
    // condition shrinks the rejection region, so P(roll back | canary no worse) ≤ α still holds.
    logEHarm: logEHarm(segments, 1),
    harmAllowed: canaryRate - primaryRate >= delta,
    passed,
    ...(needs === undefined ? {} : { needs }),
    effect: { ...base, canaryUpper: canary.upper },
  };
}

export interface LatencySeries {
  /** The primary quantile T was placed at; a tail pair (TAIL_QUANTILE and above) has two passes. */
  readonly quantile?: number;
  readonly primaryLe: number;
  readonly canaryLe: number;
  readonly segments: readonly Segment[];
}

/** Pairs placed at this quantile or above are tail pairs (p99). */
export const TAIL_QUANTILE = 0.9;

/** The share of requests a tail pair's quantile leaves above it (0.01 at p99), else undefined. */
function tailShare(p: LatencySeries): number | undefined {
  return p.quantile !== undefined && p.quantile >= TAIL_QUANTILE ? 1 - p.quantile : undefined;
}

/**
 * Harm averages the pairs' e-values (the stochastic-order null implies each pair's null, and an
 * average of e-processes is one); pass needs every pair (intersection-union, no correction).
 *
 * A tail pair passes by either of two tests at passAlpha/2 each: the ratio (the canary's share
 * slower than T′ no larger than the primary's slower than T, over the same requests), or the
 * canary's own tail (its share slower than T′ shown below 1 − q: its q-quantile at most T′, the
 * primary's q-quantile from the run's window plus the margin). The second is what passes a
 * canary when the primary answers almost nothing above T later in the run, where the ratio's
 * bad events never come (docs/analysis.md, "Latency"). A false pass needs both tests' nulls to
 * hold, so its probability stays at most passAlpha.
 */
export function latencyEvidence(
  pairs: readonly LatencySeries[],
  s: JudgeSettings,
  detail = true,
): MetricEvidence {
  if (pairs.length === 0) {
    return {
      logEHarm: 0,
      harmAllowed: false,
      passed: false,
      effect: { kind: "latency", pairs: [] },
    };
  }
  const effects: PairEffect[] = pairs.map((p) => {
    const t = totals(p.segments);
    const ratio = detail ? ratioEstimate(p.segments) : undefined;
    const bound = detail ? ratioLowerBound(p.segments, s.alphaHarm) : undefined;
    const tail = tailShare(p);
    const lp = logEPass(p.segments, 1);
    const byRatio = lp >= ratioNeed(p, s);
    // U < tail exactly when the tail lies beyond the canary's observed share and outside the set
    // {p : M_n(p) < 2/passAlpha}: one evaluation rather than the bisection.
    const byTail =
      tail !== undefined &&
      t.nC > 0 &&
      t.a / t.nC < tail &&
      logMixture(tail, t.a, t.nC, priorFor(tail)) >= Math.log(2 / s.alphaPass);
    const upper =
      detail && tail !== undefined
        ? rateInterval(t.a, t.nC, s.alphaPass / 2, priorFor(tail)).upper
        : undefined;
    return {
      primaryLe: p.primaryLe,
      canaryLe: p.canaryLe,
      canaryAbove: rate(t.a, t.nC),
      primaryAbove: rate(t.b, t.nP),
      ...(ratio === undefined ? {} : { ratio }),
      ...(bound === undefined ? {} : { ratioLowerBound: bound }),
      logEPass: lp,
      ...(upper === undefined ? {} : { canaryUpper: upper }),
      passed: byRatio || byTail,
    };
  });
  const harm = logSumExp(pairs.map((p) => logEHarm(p.segments, 1))) - Math.log(pairs.length);
  const passed = effects.every((e) => e.passed);
  let needs: number | undefined;
  if (detail && !passed) {
    needs = 0;
    for (const [i, p] of pairs.entries()) {
      const e = effects[i];
      if (e === undefined || e.passed) continue;
      const n = pairNeeds(p, e, s);
      if (n === undefined) {
        needs = undefined;
        break;
      }
      needs = Math.max(needs, n);
    }
  }
  return {
    logEHarm: harm,
    harmAllowed: true,
    passed,
    ...(needs === undefined ? {} : { needs }),
    effect: { kind: "latency", pairs: effects },
  };
}

/** ln(1/passAlpha) for the ratio's pass; a tail pair's ratio has half of passAlpha. */
function ratioNeed(p: LatencySeries, s: JudgeSettings): number {
  return Math.log((tailShare(p) === undefined ? 1 : 2) / s.alphaPass);
}

/** The fewer of the ratio's and (a tail pair's) the tail's, as each side's rates stay. */
function pairNeeds(p: LatencySeries, e: PairEffect, s: JudgeSettings): number | undefined {
  const byRatio = ratioNeeds(p.segments, e, ratioNeed(p, s));
  const tail = tailShare(p);
  if (tail === undefined) return byRatio;
  const t = totals(p.segments);
  const total = canaryRequestsToPass(
    { failures: t.a, n: t.nC },
    { failures: 0, n: 0 },
    tail,
    s.alphaPass / 2,
    priorFor(tail),
  );
  const byTail = total === undefined ? undefined : Math.max(1, Math.ceil(total - t.nC));
  if (byRatio === undefined) return byTail;
  return byTail === undefined ? byRatio : Math.min(byRatio, byTail);
}

/** Plug-in: the ratio and bad events per canary request seen so far stay as they are. */
function ratioNeeds(segments: readonly Segment[], e: PairEffect, need: number): number | undefined {
  const t = totals(segments);
  const rho = exact(segments).at(-1)?.rho ?? 0;
  const r = e.ratio;
  if (r === undefined || !(r < 1) || t.nC === 0 || !(rho > 0 && rho < 1)) return undefined;
  const missing = need - e.logEPass;
  const bad = badEventsNeeded({
    rho,
    r: Math.max(r, 0.01),
    r0: 1,
    grid: PASS_GRID,
    alpha: Math.exp(-missing),
  });
  const perCanary = (t.a + t.b) / t.nC;
  return perCanary > 0 && Number.isFinite(bad) ? Math.ceil(bad / perCanary) : undefined;
}

export interface WeightedEvidence {
  readonly name: string;
  /** v_m, Σ v_m = 1 over the judged metrics. */
  readonly weight: number;
  readonly evidence: MetricEvidence;
}

export type ReleaseDecision =
  | { readonly outcome: "harm"; readonly metric: string; readonly logE: number }
  | { readonly outcome: "pass"; readonly logE: number }
  | { readonly outcome: "inconclusive"; readonly logE: number };

/**
 * Harm across metrics: ln Σ_m v_m·E_m over the metrics whose extra conditions hold, against
 * ln(1/α_H); a weighted average of e-processes is one, and never weaker than Bonferroni. The
 * metric named is the one contributing most. Pass: every metric passed.
 */
export function decide(metrics: readonly WeightedEvidence[], s: JudgeSettings): ReleaseDecision {
  const allowed = metrics.filter((m) => m.evidence.harmAllowed && m.weight > 0);
  const terms = allowed.map((m) => Math.log(m.weight) + m.evidence.logEHarm);
  const logE = logSumExp(terms);
  if (allowed.length > 0 && logE >= Math.log(1 / s.alphaHarm)) {
    let top = 0;
    for (let i = 1; i < terms.length; i++)
      if ((terms[i] ?? -Infinity) > (terms[top] ?? -Infinity)) top = i;
    return { outcome: "harm", metric: allowed[top]?.name ?? "", logE };
  }
  const shown = allowed.length === 0 ? 0 : logE;
  if (metrics.length > 0 && metrics.every((m) => m.evidence.passed)) {
    return { outcome: "pass", logE: shown };
  }
  return { outcome: "inconclusive", logE: shown };
}
