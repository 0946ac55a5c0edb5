// A fixed-bucket histogram that is only ever added to: a typed array of counts, a sum and a
// count. Observing allocates nothing; cumulative bucket counts are worked out when scraped.

export class FixedHistogram {
  /** Observations per bucket (not cumulative); the last slot is the +Inf bucket. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  /** `bounds` ascending, shared by every histogram of a metric. */
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Prometheus `le` semantics: a value equal to a bound falls into that bound's bucket. */
  observe(value: number): void {
    const bounds = this.bounds;
    const n = bounds.length;
    let i = 0;
    // Most observations fall in the first few buckets: a linear scan beats a binary search.
    while (i < n && value > (bounds[i] ?? Infinity)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.sum += value;
    this.count++;
  }
}
