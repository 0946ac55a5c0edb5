// The xDS benchmark's report: both control planes side by side, vireo's figures as ratios to
// go-control-plane's from the same run, and the targets of DESIGN.md for reference (never as a
// pass/fail: machines are noisy).

export type Side = "go-control-plane" | "vireo";

export interface Latency {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface RoundReport {
  readonly variant: number;
  readonly changedResources: number;
  readonly lastAckMs: number;
  readonly p50Ms: number;
  readonly responsesPerClient: number;
  readonly bytesPerClient: number;
  readonly serverCpuSeconds: number;
  readonly clientsCpuSeconds: number;
  readonly switchMs: number;
}

/** What the Go clients program prints (test/bench/xds/clients/main.go). */
export interface ClientsReport {
  readonly clients: number;
  readonly subscription: Readonly<Record<string, string | number>>;
  readonly setup: {
    readonly seconds: number;
    readonly perClient: Latency;
    readonly serverCpuSeconds: number;
    readonly bytesPerClient: number;
  };
  readonly memory: {
    readonly rssBeforeKB: number;
    readonly rssAfterRawKB: number;
    readonly rssAfterKB: number;
    readonly perClientKB: number;
    readonly peakKB: number;
    readonly runtimeBefore?: Readonly<Record<string, number>>;
    readonly runtimeAfter?: Readonly<Record<string, number>>;
  };
  readonly lastAck: Latency;
  readonly perClient: Latency;
  readonly roundDetails: readonly RoundReport[] | null;
  readonly unexpectedResources: number;
  readonly resourcesRecognisedByDecoding: number;
  readonly errors: readonly string[];
}

export interface SideResult {
  readonly report?: ClientsReport;
  readonly errors: readonly string[];
}

export const TARGETS = { lastAckP99Ms: 250, ratio: 1.0, perClientKB: 30 } as const;

interface Row {
  readonly label: string;
  readonly value: (r: ClientsReport) => number;
  readonly digits: number;
  readonly target?: string;
}

const mean = (xs: readonly number[]): number =>
  xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
const perRound = (r: ClientsReport, f: (x: RoundReport) => number): number =>
  mean((r.roundDetails ?? []).map(f));

const ROWS: readonly Row[] = [
  { label: "weight change to last ACK, p50 (ms)", value: (r) => r.lastAck.p50Ms, digits: 1 },
  {
    label: "weight change to last ACK, p99 (ms)",
    value: (r) => r.lastAck.p99Ms,
    digits: 1,
    target: `<= ${TARGETS.lastAckP99Ms} ms, ratio <= ${TARGETS.ratio}`,
  },
  {
    label: "weight change to a client's ACK, p50 (ms)",
    value: (r) => r.perClient.p50Ms,
    digits: 1,
  },
  {
    label: "weight change to a client's ACK, p99 (ms)",
    value: (r) => r.perClient.p99Ms,
    digits: 1,
  },
  {
    label: "control endpoint switch (ms, mean)",
    value: (r) => perRound(r, (x) => x.switchMs),
    digits: 1,
  },
  {
    label: "server CPU per change (s, mean)",
    value: (r) => perRound(r, (x) => x.serverCpuSeconds),
    digits: 3,
  },
  {
    label: "responses per client per change",
    value: (r) => perRound(r, (x) => x.responsesPerClient),
    digits: 2,
  },
  {
    label: "bytes per client per change",
    value: (r) => perRound(r, (x) => x.bytesPerClient),
    digits: 0,
  },
  {
    label: "memory per client (KB, RSS delta after GC)",
    value: (r) => r.memory.perClientKB,
    digits: 1,
    target: `<= ${TARGETS.perClientKB} KB`,
  },
  {
    label: "memory per client (KB, RSS delta before GC)",
    value: (r) => (r.memory.rssAfterRawKB - r.memory.rssBeforeKB) / r.clients,
    digits: 1,
  },
  { label: "RSS before clients (MB)", value: (r) => r.memory.rssBeforeKB / 1024, digits: 1 },
  { label: "peak RSS (MB)", value: (r) => r.memory.peakKB / 1024, digits: 1 },
  { label: "setup: every client configured (s)", value: (r) => r.setup.seconds, digits: 2 },
  {
    label: "setup: a client configured, p99 (ms)",
    value: (r) => r.setup.perClient.p99Ms,
    digits: 1,
  },
  { label: "setup: server CPU (s)", value: (r) => r.setup.serverCpuSeconds, digits: 2 },
];

export function formatReport(results: Partial<Record<Side, SideResult>>): string {
  const peer = results["go-control-plane"]?.report;
  const ours = results.vireo?.report;
  const fmt = (v: number | undefined, digits: number): string =>
    v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits);
  const header = ["", "go-control-plane", "vireo", "vireo/peer", "target"];
  const lines = ROWS.map((row) => {
    const p = peer === undefined ? undefined : row.value(peer);
    const o = ours === undefined ? undefined : row.value(ours);
    const ratio = p === undefined || o === undefined || p === 0 ? undefined : o / p;
    return [row.label, fmt(p, row.digits), fmt(o, row.digits), fmt(ratio, 2), row.target ?? ""];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]?.length ?? 0)));
  const render = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  const out = [render(header), ...lines.map(render)];
  for (const [side, r] of Object.entries(results)) {
    if (r.errors.length > 0) out.push(`${side}: ${r.errors.length} errors: ${r.errors.join("; ")}`);
    const odd =
      (r.report?.unexpectedResources ?? 0) + (r.report?.resourcesRecognisedByDecoding ?? 0);
    if (odd > 0) {
      out.push(
        `${side}: ${r.report?.unexpectedResources ?? 0} resources not of the awaited variant, ` +
          `${r.report?.resourcesRecognisedByDecoding ?? 0} recognised only after decoding`,
      );
    }
  }
  for (const [side, r] of Object.entries(results)) {
    const line = r.report === undefined ? undefined : runtimeMemoryLine(r.report);
    if (line !== undefined) out.push(`${side} per client after GC: ${line}`);
  }
  if (peer !== undefined && ours !== undefined) {
    const paired = pairedRatios(peer, ours);
    if (paired !== undefined) out.push(paired);
  }
  const clean = Object.values(results).every((r) => r.errors.length === 0);
  if (peer !== undefined && ours !== undefined && clean) out.push(targetLine(peer, ours));
  return out.join("\n");
}

/** Growth of each figure of the runtime's own memory accounting, per client, in KB. */
function runtimeMemoryLine(r: ClientsReport): string | undefined {
  const before = r.memory.runtimeBefore;
  const after = r.memory.runtimeAfter;
  if (before === undefined || after === undefined) return undefined;
  return Object.entries(after)
    .filter(([k]) => k !== "goroutines")
    .map(([k, v]) => `${k} ${((v - (before[k] ?? 0)) / 1024 / r.clients).toFixed(1)} KB`)
    .join(", ");
}

/**
 * Round i of each side ran back to back (ABBA order), so their ratio is the comparison least
 * disturbed by the machine's changing load; the median of those ratios is the steadiest figure.
 */
function pairedRatios(peer: ClientsReport, ours: ClientsReport): string | undefined {
  const p = peer.roundDetails ?? [];
  const o = ours.roundDetails ?? [];
  const n = Math.min(p.length, o.length);
  if (n === 0) return undefined;
  const ratios = (f: (r: RoundReport) => number): number[] =>
    p
      .slice(0, n)
      .map((pr, i) => {
        const or = o[i];
        return or === undefined ? Number.NaN : f(or) / f(pr);
      })
      .filter((x) => Number.isFinite(x))
      .sort((a, b) => a - b);
  const q = (xs: readonly number[], f: number): string =>
    (xs[Math.min(xs.length - 1, Math.floor(f * xs.length))] ?? Number.NaN).toFixed(2);
  const last = ratios((r) => r.lastAckMs);
  const cpu = ratios((r) => r.serverCpuSeconds);
  return (
    `paired rounds (${n}), vireo/peer: last ACK median ${q(last, 0.5)} ` +
    `(quartiles ${q(last, 0.25)}-${q(last, 0.75)}); server CPU median ${q(cpu, 0.5)}`
  );
}

function targetLine(peer: ClientsReport, ours: ClientsReport): string {
  const p99 = ours.lastAck.p99Ms;
  const ratio = p99 / peer.lastAck.p99Ms;
  const kb = ours.memory.perClientKB;
  const mark = (ok: boolean): string => (ok ? "met" : "NOT met");
  return (
    `targets (informative): last-ACK p99 ${p99.toFixed(1)} ms <= ${TARGETS.lastAckP99Ms}: ` +
    `${mark(p99 <= TARGETS.lastAckP99Ms)}; ratio to go-control-plane ${ratio.toFixed(2)} <= ` +
    `${TARGETS.ratio}: ${mark(ratio <= TARGETS.ratio)}; ${kb.toFixed(1)} KB per client <= ` +
    `${TARGETS.perClientKB}: ${mark(kb <= TARGETS.perClientKB)}`
  );
}
