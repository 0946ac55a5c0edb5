// Where the proxy's time goes: a V8 CPU profile (node --cpu-prof) reduced to self time per
// function and per area (vireo's code, node's HTTP stack, prom-client, GC, …), counting only the
// samples taken while the load ran.

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

/** The .cpuprofile format (Chrome DevTools protocol's Profiler.Profile); times in µs. */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly where: string;
  readonly area: string;
  readonly ms: number;
  /** Share of the busy (non-idle) time in the window. */
  readonly share: number;
}

export interface ProfileSummary {
  /** Whether the window of the load could be found in the profile (else all samples count). */
  readonly windowed: boolean;
  readonly sampledMs: number;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly functions: readonly SelfTime[];
  readonly areas: readonly Omit<SelfTime, "where" | "area">[];
  /** vireo's own functions (mesh/, src/) by total time: themselves and all they call. */
  readonly vireoInclusive: readonly SelfTime[];
}

/** node's native socket calls: the time of the system calls, loopback delivery included. */
const SOCKET_CALLS = new Set([
  "writev",
  "writeBuffer",
  "writeLatin1String",
  "writeUtf8String",
  "writeAsciiString",
  "writeUcs2String",
  "shutdown",
  "readStart",
  "readStop",
  "close",
]);

/** `file:///…/proxy-js-<hash>/mesh/x.js` → `mesh/x.js`; node's own modules as they are. */
export function shortUrl(url: string): string {
  const m = /\/proxy-js-[0-9a-f]+\/(.*)$/.exec(url);
  if (m?.[1] !== undefined) return m[1];
  const nm = /\/node_modules\/(.*)$/.exec(url);
  if (nm?.[1] !== undefined) return nm[1];
  return url;
}

/** The area a function belongs to, for the coarse picture. */
export function areaOf(frame: CallFrame): string {
  const { functionName: f, url } = frame;
  if (f === "(garbage collector)") return "GC";
  if (f === "(program)") return "V8/native, outside JS (program)";
  if (f === "(idle)") return "idle";
  const u = shortUrl(url);
  if (u.startsWith("mesh/telemetry/")) return "vireo mesh/telemetry";
  if (u.startsWith("mesh/")) return `vireo ${u.split("/").slice(0, 2).join("/")}`;
  if (u.startsWith("src/")) return "vireo src/";
  if (u.endsWith("/node-proxy.mjs")) return "the bare proxy's own code";
  if (u !== url) return `npm ${u.split("/")[0] ?? ""}`;
  if (/^node:(_http|http|internal\/http)/.test(u)) return "node http";
  if (/^node:internal\/streams|^node:stream/.test(u)) return "node streams";
  if (/^node:(net|internal\/net|internal\/stream_base|internal\/dns)/.test(u)) return "node net";
  if (/^node:internal\/(timers|process\/task_queues)|^node:timers/.test(u)) return "node timers";
  if (/^node:(events|internal\/event_target|internal\/abort)/.test(u)) return "node events";
  if (u.startsWith("node:")) return "node other";
  if (url === "" && SOCKET_CALLS.has(f)) return "socket system calls (node's native writes)";
  return "V8 builtins and other native";
}

/**
 * Self time per function and area over the samples in [fromUs, toUs] (monotonic µs, the clock
 * of both V8's profile and process.hrtime); all samples if that window misses the profile.
 */
export function summarise(
  profile: CpuProfile,
  window?: { readonly fromUs: number; readonly toUs: number },
  top = 20,
): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const isVireo = (f: CallFrame): boolean => /^(mesh|src)\//.test(shortUrl(f.url)) && f.url !== "";
  const inclusive = new Map<string, { frame: CallFrame; us: number }>();
  const times: number[] = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) times.push((t += d));
  const inWindow =
    window !== undefined &&
    window.fromUs < profile.endTime &&
    window.toUs > profile.startTime &&
    times.some((x) => x >= window.fromUs && x <= window.toUs);

  const fn = new Map<string, { frame: CallFrame; us: number }>();
  let idle = 0;
  let total = 0;
  profile.samples.forEach((id, i) => {
    const at = times[i] ?? profile.endTime;
    const next = times[i + 1] ?? profile.endTime;
    if (inWindow && (at < window.fromUs || at > window.toUs)) return;
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined || frame.functionName === "(root)") return;
    const us = Math.max(0, next - at);
    total += us;
    if (frame.functionName === "(idle)") {
      idle += us;
      return;
    }
    const e = fn.get(keyOf(frame)) ?? { frame, us: 0 };
    e.us += us;
    fn.set(keyOf(frame), e);
    // Each of vireo's functions on this sample's stack, once even if recursive.
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const f = byId.get(n)?.callFrame;
      if (f === undefined || !isVireo(f) || seen.has(keyOf(f))) continue;
      seen.add(keyOf(f));
      const x = inclusive.get(keyOf(f)) ?? { frame: f, us: 0 };
      x.us += us;
      inclusive.set(keyOf(f), x);
    }
  });
  const busy = total - idle;
  const share = (us: number): number => (busy > 0 ? us / busy : 0);
  const ranked = (m: Map<string, { frame: CallFrame; us: number }>): SelfTime[] =>
    [...m.values()]
      .sort((a, b) => b.us - a.us)
      .map(({ frame, us }) => ({
        name: frame.functionName === "" ? "(anonymous)" : frame.functionName,
        where: frame.url === "" ? "" : `${shortUrl(frame.url)}:${frame.lineNumber + 1}`,
        area: areaOf(frame),
        ms: us / 1000,
        share: share(us),
      }));
  const functions = ranked(fn);
  const areas = new Map<string, number>();
  for (const f of functions) areas.set(f.area, (areas.get(f.area) ?? 0) + f.ms);
  return {
    windowed: inWindow,
    sampledMs: total / 1000,
    busyMs: busy / 1000,
    idleMs: idle / 1000,
    functions: functions.slice(0, top),
    areas: [...areas]
      .sort((a, b) => b[1] - a[1])
      .map(([name, ms]) => ({ name, ms, share: share(ms * 1000) })),
    vireoInclusive: ranked(inclusive).slice(0, top),
  };
}

const keyOf = (f: CallFrame): string => `${f.functionName}\0${f.url}\0${f.lineNumber}`;
