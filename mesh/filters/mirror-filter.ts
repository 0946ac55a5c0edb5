// Request mirroring: a fire-and-forget copy to each mirror cluster, for its fraction of requests,
// with `-shadow` appended to the host (Envoy's default, Istio before 1.28). The copy's response is
// discarded and nothing about it reaches the request being served.
import type { Clock } from "../../src/common/clock.js";
import type { Logger } from "../../src/common/logger.js";
import { stripPort } from "../routing/authority.js";
import { Cancel } from "../upstream/cancel.js";
import { CoarseClock } from "./coarse-clock.js";
import type { UpstreamCluster } from "../upstream/cluster.js";
import { requestHeaders } from "../upstream/headers.js";
import type { BodyTake, UpstreamRequest } from "../upstream/outcome.js";
import type { RoutedFilter } from "./pipeline.js";

export interface MirrorDeps {
  readonly clock: Clock;
  readonly random: () => number;
  readonly log: Logger;
}

/** `reviews:9080` → `reviews-shadow:9080`. */
export function shadowHost(authority: string): string {
  const host = stripPort(authority);
  return `${host}-shadow${authority.slice(host.length)}`;
}

export function mirrorFilter(mirrorDeps: MirrorDeps): RoutedFilter {
  const deps: MirrorDeps = { ...mirrorDeps, clock: new CoarseClock(mirrorDeps.clock) };
  return (next) => (x) => {
    const { mirrors, timeoutMs } = x.route.action;
    for (const m of mirrors) {
      if (m.fraction < 1 && !(deps.random() < m.fraction)) continue;
      const cluster = x.clusterNamed(m.cluster);
      const body = x.request.body.copy();
      if (cluster === undefined || body === undefined) {
        deps.log.debug("mirror skipped", {
          cluster: m.cluster,
          reason: cluster ? "body" : "cluster",
        });
        continue;
      }
      const req: UpstreamRequest = {
        method: x.request.method,
        authority: shadowHost(x.request.authority),
        path: x.request.path,
        headers: requestHeaders(x.request.headers, x.request.addHeaders),
      };
      shadow(deps, cluster, req, body, x.http2For(cluster), timeoutMs);
    }
    return next(x);
  };
}

function shadow(
  deps: MirrorDeps,
  cluster: UpstreamCluster,
  req: UpstreamRequest,
  body: BodyTake,
  http2: boolean,
  timeoutMs: number,
): void {
  const abort = new Cancel();
  const timer =
    timeoutMs > 0
      ? deps.clock.setTimer(timeoutMs, () => {
          abort.abort();
        })
      : undefined;
  void cluster.send(req, body, { http2, signal: abort }).then((outcome) => {
    if (outcome.kind === "failure") {
      timer?.cancel();
      if (body.kind === "stream") body.stream.destroy();
      deps.log.debug("mirror failed", { cluster: cluster.name, reason: outcome.reason });
      return;
    }
    const upstream = outcome.response.body;
    upstream.once("close", () => timer?.cancel());
    upstream.on("error", () => undefined);
    if (timer !== undefined) abort.onAbort(() => upstream.destroy());
    upstream.resume();
  });
}
