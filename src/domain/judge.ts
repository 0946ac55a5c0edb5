// What the sequential judge keeps in the Rollout's status (docs/analysis.md, "The sequential
// judge"): one e-process per run, as per-weight segments of counts from which every e-value is a
// pure function, plus the counters last read, so that a restarted controller goes on where the
// last one stopped instead of granting itself a fresh false-rollback budget.

/** The margin a judged metric is held to. */
export type JudgeMargin =
  /** request-success-rate: the canary's error rate at most so many points above the primary's. */
  | { readonly kind: "points"; readonly points: number }
  /** request-success-rate: the canary's error rate at most so many times the primary's. */
  | { readonly kind: "ratio"; readonly ratio: number }
  /** request-duration: the canary at most so many ms slower (at the primary's p50 and p99). */
  | { readonly kind: "ms"; readonly ms: number }
  /** request-duration: the canary at most so many percent slower. */
  | { readonly kind: "percent"; readonly percent: number };

/** Counts at one step and weight: bad events and requests on each side. */
export interface JudgeSegment {
  readonly step: number;
  /** The canary's share, 0-1: the weight every proxy confirmed. */
  readonly rho: number;
  readonly a: number;
  readonly b: number;
  readonly nC: number;
  readonly nP: number;
  /**
   * `rho` bounds the canary's share from above only: the batch straddled a weight change, so it
   * counts for harm (at the larger weight) and not for a pass by the ratio.
   */
  readonly upper?: true;
}

/** One latency threshold pair, placed from the primary's first requests of the run. */
export interface JudgePair {
  readonly quantile: number;
  readonly primaryLe: number;
  readonly canaryLe: number;
}

export interface JudgeMetricState {
  readonly name: string;
  /** Latency only: the pairs, once frozen; segments[i] belongs to pairs[i]. */
  readonly pairs?: readonly JudgePair[];
  /** Errors: one series; latency: one per pair. */
  readonly series: readonly (readonly JudgeSegment[])[];
}

/** Cumulative counters of one workload, as last read. */
export interface JudgeCounters {
  readonly requests: number;
  readonly failures: number;
  /** Requests at or below each edge (ms), keyed by the edge as written in `le`. */
  readonly atOrBelow: Readonly<Record<string, number>>;
}

export interface JudgeCursor {
  /** When the counters were read (RFC 3339). */
  readonly at: string;
  /** The confirmed canary weight (0-100) then. */
  readonly weight: number;
  readonly canary: JudgeCounters;
  readonly primary: JudgeCounters;
}

export interface JudgeStatus {
  /** The canary revision of the run; another revision (or a new run) starts afresh. */
  readonly revision: string;
  readonly cursor?: JudgeCursor;
  /**
   * While the latency thresholds are being placed: the primary's counters (every edge) when the
   * window they are placed from opened.
   */
  readonly pairWindow?: JudgeCounters;
  /** Latency counts once the canary has served the warm-up's requests. */
  readonly warm: boolean;
  readonly metrics: readonly JudgeMetricState[];
  /** Reads not counted: a weight change, a counter reset, the first read. */
  readonly dropped: number;
  /** Requests the canary answered, and how many failed, in the counted reads. */
  readonly canaryRequests: number;
  readonly canaryFailed: number;
}

/** The judge's word on one metric, as status.checks shows it. */
export interface JudgeCheck {
  readonly decision: "harm" | "pass" | "inconclusive";
  /** The harm e-value (evidence that the canary is worse than the margin allows). */
  readonly eValue: number;
  /** Canary/primary ratio of bad-event rates (errors, or slow requests), when there were any. */
  readonly effect?: number;
  /** Its anytime lower bound at the release's α, when above 1. */
  readonly bound?: number;
  /** More canary requests a pass needs at the rates seen so far. */
  readonly needs?: number;
  readonly canaryRequests: number;
}
