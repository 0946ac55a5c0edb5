// Garbage-collection pauses of the node-based proxies, from their `node --trace-gc` lines: how
// often they stop the world and for how long, within the benchmark's load windows. Pauses of a
// millisecond or more at 1,000 req/s land directly in the p99.

/** One `--trace-gc` line: `[pid:0x…]  1018 ms: Scavenge 5.2 (6.0) -> 4.6 (7.0) MB, 0.91 / 0.00 ms …` */
export interface GcEvent {
  /** Milliseconds since the isolate started. */
  readonly atMs: number;
  readonly kind: string;
  readonly pauseMs: number;
}

const LINE = /^\[\d+:0x[0-9a-f]+\]\s+(\d+) ms: ([A-Za-z-]+(?: [A-Za-z-]+)?) .*?MB, ([\d.]+) \//;

export function parseTraceGc(text: string): GcEvent[] {
  const out: GcEvent[] = [];
  for (const line of text.split("\n")) {
    const m = LINE.exec(line);
    if (m === null) continue;
    out.push({ atMs: Number(m[1]), kind: m[2] ?? "", pauseMs: Number(m[3]) });
  }
  return out;
}

export interface GcSummary {
  readonly seconds: number;
  readonly pauses: number;
  readonly pausedMs: number;
  readonly longestMs: number;
  /** Pauses by kind (Scavenge, Mark-Compact, …). */
  readonly kinds: Readonly<Record<string, number>>;
}

/**
 * The pauses inside `windows` (ms since the isolate started). The isolate's clock starts a little
 * after the process was spawned, which is where run.ts counts from: windows shift by that much
 * (tens of ms on windows of seconds).
 */
export function gcInWindows(
  events: readonly GcEvent[],
  windows: readonly { readonly fromMs: number; readonly toMs: number }[],
): GcSummary {
  const inside = events.filter((e) => windows.some((w) => e.atMs >= w.fromMs && e.atMs <= w.toMs));
  const kinds: Record<string, number> = {};
  for (const e of inside) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
  return {
    seconds: windows.reduce((a, w) => a + (w.toMs - w.fromMs) / 1000, 0),
    pauses: inside.length,
    pausedMs: inside.reduce((a, e) => a + e.pauseMs, 0),
    longestMs: inside.reduce((a, e) => Math.max(a, e.pauseMs), 0),
    kinds,
  };
}
