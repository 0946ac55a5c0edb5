// Delivery off the reconcile's path: one FIFO lane per provider (messages to one channel keep their
// order, a slow one holds up no other), a timeout per request, bounded retries with exponential
// back-off on 429, 5xx and network errors (Retry-After honoured), and a SentLog so a delivery id
// is settled once: sent, or given up. Nothing here throws into the caller: failures are logged,
// counted and reported.
import type { Counter, Registry } from "prom-client";
import { Counter as PromCounter } from "prom-client";
import type { Clock } from "../common/clock.js";
import { describeError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import type { SentLog } from "./sent-log.js";
import type { OutboundRequest } from "./service.js";

export interface Delivery {
  /** Stable for one message to one provider: deliveryId(...). */
  readonly id: string;
  /** The provider, as logs and events name it ("AlertProvider demo/slack"); also the lane. */
  readonly destination: string;
  /** The provider's type: the metric's `provider` label. */
  readonly provider: string;
  readonly rollout: { readonly namespace: string; readonly name: string };
  readonly event: string;
  readonly request: OutboundRequest;
}

export interface DeliveryFailure {
  readonly id: string;
  readonly destination: string;
  readonly provider: string;
  readonly rollout: { readonly namespace: string; readonly name: string };
  readonly event: string;
  /** Requests made; 0 when the message could not even be addressed. */
  readonly attempts: number;
  readonly reason: string;
}

export interface TransportResponse {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: string;
}

/** Sends one request; rejects on a network error or when `signal` aborts. */
export type Transport = (req: OutboundRequest, signal: AbortSignal) => Promise<TransportResponse>;

export const fetchTransport: Transport = async (req, signal) => {
  const res = await fetch(req.url, {
    method: "POST",
    headers: req.headers,
    body: req.body,
    signal,
    redirect: "manual",
  });
  const body = await res.text();
  return { status: res.status, retryAfter: res.headers.get("retry-after") ?? undefined, body };
};

export interface DispatcherOptions {
  /** Per request, answer included. Flagger's is 5 s. */
  readonly timeoutMs: number;
  /** Requests per delivery, the first included. */
  readonly maxAttempts: number;
  /** Back-off before the second attempt; it doubles for each one after. */
  readonly baseDelayMs: number;
  /** Longest wait between attempts; a Retry-After beyond it gives the delivery up. */
  readonly maxDelayMs: number;
  /** Deliveries waiting or in flight; more are refused (and reported) rather than held. */
  readonly maxQueued: number;
}

export const DEFAULT_DISPATCHER_OPTIONS: DispatcherOptions = {
  timeoutMs: 5_000,
  maxAttempts: 5,
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
  maxQueued: 1_000,
};

export type NotificationResult = "sent" | "failed" | "duplicate" | "dropped";
export type NotificationCounter = Pick<Counter<"provider" | "result">, "inc">;

/** vireo_notifications_total{provider, result}, on `registry`. */
export function notificationsCounter(registry: Registry): Counter<"provider" | "result"> {
  return new PromCounter({
    name: "vireo_notifications_total",
    help: "Notifications by provider type and result: sent, failed, duplicate (already sent), dropped.",
    labelNames: ["provider", "result"],
    registers: [registry],
  });
}

export interface DispatcherDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly sentLog: SentLog;
  readonly counter: NotificationCounter;
  /** Told of every delivery given up; the controller records it as an Event on the Rollout. */
  readonly onFailure: (failure: DeliveryFailure) => void;
  readonly transport?: Transport;
  readonly options?: Partial<DispatcherOptions>;
}

type Attempt =
  | { readonly kind: "sent" }
  | { readonly kind: "retry"; readonly reason: string; readonly retryAfterMs?: number }
  | { readonly kind: "refused"; readonly reason: string };

export class Dispatcher {
  private readonly options: DispatcherOptions;
  private readonly transport: Transport;
  private readonly lanes = new Map<string, Delivery[]>();
  /** Ids waiting or in flight: the same id offered again meanwhile is a duplicate. */
  private readonly active = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private readonly closing = new AbortController();

  constructor(private readonly deps: DispatcherDeps) {
    this.options = { ...DEFAULT_DISPATCHER_OPTIONS, ...deps.options };
    this.transport = deps.transport ?? fetchTransport;
  }

  /** Queues a delivery and returns at once. */
  enqueue(d: Delivery): void {
    if (this.closing.signal.aborted) {
      this.dropped(d, "the dispatcher is closed");
      return;
    }
    if (this.active.has(d.id)) {
      this.count(d.provider, "duplicate");
      this.deps.log.debug("notification already queued", { id: d.id });
      return;
    }
    if (this.active.size >= this.options.maxQueued) {
      this.report(
        {
          ...failureOf(d),
          attempts: 0,
          reason: `${this.options.maxQueued} notifications are already waiting`,
        },
        "dropped",
      );
      return;
    }
    this.active.add(d.id);
    const lane = this.lanes.get(d.destination);
    if (lane !== undefined) {
      lane.push(d);
      return;
    }
    this.lanes.set(d.destination, [d]);
    const run = this.runLane(d.destination).finally(() => {
      this.running.delete(run);
    });
    this.running.add(run);
  }

  /**
   * Logs, counts and reports a delivery that will not happen, and records it as settled: it was
   * retried as long as it may be, and the report (an Event) says so; no replica tries it again.
   */
  report(failure: DeliveryFailure, result: "failed" | "dropped" = "failed"): void {
    this.count(failure.provider, result);
    this.deps.log.warn("notification not delivered", { ...failure });
    this.deps.sentLog.record(failure.id).catch((err: unknown) => {
      this.deps.log.warn("notification given up but not recorded", { id: failure.id, error: err });
    });
    try {
      this.deps.onFailure(failure);
    } catch (err) {
      this.deps.log.error("onFailure threw", { id: failure.id, error: err });
    }
  }

  /** Resolves when nothing is queued or in flight. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /**
   * Stops: requests in flight are aborted and nothing more is sent. What was not delivered is not
   * recorded, so it stays in the Rollout's outbox and whoever leads next sends it.
   */
  async close(): Promise<void> {
    this.closing.abort(new Error("dispatcher closed"));
    await this.idle();
  }

  private get closed(): boolean {
    return this.closing.signal.aborted;
  }

  private async runLane(key: string): Promise<void> {
    const lane = this.lanes.get(key) ?? [];
    for (let d = lane[0]; d !== undefined; d = lane[0]) {
      try {
        await this.deliver(d);
      } catch (err) {
        this.deps.log.error("notification delivery failed unexpectedly", { id: d.id, error: err });
      }
      lane.shift();
      this.active.delete(d.id);
    }
    this.lanes.delete(key);
  }

  private async deliver(d: Delivery): Promise<void> {
    const signal = this.closing.signal;
    if (signal.aborted) {
      this.dropped(d, "the dispatcher closed first");
      return;
    }
    if (await this.alreadySent(d)) {
      this.count(d.provider, "duplicate");
      this.deps.log.debug("notification already sent", { id: d.id });
      return;
    }
    const o = this.options;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(d, signal);
      if (outcome.kind === "sent") {
        await this.recordSent(d);
        this.count(d.provider, "sent");
        this.deps.log.info("notification sent", { id: d.id, destination: d.destination, attempt });
        return;
      }
      if (this.closed) {
        this.dropped(d, "the dispatcher closed first");
        return;
      }
      const failed = (reason: string) => {
        this.report({ ...failureOf(d), attempts: attempt, reason });
      };
      if (outcome.kind === "refused") {
        failed(outcome.reason);
        return;
      }
      if (attempt >= o.maxAttempts) {
        failed(`${outcome.reason}; gave up after ${attempt} attempts`);
        return;
      }
      const delay =
        outcome.retryAfterMs ?? Math.min(o.baseDelayMs * 2 ** (attempt - 1), o.maxDelayMs);
      if (delay > o.maxDelayMs) {
        failed(`${outcome.reason}; Retry-After asks for ${delay} ms, more than ${o.maxDelayMs} ms`);
        return;
      }
      this.deps.log.debug("notification will be retried", {
        id: d.id,
        attempt,
        reason: outcome.reason,
        delayMs: delay,
      });
      try {
        await this.deps.clock.sleep(delay, signal);
      } catch {
        this.dropped(d, "the dispatcher closed first");
        return;
      }
    }
  }

  private async attempt(d: Delivery, closing: AbortSignal): Promise<Attempt> {
    const ac = new AbortController();
    const timeout = new Error("timeout");
    const timer = this.deps.clock.setTimer(this.options.timeoutMs, () => {
      ac.abort(timeout);
    });
    const onClose = (): void => {
      ac.abort(closing.reason);
    };
    closing.addEventListener("abort", onClose, { once: true });
    if (closing.aborted) onClose();
    try {
      const res = await this.transport(d.request, ac.signal);
      return classify(res, this.deps.clock.now());
    } catch (err) {
      if (ac.signal.reason === timeout)
        return { kind: "retry", reason: `no answer within ${this.options.timeoutMs} ms` };
      return { kind: "retry", reason: networkError(err) };
    } finally {
      timer.cancel();
      closing.removeEventListener("abort", onClose);
    }
  }

  // Unreadable log: send anyway. A duplicate is better than a rollback nobody hears of.
  private async alreadySent(d: Delivery): Promise<boolean> {
    try {
      return await this.deps.sentLog.has(d.id);
    } catch (err) {
      this.deps.log.warn("sent log unreadable; sending", { id: d.id, error: err });
      return false;
    }
  }

  private async recordSent(d: Delivery): Promise<void> {
    try {
      await this.deps.sentLog.record(d.id);
    } catch (err) {
      this.deps.log.warn("notification sent but not recorded; it may be sent again", {
        id: d.id,
        error: err,
      });
    }
  }

  // Not a failure to report, nor settled: a restarted controller, or the next leader, sends it.
  private dropped(d: Delivery, why: string): void {
    this.count(d.provider, "dropped");
    this.deps.log.info("notification not sent", { id: d.id, destination: d.destination, why });
  }

  private count(provider: string, result: NotificationResult): void {
    this.deps.counter.inc({ provider, result });
  }
}

function failureOf(d: Delivery): Omit<DeliveryFailure, "attempts" | "reason"> {
  return {
    id: d.id,
    destination: d.destination,
    provider: d.provider,
    rollout: d.rollout,
    event: d.event,
  };
}

function classify(res: TransportResponse, now: number): Attempt {
  if (res.status >= 200 && res.status < 300) return { kind: "sent" };
  const snippet = res.body.trim().slice(0, 200);
  const reason = `HTTP ${res.status}${snippet === "" ? "" : ` ${snippet}`}`;
  if (res.status === 429 || res.status >= 500) {
    const retryAfterMs = parseRetryAfter(res.retryAfter, now);
    return { kind: "retry", reason, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  return { kind: "refused", reason };
}

/** Retry-After as delay-seconds (Discord sends fractions) or an HTTP date; ms from `now`. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

// fetch says only "fetch failed"; the cause has the code (ECONNREFUSED, ECONNRESET, ...).
function networkError(err: unknown): string {
  const cause = err instanceof Error ? err.cause : undefined;
  return cause === undefined
    ? describeError(err)
    : `${describeError(err)}: ${describeError(cause)}`;
}
