// The request-body idle timeout: requests whose body is still arriving sit in one set, and a single
// sweep timer for all of them (not a timer per request) cuts off one whose stream moved no byte
// either way for `idleTimeoutMs` while the proxy was ready to read. Nothing is done per chunk: the
// sweep compares the byte counters the request path keeps anyway.
import type { Readable } from "node:stream";
import type { Clock, TimerHandle } from "../../src/common/clock.js";

/** One request whose body has not ended. */
export interface WatchedBody {
  /** The downstream body stream. */
  readonly source: Readable;
  /** Bytes moved so far, both ways (request body read plus response body sent). */
  progress(): number;
  /** Cuts the request off: no byte came for the idle timeout. */
  expire(): void;
}

interface Entry {
  readonly body: WatchedBody;
  last: number;
  idleSweeps: number;
}

export class BodyWatch {
  private readonly entries = new Map<WatchedBody, Entry>();
  private timer: TimerHandle | undefined;
  /** Sweeps of silence that make a body idle. */
  private readonly idleSweeps: number;
  readonly sweepMs: number;

  constructor(
    private readonly clock: Clock,
    /** 0 disables the watch: `add` does nothing. */
    readonly idleTimeoutMs: number,
  ) {
    // An eighth of the timeout, within [10 ms, 1 s]: a body is cut between the timeout and the
    // timeout plus one sweep after its last byte, and a sweep runs at most once a second for
    // the default timeout.
    this.sweepMs = Math.max(10, Math.min(1_000, Math.floor(idleTimeoutMs / 8)));
    this.idleSweeps = Math.ceil(idleTimeoutMs / this.sweepMs);
  }

  get size(): number {
    return this.entries.size;
  }

  add(body: WatchedBody): void {
    if (this.idleTimeoutMs <= 0) return;
    this.entries.set(body, { body, last: body.progress(), idleSweeps: 0 });
    this.timer ??= this.clock.setTimer(this.sweepMs, this.sweep);
  }

  delete(body: WatchedBody): void {
    this.entries.delete(body);
    if (this.entries.size === 0) this.stop();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private readonly sweep = (): void => {
    this.timer = undefined;
    const expired: WatchedBody[] = [];
    for (const e of this.entries.values()) {
      const src = e.body.source;
      if (src.readableEnded || src.destroyed) {
        this.entries.delete(e.body);
        continue;
      }
      const now = e.body.progress();
      // Back-pressure (an upstream not reading, or no upstream yet): the wait is the proxy's.
      if (now !== e.last || src.readableFlowing !== true) {
        e.last = now;
        e.idleSweeps = 0;
        continue;
      }
      if (++e.idleSweeps >= this.idleSweeps) expired.push(e.body);
    }
    for (const b of expired) {
      this.entries.delete(b);
      b.expire();
    }
    if (this.entries.size > 0) this.timer = this.clock.setTimer(this.sweepMs, this.sweep);
  };
}
