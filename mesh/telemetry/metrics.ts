// The proxy's request metrics on a registry of its own: what the controller's success-rate and
// latency checks query (DESIGN.md "Names"), reported once per request by each proxy it crosses.
import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";
import type { ProxyIdentity } from "./identity.js";
import type { RequestLabels, TelemetryRecord } from "./labels.js";
import {
  cappedLabels,
  DEFAULT_MAX_VALUES_PER_LABEL,
  LABEL_NAMES,
  LabelValueCap,
  requestLabels,
} from "./labels.js";

/** Envoy's default histogram buckets (Istio's), with 2 ms added for the fast hops we aim at. */
export const DURATION_BUCKETS_MS: readonly number[] = [
  0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
  1800000, 3600000,
];

/** Powers of ten from 1 byte to 100 MB: coarse, since every bucket is a series per label set. */
export const BYTES_BUCKETS: readonly number[] = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];

export interface ProxyMetricsOptions {
  /** Request and response size histograms (`vireo_request_bytes`, `vireo_response_bytes`). */
  readonly bytes?: boolean;
  /** Node process metrics (memory, CPU, event loop) as `vireo_proxy_*`; on by default. */
  readonly processMetrics?: boolean;
  readonly maxValuesPerLabel?: number;
}

type Label = (typeof LABEL_NAMES)[number];

/** One label set, and the requests counted for it since the last scrape. */
interface Series {
  readonly labels: RequestLabels;
  pending: number;
}

/** Records whose fields differ can share labels; past this many shapes the lookup cache restarts. */
const MAX_CACHED_SHAPES = 10_000;

/** Everything `requestLabels` reads, as one string (none of the parts can hold a newline). */
function shapeOf(r: TelemetryRecord): string {
  const p = r.peer;
  return [
    r.direction,
    r.authority,
    r.upstreamCluster ?? "",
    r.status,
    r.grpcStatus ?? "",
    r.flags.join(","),
    r.protocol,
    p?.workload ?? "",
    p?.namespace ?? "",
    p?.version ?? "",
    r.mutualTls === true ? "1" : "0",
    r.peerPrincipal ?? "",
  ].join("\n");
}

/**
 * Labels are worked out once per record shape, not per request, and the counter is added to at
 * scrape time: prom-client hashes a label set on every update, which at 13 labels costs more
 * than the rest of the hook.
 */
export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<Label>;
  private readonly duration: Histogram<Label>;
  private readonly requestBytes: Histogram<Label> | undefined;
  private readonly responseBytes: Histogram<Label> | undefined;
  private readonly cap: LabelValueCap;
  private readonly byShape = new Map<string, Series>();
  private readonly byLabels = new Map<string, Series>();
  private shapesFor: ProxyIdentity | undefined;

  constructor(options: ProxyMetricsOptions = {}) {
    const labelNames = LABEL_NAMES;
    const registers = [this.registry];
    this.cap = new LabelValueCap(options.maxValuesPerLabel ?? DEFAULT_MAX_VALUES_PER_LABEL);
    const pending = this.byLabels;
    this.requests = new Counter({
      name: "vireo_requests_total",
      help: "Requests the proxy handled, by Istio's standard labels.",
      labelNames,
      registers,
      // `this` is the counter: prom-client calls collect on it before each scrape.
      collect() {
        for (const s of pending.values()) {
          if (s.pending === 0) continue;
          this.inc(s.labels, s.pending);
          s.pending = 0;
        }
      },
    });
    this.duration = new Histogram({
      name: "vireo_request_duration_milliseconds",
      help: "Time from the request's first byte to the end of its response stream, in ms.",
      labelNames,
      buckets: [...DURATION_BUCKETS_MS],
      registers,
    });
    if (options.bytes === true) {
      this.requestBytes = new Histogram({
        name: "vireo_request_bytes",
        help: "Request body sizes, in bytes.",
        labelNames,
        buckets: [...BYTES_BUCKETS],
        registers,
      });
      this.responseBytes = new Histogram({
        name: "vireo_response_bytes",
        help: "Response body sizes, in bytes.",
        labelNames,
        buckets: [...BYTES_BUCKETS],
        registers,
      });
    }
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: "vireo_proxy_" });
    }
  }

  /** The proxy's `onRequestDone` hook, with the proxy's own identity. */
  recordRequest(record: TelemetryRecord, identity: ProxyIdentity): void {
    const series = this.seriesOf(record, identity);
    series.pending++;
    this.duration.observe(series.labels, record.durationMs);
    this.requestBytes?.observe(series.labels, record.bytes.received);
    this.responseBytes?.observe(series.labels, record.bytes.sent);
  }

  /** The Prometheus text exposition of every metric. */
  expose(): Promise<string> {
    return this.registry.metrics();
  }

  private seriesOf(record: TelemetryRecord, identity: ProxyIdentity): Series {
    if (identity !== this.shapesFor || this.byShape.size >= MAX_CACHED_SHAPES) {
      this.byShape.clear();
      this.shapesFor = identity;
    }
    const shape = shapeOf(record);
    const cached = this.byShape.get(shape);
    if (cached !== undefined) return cached;
    const labels = cappedLabels(requestLabels(record, identity), this.cap);
    const key = LABEL_NAMES.map((n) => labels[n]).join("\n");
    let series = this.byLabels.get(key);
    if (series === undefined) {
      series = { labels, pending: 0 };
      this.byLabels.set(key, series);
    }
    this.byShape.set(shape, series);
    return series;
  }
}
