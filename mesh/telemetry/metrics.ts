// The proxy's request metrics: what the controller's success-rate and latency checks query
// (DESIGN.md "Names"), reported once per request by each proxy it crosses. No metrics library on
// the request path: a request finds its series through a few Map lookups on values it already
// holds (no key string is built) and adds to preallocated counters; the text is written when
// scraped. prom-client hashed all 13 labels on every observation, which cost more than the rest
// of the telemetry hook together.
import type { MetricsRegistry } from "./exposition.js";
import {
  exposition,
  histogramFamily,
  PROMETHEUS_CONTENT_TYPE,
  renderLabels,
  scalarFamily,
} from "./exposition.js";
import { FixedHistogram } from "./histogram.js";
import type { ProxyIdentity } from "./identity.js";
import type { RequestLabels, TelemetryRecord } from "./labels.js";
import {
  cappedLabels,
  DEFAULT_MAX_VALUES_PER_LABEL,
  LABEL_NAMES,
  LabelValueCap,
  requestLabels,
} from "./labels.js";
import { processFamilies } from "./process-metrics.js";

export type { MetricsRegistry } from "./exposition.js";

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
  /** Process metrics (memory, CPU) as `vireo_proxy_*`, read at scrape time; on by default. */
  readonly processMetrics?: boolean;
  readonly maxValuesPerLabel?: number;
}

/** The xDS stream's state as `vireo check` reads it from the status port, at scrape time. */
export interface XdsGauges {
  readonly connected: boolean;
  /** Resource types whose last response the proxy rejected (NACK not since superseded). */
  readonly rejectedTypes: number;
}

/** One label set: its rendered labels and the histograms its requests were added to. */
class Series {
  readonly rendered: string;
  readonly duration = new FixedHistogram(DURATION_BUCKETS_MS);
  readonly requestBytes: FixedHistogram | undefined;
  readonly responseBytes: FixedHistogram | undefined;

  constructor(labels: RequestLabels, bytes: boolean) {
    this.rendered = renderLabels(Object.fromEntries(LABEL_NAMES.map((n) => [n, labels[n]])));
    if (bytes) {
      this.requestBytes = new FixedHistogram(BYTES_BUCKETS);
      this.responseBytes = new FixedHistogram(BYTES_BUCKETS);
    }
  }
}

/**
 * A level of the lookup from a record to its series: keyed by one field of the record, leading to
 * the next level; the last level holds the series.
 */
class ShapeNode {
  /** Made with the first child: the last level (one node per shape) never needs one. */
  next: Map<string | number, ShapeNode> | undefined;
  series: Series | undefined;
}

/** Records whose fields differ can share labels; past this many shapes the lookup restarts. */
const MAX_CACHED_SHAPES = 10_000;

const DIRECTIONS = { outbound: 0, inbound: 1, gateway: 2 } as const;
const NO_GRPC = 17;

/**
 * Everything numeric or boolean that the labels read, as one small integer: the status (what
 * the label shows, so invalid ones as 0), gRPC status (0-16, 2 for invalid ones, 17 for none),
 * direction, protocol and mutual TLS. Equal codes give equal values of the labels they feed.
 */
function scalarCode(r: TelemetryRecord): number {
  const s = r.status;
  const status = Number.isInteger(s) && s >= 0 && s <= 999 ? s : 0;
  const g = r.grpcStatus;
  const grpc = g === undefined ? NO_GRPC : Number.isInteger(g) && g >= 0 && g <= 16 ? g : 2;
  const code = (status * 18 + grpc) * 3 + DIRECTIONS[r.direction];
  return (code * 2 + (r.protocol === "grpc" ? 1 : 0)) * 2 + (r.mutualTls === true ? 1 : 0);
}

function child(node: ShapeNode, key: string | number): ShapeNode {
  const next = (node.next ??= new Map<string | number, ShapeNode>());
  let n = next.get(key);
  if (n === undefined) {
    n = new ShapeNode();
    next.set(key, n);
  }
  return n;
}

export class ProxyMetrics {
  /** What the admin port's `/stats/prometheus` serves. */
  readonly registry: MetricsRegistry;
  private readonly bytes: boolean;
  private readonly processMetrics: boolean;
  private readonly cap: LabelValueCap;
  /** Series by their label values joined, in the order they were first seen. */
  private readonly byLabels = new Map<string, Series>();
  private shapes = new ShapeNode();
  private shapeCount = 0;
  /** Passthrough connections by their rendered labels. */
  private readonly passthroughs = new Map<string, number>();
  private shapesFor: ProxyIdentity | undefined;
  private xds: (() => XdsGauges) | undefined;

  constructor(options: ProxyMetricsOptions = {}) {
    this.bytes = options.bytes === true;
    this.processMetrics = options.processMetrics ?? true;
    this.cap = new LabelValueCap(options.maxValuesPerLabel ?? DEFAULT_MAX_VALUES_PER_LABEL);
    this.registry = {
      contentType: PROMETHEUS_CONTENT_TYPE,
      metrics: () => this.expose(),
    };
  }

  /** The proxy's `onRequestDone` hook, with the proxy's own identity. */
  recordRequest(record: TelemetryRecord, identity: ProxyIdentity): void {
    const series = this.seriesOf(record, identity);
    series.duration.observe(record.durationMs);
    if (series.requestBytes !== undefined) {
      series.requestBytes.observe(record.bytes.received);
      series.responseBytes?.observe(record.bytes.sent);
    }
  }

  /** Captured TCP the mesh did not route (Istio's PassthroughCluster connections). */
  countPassthrough(direction: string, reason: string): void {
    const key = `direction="${direction}",reason="${reason}"`;
    this.passthroughs.set(key, (this.passthroughs.get(key) ?? 0) + 1);
  }

  /** Adds the xDS gauges (the client is made after the metrics, which it reports through). */
  reportXds(source: () => XdsGauges): void {
    this.xds = source;
  }

  /** The Prometheus text exposition of every metric. */
  expose(): Promise<string> {
    return Promise.resolve(this.render());
  }

  private render(): string {
    const all = [...this.byLabels.values()];
    const families = [
      scalarFamily(
        "vireo_requests_total",
        "Requests the proxy handled, by Istio's standard labels.",
        "counter",
        all.map((s) => ({ labels: s.rendered, value: s.duration.count })),
      ),
      histogramFamily(
        "vireo_request_duration_milliseconds",
        "Time from the request's first byte to the end of its response stream, in ms.",
        all.map((s) => ({ labels: s.rendered, histogram: s.duration })),
      ),
    ];
    if (this.bytes) {
      const of = (pick: (s: Series) => FixedHistogram | undefined) =>
        all.flatMap((s) => {
          const h = pick(s);
          return h === undefined ? [] : [{ labels: s.rendered, histogram: h }];
        });
      families.push(
        histogramFamily(
          "vireo_request_bytes",
          "Request body sizes, in bytes.",
          of((s) => s.requestBytes),
        ),
        histogramFamily(
          "vireo_response_bytes",
          "Response body sizes, in bytes.",
          of((s) => s.responseBytes),
        ),
      );
    }
    if (this.passthroughs.size > 0)
      families.push(
        scalarFamily(
          "vireo_tcp_passthrough_connections_total",
          "Captured connections passed through as TCP to their original destination",
          "counter",
          [...this.passthroughs].map(([labels, value]) => ({ labels, value })),
        ),
      );
    if (this.xds !== undefined) {
      const x = this.xds();
      families.push(
        scalarFamily("vireo_proxy_xds_connected", "1 while the xDS stream is up.", "gauge", [
          { labels: "", value: x.connected ? 1 : 0 },
        ]),
        scalarFamily(
          "vireo_proxy_xds_rejected_types",
          "Resource types whose last xDS response the proxy rejected (NACKed).",
          "gauge",
          [{ labels: "", value: x.rejectedTypes }],
        ),
      );
    }
    if (this.processMetrics) families.push(...processFamilies());
    return exposition(families);
  }

  /** The series of a record: found through its fields, worked out from its labels on a miss. */
  private seriesOf(r: TelemetryRecord, identity: ProxyIdentity): Series {
    if (identity !== this.shapesFor || this.shapeCount >= MAX_CACHED_SHAPES) {
      this.shapes = new ShapeNode();
      this.shapeCount = 0;
      this.shapesFor = identity;
    }
    const p = r.peer;
    let node = child(this.shapes, scalarCode(r));
    node = child(node, r.authority);
    node = child(node, r.upstreamCluster ?? "");
    node = child(node, r.flags.length === 0 ? "" : r.flags.join(","));
    node = child(node, p?.workload ?? "");
    node = child(node, p?.namespace ?? "");
    node = child(node, p?.version ?? "");
    node = child(node, r.peerPrincipal ?? "");
    if (node.series !== undefined) return node.series;
    const labels = cappedLabels(requestLabels(r, identity), this.cap);
    const key = LABEL_NAMES.map((n) => labels[n]).join("\n");
    let series = this.byLabels.get(key);
    if (series === undefined) {
      series = new Series(labels, this.bytes);
      this.byLabels.set(key, series);
    }
    node.series = series;
    this.shapeCount++;
    return series;
  }
}
