// Per-workload totals from the proxies' own counters (docs/analysis.md, "Where the counts come
// from"), kept monotone across pods that come and go and proxies that restart. Pure: the
// adapter reads the proxies and hands the reports in.
import { VireoError } from "../common/errors.js";

/** One proxy's `/judge/counts` (mesh/telemetry/judge-counts.ts), as read. */
export interface ProxyReport {
  /** Random per proxy process; a new one means the counters started again from zero. */
  readonly incarnation: string;
  readonly requests: number;
  readonly failures: number;
  /** Cold-start requests the proxy left out of its latency histogram. */
  readonly warmup: number;
  /** Cumulative counts by `le`, ascending, ending with "+Inf". */
  readonly buckets: readonly (readonly [string, number])[];
}

export interface Totals {
  readonly requests: number;
  readonly failures: number;
  readonly warmup: number;
  /** Cumulative by `le`, in the proxies' order. */
  readonly buckets: ReadonlyMap<string, number>;
}

const ZERO: Totals = { requests: 0, failures: 0, warmup: 0, buckets: new Map() };

function add(a: Totals, b: ProxyReport | Totals): Totals {
  const buckets = new Map(a.buckets);
  for (const [le, n] of b.buckets) buckets.set(le, (buckets.get(le) ?? 0) + n);
  return {
    requests: a.requests + b.requests,
    failures: a.failures + b.failures,
    warmup: a.warmup + b.warmup,
    buckets,
  };
}

/**
 * A workload's totals: what its live proxies report now, plus what proxies that are gone (pod
 * deleted, proxy restarted) had reported when last read. Counters of one incarnation are added
 * once, whatever the number of reads; a restarted proxy's new counters start from zero, so
 * nothing is counted twice. What a proxy served between its last read and its end is lost: at
 * most one read interval of one pod, counted on neither side.
 */
export class WorkloadLedger {
  private retired: Totals = ZERO;
  /** Last report by pod, with its incarnation. */
  private live = new Map<string, ProxyReport>();

  /** Folds in one read of every proxy the workload has now (pod name → report). */
  update(reports: ReadonlyMap<string, ProxyReport>, workload: string): Totals {
    for (const [pod, report] of reports) {
      const last = this.live.get(pod);
      if (last?.incarnation !== report.incarnation) continue;
      if (report.requests < last.requests || report.failures < last.failures) {
        throw new VireoError(
          "JudgeCountsDecreased",
          `the proxy of pod ${pod} (workload ${workload}) reported fewer requests than before with the same incarnation`,
        );
      }
    }
    for (const [pod, last] of this.live) {
      if (reports.get(pod)?.incarnation !== last.incarnation) {
        this.retired = add(this.retired, last);
      }
    }
    this.live = new Map(reports);
    let total = this.retired;
    for (const r of reports.values()) total = add(total, r);
    return total;
  }
}

/** Reads a `/judge/counts` body, refusing anything not shaped like one. */
export function parseProxyReport(body: unknown, pod: string): ProxyReport {
  const bad = (what: string): VireoError =>
    new VireoError("JudgeCountsMalformed", `the proxy of pod ${pod} sent ${what}`);
  if (typeof body !== "object" || body === null) throw bad("no JSON object");
  const o = body as Record<string, unknown>;
  const count = (k: string): number => {
    const v = o[k];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw bad(`no count ${k}`);
    return v;
  };
  if (typeof o.incarnation !== "string" || o.incarnation === "") throw bad("no incarnation");
  if (!Array.isArray(o.buckets)) throw bad("no buckets");
  const buckets = (o.buckets as unknown[]).map((b): [string, number] => {
    if (!Array.isArray(b) || typeof b[0] !== "string" || typeof b[1] !== "number") {
      throw bad("a malformed bucket");
    }
    return [b[0], b[1]];
  });
  return {
    incarnation: o.incarnation,
    requests: count("requests"),
    failures: count("failures"),
    warmup: count("warmup"),
    buckets,
  };
}
