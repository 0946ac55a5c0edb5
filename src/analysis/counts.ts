// Where the sequential judge reads the proxies' cumulative counters. A port: ProxyCounts
// (proxy-counts.ts) reads the proxies' status ports directly and is the default; the Prometheus
// implementation here is for a controller told to judge from Prometheus.
import type { JudgeCounters } from "../domain/judge.js";
import { DURATION_METRIC, FAILED, labelValue, REQUESTS_METRIC } from "./builtin.js";
import type { MetricProvider } from "./prometheus.js";

export interface CountScope {
  readonly namespace: string;
  /** The Deployment: the target for the canary, `<target>-primary` for the primary. */
  readonly workload: string;
}

export type CountsOutcome =
  | { readonly kind: "counts"; readonly counts: JudgeCounters }
  | { readonly kind: "error"; readonly message: string };

export interface CountSource {
  /** The latency bucket edges (ms) this source counts in; absent: the Prometheus histogram's. */
  readonly edges?: readonly number[];
  /**
   * Cumulative requests, 5xx and requests at or below each `le` (as the histogram writes it,
   * "+Inf" for all), summed over the workload's proxies, at `atMs`. A workload nothing has
   * reached yet reads as zeros.
   */
  counts(scope: CountScope, le: readonly string[], atMs: number): Promise<CountsOutcome>;
}

function selector(s: CountScope): string {
  return [
    `reporter="destination"`,
    `destination_workload_namespace=${labelValue(s.namespace)}`,
    `destination_workload=${labelValue(s.workload)}`,
  ].join(",");
}

/**
 * Instant queries of the raw counters, summed over series: never rate() or increase(), which
 * extrapolate and give fractions. The judge takes differences itself and treats a decrease as
 * a reset (a series that disappears with its pod reads as one).
 */
export class PrometheusCounts implements CountSource {
  constructor(private readonly prometheus: MetricProvider) {}

  async counts(scope: CountScope, le: readonly string[], atMs: number): Promise<CountsOutcome> {
    const sel = selector(scope);
    const queries = [
      `sum(${REQUESTS_METRIC}{${sel}}) or vector(0)`,
      FAILED.map((f) => `(sum(${REQUESTS_METRIC}{${sel},${f}}) or vector(0))`).join(" + "),
      ...le.map(
        (edge) => `sum(${DURATION_METRIC}_bucket{${sel},le=${labelValue(edge)}}) or vector(0)`,
      ),
    ];
    const answers = await Promise.all(queries.map((q) => this.prometheus.query(q, atMs)));
    const values: number[] = [];
    for (const a of answers) {
      if (a.kind === "error") return { kind: "error", message: a.message };
      // `or vector(0)` leaves no room for an empty answer; NaN would be a broken counter.
      if (a.kind === "noData") return { kind: "error", message: `a counter read as ${a.reason}` };
      values.push(a.value);
    }
    const [requests = 0, failures = 0, ...buckets] = values;
    return {
      kind: "counts",
      counts: {
        requests,
        failures,
        atOrBelow: Object.fromEntries(le.map((edge, i) => [edge, buckets[i] ?? 0])),
      },
    };
  }
}
