// The status port (15020) on the pod IP: what must be reachable from outside the pod and nothing
// else (the admin port with config_dump, drain and quitquitquit stays on loopback). Readiness
// for the kubelet, metrics for Prometheus, the counts the controller judges canaries on, and the
// app's own probes run from inside the pod.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { JudgeCounts } from "../telemetry/judge-counts.js";
import type { MetricsRegistry } from "../telemetry/metrics.js";
import { describeError } from "../../src/common/errors.js";
import type { Logger } from "../../src/common/logger.js";
import type { AppProbe } from "./app-probes.js";
import { runProbe } from "./app-probes.js";

export interface StatusDeps {
  readonly registry: MetricsRegistry;
  /** Envoy's server state: LIVE only once the first xDS snapshot (and certificate) arrived. */
  readonly state: () => string;
  readonly probes: ReadonlyMap<string, AppProbe>;
  readonly log: Logger;
  /** What the controller's judge reads every 1-2 s (`/judge/counts`); absent: 404. */
  readonly judgeCounts?: JudgeCounts;
}

export interface StatusServer {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

const TEXT = "text/plain; charset=utf-8";

function reply(res: http.ServerResponse, status: number, body: string, type = TEXT): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export function startStatusServer(
  deps: StatusDeps,
  listen: { readonly port: number; readonly host: string },
): Promise<StatusServer> {
  const route = async (path: string, res: http.ServerResponse): Promise<void> => {
    if (path === "/ready") {
      const s = deps.state();
      reply(res, s === "LIVE" ? 200 : 503, `${s}\n`);
      return;
    }
    if (path === "/healthz") {
      reply(res, 200, "ok\n");
      return;
    }
    if (path === "/stats/prometheus") {
      reply(res, 200, await deps.registry.metrics(), deps.registry.contentType);
      return;
    }
    if (path === "/judge/counts" && deps.judgeCounts !== undefined) {
      reply(res, 200, JSON.stringify(deps.judgeCounts.snapshot()), "application/json");
      return;
    }
    const probe = deps.probes.get(path);
    if (probe === undefined) {
      reply(res, 404, `no such status endpoint: ${path}\n`);
      return;
    }
    const ok = await runProbe(probe);
    reply(res, ok ? 200 : 503, ok ? "ok\n" : `probe of port ${String(probe.port)} failed\n`);
  };
  const server = http.createServer((req, res) => {
    req.resume();
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      reply(res, 405, `${path} takes GET\n`);
      return;
    }
    route(path, res).catch((err: unknown) => {
      deps.log.error("status request failed", { path, error: describeError(err) });
      if (!res.headersSent) reply(res, 500, `${describeError(err)}\n`);
      else res.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      server.off("error", reject);
      const a = server.address() as AddressInfo;
      resolve({
        address: a.address,
        port: a.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => {
              done();
            });
            server.closeAllConnections();
          }),
      });
    });
  });
}
