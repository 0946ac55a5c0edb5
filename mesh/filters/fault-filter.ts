// Fault injection, before the router as in Envoy: a delay (flag DI) and an abort (flag FI), each
// for its fraction of requests. Aborted requests never reach an upstream, so are never retried.
import type { Clock } from "../../src/common/clock.js";
import { localReply } from "./local-reply.js";
import type { ProxyResponse, Routed, RoutedFilter, RoutedHandler } from "./pipeline.js";

export interface FaultDeps {
  readonly clock: Clock;
  readonly random: () => number;
}

const chosen = (fraction: number, random: () => number): boolean =>
  fraction >= 1 || (fraction > 0 && random() < fraction);

export function faultFilter(deps: FaultDeps): RoutedFilter {
  // Routes without a fault (nearly all) pass straight through, without an async frame.
  return (next) => (x) => (x.route.fault === undefined ? next(x) : withFault(deps, next, x));
}

async function withFault(deps: FaultDeps, next: RoutedHandler, x: Routed): Promise<ProxyResponse> {
  const fault = x.route.fault;
  if (fault === undefined) return next(x);
  const { delay, abort } = fault;
  if (delay !== undefined && chosen(delay.fraction, deps.random)) {
    x.record.flag("DI");
    try {
      await deps.clock.sleep(delay.ms, x.request.signal.signal());
    } catch {
      x.record.flag("DC");
      return localReply(503, "downstream disconnected");
    }
  }
  if (abort !== undefined && chosen(abort.fraction, deps.random)) {
    x.record.flag("FI");
    const status = abort.httpStatus ?? (abort.grpcStatus === undefined ? 503 : 200);
    return abort.grpcStatus === undefined
      ? localReply(status, "fault filter abort")
      : localReply(status, "fault filter abort", { grpcStatus: abort.grpcStatus });
  }
  return next(x);
}
