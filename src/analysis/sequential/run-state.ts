// The judge's state through a run, as pure functions: fold each read of the proxies' counters
// into per-weight segments (dropping what the rules say to drop, none of which looks at
// outcomes), place the latency thresholds once from the primary's first requests of the run, and
// judge the whole run from the segments.
import type {
  JudgeCounters,
  JudgeMargin,
  JudgeMetricState,
  JudgeSegment,
  JudgeStatus,
} from "../../domain/judge.js";
import type { Segment } from "./eprocess.js";
import type { LatencyMargin } from "./latency-pairs.js";
import { bucketQuantile, thresholdPairs } from "./latency-pairs.js";
import type { ErrorMargin, JudgeSettings, MetricEvidence, ReleaseDecision } from "./verdict.js";
import { decide, errorEvidence, latencyEvidence } from "./verdict.js";

export type JudgedMetric = "request-success-rate" | "request-duration";

export interface JudgeConfig {
  readonly metrics: readonly { readonly name: JudgedMetric; readonly margin: JudgeMargin }[];
  readonly settings: JudgeSettings;
  /** Latency counts once the canary has answered this many counted requests (cold pods). */
  readonly warmupRequests: number;
  /** A step passes only after this many canary requests at its own weight. */
  readonly minStepRequests: number;
}

/** The bucket label Prometheus writes for the histogram's total. */
export const INF = "+Inf";

/** The quantiles of the primary the latency pairs sit at. */
export const PAIR_QUANTILES = [0.5, 0.99] as const;

/**
 * Primary requests of this run the latency thresholds are placed from: enough that p99 rests on a
 * few requests above it (about 8 s at 40 req/s). Not the primary's whole history, which in a
 * series of releases is the previous promotion's busy minutes (docs/analysis.md, "Latency").
 */
export const PAIR_WINDOW_REQUESTS = 300;

export function emptyState(revision: string, config: JudgeConfig): JudgeStatus {
  return {
    revision,
    warm: false,
    metrics: config.metrics.map((m) => ({
      name: m.name,
      series: m.name === "request-duration" ? [] : [[]],
    })),
    dropped: 0,
    canaryRequests: 0,
    canaryFailed: 0,
  };
}

/**
 * The histogram edges a read must include: while the latency thresholds are being placed, every
 * edge the source counts in (`edges`); then every pair's, and the total.
 */
export function edgesToRead(state: JudgeStatus, edges: readonly number[]): string[] {
  if (needsPairs(state)) return [...edges.map(String), INF];
  const out = new Set<string>([INF]);
  for (const m of state.metrics) {
    for (const p of m.pairs ?? []) {
      out.add(String(p.primaryLe));
      out.add(String(p.canaryLe));
    }
  }
  return [...out];
}

/** Whether request-duration still needs its thresholds from the primary's history. */
export function needsPairs(state: JudgeStatus): boolean {
  return state.metrics.some((m) => m.name === "request-duration" && m.pairs === undefined);
}

/**
 * Freezes request-duration's pairs from the primary's quantiles (ms), read before any data the
 * pairs will judge. A quantile that is NaN (no requests) leaves them unfrozen, to try again.
 */
export function freezePairs(
  state: JudgeStatus,
  config: JudgeConfig,
  quantiles: readonly { readonly quantile: number; readonly ms: number }[],
  /** The bucket edges the counts come in. */
  edges: readonly number[],
): JudgeStatus {
  const spec = config.metrics.find((m) => m.name === "request-duration");
  if (spec === undefined || quantiles.some((q) => !Number.isFinite(q.ms))) return state;
  const pairs = thresholdPairs(edges, quantiles, latencyMargin(spec.margin));
  const { pairWindow, ...placed } = state;
  return {
    ...placed,
    metrics: state.metrics.map((m) =>
      m.name === "request-duration" && m.pairs === undefined
        ? { ...m, pairs, series: pairs.map(() => []) }
        : m,
    ),
  };
}

/** Primary requests counted so far in the window the thresholds are placed from. */
export function pairWindowRequests(state: JudgeStatus): number {
  const from = state.pairWindow?.atOrBelow[INF];
  const to = state.cursor?.primary.atOrBelow[INF];
  return from === undefined || to === undefined ? 0 : Math.max(0, to - from);
}

/**
 * Places request-duration's pairs from the primary's requests in this run. The first read opens
 * the window (its counters, every edge, kept as `pairWindow`); once the primary has answered
 * PAIR_WINDOW_REQUESTS since, the pairs sit at the window's quantiles. Called after the read is
 * folded in, so no request the window saw is judged against thresholds it chose: the thresholds
 * are fixed before any data they judge, which keeps the e-process valid. A counter that went
 * down (a proxy restarted) opens the window again.
 */
export function placePairs(
  state: JudgeStatus,
  config: JudgeConfig,
  primary: JudgeCounters,
  edges: readonly number[],
): JudgeStatus {
  if (!needsPairs(state)) return state;
  const from = state.pairWindow;
  if (from === undefined || decreased(primary, from)) return { ...state, pairWindow: primary };
  const window = new Map<string, number>();
  for (const le of [...edges.map(String), INF]) {
    const [now, then] = [primary.atOrBelow[le], from.atOrBelow[le]];
    if (now === undefined || then === undefined) return { ...state, pairWindow: primary };
    window.set(le, now - then);
  }
  if ((window.get(INF) ?? 0) < PAIR_WINDOW_REQUESTS) return state;
  return freezePairs(
    state,
    config,
    PAIR_QUANTILES.map((quantile) => ({ quantile, ms: bucketQuantile(window, quantile) })),
    edges,
  );
}

export interface Read {
  /** RFC 3339. */
  readonly at: string;
  /** The weight every proxy confirmed (0-100). */
  readonly weight: number;
  readonly canary: JudgeCounters;
  readonly primary: JudgeCounters;
}

function decreased(now: JudgeCounters, before: JudgeCounters): boolean {
  if (now.requests < before.requests || now.failures < before.failures) return true;
  return Object.entries(before.atOrBelow).some(([k, v]) => (now.atOrBelow[k] ?? v) < v);
}

/** Where a batch goes: its step, the canary's share, and whether that share is an upper bound. */
interface Slot {
  readonly step: number;
  readonly rho: number;
  readonly upper: boolean;
}

function addTo(
  series: readonly JudgeSegment[],
  { step, rho, upper }: Slot,
  d: Pick<JudgeSegment, "a" | "b" | "nC" | "nP">,
): JudgeSegment[] {
  const flag = upper ? { upper: true as const } : {};
  const last = series.at(-1);
  if (last?.step === step && last.rho === rho && (last.upper === true) === upper) {
    const sum = { a: last.a + d.a, b: last.b + d.b, nC: last.nC + d.nC, nP: last.nP + d.nP };
    return [...series.slice(0, -1), { step, rho, ...sum, ...flag }];
  }
  return [...series, { step, rho, ...d, ...flag }];
}

function slow(now: JudgeCounters, before: JudgeCounters, le: number): number | undefined {
  const key = String(le);
  const [n1, n0, k1, k0] = [
    now.atOrBelow[INF],
    before.atOrBelow[INF],
    now.atOrBelow[key],
    before.atOrBelow[key],
  ];
  if (n1 === undefined || n0 === undefined || k1 === undefined || k0 === undefined)
    return undefined;
  return Math.max(0, n1 - n0 - (k1 - k0));
}

/**
 * Folds one read into the state. The batch since the last read is dropped when there was no last
 * read or when a counter went down (a proxy restarted): each rule ignores outcomes, so dropping
 * keeps the e-process valid. A batch in which the confirmed weight changed straddles two splits:
 * each of its requests went to the canary with probability at most the larger weight, so it counts
 * at that weight as an upper bound (`upper`): for harm and for the canary's own rates, not for a
 * pass by the ratio nor for the step's own minimum. Without it the first batch of a release (0 to
 * the first weight), where a faulty canary fails its first users, was thrown away. At weight 0 or
 * 100 a batch says nothing about the ratio and only moves the cursor.
 */
export function advance(
  state: JudgeStatus,
  read: Read,
  step: number,
  config: JudgeConfig,
): JudgeStatus {
  const prev = state.cursor;
  if (prev === undefined) return { ...state, cursor: read, dropped: state.dropped + 1 };
  if (decreased(read.canary, prev.canary) || decreased(read.primary, prev.primary)) {
    return { ...state, cursor: read, dropped: state.dropped + 1 };
  }
  const nC = read.canary.requests - prev.canary.requests;
  const fC = read.canary.failures - prev.canary.failures;
  // What the canary answered counts for people whatever the test does with the batch: a batch
  // straddling a weight change is no evidence, but its failed requests failed users all the same.
  const moved: JudgeStatus = {
    ...state,
    cursor: read,
    canaryRequests: state.canaryRequests + nC,
    canaryFailed: state.canaryFailed + fC,
  };
  const weight = Math.max(prev.weight, read.weight);
  if (weight <= 0 || weight >= 100) return moved;
  const slot: Slot = { step, rho: weight / 100, upper: prev.weight !== read.weight };
  const nP = read.primary.requests - prev.primary.requests;
  const fP = read.primary.failures - prev.primary.failures;
  const metrics: JudgeMetricState[] = state.metrics.map((m) => {
    if (m.name === "request-success-rate") {
      return { ...m, series: [addTo(m.series[0] ?? [], slot, { a: fC, b: fP, nC, nP })] };
    }
    if (!state.warm || m.pairs === undefined) return m;
    const totalC = (read.canary.atOrBelow[INF] ?? 0) - (prev.canary.atOrBelow[INF] ?? 0);
    const totalP = (read.primary.atOrBelow[INF] ?? 0) - (prev.primary.atOrBelow[INF] ?? 0);
    const series = m.pairs.map((p, i) => {
      const old = m.series[i] ?? [];
      const a = slow(read.canary, prev.canary, p.canaryLe);
      const b = slow(read.primary, prev.primary, p.primaryLe);
      if (a === undefined || b === undefined) return old;
      return addTo(old, slot, { a, b, nC: totalC, nP: totalP });
    });
    return { ...m, series };
  });
  return {
    ...moved,
    metrics,
    warm: state.warm || moved.canaryRequests >= config.warmupRequests,
  };
}

function latencyMargin(m: JudgeMargin): LatencyMargin {
  return m.kind === "percent"
    ? { kind: "relative", percent: m.percent }
    : { kind: "absolute", ms: m.kind === "ms" ? m.ms : 0 };
}

function errorMargin(m: JudgeMargin): ErrorMargin {
  return m.kind === "ratio"
    ? { kind: "ratio", ratio: m.ratio }
    : { kind: "points", points: m.kind === "points" ? m.points : 0 };
}

const plain = (s: readonly JudgeSegment[]): Segment[] =>
  s.map(({ rho, a, b, nC, nP, upper }) => ({ rho, a, b, nC, nP, ...(upper && { upper }) }));

export interface MetricJudgement {
  readonly name: JudgedMetric;
  readonly evidence: MetricEvidence;
  readonly decision: "harm" | "pass" | "inconclusive";
  /** Canary requests still needed, this step's minimum included. */
  readonly needs?: number;
}

export interface RunJudgement {
  readonly decision: ReleaseDecision;
  readonly metrics: readonly MetricJudgement[];
}

/** Judges the run so far; `step` is the current step, whose own minimum a pass needs. */
export function judgeRun(state: JudgeStatus, config: JudgeConfig, step: number): RunJudgement {
  const weight = 1 / Math.max(1, config.metrics.length);
  const evidence = config.metrics.map((spec) => {
    const m = state.metrics.find((x) => x.name === spec.name);
    const e =
      spec.name === "request-success-rate"
        ? errorEvidence(plain(m?.series[0] ?? []), errorMargin(spec.margin), config.settings)
        : latencyEvidence(
            (m?.pairs ?? []).map((p, i) => ({ ...p, segments: plain(m?.series[i] ?? []) })),
            config.settings,
          );
    return { name: spec.name, weight, evidence: e };
  });
  const errors = state.metrics.find((m) => m.name === "request-success-rate")?.series[0] ?? [];
  const stepRequests = errors
    .filter((s) => s.step === step && s.upper !== true)
    .reduce((n, s) => n + s.nC, 0);
  const short = Math.max(0, config.minStepRequests - stepRequests);
  let decision = decide(evidence, config.settings);
  if (decision.outcome === "pass" && short > 0)
    decision = { outcome: "inconclusive", logE: decision.logE };
  const metrics = evidence.map((m): MetricJudgement => {
    const needs = m.evidence.passed
      ? short > 0
        ? short
        : undefined
      : m.evidence.needs === undefined
        ? undefined
        : Math.max(m.evidence.needs, short);
    const own: MetricJudgement["decision"] =
      decision.outcome === "harm" && decision.metric === m.name
        ? "harm"
        : m.evidence.passed && short === 0
          ? "pass"
          : "inconclusive";
    return {
      name: m.name,
      evidence: m.evidence,
      decision: own,
      ...(needs === undefined ? {} : { needs }),
    };
  });
  return { decision, metrics };
}
