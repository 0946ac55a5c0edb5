// The demo's release as the controller runs it (issue 16): steps that move on when the sequential
// judge passes (and the canary answered minRequests at the step's weight), a progress deadline per
// step after which the Rollout pauses (InsufficientEvidence), a rollback on harm. Simulated
// healthy releases (one canary pod, its first requests slow) and the demo's faulty one (30 % 500s)
// for a grid of traffic rates, error margins and latency margins: which settings let a healthy
// release promote within the deadline, and how many canary requests fail before a rollback.
//   node --import tsx test/bench/analysis/demo.ts [--releases 200] [--seed 1]
import { parseArgs } from "node:util";
import type { Segment } from "../../../src/analysis/sequential/eprocess.js";
import type { LatencyMargin } from "../../../src/analysis/sequential/latency-pairs.js";
import { thresholdPairs } from "../../../src/analysis/sequential/latency-pairs.js";
import type { ErrorMargin, JudgeSettings } from "../../../src/analysis/sequential/verdict.js";
import {
  decide,
  errorEvidence,
  latencyEvidence,
} from "../../../src/analysis/sequential/verdict.js";
import { Rng } from "./rng.js";
import { FINE_EDGES } from "./scenario.js";

export interface DemoSettings {
  readonly rate: number;
  readonly steps: readonly number[];
  readonly deadlineSeconds: number;
  readonly minRequests: number;
  readonly errorMargin: ErrorMargin;
  readonly latencyMargin: LatencyMargin;
  readonly quantiles: readonly number[];
}

export type DemoOutcome =
  | { readonly kind: "promoted"; readonly at: number }
  | { readonly kind: "paused"; readonly at: number; readonly step: number }
  | { readonly kind: "rolledBack"; readonly at: number; readonly failed: number };

const SETTINGS: JudgeSettings = { alphaHarm: 0.01, alphaPass: 0.05 };
const READ_S = 2;
/** The proxy's warm-up: a pod's first requests stay out of its latency histogram. */
const PROXY_WARMUP = 10;
/** The judge's own: latency counts once the canary answered this many requests. */
const JUDGE_WARMUP = 20;
/** Seconds from the decision until the proxies stop sending to the canary. */
const ACTUATION_S = 1;

/** The demo app behind its proxy: ~2 ms, 1 % of answers in a tail from 10 ms (GC, scheduling). */
function appLatency(rng: Rng): number {
  if (rng.bernoulli(0.01)) return 10 * (1 - rng.next()) ** (-1 / 1.5);
  return 2 * Math.exp(0.4 * rng.normal());
}

function bucket(ms: number): number {
  const i = FINE_EDGES.findIndex((e) => ms <= e);
  return i < 0 ? FINE_EDGES.length : i;
}

interface Side {
  n: number;
  errors: number;
  hist: number[];
}
const side = (): Side => ({
  n: 0,
  errors: 0,
  hist: new Array<number>(FINE_EDGES.length + 1).fill(0),
});
const above = (s: Side, edge: number) =>
  s.hist.reduce((n, c, i) => ((FINE_EDGES[i] ?? Infinity) > edge ? n + c : n), 0);

function quantileEdge(s: Side, q: number): number {
  let cum = 0;
  const total = s.hist.reduce((a, b) => a + b, 0);
  for (const [i, c] of s.hist.entries())
    if ((cum += c) >= q * total) return FINE_EDGES[i] ?? Infinity;
  return Infinity;
}

export function runDemoRelease(
  o: DemoSettings,
  faulty: boolean,
  coldFirst: number,
  coldMs: number,
  rng: Rng,
): DemoOutcome {
  const baseline = side();
  for (let i = 0; i < o.rate * 60; i++) {
    const ms = appLatency(rng);
    const b = bucket(ms);
    baseline.hist[b] = (baseline.hist[b] ?? 0) + 1;
  }
  const pairs = thresholdPairs(
    FINE_EDGES,
    o.quantiles.map((q) => ({ quantile: q, ms: quantileEdge(baseline, q) })),
    o.latencyMargin,
  );
  const errors: Segment[] = [];
  const latency: Segment[][] = pairs.map(() => []);
  let canaryServed = 0;
  let stepStart = 0;
  let stepIndex = 0;
  let atWeight = 0;
  let fresh = true;
  /** The next read's batch straddles a weight change: it counts for harm only (run-state.ts). */
  let straddle = false;
  let failedSoFar = 0;
  let canary = side();
  let primary = side();
  for (let t = 0; ; t++) {
    const rho = (o.steps[stepIndex] ?? 0) / 100;
    const n = rng.poisson(o.rate);
    for (let i = 0; i < n; i++) {
      if (rng.bernoulli(rho)) {
        const cold = canaryServed < coldFirst ? coldMs : 0;
        canaryServed++;
        const failed = faulty && rng.bernoulli(0.3);
        canary.n++;
        if (failed) canary.errors++;
        failedSoFar += failed ? 1 : 0;
        if (canaryServed > PROXY_WARMUP) {
          const b = bucket(appLatency(rng) + cold);
          canary.hist[b] = (canary.hist[b] ?? 0) + 1;
        }
      } else {
        primary.n++;
        const b = bucket(appLatency(rng));
        primary.hist[b] = (primary.hist[b] ?? 0) + 1;
      }
    }
    if ((t + 1) % READ_S !== 0) continue;
    const upper = straddle;
    const open = fresh || upper;
    const add = (list: Segment[], seg: Segment) => {
      const last = list.at(-1);
      if (last === undefined || open) list.push(upper ? { ...seg, upper } : seg);
      else
        list[list.length - 1] = {
          rho,
          a: last.a + seg.a,
          b: last.b + seg.b,
          nC: last.nC + seg.nC,
          nP: last.nP + seg.nP,
        };
    };
    add(errors, { rho, a: canary.errors, b: primary.errors, nC: canary.n, nP: primary.n });
    if (canaryServed >= JUDGE_WARMUP) {
      for (const [i, p] of pairs.entries()) {
        const list = latency[i] ?? [];
        add(list, {
          rho,
          a: above(canary, p.canaryLe),
          b: above(primary, p.primaryLe),
          nC: canary.n,
          nP: primary.n,
        });
      }
    }
    // The batch after a straddling one opens the step's first exact segment.
    fresh = upper;
    straddle = false;
    if (!upper) atWeight += canary.n;
    canary = side();
    primary = side();
    const verdict = decide(
      [
        {
          name: "errors",
          weight: 0.5,
          evidence: errorEvidence(errors, o.errorMargin, SETTINGS, false),
        },
        {
          name: "latency",
          weight: 0.5,
          evidence: latencyEvidence(
            pairs.map((p, i) => ({ ...p, segments: latency[i] ?? [] })),
            SETTINGS,
            false,
          ),
        },
      ],
      SETTINGS,
    );
    const now = t + 1;
    if (verdict.outcome === "harm") {
      // What the canary still fails until the proxies stop sending to it.
      const extra = faulty ? rng.poisson(o.rate * rho * 0.3 * ACTUATION_S) : 0;
      return { kind: "rolledBack", at: now, failed: failedSoFar + extra };
    }
    if (verdict.outcome === "pass" && atWeight >= o.minRequests) {
      stepIndex++;
      if (stepIndex >= o.steps.length) return { kind: "promoted", at: now };
      // The next read's batch straddles the change (its split is only bounded by the larger
      // weight): counted for harm, not for a pass by the ratio nor the step's minimum.
      stepStart = now;
      atWeight = 0;
      fresh = true;
      straddle = true;
      continue;
    }
    if (now - stepStart >= o.deadlineSeconds) return { kind: "paused", at: now, step: stepIndex };
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      releases: { type: "string", default: "200" },
      seed: { type: "string", default: "1" },
      rates: { type: "string", default: "20,40" },
      deadlines: { type: "string", default: "120" },
    },
  });
  const releases = Number(values.releases);
  const seed = Number(values.seed);
  const grid: { label: string; s: DemoSettings }[] = [];
  const list = (v: string) => v.split(",").map(Number);
  for (const deadlineSeconds of list(values.deadlines))
    for (const rate of list(values.rates)) {
      for (const steps of [
        [10, 30, 60],
        [5, 30, 60],
      ]) {
        for (const points of [0.5, 1, 2]) {
          for (const lat of ["20ms", "50ms", "100%"]) {
            for (const quantiles of [
              [0.5, 0.99],
              [0.5, 0.9],
            ]) {
              const latencyMargin: LatencyMargin = lat.endsWith("ms")
                ? { kind: "absolute", ms: Number(lat.slice(0, -2)) }
                : { kind: "relative", percent: Number(lat.slice(0, -1)) };
              grid.push({
                label: `deadline ${deadlineSeconds} s, ${rate} req/s, steps ${steps.join("/")}, errors +${points} pt, latency +${lat}, p${quantiles.map((q) => q * 100).join("+p")}`,
                s: {
                  rate,
                  steps,
                  deadlineSeconds,
                  minRequests: 10,
                  errorMargin: { kind: "points", points },
                  latencyMargin,
                  quantiles,
                },
              });
            }
          }
        }
      }
    }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)] ?? NaN);
  };
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] ?? NaN);
  };
  console.log(
    `demo releases: ${releases} healthy and ${releases} faulty per setting, seed ${seed}, minRequests 10, first 10 canary requests +1500 ms`,
  );
  console.log(
    "setting | healthy: promoted / paused / rolled back, median s to promote | faulty: rolled back, median (p90) failed canary requests, median s",
  );
  for (const { label, s } of grid) {
    const rng = new Rng(seed);
    const h = { promoted: 0, paused: 0, rolledBack: 0, at: [] as number[] };
    for (let i = 0; i < releases; i++) {
      const r = runDemoRelease(s, false, 10, 1500, rng);
      if (r.kind === "promoted") h.at.push(r.at);
      h[r.kind]++;
    }
    const f = { rolledBack: 0, failed: [] as number[], at: [] as number[] };
    for (let i = 0; i < releases; i++) {
      const r = runDemoRelease(s, true, 10, 1500, rng);
      if (r.kind === "rolledBack") {
        f.rolledBack++;
        f.failed.push(r.failed);
        f.at.push(r.at);
      }
    }
    console.log(
      `${label} | ${h.promoted} / ${h.paused} / ${h.rolledBack}, ${median(h.at)} s | ${f.rolledBack}, ${median(f.failed)} (${pct(f.failed, 0.9)}), ${median(f.at)} s`,
    );
  }
}

main();
