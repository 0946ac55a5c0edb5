// Latency as bad events (docs/analysis.md, "Latency"): for a primary threshold T at a bucket edge,
// the canary's threshold T' is the smallest edge at or above T plus the margin. A canary request
// slower than T' and a primary request slower than T are the bad events; under "the canary is no
// slower than the primary plus the margin" (at this threshold) a bad event is the canary's with
// probability at most ρ, so the ratio e-process with r0 = 1 tests it exactly. Rounding T' up keeps
// that; nothing is interpolated inside a bucket.

/** The bucket edges (ms) of vireo's proxies' `vireo_request_duration_milliseconds`. */
export const DURATION_EDGES_MS: readonly number[] = [
  0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
  1800000, 3600000,
];

export type LatencyMargin =
  | { readonly kind: "absolute"; readonly ms: number }
  | { readonly kind: "relative"; readonly percent: number };

export interface ThresholdPair {
  /** The primary quantile the pair was placed at (0.5, 0.99). */
  readonly quantile: number;
  readonly primaryLe: number;
  readonly canaryLe: number;
}

/** The smallest edge ≥ value, or undefined above the last one. */
export function edgeAtOrAbove(edges: readonly number[], value: number): number | undefined {
  return edges.find((e) => e >= value - 1e-9 * Math.max(1, Math.abs(value)));
}

/** The largest edge ≤ value; the first edge below it. */
export function edgeAtOrBelow(edges: readonly number[], value: number): number | undefined {
  const tolerance = 1e-9 * Math.max(1, Math.abs(value));
  return edges.findLast((e) => e <= value + tolerance) ?? edges[0];
}

/**
 * Pairs at the primary's quantiles (given as the quantile's value in ms, e.g. from
 * histogram_quantile): T is the largest edge at or below it, so that at least the quantile's
 * share of the primary lies above T (rounding up instead left as little as 0.1 % of the primary
 * above its p99 edge on the cluster, and a pass needs the primary's slow requests); T' is the
 * smallest edge at or above T plus the margin. Any fixed T is valid for the test; T' beyond the
 * last edge gives no pair.
 */
export function thresholdPairs(
  edges: readonly number[],
  quantiles: readonly { readonly quantile: number; readonly ms: number }[],
  margin: LatencyMargin,
): ThresholdPair[] {
  const out: ThresholdPair[] = [];
  for (const { quantile, ms } of quantiles) {
    if (!Number.isFinite(ms)) continue;
    const t = edgeAtOrBelow(edges, ms);
    if (t === undefined) continue;
    const target = margin.kind === "absolute" ? t + margin.ms : t * (1 + margin.percent / 100);
    const tc = edgeAtOrAbove(edges, target);
    if (tc === undefined) continue;
    if (!out.some((p) => p.primaryLe === t && p.canaryLe === tc)) {
      out.push({ quantile, primaryLe: t, canaryLe: tc });
    }
  }
  return out;
}

/** Requests slower than an edge, from cumulative bucket counts: total − count(le ≤ edge). */
export function above(total: number, atOrBelow: number): number {
  return Math.max(0, total - atOrBelow);
}

/** Prometheus's histogram_quantile on cumulative buckets (ascending edges, "+Inf" last):
 * linear within the bucket, in ms; NaN with no requests. */
export function bucketQuantile(buckets: ReadonlyMap<string, number>, q: number): number {
  const entries = [...buckets];
  const total = entries.at(-1)?.[1] ?? 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  let lowerEdge = 0;
  let lowerCount = 0;
  for (const [le, n] of entries) {
    const edge = le === "+Inf" ? Infinity : Number(le);
    if (n >= rank) {
      // Above the last finite edge the answer is that edge, as Prometheus gives it.
      if (edge === Infinity) return lowerEdge;
      return n === lowerCount
        ? edge
        : lowerEdge + (edge - lowerEdge) * ((rank - lowerCount) / (n - lowerCount));
    }
    lowerEdge = edge;
    lowerCount = n;
  }
  return lowerEdge;
}
