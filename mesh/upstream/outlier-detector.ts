// Passive health checking of one cluster (Envoy outlier detection, consecutive 5xx): a host with
// N failures in a row is ejected for base × (times ejected), within max ejection percent. Time is
// read from the clock when asked, so there is no sweep timer; a healthy interval forgives one
// past ejection, as Envoy's sweep does.
import type { Clock } from "../../src/common/clock.js";
import type { OutlierDetection } from "../routing/model.js";

/** Envoy's default max_ejection_time. */
const MAX_EJECTION_MS = 300_000;

interface HostState {
  consecutive: number;
  ejections: number;
  ejectedUntil: number;
}

export class OutlierDetector {
  private readonly hosts = new Map<string, HostState>();
  /** The latest end of any ejection: before it, some host may be ejected; after, none is. */
  private lastEjectionEnd = 0;

  constructor(
    private config: OutlierDetection | undefined,
    private readonly clock: Clock,
  ) {}

  configure(config: OutlierDetection | undefined): void {
    this.config = config;
  }

  /** False when no host can be ejected now: the request path then skips per-host checks. */
  anyEjected(): boolean {
    return this.lastEjectionEnd > this.clock.now();
  }

  isEjected(key: string): boolean {
    const h = this.hosts.get(key);
    return h !== undefined && h.ejectedUntil > this.clock.now();
  }

  /** The outcome of one request to `key`; `failed` means a 5xx or a local-origin failure. */
  report(key: string, failed: boolean, hostCount: number): void {
    const c = this.config;
    if (c === undefined || c.consecutive5xx <= 0) return;
    let h = this.hosts.get(key);
    if (!failed) {
      if (h !== undefined) h.consecutive = 0;
      return;
    }
    if (h === undefined) {
      h = { consecutive: 0, ejections: 0, ejectedUntil: 0 };
      this.hosts.set(key, h);
    }
    h.consecutive++;
    const now = this.clock.now();
    if (h.consecutive < c.consecutive5xx || h.ejectedUntil > now) return;
    if (!this.mayEject(hostCount, now)) return;
    this.forgive(h, now, c.intervalMs);
    h.ejections++;
    const cap = Math.max(MAX_EJECTION_MS, c.baseEjectionTimeMs);
    h.ejectedUntil = now + Math.min(cap, c.baseEjectionTimeMs * h.ejections);
    this.lastEjectionEnd = Math.max(this.lastEjectionEnd, h.ejectedUntil);
    h.consecutive = 0;
  }

  /** Drops state of hosts no longer in the cluster. */
  retain(keys: ReadonlySet<string>): void {
    for (const k of this.hosts.keys()) if (!keys.has(k)) this.hosts.delete(k);
  }

  /** Envoy ejects at least one host whatever the percentage. */
  private mayEject(hostCount: number, now: number): boolean {
    let ejected = 0;
    for (const h of this.hosts.values()) if (h.ejectedUntil > now) ejected++;
    if (ejected === 0) return true;
    const pct = this.config?.maxEjectionPercent ?? 10;
    return ((ejected + 1) * 100) / Math.max(1, hostCount) <= pct;
  }

  /** Each whole interval spent healthy since the last ejection ended takes one ejection off. */
  private forgive(h: HostState, now: number, intervalMs: number): void {
    if (h.ejections === 0 || h.ejectedUntil === 0 || intervalMs <= 0) return;
    const healthyFor = now - h.ejectedUntil;
    const intervals = Math.floor(healthyFor / intervalMs);
    if (intervals > 0) h.ejections = Math.max(0, h.ejections - intervals);
  }
}
