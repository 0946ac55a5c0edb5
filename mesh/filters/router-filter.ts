// The end of the request path: attempts to the chosen cluster, retried as the route's policy
// says within the route timeout, each bounded by the per-try timeout. A timeout that expires once
// the response streams resets it, as Envoy's does.
import type { Readable } from "node:stream";
import type { Clock, TimerHandle } from "../../src/common/clock.js";
import { Cancel } from "../upstream/cancel.js";
import { CoarseClock } from "./coarse-clock.js";
import { grpcStatusOf, headerValue, requestHeaders } from "../upstream/headers.js";
import type { AttemptOutcome, UpstreamRequest } from "../upstream/outcome.js";
import { failureReply, localReply } from "./local-reply.js";
import type { ProxyResponse, Routed, RoutedHandler } from "./pipeline.js";
import type { AttemptResult } from "./retry-policy.js";
import { backoffMs, isRetriable } from "./retry-policy.js";

export interface RouterDeps {
  readonly clock: Clock;
  readonly random: () => number;
}

/** Failed responses up to this size are read to the end so their connection can be reused. */
const DRAIN_LIMIT = 64 * 1024;

export function routerHandler(deps: RouterDeps): RoutedHandler {
  // Route and per-try timeouts share one coarse timer, built on the injected clock.
  const coarse: RouterDeps = { ...deps, clock: new CoarseClock(deps.clock) };
  return (x) => new Forwarding(coarse, x).run();
}

class Forwarding {
  /** Aborts the attempt in flight: the route timeout fired or the downstream went away. */
  private readonly abort = new Cancel();
  private routeTimedOut = false;
  private routeTimer: TimerHandle | undefined;
  private tryTimer: TimerHandle | undefined;
  /** The upstream body being streamed downstream, once there is one. */
  private streaming: Readable | undefined;

  constructor(
    private readonly deps: RouterDeps,
    private readonly x: Routed,
  ) {}

  async run(): Promise<ProxyResponse> {
    const { request } = this.x;
    const timeoutMs = this.x.route.action.timeoutMs;
    if (timeoutMs > 0) {
      this.routeTimer = this.deps.clock.setTimer(timeoutMs, () => {
        this.routeTimedOut = true;
        if (!this.expireStream()) this.abort.abort();
      });
    }
    const onGone = (): void => {
      this.abort.abort();
    };
    request.signal.onAbort(onGone);
    try {
      const response = await this.attempts();
      if (response.kind === "upstream") {
        this.streaming = response.response.body;
        this.streaming.once("close", () => {
          this.clearTimers();
        });
      } else {
        this.clearTimers();
      }
      return response;
    } finally {
      request.signal.off(onGone);
    }
  }

  private async attempts(): Promise<ProxyResponse> {
    const { request: req, record, cluster, route } = this.x;
    const policy = route.action.retry;
    const upstream: UpstreamRequest = {
      method: req.method,
      authority: req.authority,
      path: req.path,
      headers: requestHeaders(req.headers, req.addHeaders),
    };
    const http2 = this.x.http2For(cluster);
    const tried = new Set<string>();
    for (let n = 0; ; n++) {
      const attempt = new Cancel();
      const abortAttempt = (): void => {
        attempt.abort();
      };
      this.abort.onAbort(abortAttempt);
      // An object, so the compiler sees the timer callback may change it.
      const perTry = { expired: false };
      const perTryMs = policy?.perTryTimeoutMs ?? 0;
      this.tryTimer =
        perTryMs > 0
          ? this.deps.clock.setTimer(perTryMs, () => {
              perTry.expired = true;
              if (!this.expireStream()) attempt.abort();
            })
          : undefined;
      const outcome = await cluster.send(upstream, req.body.take(), {
        http2,
        signal: attempt,
        exclude: tried,
      });
      this.abort.off(abortAttempt);
      if (n > 0) cluster.endRetry();
      if (outcome.host !== undefined) {
        tried.add(outcome.host);
        record.upstreamHost = outcome.host;
      }
      if (outcome.kind === "failure" && outcome.reason === "aborted" && !perTry.expired) {
        return this.abortedReply();
      }
      const result = resultOf(outcome, perTry.expired);
      const wanted = policy !== undefined && isRetriable(policy, result);
      let retry = wanted && n < policy.numRetries && req.body.replayable;
      if (wanted && n >= policy.numRetries) record.flag("URX");
      if (retry && !cluster.beginRetry()) {
        record.flag("UO");
        retry = false;
      }
      if (!retry || policy === undefined) return this.finish(outcome, result);
      discard(outcome);
      this.tryTimer?.cancel();
      try {
        await this.deps.clock.sleep(
          backoffMs(n + 1, policy, this.deps.random),
          this.abort.signal(),
        );
      } catch {
        cluster.endRetry();
        return this.abortedReply();
      }
    }
  }

  private finish(outcome: AttemptOutcome, result: AttemptResult): ProxyResponse {
    if (outcome.kind === "response") return { kind: "upstream", response: outcome.response };
    if (result.kind === "failure" && result.reason === "per-try-timeout")
      return this.timeoutReply();
    if (outcome.reason === "aborted") return this.abortedReply();
    return failureReply(outcome.reason, this.x.record);
  }

  /**
   * The route timeout fired, or the downstream went away or was answered by the listener (a
   * request body cut off): nobody will read this reply.
   */
  private abortedReply(): ProxyResponse {
    if (this.routeTimedOut) return this.timeoutReply();
    if (this.x.record.status === 0) this.x.record.flag("DC");
    return localReply(503, "downstream disconnected");
  }

  private timeoutReply(): ProxyResponse {
    this.x.record.flag("UT");
    return localReply(504, "upstream request timeout");
  }

  /** Resets a response already streaming; false when there is none yet. */
  private expireStream(): boolean {
    if (this.streaming === undefined) return false;
    this.x.record.flag("UT");
    this.streaming.destroy(new Error("upstream request timeout"));
    return true;
  }

  private clearTimers(): void {
    this.routeTimer?.cancel();
    this.tryTimer?.cancel();
  }
}

function resultOf(outcome: AttemptOutcome, tryTimedOut: boolean): AttemptResult {
  if (outcome.kind === "response") {
    const { status, headers } = outcome.response;
    return { kind: "response", status, grpcStatus: grpcStatusOf(headers) };
  }
  return {
    kind: "failure",
    reason: tryTimedOut && outcome.reason === "aborted" ? "per-try-timeout" : outcome.reason,
  };
}

/** Lets go of a response that will be retried. */
function discard(outcome: AttemptOutcome): void {
  if (outcome.kind !== "response") return;
  const { body, endAfterHeaders, headers } = outcome.response;
  body.on("error", () => undefined);
  const length = Number(headerValue(headers, "content-length") ?? NaN);
  if (endAfterHeaders || length <= DRAIN_LIMIT) body.resume();
  else body.destroy();
}
