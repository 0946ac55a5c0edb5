// The latency buckets the sequential judge reads (docs/analysis.md, "Latency buckets"): shared
// by the proxy, which counts into them, and the controller, which places thresholds on them.

/**
 * Renard's R10 preferred numbers, ten per decade, from 0.1 ms to 100 s: each bucket is ~26 %
 * wider than the one below, so a +50 ms shift moves a request across an edge anywhere under
 * ~200 ms, and a +20 % shift anywhere. Rounded values (1.25, not 1.2589...) so that `le` reads
 * well; the index computation below allows for the rounding.
 */
const R10 = [1, 1.25, 1.6, 2, 2.5, 3.15, 4, 5, 6.3, 8] as const;
const FIRST_DECADE = -1;
const DECADES = 6;

export const JUDGE_BUCKETS_MS: readonly number[] = Array.from(
  { length: DECADES * R10.length + 1 },
  (_, i) => {
    const decade = FIRST_DECADE + Math.floor(i / R10.length);
    // toPrecision keeps 0.125, not 0.12500000000000003.
    return Number(((R10[i % R10.length] ?? 1) * 10 ** decade).toPrecision(3));
  },
);

/** The index of the bucket whose edge is the smallest at or above `ms`; n for +Inf. */
export function bucketIndex(ms: number): number {
  const edges = JUDGE_BUCKETS_MS;
  const n = edges.length;
  if (!(ms > (edges[0] ?? 0))) return 0;
  // The exact R10 index, then at most a step either way for the rounding of the edges.
  let i = Math.ceil(10 * Math.log10(ms)) - FIRST_DECADE * R10.length;
  if (i >= n) i = n;
  if (i > 0 && ms <= (edges[i - 1] ?? Infinity)) i--;
  else if (i < n && ms > (edges[i] ?? Infinity)) i++;
  return i;
}
