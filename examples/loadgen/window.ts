// What the load generators count and print, shared by examples/loadgen/loadgen.ts (HTTP) and
// examples/grpc/client.ts: a window per second and one for the whole run, the per-second line the
// e2e suite and the demo parse (`sent ok 4xx 5xx errors p50 p99 versions`), and the open-loop
// schedule (calls are due at start + n / rps, so a pause is caught up rather than drifted).

/** What one second (or the whole run) saw. */
export interface Window {
  sent: number;
  ok: number;
  client: number; // 4xx, or a gRPC code the caller earns
  server: number; // 5xx, or a gRPC server fault
  errors: number; // no response: refused, reset, timed out
  latencies: number[];
  versions: Map<string, number>;
}

export const emptyWindow = (): Window => ({
  sent: 0,
  ok: 0,
  client: 0,
  server: 0,
  errors: 0,
  latencies: [],
  versions: new Map(),
});

/** The current second's window and the whole run's, updated together. */
export class Windows {
  second = emptyWindow();
  readonly total = emptyWindow();

  record(f: (w: Window) => void): void {
    f(this.second);
    f(this.total);
  }
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}

export function summary(w: Window): Record<string, unknown> {
  const sorted = [...w.latencies].sort((a, b) => a - b);
  const ms = (v: number): number | null => (Number.isNaN(v) ? null : Math.round(v * 10) / 10);
  return {
    sent: w.sent,
    ok: w.ok,
    "4xx": w.client,
    "5xx": w.server,
    errors: w.errors,
    p50Ms: ms(quantile(sorted, 0.5)),
    p99Ms: ms(quantile(sorted, 0.99)),
    versions: Object.fromEntries([...w.versions].sort(([a], [b]) => a.localeCompare(b))),
  };
}

/** The per-second line (or a JSON object with the same fields). */
export function line(label: string, w: Window, json = false): string {
  const s = summary(w);
  if (json) return JSON.stringify({ time: label, ...s });
  const ms = (v: unknown): string => (typeof v === "number" ? `${v.toFixed(1)} ms` : "-");
  const versions = [...w.versions]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([v, n]) => `${v}=${n}`)
    .join(" ");
  return (
    `${label}  sent ${w.sent}  ok ${w.ok}  4xx ${w.client}  5xx ${w.server}  errors ${w.errors}` +
    `  p50 ${ms(s.p50Ms)}  p99 ${ms(s.p99Ms)}  ${versions === "" ? "-" : versions}`
  );
}

export interface OpenLoop {
  readonly rps: number;
  /** 0: until SIGTERM or SIGINT. */
  readonly durationS: number;
  /** How long calls in flight may take to finish before the totals (at most 2 s). */
  readonly timeoutMs: number;
  readonly json?: boolean;
  /** Sends call number n. */
  readonly send: (n: number) => void;
}

/** Sends at `rps`, prints a line a second and `total` at the end, then exits. */
export function runOpenLoop(windows: Windows, o: OpenLoop): void {
  const now = (): string => new Date().toISOString().slice(11, 19);
  const start = performance.now();
  let n = 0;
  const tick = setInterval(() => {
    const due = Math.floor(((performance.now() - start) / 1000) * o.rps);
    for (; n < due; n++) o.send(n);
  }, 5);
  const report = setInterval(() => {
    process.stdout.write(`${line(now(), windows.second, o.json)}\n`);
    windows.second = emptyWindow();
  }, 1000);
  let finishing = false;
  const finish = (): void => {
    if (finishing) return;
    finishing = true;
    clearInterval(tick);
    clearInterval(report);
    process.stdout.write(`${line(now(), windows.second, o.json)}\n`);
    setTimeout(
      () => {
        process.stdout.write(`${line("total", windows.total, o.json)}\n`);
        process.exit(0);
      },
      Math.min(o.timeoutMs, 2000),
    );
  };
  if (o.durationS > 0) setTimeout(finish, o.durationS * 1000);
  process.on("SIGTERM", finish);
  process.on("SIGINT", finish);
}
