// The three judges the benchmark compares, each reading the same per-second stream:
// (a) vireo's sequential judge (src/analysis/sequential), read every 2 s;
// (b) Flagger's rule: success ≥ 99 % and p99 ≤ 500 ms per 10 s interval, "no values" fails the
//     check, 2 failed checks roll back;
// (c) Kayenta's: per interval, per-second series of error ratio, p99 and mean latency for each
//     side, a Mann–Whitney classifier per metric (98 % confidence, tolerance 0.25), an interval
//     fails when any metric is High, 2 failed intervals roll back.
import type { Segment } from "../../../src/analysis/sequential/eprocess.js";
import { thresholdPairs } from "../../../src/analysis/sequential/latency-pairs.js";
import type { ErrorMargin, JudgeSettings } from "../../../src/analysis/sequential/verdict.js";
import {
  decide,
  errorEvidence,
  latencyEvidence,
} from "../../../src/analysis/sequential/verdict.js";
import type { Rng } from "./rng.js";
import type { Release, Second, SideSecond, Stream } from "./scenario.js";
import { EDGES, FINE_EDGES } from "./scenario.js";

export interface Outcome {
  readonly decision: "rollback" | "promote" | "inconclusive";
  /** Seconds from the canary's first traffic to the rollback, or to the pass (sequential judge). */
  readonly at?: number;
  /** Canary 5xx served until the rollback took effect (1 s after the decision). */
  readonly failedBefore?: number;
  /** Canary requests served until then. */
  readonly servedBefore?: number;
}

export interface Judge {
  readonly name: string;
  judge(release: Release, stream: Stream, rng: Rng): Outcome;
}

const ACTUATION_S = 1;

function rolledBack(stream: Stream, at: number): Outcome {
  let failed = 0;
  let served = 0;
  for (const s of stream.seconds) {
    if (s.t >= at + ACTUATION_S) break;
    failed += s.canary.errors;
    served += s.canary.requests;
  }
  return { decision: "rollback", at, failedBefore: failed, servedBefore: served };
}

function cumulative(buckets: Int32Array | readonly number[]): number[] {
  const out: number[] = [];
  let sum = 0;
  for (const v of buckets) out.push((sum += v));
  return out;
}

/** The smallest edge whose cumulative share reaches q (the +Inf bucket gives Infinity). */
function quantileEdge(buckets: Int32Array, q: number, edges: readonly number[]): number {
  const cum = cumulative(buckets);
  const total = cum.at(-1) ?? 0;
  if (total === 0) return NaN;
  const i = cum.findIndex((c) => c >= q * total);
  return edges[i] ?? Infinity;
}

/** Requests above an edge, from per-bucket counts. */
function aboveEdge(buckets: Int32Array, edge: number, edges: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < buckets.length; i++) if ((edges[i] ?? Infinity) > edge) n += buckets[i] ?? 0;
  return n;
}

export interface SequentialOptions {
  readonly settings: JudgeSettings;
  readonly errorMargin: ErrorMargin;
  readonly latencyMarginMs: number;
  readonly readEverySeconds: number;
  /** Latency from the proxies' judge histogram (R10) instead of the Prometheus one. */
  readonly fineBuckets: boolean;
  /**
   * Warm-up, for latency only: batches read before the canary has served this many requests do
   * not count (its pods' first requests are cold). Errors count from the first request: a canary
   * that fails costs users from its first request, and waiting would only add to that.
   */
  readonly warmupRequests: number;
}

export const SEQUENTIAL_DEFAULTS: SequentialOptions = {
  settings: { alphaHarm: 0.01, alphaPass: 0.05 },
  errorMargin: { kind: "points", points: 0.5 },
  latencyMarginMs: 20,
  readEverySeconds: 2,
  fineBuckets: false,
  warmupRequests: 20,
};

export function sequentialJudge(o: SequentialOptions = SEQUENTIAL_DEFAULTS): Judge {
  return {
    name: `sequential (${o.readEverySeconds} s reads${o.fineBuckets ? ", R10 buckets" : ""})`,
    judge(release, stream) {
      const edges = o.fineBuckets ? FINE_EDGES : EDGES;
      const hist = (s: SideSecond) => (o.fineBuckets ? s.fine : s.buckets);
      const pairs = thresholdPairs(
        edges,
        [0.5, 0.99].map((q) => ({
          quantile: q,
          ms: quantileEdge(hist(stream.baseline), q, edges),
        })),
        { kind: "absolute", ms: o.latencyMarginMs },
      );
      const errors: Segment[] = [];
      const latency: Segment[][] = pairs.map(() => []);
      let step = -1;
      let canarySeen = 0;
      let warm = false;
      let passAt: number | undefined;
      let fresh: boolean;
      let latencyFresh = false;
      /** Adds a batch to the list's last segment, or opens one (a new step, so a new weight). */
      const addTo = (list: Segment[], open: boolean, seg: Segment) => {
        const last = list.at(-1);
        if (last === undefined || open) list.push(seg);
        else
          list[list.length - 1] = {
            rho: seg.rho,
            a: last.a + seg.a,
            b: last.b + seg.b,
            nC: last.nC + seg.nC,
            nP: last.nP + seg.nP,
          };
      };
      let batch: Second[] = [];
      for (const sec of stream.seconds) {
        canarySeen += sec.canary.requests;
        batch.push(sec);
        const readNow = (sec.t + 1) % o.readEverySeconds === 0 || sec === stream.seconds.at(-1);
        if (!readNow) continue;
        // A batch straddling a weight change counts at its larger weight, for harm only
        // (run-state.ts): its split is only bounded from above.
        const upper = batch.some((b) => b.rho !== sec.rho);
        const rho = Math.max(...batch.map((b) => b.rho));
        if (upper && (rho <= 0 || rho >= 1)) {
          batch = [];
          continue;
        }
        fresh = sec.step !== step || upper || errors.at(-1)?.upper === true;
        step = sec.step;
        const sum = (pick: (s: SideSecond) => number, side: "canary" | "primary") =>
          batch.reduce((n, b) => n + pick(b[side]), 0);
        const nC = sum((s) => s.requests, "canary");
        const nP = sum((s) => s.requests, "primary");
        addTo(errors, fresh, {
          ...(upper && { upper }),
          rho,
          a: sum((s) => s.errors, "canary"),
          b: sum((s) => s.errors, "primary"),
          nC,
          nP,
        });
        latencyFresh = latencyFresh || fresh;
        if (warm) {
          for (const [i, p] of pairs.entries()) {
            const list = latency[i] ?? [];
            addTo(list, latencyFresh, {
              ...(upper && { upper }),
              rho,
              a: sum((s) => aboveEdge(hist(s), p.canaryLe, edges), "canary"),
              b: sum((s) => aboveEdge(hist(s), p.primaryLe, edges), "primary"),
              nC,
              nP,
            });
          }
          latencyFresh = false;
        }
        warm = warm || canarySeen >= o.warmupRequests;
        batch = [];
        const verdict = decide(
          [
            {
              name: "errors",
              weight: 0.5,
              evidence: errorEvidence(errors, o.errorMargin, o.settings, false),
            },
            {
              name: "latency",
              weight: 0.5,
              evidence: latencyEvidence(
                pairs.map((p, i) => ({ ...p, segments: latency[i] ?? [] })),
                o.settings,
                false,
              ),
            },
          ],
          o.settings,
        );
        if (verdict.outcome === "harm") return rolledBack(stream, sec.t + 1);
        if (verdict.outcome === "pass" && passAt === undefined) passAt = sec.t + 1;
      }
      return passAt === undefined
        ? { decision: "inconclusive" }
        : { decision: "promote", at: passAt };
    },
  };
}

/** Prometheus's histogram_quantile: linear inside the bucket, the last finite edge for +Inf. */
export function histogramQuantile(q: number, buckets: Int32Array): number {
  const cum = cumulative(buckets);
  const total = cum.at(-1) ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  const i = cum.findIndex((c) => c >= rank);
  if (i >= EDGES.length) return EDGES.at(-1) ?? NaN;
  const upper = EDGES[i] ?? 0;
  const lower = i === 0 ? 0 : (EDGES[i - 1] ?? 0);
  const below = i === 0 ? 0 : (cum[i - 1] ?? 0);
  const inBucket = (cum[i] ?? 0) - below;
  return lower + ((upper - lower) * (rank - below)) / inBucket;
}

/**
 * `minRequests` 0 is Flagger's own rule ("no values" fails the check); above 0, windows with fewer
 * canary requests are skipped instead, the friendliest reading of a threshold rule.
 */
export function flaggerJudge(intervalSeconds = 10, threshold = 2, minRequests = 0): Judge {
  return {
    name: `Flagger rule (${intervalSeconds} s, threshold ${threshold}${minRequests > 0 ? `, skip < ${minRequests} req` : ""})`,
    judge(_release, stream) {
      let failed = 0;
      for (let end = intervalSeconds; end <= stream.seconds.length; end += intervalSeconds) {
        const window = stream.seconds.slice(end - intervalSeconds, end);
        const requests = window.reduce((n, s) => n + s.canary.requests, 0);
        const errors = window.reduce((n, s) => n + s.canary.errors, 0);
        const buckets = new Int32Array(EDGES.length + 1);
        for (const s of window)
          for (let i = 0; i < buckets.length; i++)
            buckets[i] = (buckets[i] ?? 0) + (s.canary.buckets[i] ?? 0);
        if (minRequests > 0 && requests < minRequests) continue;
        const ok =
          requests > 0 &&
          100 * (1 - errors / requests) >= 99 &&
          histogramQuantile(0.99, buckets) <= 500;
        if (!ok && ++failed >= threshold) return rolledBack(stream, end);
      }
      return { decision: "promote" };
    },
  };
}

/** z for a two-sided 98 % interval. */
const Z_98 = 2.3263478740408408;

/** Hodges–Lehmann shift (x − y) and its Mann–Whitney confidence interval; undefined if too few. */
export function mannWhitneyShift(
  x: readonly number[],
  y: readonly number[],
): { readonly hl: number; readonly lower: number; readonly upper: number } | undefined {
  const m = x.length;
  const n = y.length;
  if (m === 0 || n === 0) return undefined;
  const d: number[] = [];
  for (const a of x) for (const b of y) d.push(a - b);
  d.sort((p, q) => p - q);
  const mn = m * n;
  const c = Math.floor(mn / 2 - Z_98 * Math.sqrt((mn * (m + n + 1)) / 12));
  const mid = mn % 2 === 1 ? (d[(mn - 1) / 2] ?? 0) : ((d[mn / 2 - 1] ?? 0) + (d[mn / 2] ?? 0)) / 2;
  if (c < 0) return undefined;
  return { hl: mid, lower: d[c] ?? -Infinity, upper: d[mn - c - 1] ?? Infinity };
}

function p99(latencies: readonly number[]): number {
  if (latencies.length === 0) return NaN;
  const s = [...latencies].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)] ?? NaN;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function kayentaJudge(intervalSeconds: number, allowedIncrease = 1.0): Judge {
  return {
    name: `Kayenta Mann-Whitney (${intervalSeconds} s)`,
    judge(_release, stream, rng) {
      let failed = 0;
      // Degenerate (all-equal) series get tiny noise, as the classifier's users do.
      const jitter = (v: number) => v + rng.next() * 1e-9;
      const high = (canary: number[], primary: number[]) => {
        const c = canary.filter(Number.isFinite).map(jitter);
        const p = primary.filter(Number.isFinite).map(jitter);
        const shift = mannWhitneyShift(c, p);
        if (shift === undefined) return false;
        const ratio = mean(p) > 0 ? mean(c) / mean(p) : Infinity;
        return (
          shift.lower > 0.25 * Math.abs(shift.hl) && shift.lower > 0 && ratio >= allowedIncrease
        );
      };
      for (let end = intervalSeconds; end <= stream.seconds.length; end += intervalSeconds) {
        const w = stream.seconds.slice(end - intervalSeconds, end);
        const errRatio = (s: SideSecond) => (s.requests === 0 ? 0 : s.errors / s.requests);
        const metrics = [
          high(
            w.map((s) => errRatio(s.canary)),
            w.map((s) => errRatio(s.primary)),
          ),
          high(
            w.map((s) => p99(s.canary.latencies)),
            w.map((s) => p99(s.primary.latencies)),
          ),
          high(
            w.map((s) => mean(s.canary.latencies)),
            w.map((s) => mean(s.primary.latencies)),
          ),
        ];
        const score = (100 * metrics.filter((h) => !h).length) / metrics.length;
        if ((metrics[0] === true || score < 75) && ++failed >= 2) return rolledBack(stream, end);
      }
      return { decision: "promote" };
    },
  };
}
