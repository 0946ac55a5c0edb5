// Request timeouts on a coarse timer: deadlines are rounded up to the next tick of `resolutionMs`
// and every timer due at a tick shares one timer of the clock underneath. A route or per-try
// timeout was a setTimeout per request (a Timeout object, a closure and a clearTimeout when the
// response came first, which it nearly always does); here it is one small object in a set.
// Timers never fire early, and at most `resolutionMs` late.
import type { Clock, TimerHandle } from "../../src/common/clock.js";

/** 10 ms: far below any timeout a route sets, and at most 100 wake-ups a second under load. */
export const DEFAULT_RESOLUTION_MS = 10;

class CoarseTimer implements TimerHandle {
  constructor(
    readonly fn: () => void,
    private readonly owner: CoarseClock,
    readonly tick: number,
  ) {}

  cancel(): void {
    this.owner.remove(this);
  }
}

/** A binary min-heap of tick numbers: which tick the clock underneath must wake for next. */
class TickHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): number | undefined {
    return this.items[0];
  }

  push(t: number): void {
    const a = this.items;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = a[parent] ?? 0;
      if (p <= t) break;
      a[i] = p;
      i = parent;
    }
    a[i] = t;
  }

  pop(): number | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && (a[r] ?? 0) < (a[l] ?? 0) ? r : l;
      const cv = a[c] ?? 0;
      if (cv >= last) break;
      a[i] = cv;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

export class CoarseClock implements Clock {
  private readonly byTick = new Map<number, Set<CoarseTimer>>();
  private readonly ticks = new TickHeap();
  private armedTick: number | undefined;
  private armed: TimerHandle | undefined;

  constructor(
    private readonly inner: Clock,
    private readonly resolutionMs: number = DEFAULT_RESOLUTION_MS,
  ) {}

  now(): number {
    return this.inner.now();
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const tick = Math.ceil((this.inner.now() + Math.max(0, ms)) / this.resolutionMs);
    const timer = new CoarseTimer(fn, this, tick);
    let due = this.byTick.get(tick);
    if (due === undefined) {
      due = new Set();
      this.byTick.set(tick, due);
      this.ticks.push(tick);
    }
    due.add(timer);
    if (this.armedTick === undefined || tick < this.armedTick) this.arm(tick);
    return timer;
  }

  /** Sleeps are rare on the request path (fault delays, retry back-off): the clock's own. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.inner.sleep(ms, signal);
  }

  /** @internal Called by a timer's `cancel`. */
  remove(timer: CoarseTimer): void {
    const due = this.byTick.get(timer.tick);
    if (due === undefined || !due.delete(timer) || due.size > 0) return;
    // Its tick stays in the heap and is skipped when reached; nothing wakes for it early.
    this.byTick.delete(timer.tick);
    if (this.byTick.size === 0) {
      this.armed?.cancel();
      this.armed = undefined;
      this.armedTick = undefined;
    }
  }

  private arm(tick: number): void {
    this.armed?.cancel();
    this.armedTick = tick;
    const delay = Math.max(0, tick * this.resolutionMs - this.inner.now());
    this.armed = this.inner.setTimer(delay, () => {
      this.fire(tick);
    });
  }

  private fire(upTo: number): void {
    this.armed = undefined;
    this.armedTick = undefined;
    const due: CoarseTimer[] = [];
    for (let t = this.ticks.peek(); t !== undefined && t <= upTo; t = this.ticks.peek()) {
      this.ticks.pop();
      const set = this.byTick.get(t);
      if (set === undefined) continue;
      this.byTick.delete(t);
      for (const timer of set) due.push(timer);
    }
    // Skip ticks whose timers were all cancelled, so the next wake-up is for a live one.
    let next = this.ticks.peek();
    while (next !== undefined && !this.byTick.has(next)) {
      this.ticks.pop();
      next = this.ticks.peek();
    }
    if (next !== undefined) this.arm(next);
    for (const timer of due) timer.fn();
  }
}
