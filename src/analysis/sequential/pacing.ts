// How much more data a decision needs: Wald's approximation for the mixture e-process (expected
// log-evidence per bad event against the cost of crossing 1/α), and the projection of the
// absolute-margin pass forward in n. Used to say "needs N more canary requests", never to decide.
import { canaryShareOfBad } from "./eprocess.js";
import type { BetaPrior } from "./rate-bounds.js";
import { rateInterval } from "./rate-bounds.js";

/** z for 90 % power. */
export const Z_90 = 1.2815515655446004;

export interface Design {
  /** The canary's share of requests. */
  readonly rho: number;
  /** The true rate ratio (canary/primary) under which the need is computed. */
  readonly r: number;
  /** The null's ratio. */
  readonly r0: number;
  readonly grid: readonly number[];
  readonly alpha: number;
}

/** Expected log-evidence one bad event adds for grid point r0·m when the truth is r. */
function drift(d: Design, m: number): { readonly mean: number; readonly variance: number } {
  const q = canaryShareOfBad(d.rho, d.r);
  const qk = canaryShareOfBad(d.rho, d.r0 * m);
  const q0 = canaryShareOfBad(d.rho, d.r0);
  const up = Math.log(qk / q0);
  const down = Math.log((1 - qk) / (1 - q0));
  return { mean: q * up + (1 - q) * down, variance: q * (1 - q) * (up - down) ** 2 };
}

/**
 * Expected bad events (both sides) until E crosses 1/α, the best grid point's
 * (ln(1/α) + ln(1/w)) / D; with `z`, the count for power Φ(z) by the normal approximation to the
 * log-evidence. Infinity when no grid point gains evidence under r.
 */
export function badEventsNeeded(d: Design, z = 0): number {
  const cost = Math.log(1 / d.alpha) + Math.log(d.grid.length);
  let best = Infinity;
  for (const m of d.grid) {
    const { mean, variance } = drift(d, m);
    if (!(mean > 0)) continue;
    const root =
      (z * Math.sqrt(variance) + Math.sqrt(z * z * variance + 4 * mean * cost)) / (2 * mean);
    best = Math.min(best, root * root);
  }
  return best;
}

/** Canary requests expected before `bad` bad events, at canary error rate pC and primary pP. */
export function canaryRequestsFor(bad: number, rho: number, pC: number, pP: number): number {
  const perRequest = rho * pC + (1 - rho) * pP;
  return perRequest > 0 ? (rho * bad) / perRequest : Infinity;
}

/**
 * Canary requests, in total, at which U_c < L_p + Δ would hold if both sides kept their observed
 * rates and their ratio of requests: bisected on the canary's n. Undefined when no n up to `cap`
 * would do (the canary is observed at or beyond the margin).
 */
export function canaryRequestsToPass(
  canary: { readonly failures: number; readonly n: number },
  primary: { readonly failures: number; readonly n: number },
  margin: number,
  alpha: number,
  prior: BetaPrior,
  cap = 10_000_000,
): number | undefined {
  const rc = canary.n > 0 ? canary.failures / canary.n : 0;
  const rp = primary.n > 0 ? primary.failures / primary.n : 0;
  const share = canary.n > 0 && primary.n > 0 ? primary.n / canary.n : 1;
  const passes = (m: number) => {
    const np = Math.max(1, Math.round(m * share));
    const upper = rateInterval(Math.round(rc * m), m, alpha, prior).upper;
    const lower = primary.n > 0 ? rateInterval(Math.round(rp * np), np, alpha, prior).lower : 0;
    return upper < lower + margin;
  };
  if (!passes(cap)) return undefined;
  let lo = Math.max(1, Math.floor(canary.n));
  if (passes(lo)) return lo;
  let hi = cap;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (passes(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
