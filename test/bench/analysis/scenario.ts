// Releases as the judges see them: per-second counts for the canary and the primary (requests,
// 5xx, latency bucket counts on the proxies' edges, and the raw latencies for the per-interval
// judges), generated once per release and shown to every judge (common random numbers).
import { JUDGE_BUCKETS_MS } from "../../../src/common/judge-buckets.js";
import { DURATION_EDGES_MS } from "../../../src/analysis/sequential/latency-pairs.js";
import type { Rng } from "./rng.js";

export type Fault =
  | { readonly kind: "healthy" }
  | { readonly kind: "errors"; readonly times: number }
  | { readonly kind: "latency"; readonly plusMs: number };

export interface Release {
  readonly id: number;
  readonly stratum: string;
  /** Requests per second to the service. */
  readonly rate: number;
  /** The primary's (and a healthy canary's) 5xx probability. */
  readonly baseError: number;
  /** Canary weights (fractions) and how long each is held (s). */
  readonly steps: readonly { readonly rho: number; readonly seconds: number }[];
  /** Canary pods: each one's first request is slow (cold start). */
  readonly canaryPods: number;
  readonly coldMs: readonly number[];
  readonly fault: Fault;
}

export interface SideSecond {
  requests: number;
  errors: number;
  /** Per bucket (not cumulative): index i counts latencies in (edge[i-1], edge[i]]; last is +Inf. */
  readonly buckets: Int32Array;
  /** The same on FINE_EDGES: the proxies' judge histogram. */
  readonly fine: Int32Array;
  readonly latencies: number[];
}

export interface Second {
  /** Seconds since the canary's first step started. */
  readonly t: number;
  readonly rho: number;
  readonly step: number;
  readonly canary: SideSecond;
  readonly primary: SideSecond;
}

export interface Stream {
  /** The primary alone before the release: what latency thresholds are frozen from. */
  readonly baseline: SideSecond;
  readonly seconds: readonly Second[];
}

export const EDGES = DURATION_EDGES_MS;

/** The proxies' judge histogram (R10, ten per decade, 0.1 ms to 100 s): what ships. */
export const FINE_EDGES: readonly number[] = JUDGE_BUCKETS_MS;

function bucketIn(edges: readonly number[], ms: number): number {
  for (let i = 0; i < edges.length; i++) if (ms <= (edges[i] ?? Infinity)) return i;
  return edges.length;
}

export function bucketOf(ms: number): number {
  // Edges are few (20): a linear scan is as fast as a binary search here.
  for (let i = 0; i < EDGES.length; i++) if (ms <= (EDGES[i] ?? Infinity)) return i;
  return EDGES.length;
}

function side(): SideSecond {
  return {
    requests: 0,
    errors: 0,
    buckets: new Int32Array(EDGES.length + 1),
    fine: new Int32Array(FINE_EDGES.length + 1),
    latencies: [],
  };
}

/** Log-normal body (median 40 ms, σ 0.5) with a 1 % Pareto tail (shape 1.5) above 200 ms. */
function latency(rng: Rng): number {
  if (rng.bernoulli(0.01)) return 200 * (1 - rng.next()) ** (-1 / 1.5);
  return 40 * Math.exp(0.5 * rng.normal());
}

function record(s: SideSecond, ms: number, failed: boolean): void {
  s.requests++;
  if (failed) s.errors++;
  const b = bucketOf(ms);
  s.buckets[b] = (s.buckets[b] ?? 0) + 1;
  const f = bucketIn(FINE_EDGES, ms);
  s.fine[f] = (s.fine[f] ?? 0) + 1;
  s.latencies.push(ms);
}

const BASELINE_SECONDS = 60;

export function simulate(r: Release, rng: Rng): Stream {
  const baseline = side();
  for (let t = 0; t < BASELINE_SECONDS; t++) {
    const n = rng.poisson(r.rate);
    for (let i = 0; i < n; i++) record(baseline, latency(rng), rng.bernoulli(r.baseError));
  }
  const canaryError =
    r.fault.kind === "errors" ? Math.min(1, r.baseError * r.fault.times) : r.baseError;
  const plus = r.fault.kind === "latency" ? r.fault.plusMs : 0;
  const seconds: Second[] = [];
  let canaryServed = 0;
  let t = 0;
  for (const [step, { rho, seconds: hold }] of r.steps.entries()) {
    for (let k = 0; k < hold; k++, t++) {
      const sec: Second = { t, rho, step, canary: side(), primary: side() };
      const n = rng.poisson(r.rate);
      for (let i = 0; i < n; i++) {
        // One draw per request picks the side, as the proxy's router does.
        if (rng.bernoulli(rho)) {
          // Round-robin over the canary's pods: the first request of each is cold.
          const cold = canaryServed < r.canaryPods ? (r.coldMs[canaryServed] ?? 0) : 0;
          canaryServed++;
          record(sec.canary, latency(rng) + plus + cold, rng.bernoulli(canaryError));
        } else {
          record(sec.primary, latency(rng), rng.bernoulli(r.baseError));
        }
      }
      seconds.push(sec);
    }
  }
  return { baseline, seconds };
}

/** The demo's own shape: 20 req/s, 10/30/60 % for 60 s each. */
export const DEMO_STEPS = [
  { rho: 0.1, seconds: 60 },
  { rho: 0.3, seconds: 60 },
  { rho: 0.6, seconds: 60 },
] as const;

const SCHEDULES: readonly (readonly number[])[] = [
  [0.01, 0.05, 0.25],
  [0.05, 0.1, 0.5],
  [0.1, 0.3, 0.5],
  [0.1, 0.2, 0.4],
  [0.2, 0.5],
];

export const FAULTS: readonly Fault[] = [
  { kind: "errors", times: 2 },
  { kind: "errors", times: 5 },
  { kind: "errors", times: 30 },
  { kind: "latency", plusMs: 50 },
  { kind: "latency", plusMs: 300 },
];

export function faultName(f: Fault): string {
  switch (f.kind) {
    case "healthy":
      return "healthy";
    case "errors":
      return `errors ×${f.times}`;
    case "latency":
      return `latency +${f.plusMs} ms`;
  }
}

/**
 * A release drawn from the ranges: 2–200 req/s (log-uniform), a schedule of canary shares
 * from 1 % to 50 % with 60–120 s steps, 1–3 canary pods each 0.5–2 s slow on its first request,
 * and a baseline error rate of 0 (a fifth of healthy releases) or 0.1–2 % (log-uniform; faults
 * that multiply errors need a baseline above 0 to be faults at all). A quarter of the healthy
 * releases have the demo's shape.
 */
export function drawRelease(id: number, fault: Fault, rng: Rng): Release {
  const demo = fault.kind === "healthy" && rng.bernoulli(0.25);
  const rate = demo ? 20 : 2 * 100 ** rng.next();
  const zero = fault.kind !== "errors" && rng.bernoulli(0.2);
  const baseError = zero ? 0 : 0.001 * 20 ** rng.next();
  const hold = demo ? 60 : rng.pick([60, 90, 120]);
  const steps = demo ? DEMO_STEPS : rng.pick(SCHEDULES).map((rho) => ({ rho, seconds: hold }));
  const canaryPods = rng.int(1, 3);
  const coldMs = Array.from({ length: canaryPods }, () => 500 + 1500 * rng.next());
  const band = rate < 10 ? "2-10 req/s" : rate < 50 ? "10-50 req/s" : "50-200 req/s";
  return {
    id,
    stratum: demo ? "demo shape" : band,
    rate,
    baseError,
    steps,
    canaryPods,
    coldMs,
    fault,
  };
}
