// Prometheus text exposition (format 0.0.4) of counters, gauges and fixed-bucket histograms,
// written the way prom-client writes it (`le` first, families separated by a blank line) so the
// proxy's output did not change when prom-client left its request path.
import type { FixedHistogram } from "./histogram.js";

/** What the admin port scrapes: prom-client's `Registry` has the same shape. */
export interface MetricsRegistry {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type Labels = Readonly<Record<string, string>>;

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** `a="1",b="2"` (no braces), in the labels' own order; rendered once per series. */
export function renderLabels(labels: Labels): string {
  const parts: string[] = [];
  for (const name of Object.keys(labels)) {
    parts.push(`${name}="${escapeLabelValue(labels[name] ?? "")}"`);
  }
  return parts.join(",");
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "Nan";
  if (!Number.isFinite(v)) return v < 0 ? "-Inf" : "+Inf";
  return String(v);
}

function braced(rendered: string): string {
  return rendered === "" ? "" : `{${rendered}}`;
}

function header(name: string, help: string, type: string): string[] {
  return [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`];
}

/** One counter or gauge family: each sample is its rendered labels and its value. */
export function scalarFamily(
  name: string,
  help: string,
  type: "counter" | "gauge",
  samples: Iterable<{ readonly labels: string; readonly value: number }>,
): string {
  const lines = header(name, help, type);
  for (const s of samples) lines.push(`${name}${braced(s.labels)} ${formatValue(s.value)}`);
  return lines.join("\n");
}

/** One histogram family: buckets (cumulative), +Inf, sum and count per series. */
export function histogramFamily(
  name: string,
  help: string,
  series: Iterable<{ readonly labels: string; readonly histogram: FixedHistogram }>,
): string {
  const lines = header(name, help, "histogram");
  for (const { labels, histogram: h } of series) {
    const rest = labels === "" ? "" : `,${labels}`;
    let acc = 0;
    for (let i = 0; i < h.bounds.length; i++) {
      acc += h.counts[i] ?? 0;
      lines.push(
        `${name}_bucket{le="${formatValue(h.bounds[i] ?? 0)}"${rest}} ${formatValue(acc)}`,
      );
    }
    lines.push(`${name}_bucket{le="+Inf"${rest}} ${formatValue(h.count)}`);
    lines.push(`${name}_sum${braced(labels)} ${formatValue(h.sum)}`);
    lines.push(`${name}_count${braced(labels)} ${formatValue(h.count)}`);
  }
  return lines.join("\n");
}

/** Families joined as prom-client's `Registry.metrics()` joins them. */
export function exposition(families: readonly string[]): string {
  return `${families.join("\n\n")}\n`;
}
