// The planner's questions (run the checks, ask a gate's webhooks) answered off the reconcile path:
// a reconcile starts a question and goes on; the answer is kept until the Rollout's next reconcile
// takes it, and its arrival requeues the Rollout. So a Prometheus or a webhook that takes 30 s to
// answer holds no worker: every other Rollout, rollbacks included, is reconciled meanwhile.
import type { Clock } from "../common/clock.js";

type Entry<T> =
  | { readonly kind: "queued" }
  | { readonly kind: "running" }
  | { readonly kind: "answered"; readonly value: T; readonly at: number }
  | { readonly kind: "failed"; readonly error: unknown; readonly at: number };

export interface InquiriesDeps {
  readonly clock: Clock;
  /** Questions running at once, across all Rollouts; the rest wait in order. */
  readonly concurrency: number;
  /** An answer arrived for this Rollout (`namespace/name`): reconcile it again. */
  readonly answered: (rollout: string) => void;
}

/** An answer no reconcile took within this long is dropped (its Rollout moved on or went). */
const UNCLAIMED_MS = 10 * 60_000;

export type Taken<T> =
  { readonly kind: "answered"; readonly value: T } | { readonly kind: "pending" };

export class Inquiries {
  private readonly byRollout = new Map<string, Map<string, Entry<unknown>>>();
  private readonly waiting: (() => void)[] = [];
  private running = 0;

  constructor(private readonly deps: InquiriesDeps) {}

  /** Questions asked and not yet taken (for metrics and tests). */
  get outstanding(): number {
    let n = 0;
    for (const m of this.byRollout.values()) n += m.size;
    return n;
  }

  /**
   * The answer to question `id` of `rollout`, taken (each answer is used once, by one reconcile),
   * or pending: then it has been started (once) with `ask`. A question whose `ask` rejected throws
   * its error here, once, as an inline call would have.
   */
  take<T>(rollout: string, id: string, ask: () => Promise<T>): Taken<T> {
    this.sweep();
    let mine = this.byRollout.get(rollout);
    const entry = mine?.get(id) as Entry<T> | undefined;
    if (entry === undefined) {
      if (mine === undefined) {
        mine = new Map();
        this.byRollout.set(rollout, mine);
      }
      mine.set(id, { kind: "queued" });
      this.waiting.push(() => {
        this.start(rollout, id, ask);
      });
      this.pump();
      return { kind: "pending" };
    }
    switch (entry.kind) {
      case "queued":
      case "running":
        return { kind: "pending" };
      case "answered":
        this.remove(rollout, id);
        return { kind: "answered", value: entry.value };
      case "failed":
        this.remove(rollout, id);
        throw entry.error;
    }
  }

  /** Drops a Rollout's answers (it was deleted); questions still running are not waited for. */
  forget(rollout: string): void {
    this.byRollout.delete(rollout);
  }

  private start<T>(rollout: string, id: string, ask: () => Promise<T>): void {
    const mine = this.byRollout.get(rollout);
    if (mine?.get(id)?.kind !== "queued") return; // forgotten while it waited
    mine.set(id, { kind: "running" });
    this.running++;
    const settle = (entry: Entry<unknown>): void => {
      this.running--;
      // Still wanted: not forgotten meanwhile.
      if (this.byRollout.get(rollout)?.get(id)?.kind === "running") {
        this.byRollout.get(rollout)?.set(id, entry);
        this.deps.answered(rollout);
      }
      this.pump();
    };
    let asked: Promise<T>;
    try {
      asked = ask();
    } catch (error) {
      asked = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    asked.then(
      (value) => {
        settle({ kind: "answered", value, at: this.deps.clock.now() });
      },
      (error: unknown) => {
        settle({ kind: "failed", error, at: this.deps.clock.now() });
      },
    );
  }

  private pump(): void {
    while (this.running < this.deps.concurrency) {
      const next = this.waiting.shift();
      if (next === undefined) return;
      next();
    }
  }

  private remove(rollout: string, id: string): void {
    const mine = this.byRollout.get(rollout);
    mine?.delete(id);
    if (mine?.size === 0) this.byRollout.delete(rollout);
  }

  private sweep(): void {
    const cutoff = this.deps.clock.now() - UNCLAIMED_MS;
    for (const [rollout, mine] of this.byRollout) {
      for (const [id, e] of mine) {
        if ((e.kind === "answered" || e.kind === "failed") && e.at < cutoff) mine.delete(id);
      }
      if (mine.size === 0) this.byRollout.delete(rollout);
    }
  }
}
