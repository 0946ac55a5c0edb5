// What the controller's sequential judge reads from each proxy (docs/analysis.md, "Where the
// counts come from"): the pod's inbound requests, failures and a fine latency histogram, as
// plain totals with no labels, served as JSON on the status port. Apart from the Prometheus
// metrics because the judge needs what they cannot give: finer buckets than a per-label-set
// histogram can afford, a cold-start rule, and an incarnation that tells a restarted proxy's
// counters from the old ones.
import { randomUUID } from "node:crypto";
import { bucketIndex, JUDGE_BUCKETS_MS } from "../../src/common/judge-buckets.js";
import type { RequestRecord } from "../filters/request-record.js";

/** Cold start (docs/analysis.md): each proxy's first inbound requests are not timed. */
export const DEFAULT_WARMUP_REQUESTS = 10;

/** The gRPC codes the built-in success rate counts as a server's fault (src/analysis/builtin.ts). */
const GRPC_SERVER_FAULTS = new Set([2, 4, 12, 13, 14, 15]);

/** What `/judge/counts` serves. */
export interface JudgeCountsSnapshot {
  /** Random per proxy process: counters with another incarnation started again from zero. */
  readonly incarnation: string;
  /** Inbound requests, all of them. */
  readonly requests: number;
  /** Of those, 5xx or a gRPC server fault. */
  readonly failures: number;
  /** The pod's first inbound requests (its cold start), left out of the latency histogram. */
  readonly warmup: number;
  /**
   * Cumulative: timed requests (all but the warm-up) at or below each edge (ms), ascending, then
   * +Inf, whose count is the latency test's total.
   */
  readonly buckets: readonly (readonly [le: string, count: number])[];
}

export class JudgeCounts {
  readonly incarnation = randomUUID();
  private readonly counts = new Float64Array(JUDGE_BUCKETS_MS.length + 1);
  private requests = 0;
  private failures = 0;
  private warmup = 0;

  constructor(private readonly warmupRequests = DEFAULT_WARMUP_REQUESTS) {}

  /**
   * The proxy's `onRequestDone`: only inbound requests are the pod's own. Every request counts
   * toward requests and failures (a new pod failing its first requests fails users; readiness
   * probes are what keeps a pod that is not ready out of traffic); the first `warmupRequests`
   * stay out of the latency histogram, where one slow cold request would read as a regression.
   * No allocation.
   */
  record(r: RequestRecord): void {
    if (r.direction !== "inbound") return;
    this.requests++;
    const g = r.grpcStatus;
    if ((r.status >= 500 && r.status <= 599) || (g !== undefined && GRPC_SERVER_FAULTS.has(g)))
      this.failures++;
    if (this.warmup < this.warmupRequests) {
      this.warmup++;
      return;
    }
    const i = bucketIndex(r.durationMs);
    this.counts[i] = (this.counts[i] ?? 0) + 1;
  }

  snapshot(): JudgeCountsSnapshot {
    let cumulative = 0;
    const buckets: [string, number][] = [];
    for (let i = 0; i <= JUDGE_BUCKETS_MS.length; i++) {
      cumulative += this.counts[i] ?? 0;
      const edge = JUDGE_BUCKETS_MS[i];
      buckets.push([edge === undefined ? "+Inf" : String(edge), cumulative]);
    }
    return {
      incarnation: this.incarnation,
      requests: this.requests,
      failures: this.failures,
      warmup: this.warmup,
      buckets,
    };
  }
}
