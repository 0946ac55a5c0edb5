// Cancellation of one request or attempt without AbortController: a flag and at most a few
// callbacks. An AbortController is an EventTarget with its own signal object, listener records
// and a map inside; the request path made three per request, and creating their signals alone
// was 5 % of the proxy's CPU. An AbortSignal is made only where an API needs one (`Clock.sleep`,
// on the rare fault-delay and retry-backoff paths).

export class Cancel {
  private done = false;
  private first: (() => void) | undefined;
  private more: (() => void)[] | undefined;

  get aborted(): boolean {
    return this.done;
  }

  /** Calls `fn` once on `abort()` (at once if already aborted), unless removed first. */
  onAbort(fn: () => void): void {
    if (this.done) {
      fn();
      return;
    }
    if (this.first === undefined) this.first = fn;
    else (this.more ??= []).push(fn);
  }

  off(fn: () => void): void {
    if (this.first === fn) {
      this.first = this.more?.shift();
      return;
    }
    const i = this.more?.indexOf(fn) ?? -1;
    if (i >= 0) this.more?.splice(i, 1);
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    const first = this.first;
    const more = this.more;
    this.first = undefined;
    this.more = undefined;
    first?.();
    if (more !== undefined) for (const fn of more) fn();
  }

  /** An AbortSignal that follows this cancellation, for APIs that take one. */
  signal(): AbortSignal {
    const c = new AbortController();
    if (this.done) c.abort();
    else
      this.onAbort(() => {
        c.abort();
      });
    return c.signal;
  }
}
