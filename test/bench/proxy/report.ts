// The proxy benchmark's report: direct, nginx, haproxy and vireo side by side, vireo's figures as
// ratios to nginx's and haproxy's from the same run, and the targets of DESIGN.md for reference
// (never as a pass/fail: the machine is shared and noisy).
import type { WrkSummary } from "./load.js";
import type { GcSummary } from "./gc.js";
import type { ProfileSummary } from "./profile.js";
export const TARGET_NAMES = ["direct", "nginx", "haproxy", "node", "undici", "vireo"] as const;
export type TargetName = (typeof TARGET_NAMES)[number];
export type Proxy = Exclude<TargetName, "direct">;
export type Phase = "rate" | "saturation";

export const TARGETS = { addedP99Ms: 1, throughputVsNginx: 0.6, rssMB: 60 } as const;

export interface Settings {
  readonly rate: number;
  readonly rateSeconds: number;
  readonly rateConnections: number;
  readonly saturationSeconds: number;
  readonly saturationConnections: number;
  readonly rounds: number;
  readonly warmupSeconds: number;
  /** The CPUs this run may use. */
  readonly cpus: readonly number[];
  /** The CPU every proxy is pinned to; undefined when the machine has one CPU. */
  readonly proxyCpu: number | undefined;
  /** The CPUs of wrk and the upstream. */
  readonly loadCpus: readonly number[];
  readonly vireoRole: "sidecar" | "gateway";
  /** Extra node flags vireo's proxy ran with (none by default). */
  readonly vireoNodeFlags: readonly string[];
  /** Extra environment vireo's proxy ran with (none by default). */
  readonly vireoEnv: Readonly<Record<string, string>>;
  readonly versions: Readonly<Record<string, string>>;
}

/** What vireo's own runtime says of its memory (its admin port's `vireo_proxy_*` gauges), in MB. */
export interface RuntimeMemory {
  /** Read once serving (before any load), or after a phase. */
  readonly after: Phase | "start";
  readonly rssMB: number;
  readonly heapTotalMB: number;
  readonly heapUsedMB: number;
  readonly externalMB: number;
}

/** One wrk run against one target. */
export interface Sample {
  readonly target: TargetName;
  readonly phase: Phase;
  readonly round: number;
  readonly wrk: WrkSummary;
  /** Requests per second over wrk's own duration. */
  readonly rps: number;
  /** CPU seconds of the proxy's processes during the run (not for direct). */
  readonly proxyCpuSeconds?: number;
  /** Highest sum of VmRSS over the proxy's processes, sampled every 100 ms. */
  readonly rssPeakKB?: number;
  /** Sum of Pss over the proxy's processes at the end of the run. */
  readonly pssKB?: number;
  /** Sum of anonymous memory over the proxy's processes at the end of the run. */
  readonly anonKB?: number;
  /** How busy each CPU was during the run, 0..1. */
  readonly coreBusy: Readonly<Record<string, number>>;
}

export interface PhaseFigures {
  readonly rounds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  /** Median over rounds of this target's percentile minus direct's in the same round. */
  readonly addedP50Ms?: number;
  readonly addedP99Ms?: number;
  readonly cpuCores?: number;
  readonly requestsPerCpuSecond?: number;
  readonly rssPeakMB?: number;
  readonly pssMB?: number;
  readonly anonMB?: number;
  /** RSS once serving, before any load (rate phase only). */
  readonly rssIdleMB?: number;
  /** How busy the proxies' CPU was, whoever used it (for direct: only other work). */
  readonly proxyCoreBusy?: number;
  readonly loadCoreBusy?: number;
}

export type Figures = Record<Phase, Partial<Record<TargetName, PhaseFigures>>>;

/** A CPU profile of a node-based proxy under saturation, and the load it served meanwhile. */
export interface ProfileRun {
  readonly summary: ProfileSummary;
  readonly requests: number;
  readonly rps: number;
}

export interface Results {
  readonly settings: Settings;
  readonly samples: readonly Sample[];
  /** RSS of each proxy once serving, before any load, in KiB. */
  readonly idleRssKB: Partial<Record<TargetName, number>>;
  readonly vireoMemory: readonly RuntimeMemory[];
  /** /proc/loadavg's 1-minute figure before and after the run: the machine's other work. */
  readonly loadAverage: { readonly before: number; readonly after: number };
  /** GC pauses of the node-based proxies during their own runs, by phase (--trace-gc). */
  readonly gc: Partial<Record<"vireo" | "node" | "undici", Partial<Record<Phase, GcSummary>>>>;
  /** vireo's and the bare node:http proxy's profiles, when taken. */
  readonly profiles: Partial<Record<"vireo" | "node", ProfileRun>>;
  readonly errors: readonly string[];
  readonly notes: readonly string[];
}

const median = (xs: readonly number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const definedOnly = (xs: readonly (number | undefined)[]): number[] =>
  xs.filter((x): x is number => x !== undefined);
const medianOf = (xs: readonly (number | undefined)[]): number | undefined => {
  const d = definedOnly(xs);
  return d.length === 0 ? undefined : median(d);
};

/** Medians over rounds per target and phase; added latency paired with direct's round. */
export function figures(r: Results): Figures {
  const out: Figures = { rate: {}, saturation: {} };
  const busy = (s: Sample, cpu: number | undefined): number | undefined =>
    cpu === undefined ? undefined : s.coreBusy[String(cpu)];
  for (const phase of ["rate", "saturation"] as const) {
    const direct = new Map(
      r.samples.filter((s) => s.phase === phase && s.target === "direct").map((s) => [s.round, s]),
    );
    for (const target of TARGET_NAMES) {
      const ss = r.samples.filter((s) => s.phase === phase && s.target === target);
      if (ss.length === 0) continue;
      const ms = (f: (s: Sample) => number): number => median(ss.map(f)) / 1000;
      const added = (f: (w: WrkSummary) => number): number | undefined =>
        target === "direct"
          ? undefined
          : medianOf(
              ss.map((s) => {
                const d = direct.get(s.round);
                return d === undefined ? undefined : (f(s.wrk) - f(d.wrk)) / 1000;
              }),
            );
      const seconds = (s: Sample): number => s.wrk.durationUs / 1e6;
      const cpu = medianOf(
        ss.map((s) =>
          s.proxyCpuSeconds === undefined ? undefined : s.proxyCpuSeconds / seconds(s),
        ),
      );
      const rssPeaks = definedOnly(ss.map((s) => s.rssPeakKB));
      const idle = phase === "rate" ? r.idleRssKB[target] : undefined;
      const pss = medianOf(ss.map((s) => s.pssKB));
      const anon = medianOf(ss.map((s) => s.anonKB));
      out[phase][target] = {
        rounds: ss.length,
        rps: median(ss.map((s) => s.rps)),
        p50Ms: ms((s) => s.wrk.latencyUs.p50),
        p99Ms: ms((s) => s.wrk.latencyUs.p99),
        p999Ms: ms((s) => s.wrk.latencyUs.p999),
        ...optional(
          "addedP50Ms",
          added((w) => w.latencyUs.p50),
        ),
        ...optional(
          "addedP99Ms",
          added((w) => w.latencyUs.p99),
        ),
        ...optional("cpuCores", cpu),
        ...optional(
          "requestsPerCpuSecond",
          medianOf(
            ss.map((s) =>
              s.proxyCpuSeconds === undefined || s.proxyCpuSeconds === 0
                ? undefined
                : s.wrk.requests / s.proxyCpuSeconds,
            ),
          ),
        ),
        ...optional("rssPeakMB", rssPeaks.length === 0 ? undefined : Math.max(...rssPeaks) / 1024),
        ...optional("pssMB", pss === undefined ? undefined : pss / 1024),
        ...optional("anonMB", anon === undefined ? undefined : anon / 1024),
        ...optional("rssIdleMB", idle === undefined ? undefined : idle / 1024),
        ...optional("proxyCoreBusy", medianOf(ss.map((s) => busy(s, r.settings.proxyCpu)))),
        ...optional("loadCoreBusy", medianOf(ss.map((s) => busy(s, r.settings.loadCpus[0])))),
      };
    }
  }
  return out;
}

function optional<K extends string>(key: K, v: number | undefined): Partial<Record<K, number>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, number>);
}

/** Median over rounds of vireo's (or `subject`'s) figure divided by the peer's in the same round. */
export function pairedRatio(
  r: Results,
  phase: Phase,
  peer: Proxy,
  f: (s: Sample) => number,
  subject: Proxy = "vireo",
): number | undefined {
  const peers = new Map(
    r.samples.filter((s) => s.phase === phase && s.target === peer).map((s) => [s.round, s]),
  );
  return medianOf(
    r.samples
      .filter((s) => s.phase === phase && s.target === subject)
      .map((s) => {
        const p = peers.get(s.round);
        return p === undefined || f(p) === 0 ? undefined : f(s) / f(p);
      }),
  );
}

interface Row {
  readonly label: string;
  readonly phase: Phase;
  readonly value: (f: PhaseFigures) => number | undefined;
  readonly digits: number;
  readonly target?: string;
  /** Direct has no proxy: its cell stays empty. */
  readonly proxyOnly?: boolean;
}

const pct = (x: number | undefined): number | undefined => (x === undefined ? x : 100 * x);

function rows(s: Settings): Row[] {
  const rate = `${s.rate} req/s`;
  return [
    { label: `${rate}: rate reached (req/s)`, phase: "rate", value: (f) => f.rps, digits: 0 },
    { label: `${rate}: p50 (ms)`, phase: "rate", value: (f) => f.p50Ms, digits: 3 },
    { label: `${rate}: p99 (ms)`, phase: "rate", value: (f) => f.p99Ms, digits: 3 },
    { label: `${rate}: p99.9 (ms)`, phase: "rate", value: (f) => f.p999Ms, digits: 3 },
    {
      label: `${rate}: added p50 per hop (ms)`,
      phase: "rate",
      value: (f) => f.addedP50Ms,
      digits: 3,
      proxyOnly: true,
    },
    {
      label: `${rate}: added p99 per hop (ms)`,
      phase: "rate",
      value: (f) => f.addedP99Ms,
      digits: 3,
      proxyOnly: true,
      target: `<= ${TARGETS.addedP99Ms} ms`,
    },
    {
      label: `${rate}: proxy CPU (cores)`,
      phase: "rate",
      value: (f) => f.cpuCores,
      digits: 3,
      proxyOnly: true,
    },
    {
      label: `${rate}: proxies' CPU busy, any process (%)`,
      phase: "rate",
      value: (f) => pct(f.proxyCoreBusy),
      digits: 0,
    },
    {
      label: "RSS once serving, before load (MB)",
      phase: "rate",
      value: (f) => f.rssIdleMB,
      digits: 1,
      proxyOnly: true,
    },
    {
      label: `${rate}: RSS, peak (MB)`,
      phase: "rate",
      value: (f) => f.rssPeakMB,
      digits: 1,
      proxyOnly: true,
      target: `<= ${TARGETS.rssMB} MB`,
    },
    {
      label: `${rate}: PSS at the end (MB)`,
      phase: "rate",
      value: (f) => f.pssMB,
      digits: 1,
      proxyOnly: true,
    },
    {
      label: `${rate}: anonymous memory at the end (MB)`,
      phase: "rate",
      value: (f) => f.anonMB,
      digits: 1,
      proxyOnly: true,
    },
    {
      label: "saturation: throughput (req/s)",
      phase: "saturation",
      value: (f) => f.rps,
      digits: 0,
      target: `vireo/nginx >= ${TARGETS.throughputVsNginx}`,
    },
    {
      label: "saturation: requests per proxy CPU-second",
      phase: "saturation",
      value: (f) => f.requestsPerCpuSecond,
      digits: 0,
      proxyOnly: true,
    },
    {
      label: "saturation: proxy's CPU busy (%)",
      phase: "saturation",
      value: (f) => pct(f.proxyCoreBusy),
      digits: 0,
      proxyOnly: true,
    },
    {
      label: "saturation: wrk+upstream CPU busy (%)",
      phase: "saturation",
      value: (f) => pct(f.loadCoreBusy),
      digits: 0,
    },
    { label: "saturation: p50 (ms)", phase: "saturation", value: (f) => f.p50Ms, digits: 3 },
    { label: "saturation: p99 (ms)", phase: "saturation", value: (f) => f.p99Ms, digits: 3 },
    {
      label: "saturation: RSS, peak (MB)",
      phase: "saturation",
      value: (f) => f.rssPeakMB,
      digits: 1,
      proxyOnly: true,
    },
  ];
}

const fmt = (v: number | undefined, digits: number): string =>
  v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits);

function table(header: readonly string[], lines: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]?.length ?? 0)));
  const render = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [render(header), ...lines.map(render)];
}

export function formatReport(r: Results): string {
  const f = figures(r);
  const s = r.settings;
  const out: string[] = [];
  const pin =
    s.proxyCpu === undefined
      ? "nothing pinned (one CPU)"
      : `proxies on CPU ${s.proxyCpu}, wrk and the upstream on CPU ${s.loadCpus.join(",")}`;
  out.push(
    `machine: ${s.cpus.length} CPUs, 1-minute load average ${r.loadAverage.before.toFixed(2)} ` +
      `before the run and ${r.loadAverage.after.toFixed(2)} after (the run itself adds about 2)`,
    `${s.rounds} round(s): ${s.rate} req/s for ${s.rateSeconds} s over ${s.rateConnections} ` +
      `connections, then saturation for ${s.saturationSeconds} s over ` +
      `${s.saturationConnections} connections; ${pin}; vireo as ${s.vireoRole}`,
  );
  const header = ["", ...TARGET_NAMES, "vireo/nginx", "vireo/haproxy", "vireo/node", "target"];
  const lines = rows(s).map((row) => {
    const v = (t: TargetName): number | undefined => {
      const x = f[row.phase][t];
      return x === undefined || (row.proxyOnly === true && t === "direct")
        ? undefined
        : row.value(x);
    };
    const ratio = (peer: Proxy): number | undefined => {
      const a = v("vireo");
      const b = v(peer);
      return a === undefined || b === undefined || b === 0 ? undefined : a / b;
    };
    return [
      row.label,
      ...TARGET_NAMES.map((t) => fmt(v(t), row.digits)),
      fmt(ratio("nginx"), 2),
      fmt(ratio("haproxy"), 2),
      fmt(ratio("node"), 2),
      row.target ?? "",
    ];
  });
  out.push(...table(header, lines));

  const paired = (["nginx", "haproxy", "node"] as const)
    .map((peer) => {
      const x = pairedRatio(r, "saturation", peer, (smp) => smp.rps);
      return x === undefined ? undefined : `vs ${peer} ${x.toFixed(2)}`;
    })
    .filter((x) => x !== undefined);
  if (paired.length > 0) {
    out.push(`saturation throughput, median of paired rounds: vireo ${paired.join(", ")}`);
  }
  const floors = undiciVsNode(r);
  if (floors !== undefined) out.push(floors);
  for (const m of r.vireoMemory) {
    const rest = m.rssMB - m.heapTotalMB - m.externalMB;
    out.push(
      `vireo's memory ${memoryWhen(m.after, s.rate)}: ` +
        `RSS ${m.rssMB.toFixed(1)} MB = V8 heap ${m.heapTotalMB.toFixed(1)} MB ` +
        `(${m.heapUsedMB.toFixed(1)} MB used) + external ${m.externalMB.toFixed(1)} MB + ` +
        `code, stacks, node and libraries ${rest.toFixed(1)} MB`,
    );
  }
  for (const [who, byPhase] of Object.entries(r.gc)) {
    for (const [phase, g] of Object.entries(byPhase)) {
      if (g.seconds <= 0) continue;
      const kinds = Object.entries(g.kinds)
        .map(([k, n]) => `${n} ${k}`)
        .join(", ");
      out.push(
        `${who}'s GC during its ${phase === "rate" ? `${s.rate} req/s` : "saturation"} runs: ` +
          `${(g.pauses / g.seconds).toFixed(1)} pauses/s (${kinds || "none"}), ` +
          `${(g.pausedMs / g.seconds).toFixed(1)} ms/s paused, longest ${g.longestMs.toFixed(2)} ms`,
      );
    }
  }
  out.push(...r.notes.map((n) => `note: ${n}`));
  out.push(...formatProfiles(r.profiles));
  if (r.errors.length > 0) out.push(`${r.errors.length} errors:`, ...r.errors.map((e) => `  ${e}`));
  else out.push(targetLine(f));
  return out.join("\n");
}

/** Requests per proxy CPU-second of one run; NaN for direct (no proxy) or no CPU time read. */
const perCpuSecond = (smp: Sample): number =>
  smp.proxyCpuSeconds === undefined || smp.proxyCpuSeconds === 0
    ? Number.NaN
    : smp.wrk.requests / smp.proxyCpuSeconds;

/** The undici floor against the node:http floor, paired by round (issue 14's question). */
function undiciVsNode(r: Results): string | undefined {
  const ratio = (phase: Phase, f: (s: Sample) => number): string => {
    const x = pairedRatio(r, phase, "node", f, "undici");
    return x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(2);
  };
  if (!r.samples.some((s) => s.target === "undici")) return undefined;
  const cpu = (smp: Sample): number =>
    (smp.proxyCpuSeconds ?? Number.NaN) / (smp.wrk.durationUs / 1e6);
  return (
    "undici floor ÷ node:http floor, median of paired rounds: requests per proxy CPU-second " +
    `${ratio("saturation", perCpuSecond)}, saturated throughput ` +
    `${ratio("saturation", (smp) => smp.rps)}, CPU at ${r.settings.rate} req/s ` +
    ratio("rate", cpu)
  );
}

function memoryWhen(after: RuntimeMemory["after"], rate: number): string {
  if (after === "start") return "once serving, before load";
  return after === "rate" ? `after the ${rate} req/s phase` : "after the saturation phase";
}

/**
 * Self time per request by area for vireo next to the bare node:http proxy (the difference is
 * what vireo adds on top of node's HTTP stack), then vireo's top functions.
 */
function formatProfiles(profiles: Results["profiles"]): string[] {
  const v = profiles.vireo;
  if (v === undefined) return [];
  const n = profiles.node;
  const perRequest = (p: ProfileRun | undefined, ms: number | undefined): number | undefined =>
    p === undefined || ms === undefined || p.requests === 0 ? undefined : (1000 * ms) / p.requests;
  const areaMs = (p: ProfileRun | undefined, name: string): number | undefined =>
    p === undefined ? undefined : (p.summary.areas.find((a) => a.name === name)?.ms ?? 0);
  const names = [...v.summary.areas.map((a) => a.name)];
  for (const a of n?.summary.areas ?? []) if (!names.includes(a.name)) names.push(a.name);
  const row = (label: string, vm: number | undefined, nm: number | undefined): string[] => {
    const vu = perRequest(v, vm);
    const nu = perRequest(n, nm);
    return [
      label,
      fmt(nu, 1),
      fmt(vu, 1),
      fmt(vu === undefined || nu === undefined ? undefined : vu - nu, 1),
      fmt(vm === undefined ? undefined : (100 * vm) / v.summary.busyMs, 1),
    ];
  };
  const windowed = v.summary.windowed && (n?.summary.windowed ?? true);
  const out = [
    `where the time goes: CPU profiles (node --cpu-prof) under saturation, vireo at ` +
      `${v.rps.toFixed(0)} req/s` +
      (n === undefined ? "" : `, the bare node:http proxy at ${n.rps.toFixed(0)} req/s`) +
      (windowed ? "" : " (whole profiles: the load's window was not found in them)"),
    ...table(
      ["self CPU time per request (µs)", "node", "vireo", "vireo-node", "vireo %"],
      [
        ...names.map((a) => row(a, areaMs(v, a), areaMs(n, a))),
        row("busy, in all", v.summary.busyMs, n?.summary.busyMs),
      ],
    ),
    ...table(
      ["vireo's top functions by self time", "where", "ms", "% of busy"],
      v.summary.functions.map((x) => [
        x.name,
        x.where,
        x.ms.toFixed(0),
        (100 * x.share).toFixed(1),
      ]),
    ),
    ...table(
      ["vireo's functions by synchronous total time", "where", "ms", "% of busy"],
      v.summary.vireoInclusive.map((x) => [
        x.name,
        x.where,
        x.ms.toFixed(0),
        (100 * x.share).toFixed(1),
      ]),
    ),
  ];
  return out;
}

function targetLine(f: Figures): string {
  const v = f.rate.vireo;
  const sat = f.saturation.vireo?.rps;
  const nginx = f.saturation.nginx?.rps;
  const mark = (ok: boolean): string => (ok ? "met" : "NOT met");
  const parts: string[] = [];
  if (v?.addedP99Ms !== undefined) {
    parts.push(
      `added p99 ${v.addedP99Ms.toFixed(3)} ms <= ${TARGETS.addedP99Ms}: ` +
        mark(v.addedP99Ms <= TARGETS.addedP99Ms),
    );
  }
  if (sat !== undefined && nginx !== undefined && nginx > 0) {
    const ratio = sat / nginx;
    parts.push(
      `throughput ${ratio.toFixed(2)} of nginx's >= ${TARGETS.throughputVsNginx}: ` +
        mark(ratio >= TARGETS.throughputVsNginx),
    );
  }
  if (v?.rssPeakMB !== undefined) {
    parts.push(
      `RSS ${v.rssPeakMB.toFixed(1)} MB <= ${TARGETS.rssMB}: ` + mark(v.rssPeakMB <= TARGETS.rssMB),
    );
  }
  return parts.length === 0
    ? "targets: no vireo figures"
    : `targets (informative): ${parts.join("; ")}`;
}

/** Whether any of DESIGN.md's proxy targets is missed (decides whether to profile). */
export function missesTargets(r: Results): boolean {
  const f = figures(r);
  const added = f.rate.vireo?.addedP99Ms;
  const rss = f.rate.vireo?.rssPeakMB;
  const sat = f.saturation.vireo?.rps;
  const nginx = f.saturation.nginx?.rps;
  return (
    (added !== undefined && added > TARGETS.addedP99Ms) ||
    (rss !== undefined && rss > TARGETS.rssMB) ||
    (sat !== undefined && nginx !== undefined && sat < TARGETS.throughputVsNginx * nginx)
  );
}
